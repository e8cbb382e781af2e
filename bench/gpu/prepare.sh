#!/usr/bin/env bash
# Runs HERE (with Node), before the GPU check: writes the generated PyTorch modules that gpu_bench.py trains,
# because the GPU machine has no Node. They are build output (git-ignored): pass `carry: ["bench/gpu/generated"]`
# to the device tool so they travel with the working tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/cli.js ] || node esbuild.mjs
fixture=""
for d in shared/fixtures/models ../shared/fixtures/models; do
  [ -f "$d/keras-resnet18-custom-doubleencoded.json" ] && fixture="$d/keras-resnet18-custom-doubleencoded.json" && break
done
[ -n "$fixture" ] || { echo "prepare.sh: keras-resnet18-custom-doubleencoded.json not found in shared/fixtures/models" >&2; exit 1; }
out=bench/gpu/generated
mkdir -p "$out"
export_one() { node dist/cli.js export "$1" --plan "$2" --to pytorch -o "$out/$3.py"; }
export_one "$fixture" all=plain resnet18-plain
export_one "$fixture" all=rw+lr:r=16 resnet18-rw_lr_r16
export_one examples/prenorm-mixer.json all=plain mixer-plain
export_one examples/prenorm-mixer.json all=rw+lr:r=16 mixer-rw_lr_r16

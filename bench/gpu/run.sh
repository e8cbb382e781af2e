#!/usr/bin/env bash
# The GPU check (runs on the GPU machine; no Node needed): trains the generated modules (bench/gpu/generated,
# made by prepare.sh) and the hand-written baselines for a fixed number of steps and writes JSON to $OUT
# (or ./bench-results). Extra arguments go to gpu_bench.py (e.g. --steps 50 --models resnet18).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=""
for c in "${LAUREL_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && "$c" -c 'import torch, numpy' >/dev/null 2>&1 && py="$c" && break
done
[ -n "$py" ] || { echo "run.sh: no Python with torch and numpy (install python3-torch, or set LAUREL_PYTHON)" >&2; exit 1; }
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$py" bench/gpu/gpu_bench.py --out "${OUT:-bench-results}" "$@"

#!/usr/bin/env bash
# End-to-end tests in a real VS Code: installs code-server and chromium (once), packages the VSIX, runs
# test/e2e with mocha. Screenshots: test-artifacts/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${LAUREL_E2E_CACHE:-$PWD/.e2e-cache}"
export LAUREL_E2E_CACHE="$CACHE"
bash scripts/setup-e2e.sh
# vscode:prepublish builds the production bundles; --no-dependencies: the host bundle needs no node_modules.
npm run --silent package -- --out "$CACHE/laurel-studio.vsix"
npx esbuild test/e2e/*.ts --bundle --platform=node --format=cjs --target=node20 --outdir=out/test/e2e --outbase=test/e2e --packages=external --sourcemap --log-level=warning
npx mocha --no-config --enable-source-maps --timeout 240000 'out/test/e2e/**/*.test.js'

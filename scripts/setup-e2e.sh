#!/usr/bin/env bash
# Installs what the end-to-end tests need (shared/docs/testing-in-vscode.md): Debian's chromium and ripgrep,
# and code-server 4.100.3 (VS Code 1.100.3) in .e2e-cache/. Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${LAUREL_E2E_CACHE:-$PWD/.e2e-cache}"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

if ! command -v chromium >/dev/null || ! command -v rg >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends libkrb5-dev ripgrep chromium
fi

if [ ! -x "$CACHE/node_modules/.bin/code-server" ]; then
  # VS Code's ripgrep package downloads a binary at install time unless its cache holds one: give it Debian's.
  d=/tmp/vscode-ripgrep-cache-1.15.11
  mkdir -p "$d" /tmp/rgpkg
  cp "$(command -v rg)" /tmp/rgpkg/rg
  tar czf "$d/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /tmp/rgpkg rg
  mkdir -p "$CACHE"
  # npm_config_yes: a nested `npx node-gyp` runs without asking.
  # As root its postinstall.sh refuses to run unless unsafe-perm is set.
  npm_config_yes=true npm_config_unsafe_perm=true npm install --prefix "$CACHE" --no-audit --no-fund code-server@4.100.3
fi
"$CACHE/node_modules/.bin/code-server" --version

#!/usr/bin/env bash
# Builds the app in release into dist/ (wasm-release profile, wasm-opt -Oz).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo fetch --quiet
echo "[build] the app (trunk build --release) into dist/"
trunk build --release
node scripts/precompress.mjs dist

#!/usr/bin/env bash
# `make run`: installs what is missing, builds the app and the server in
# release, and serves Chorus on http://localhost:3000 (SQLite under ./data,
# the built-in offline generator). Extra arguments go to `chorus`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/build-app.sh
echo "[build] the server (cargo build --release)"
cargo build --release -p server --bin chorus
echo "[run] Chorus on http://localhost:${PORT:-3000} — Ctrl-C to stop"
exec target/release/chorus --dist dist "$@"

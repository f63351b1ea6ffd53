#!/usr/bin/env bash
# Installs what Chorus needs to build (and, with --test, to test), skipping
# everything that is already present at the right version. Safe to re-run.
#
#   scripts/setup.sh          wasm32 target, trunk, wasm-bindgen-cli, wasm-opt (npm)
#   scripts/setup.sh --test   the above, plus Chromium, ChromeDriver, PostgreSQL,
#                             Redis, HAProxy
#                             and the npm packages of the browser tests
#
# Only crates.io, npm and Debian's packages are used; nothing else is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# The wasm-bindgen version the workspace pins (Cargo.toml, `=x.y.z`); the CLI
# must be exactly this version or trunk's output will not load.
wasm_bindgen_version() {
  sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1
}

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  log "installing trunk $TRUNK_VERSION (about 10 minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

WB=$(wasm_bindgen_version)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB" ]; then
  log "installing wasm-bindgen-cli $WB (a few minutes, once)"
  # Not --locked: the CLI's own lockfile pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WB"
fi

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

if [ $want_test -eq 1 ]; then
  apt_install chromium chromium-driver postgresql fonts-noto-color-emoji redis-server haproxy
  # The seeds' own Python clients are run against the server in the tests.
  if ! python3 -c 'import requests' 2>/dev/null; then
    log "installing the Python package requests"
    python3 -m pip install --quiet requests
  fi
  # The README's Python client (examples/client.py) is run by the tests.
  if ! python3 -c 'import websockets' 2>/dev/null; then
    log "installing the Python package websockets"
    python3 -m pip install --quiet websockets
  fi
fi

# npm packages: wasm-opt (binaryen) for the release build, playwright-core for
# the browser tests, socket.io-client for the hybrid chat protocol's client, the API
# documents' validators (@apidevtools/swagger-parser, @asyncapi/parser, ajv).
# Reinstalled only when package-lock.json changed.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.chorus-lock; then
  log "installing npm packages (binaryen, playwright-core, socket.io-client, the API validators)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.chorus-lock
fi

log "ready"

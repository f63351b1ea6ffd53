# Sourced by the scripts: the PATH that finds the project's tools first
# (npm's wasm-opt, cargo-installed trunk and wasm-bindgen), and trunk's
# no-network settings.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
export TRUNK_OFFLINE=true
cd "$ROOT"

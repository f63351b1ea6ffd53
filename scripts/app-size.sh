#!/usr/bin/env bash
# The app's first load: every .wasm, .js and .css in dist/ (what index.html
# pulls in), raw, gzip -9 and brotli (the `.br` files scripts/build-app.sh
# writes, which the server sends to browsers that accept br), against the
# 350 KiB gzip budget of
# docs/benchmarks.md. When trunk's pre-wasm-opt file is still under target/,
# its size is shown too, so the gain of wasm-opt is visible.
#   scripts/app-size.sh [--json FILE] [DIST]
set -euo pipefail
source "$(dirname "$0")/env.sh"
JSON=""
if [[ "${1:-}" == "--json" ]]; then JSON="$2"; shift 2; fi
DIST="${1:-dist}"
BUDGET_KIB=350
[[ -f "$DIST/index.html" ]] || { echo "no built app in $DIST (scripts/build-app.sh)" >&2; exit 1; }

gz() { gzip -9 -c "$1" | wc -c; }
total_raw=0; total_gz=0; total_br=0; rows=""
for f in "$DIST"/*.wasm "$DIST"/*.js "$DIST"/*.css; do
  [[ -f "$f" ]] || continue
  raw=$(wc -c <"$f"); z=$(gz "$f"); br=0
  [[ -f "$f.br" ]] && br=$(wc -c <"$f.br")
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + z)); total_br=$((total_br + br))
  printf '%-44s %9d B raw %9d B gzip %9d B brotli\n' "$(basename "$f")" "$raw" "$z" "$br"
  rows+="{\"file\":\"$(basename "$f")\",\"raw\":$raw,\"gzip\":$z,\"brotli\":$br},"
done
printf '%-44s %9d B raw %9d B gzip = %.1f KiB (budget %d KiB), brotli %.1f KiB\n' "first load" \
  "$total_raw" "$total_gz" "$(awk "BEGIN{print $total_gz/1024}")" "$BUDGET_KIB" "$(awk "BEGIN{print $total_br/1024}")"

# trunk leaves wasm-bindgen's output (before wasm-opt) in target/wasm-bindgen.
pre=$(ls -t target/wasm-bindgen/*/*_bg.wasm 2>/dev/null | head -1 || true)
pre_json="null"
if [[ -n "$pre" ]]; then
  praw=$(wc -c <"$pre"); pz=$(gz "$pre")
  printf '%-44s %9d B raw %9d B gzip (before wasm-opt)\n' "$(basename "$pre")" "$praw" "$pz"
  pre_json="{\"raw\":$praw,\"gzip\":$pz}"
fi
if [[ -n "$JSON" ]]; then
  printf '{"scenario":"app-size","files":[%s],"total_raw":%d,"total_gzip":%d,"total_gzip_kib":%.1f,"total_brotli":%d,"budget_kib":%d,"wasm_before_wasm_opt":%s}\n' \
    "${rows%,}" "$total_raw" "$total_gz" "$(awk "BEGIN{print $total_gz/1024}")" "$total_br" "$BUDGET_KIB" "$pre_json" >"$JSON"
fi

#!/usr/bin/env bash
# `make bench`: builds the server and the load generator in release, then
# runs every benchmark of docs/benchmarks.md in sequence against a local
# server started with `--no-limits` (and `--chunk-delay-ms 0` where the
# figure is throughput), prints one summary table and writes each result as
# JSON to target/bench/. Run it on a quiet machine: the load (uptime) is
# recorded beside the figures.
#
#   BENCH_SECS=15      seconds measured per scenario (after a short ramp)
#   BENCH_ONLY="ws-chat ws-idle"   run only these scenarios (names below)
#   BENCH_SKIP_BROWSER=1           skip the app-size and browser scenarios
#   BENCH_BIN=path/to/chorus       measure this server binary (no build):
#                                  before/after comparisons of two builds
set -euo pipefail
source "$(dirname "$0")/env.sh"

SECS="${BENCH_SECS:-15}"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
rm -f "$OUT"/*.json

BENCH="$ROOT/target/release/chorus-bench"
if [[ -n "${BENCH_BIN:-}" ]]; then
  BIN="$(realpath "$BENCH_BIN")"
  [[ -x "$BENCH" ]] || cargo build --release --locked -p chorus-bench --bins
else
  echo "[bench] building the server and chorus-bench (release)"
  cargo build --release --locked -p server -p chorus-bench --bins
  BIN="$ROOT/target/release/chorus"
fi

WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="${BENCH_PORT:-3917}"
URL="http://127.0.0.1:$PORT"

# Starts a fresh server (new database) with the given extra flags.
start_server() {
  stop_server
  if curl -fs "$URL/api/health" >/dev/null 2>&1; then
    echo "[bench] something already listens on $URL: stop it or set BENCH_PORT"; exit 1
  fi
  rm -rf "$WORK/data" && mkdir -p "$WORK/data"
  RUST_LOG=warn "$BIN" --bind "127.0.0.1:$PORT" --dist "$WORK/no-app" \
    --database-url "sqlite://$WORK/data/bench.db" --data-dir "$WORK/data" \
    --no-limits "$@" >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    # Our server, not another one already on the port.
    kill -0 "$PID" 2>/dev/null || break
    if curl -fs "$URL/api/health" >/dev/null 2>&1; then wait_quiet; return 0; fi
    sleep 0.1
  done
  echo "[bench] the server did not start:"; cat "$WORK/server.log"; exit 1
}
# The server's CPU time in clock ticks (user + system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat" 2>/dev/null || echo 0; }
# Waits until the fresh server is idle: at start it trains the crisis
# classifier off the async workers (about 2.5 CPU-seconds), which would
# otherwise be counted in the first scenario's chunks per server CPU-second.
wait_quiet() {
  local before after
  for _ in $(seq 60); do
    before=$(cpu_ticks); sleep 0.5; after=$(cpu_ticks)
    (( after - before <= 2 )) && return 0
  done
}
stop_server() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi
}

want() { [[ -z "${BENCH_ONLY:-}" || " $BENCH_ONLY " == *" $1 "* ]]; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
run() { # name, then chorus-bench arguments
  local name="$1"; shift
  echo "[bench] $name (load $(load))"
  "$BENCH" --url "$URL" --label "$name" --json-out "$OUT/$name.json" "$@"
}

# Side processes of chorus-bench (the bare relay, the scripted provider).
SIDE=()
stop_side() { for p in "${SIDE[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; SIDE=(); }
trap 'stop_side; cleanup' EXIT

if want ws-chat || want relay-ws-chat || want ws-multi || want sse-fast; then
  start_server --chunk-delay-ms 0
  want ws-chat && run ws-chat ws-stream --connections 200 --duration "$SECS" --ramp 1 --pid "$PID"
  if want relay-ws-chat; then
    # The comparison target: a bare tokio-tungstenite relay sending the
    # frames of a real reply of this server, measured the same way.
    RELAY_PORT=$((PORT + 1))
    "$BENCH" relay --bind "127.0.0.1:$RELAY_PORT" --sample "$URL" 2>"$WORK/relay.log" &
    SIDE+=($!)
    for _ in $(seq 50); do grep -q listening "$WORK/relay.log" && break; sleep 0.1; done
    echo "[bench] relay-ws-chat (load $(load))"
    "$BENCH" --url "http://127.0.0.1:$RELAY_PORT" --label relay-ws-chat --json-out "$OUT/relay-ws-chat.json" \
      ws-stream --connections 200 --duration "$SECS" --ramp 1 --pid "${SIDE[0]}"
    stop_side
  fi
  want ws-multi && run ws-multi ws-stream --connections 200 --mode multi --personas 3 --duration "$SECS" --ramp 1 --pid "$PID"
  want sse-fast && run sse-fast sse-stream --connections 200 --duration "$SECS" --ramp 1 \
    --path "/api/v1/messages/test-sse?interval_ms=0"
fi

if want ws-idle; then
  start_server --chunk-delay-ms 0
  run ws-idle ws-idle --connections 10000 --pid "$PID" --ramp 5 --hold 3
fi

if want ws-paced-2k || want ws-paced || want sse-5000; then
  start_server   # the seed's pacing: 100 ms between chunks
  want ws-paced-2k && run ws-paced-2k ws-stream --connections 2000 --duration "$SECS" --ramp 2 --expect-gap-ms 100 --pid "$PID"
  want ws-paced && run ws-paced ws-stream --connections 10000 --duration "$SECS" --ramp 5 --expect-gap-ms 100 --pid "$PID"
  want sse-5000 && run sse-5000 sse-stream --connections 5000 --duration "$SECS" --ramp 5 \
    --path "/api/v1/messages/test-sse?interval_ms=100" --expect-gap-ms 100
fi

if want ws-added; then
  # The latency Chorus adds between a provider's delta and the client: a
  # scripted OpenAI-compatible provider stamps each delta with the moment it
  # was written (a delta every 20 ms, as a model writing ~50 tokens/s).
  PROVIDER_PORT=$((PORT + 2))
  "$BENCH" provider --bind "127.0.0.1:$PROVIDER_PORT" 2>"$WORK/provider.log" &
  SIDE+=($!)
  start_server --llm openai --openai-base-url "http://127.0.0.1:$PROVIDER_PORT/v1" \
    --openai-api-key bench --model scripted
  run ws-added ws-stream --connections 200 --duration "$SECS" --ramp 1 --pid "$PID" --stamps
  stop_side
fi
stop_server

if [[ -z "${BENCH_SKIP_BROWSER:-}" ]]; then
  if want app-size; then
    echo "[bench] app-size"
    scripts/app-size.sh --json "$OUT/app-size.json" || echo "[bench] app-size skipped (no dist/: scripts/build-app.sh)"
  fi
  if want browser-deltas; then
    echo "[bench] browser-deltas (load $(load))"
    CHORUS_BIN="$BIN" CHORUS_DIST="$ROOT/dist" node e2e/bench/deltas.mjs --json "$OUT/browser-deltas.json" \
      || echo "[bench] browser-deltas failed or skipped (needs dist/ and Chromium)"
  fi
fi

echo
echo "== Chorus benchmarks ($(nproc) cores, load at end $(load); JSON in target/bench/) =="
shopt -s nullglob
stream_results=()
for n in ws-chat relay-ws-chat ws-multi ws-paced-2k ws-paced ws-idle sse-fast sse-5000 ws-added; do
  [[ -f "$OUT/$n.json" ]] && stream_results+=("$OUT/$n.json")
done
"$BENCH" summary "${stream_results[@]}"
[[ -f "$OUT/app-size.json" ]] && cat "$OUT/app-size.json"
[[ -f "$OUT/browser-deltas.json" ]] && cat "$OUT/browser-deltas.json"
exit 0

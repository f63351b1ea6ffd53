#!/usr/bin/env bash
# `make cluster`: Chorus as a cluster on one machine. Starts PostgreSQL
# (scripts/postgres.sh --keep) and Redis (scripts/redis.sh), builds the app
# and the server in release once, runs three `chorus` instances that share
# them and one JWT secret, and HAProxy (deploy/haproxy.cfg: round-robin, no
# sticky sessions, health checks on /api/ready) on http://localhost:3000.
# Ctrl-C stops everything it started. Extra arguments go to every instance.
#
#   scripts/cluster.sh --test   for the tests (e2e/cluster.test.mjs): no
#       build (CHORUS_BIN, CHORUS_DIST), HAProxy on 127.0.0.1:3400, the
#       instances on 3401-3403, a Redis of its own on 3499 (the tests restart
#       it), the database `chorus_cluster_test` made afresh on
#       TEST_POSTGRES_URL's server; prints `cluster ready` and each
#       instance's pid, and runs until it gets SIGTERM or SIGINT.
#
#   CLUSTER_PORT        HAProxy's port (3000; --test: 3400); the instances
#                       take the three ports after it
#   CLUSTER_DATABASE    the shared database (postgres://…/chorus_cluster)
#   JWT_SECRET          the shared secret (one is made in data/cluster/jwt_secret)
set -euo pipefail
source "$(dirname "$0")/env.sh"

test_mode=0
if [ "${1:-}" = "--test" ]; then
  test_mode=1
  shift
fi

if [ "$test_mode" = 1 ]; then
  port="${CLUSTER_PORT:-3400}"
  bin="${CHORUS_BIN:-$ROOT/target/debug/chorus}"
  dist="${CHORUS_DIST:-$ROOT/dist}"
  redis_url="$(REDIS_PORT="${CLUSTER_REDIS_PORT:-3499}" scripts/redis.sh)"
  admin_url="${TEST_POSTGRES_URL:?--test needs TEST_POSTGRES_URL}"
  db="chorus_cluster_test"
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  database="${admin_url%/*}/$db"
  state="$(mktemp -d "${TMPDIR:-/tmp}/chorus-cluster-XXXXXX")"
  secret="cluster-test-secret-$(date +%s)-0123456789abcdef"
  log_level="info"
else
  port="${CLUSTER_PORT:-3000}"
  scripts/setup.sh --test
  admin_url="$(scripts/postgres.sh --keep)"
  redis_url="$(scripts/redis.sh)"
  db="chorus_cluster"
  if ! psql -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" "$admin_url" | grep -q 1; then
    psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
  fi
  database="${CLUSTER_DATABASE:-${admin_url%/*}/$db}"
  scripts/build-app.sh
  echo "[build] the server (cargo build --release)"
  cargo build --release -p server --bin chorus
  bin="$ROOT/target/release/chorus"
  dist="$ROOT/dist"
  state="$ROOT/data/cluster"
  mkdir -p "$state"
  if [ -z "${JWT_SECRET:-}" ] && [ ! -s "$state/jwt_secret" ]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=/+' >"$state/jwt_secret")
  fi
  secret="${JWT_SECRET:-$(cat "$state/jwt_secret")}"
  log_level="${RUST_LOG:-info}"
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# Waits (20 s at most) until instance $1 is ready; its log if it exited.
wait_ready() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$((port + $1))/api/ready" >/dev/null && return 0
    kill -0 "${pids[$(($1 - 1))]}" 2>/dev/null || { cat "$state/chorus$1.log"; exit 1; }
    sleep 0.2
  done
}

for i in 1 2 3; do
  mkdir -p "$state/chorus$i"
  JWT_SECRET="$secret" RUST_LOG="$log_level" "$bin" \
    --bind "127.0.0.1:$((port + i))" \
    --dist "$dist" \
    --database-url "$database" \
    --redis-url "$redis_url" \
    --data-dir "$state/chorus$i" \
    --trusted-proxy 127.0.0.1 \
    --public-origin "http://localhost:$port" \
    --public-origin "http://127.0.0.1:$port" \
    "$@" >"$state/chorus$i.log" 2>&1 &
  pids+=($!)
  echo "chorus$i pid $! on 127.0.0.1:$((port + i)), log $state/chorus$i.log"
  # The first instance applies the migrations before the others start.
  if [ "$i" = 1 ]; then wait_ready 1; fi
done

CHORUS_FRONT="127.0.0.1:$port" \
  CHORUS_1="127.0.0.1:$((port + 1))" CHORUS_2="127.0.0.1:$((port + 2))" CHORUS_3="127.0.0.1:$((port + 3))" \
  CHORUS_HAPROXY_PID="$state/haproxy.pid" \
  haproxy -db -f "$ROOT/deploy/haproxy.cfg" >"$state/haproxy.log" 2>&1 &
pids+=($!)

for i in 1 2 3; do wait_ready "$i"; done
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/api/ready" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/api/ready" >/dev/null || { cat "$state/haproxy.log"; exit 1; }

echo "cluster ready on http://localhost:$port (redis $redis_url, database ${database%%\?*}, state $state)"
if [ "$test_mode" = 0 ]; then
  echo "[run] three instances behind HAProxy on http://localhost:$port — Ctrl-C to stop"
fi
# Until Ctrl-C (or SIGTERM); an instance that exits is reported, the others go on.
while true; do
  sleep 1 &
  wait $! || true
done

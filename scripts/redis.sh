#!/usr/bin/env bash
# Starts a local Redis (Debian's redis-server, installed by setup.sh --test)
# on 127.0.0.1:${REDIS_PORT:-6379} if none answers there, and prints the URL
# for --redis-url / REDIS_URL. Safe to re-run. Nothing is persisted: the
# cluster keeps in Redis only what is live (streams, leases, news).
set -euo pipefail
port="${REDIS_PORT:-6379}"
if ! command -v redis-server >/dev/null; then
  "$(dirname "$0")/setup.sh" --test >&2
fi
if ! redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
  dir="${TMPDIR:-/tmp}/chorus-redis-$port"
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes \
    --save '' --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >&2
  for _ in $(seq 50); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$port" ping | grep -q PONG
fi
echo "redis://127.0.0.1:$port"

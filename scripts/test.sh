#!/usr/bin/env bash
# `make test`: installs what is missing (build tools, Chromium, PostgreSQL,
# npm packages), then runs every test: the workspace's cargo tests, then the
# browser tests against the real server and the release app.
set -euo pipefail
source "$(dirname "$0")/env.sh"
scripts/setup.sh --test

# The store tests run on SQLite always, and on PostgreSQL when this is set.
TEST_POSTGRES_URL="$(scripts/postgres.sh)"
export TEST_POSTGRES_URL
TEST_REDIS_URL="$(scripts/redis.sh)"
export TEST_REDIS_URL
echo "[test] cargo test --workspace (store tests on SQLite and PostgreSQL)"
cargo test --workspace --locked

echo "[test] the safety classifier's figures: development sets, then the held-out set"
for set in safety/data/dev*.jsonl safety/data/heldout.jsonl; do
  "$ROOT/target/debug/chorus" safety-eval "$set"
done

# The browser tests use the server binary cargo test just built (debug) and
# the app built once in release.
scripts/build-app.sh
echo "[test] browser tests (node --test e2e/)"
CHORUS_BIN="$ROOT/target/debug/chorus" CHORUS_DIST="$ROOT/dist" \
  node --test --test-concurrency=1 e2e/

#!/usr/bin/env bash
# Starts the local PostgreSQL (Debian's package, installed by setup.sh --test)
# if it is down, makes sure the `chorus` role and database exist, and prints
# the URL the tests use as TEST_POSTGRES_URL. Safe to re-run.
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -n | tail -n1)
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else sudo -u postgres bash -c "$1"; fi
}
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"' | grep -q .; then
  as_pg "pg_createcluster $ver main" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$ver" main start >&2
fi
if ! as_pg "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='chorus'\"" | grep -q 1; then
  as_pg "psql -qc \"CREATE ROLE chorus LOGIN SUPERUSER PASSWORD 'chorus'\""
fi
if ! as_pg "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='chorus'\"" | grep -q 1; then
  as_pg "createdb -O chorus chorus"
fi
# Test databases of earlier runs (the store tests make one per test);
# `--keep` (scripts/cluster.sh) leaves them.
[ "${1:-}" = "--keep" ] || as_pg "psql -tAc \"SELECT datname FROM pg_database WHERE datname LIKE 'chorus\\_t\\_%'\"" |
  while read -r db; do [ -n "$db" ] && as_pg "dropdb --if-exists $db"; done
echo "postgres://chorus:chorus@127.0.0.1:5432/chorus"

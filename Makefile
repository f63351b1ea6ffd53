# The two commands of the README's quick start, and a few for development.
# Each installs what it needs first (scripts/setup.sh) and skips what is there.


SHELL := /bin/bash
.PHONY: run test bench cluster dev-server dev-app

## Build the app and the server in release; serve on http://localhost:3000.
## Server flags go in ARGS: make run ARGS="--no-limits --chunk-delay-ms 0"
run:
	scripts/run.sh $(ARGS)

## Three instances on PostgreSQL and Redis behind HAProxy on http://localhost:3000.
## Server flags go in ARGS, to every instance.
cluster:
	scripts/cluster.sh $(ARGS)

## Every benchmark of docs/benchmarks.md, in release, on a local server.
bench:
	scripts/bench.sh

## Every test: cargo test for the workspace, then the browser tests.
test:
	scripts/test.sh

## Development: the API on :3000, accepting sockets from trunk serve's :8080.
dev-server:
	cargo run -p server --bin chorus -- --allowed-origin http://localhost:8080,http://127.0.0.1:8080

## Development: trunk serve on :8080 with live reload, proxying /api and /ws.
dev-app:
	scripts/setup.sh && . scripts/env.sh && trunk serve

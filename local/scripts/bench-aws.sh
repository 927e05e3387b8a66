#!/usr/bin/env bash
# The modelled AWS run (issue 16): the MCP function under `cargo lambda watch` with its AWS
# requests going through local/scripts/aws_proxy.py (counted, delayed by the latency model)
# to a moto server of its own; local/scripts/aws_bench.py has the method, and its arguments
# come from here (e.g. `--reads 500 --writes 100 --json /tmp/aws.json`). What
# `make bench-aws` runs; needs `make venv` and cargo-lambda in .venv (the Makefile's stamp
# target installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARGO=${CARGO:-cargo}
echo "building the release MCP bootstrap with the aws feature and gitea-sim (not timed)" >&2
# The function's `aws` feature only forwards to aegis-storage's.
"$CARGO" build -q --release -p aegis-fn-mcp --features aegis-storage/aws >&2
"$CARGO" build -q -p gitea-sim >&2
# The hot-log design's sealer run after the calls (`aegis audit seal`, debug is fine).
"$CARGO" build -q -p aegis-cli --features aws >&2
PATH="$ROOT/.venv/bin:$PATH" "$ROOT/tests/with_moto.sh" "$ROOT/.venv/bin" \
	"$ROOT/.venv/bin/python" "$ROOT/local/scripts/aws_bench.py" "$@"

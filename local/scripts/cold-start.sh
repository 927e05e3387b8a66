#!/usr/bin/env bash
# Cold start of the four Lambda functions (median of 20 each) and the MCP function's memory
# after 1,000 requests, under `cargo lambda watch`, with the AWS adapters against a moto
# server of its own (local/scripts/coldstart.py has the method; arguments go to it, e.g.
# `--backend embedded --function mcp`). What `make bench-coldstart` and `make bench` run;
# needs `make venv` and cargo-lambda in .venv (the Makefile's stamp target installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARGO=${CARGO:-cargo}
# The functions' `aws` features only forward to aegis-storage's.
"$CARGO" build -q --release -p aegis-fn-mcp -p aegis-fn-oauth -p aegis-fn-webhook -p aegis-fn-jobs \
	--features aegis-storage/aws >&2
"$CARGO" build -q -p gitea-sim >&2
PATH="$ROOT/.venv/bin:$PATH" "$ROOT/tests/with_moto.sh" "$ROOT/.venv/bin" \
	"$ROOT/.venv/bin/python" "$ROOT/local/scripts/coldstart.py" "$@"

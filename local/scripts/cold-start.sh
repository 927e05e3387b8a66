#!/usr/bin/env bash
# `make bench`'s cold-start step: the MCP function's cold start (median of 20) and memory
# after 1,000 requests under `cargo lambda watch`, with the AWS adapters against a moto
# server of its own (local/scripts/coldstart.py has the method). Same as
# `make bench-coldstart`; needs `make venv` and cargo-lambda in .venv (the Makefile's
# stamp target installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARGO=${CARGO:-cargo}
"$CARGO" build -q --release -p aegis-fn-mcp --features aws >&2
"$CARGO" build -q -p gitea-sim >&2
PATH="$ROOT/.venv/bin:$PATH" "$ROOT/tests/with_moto.sh" "$ROOT/.venv/bin" \
	"$ROOT/.venv/bin/python" "$ROOT/local/scripts/coldstart.py" "$@"

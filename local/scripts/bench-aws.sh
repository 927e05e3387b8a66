#!/usr/bin/env bash
# The modelled AWS run (issue 16): the MCP function under `cargo lambda watch` with its AWS
# requests going through local/scripts/aws_proxy.py (counted, delayed by the latency model)
# to a moto server of its own; local/scripts/aws_bench.py has the method, and its arguments
# come from here (e.g. `--reads 500 --writes 100 --json /tmp/aws.json`). What
# `make bench-aws` runs; needs `make venv` and cargo-lambda in .venv (the Makefile's stamp
# target installs it).
#
# BENCH_AWS_BASELINE=<git rev> (e.g. `main`) also runs the hot-log design with that
# revision's MCP function, in the same run, before this tree's: it is built from a
# temporary worktree into the same target dir and kept as
# target/release/bench-aws-baseline-<rev> (reused next time: a revision is immutable).
# Cargo takes a workspace crate as up to date when its sources are older than its
# artifact, and both trees name the same artifacts, so this tree's workspace crates are
# then cleaned (release only): they are built from this tree's sources, not taken from
# the baseline's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARGO=${CARGO:-cargo}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
baseline=()
if [ -n "${BENCH_AWS_BASELINE:-}" ]; then
	rev=$(git -C "$ROOT" rev-parse --short "$BENCH_AWS_BASELINE^{commit}")
	built="$TARGET/release/bench-aws-baseline-$rev"
	if [ ! -x "$built" ]; then
		echo "building the baseline MCP bootstrap of $rev (not timed)" >&2
		src=$(mktemp -d)/src
		git -C "$ROOT" worktree add -q --detach "$src" "$rev"
		(cd "$src" && CARGO_TARGET_DIR="$TARGET" "$CARGO" build -q --release -p aegis-fn-mcp --features aegis-storage/aws) >&2 \
			|| { git -C "$ROOT" worktree remove --force "$src"; exit 1; }
		git -C "$ROOT" worktree remove --force "$src"
		cp "$TARGET/release/aegis-mcp" "$built"
	fi
	members=$("$CARGO" metadata -q --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml" \
		| "$ROOT/.venv/bin/python" -c 'import json, sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))')
	# shellcheck disable=SC2086 # one word per argument
	"$CARGO" clean -q --release --manifest-path "$ROOT/Cargo.toml" $members
	baseline=(--baseline "$built" --baseline-label "$rev")
fi
echo "building the release MCP bootstrap with the aws feature and gitea-sim (not timed)" >&2
# The function's `aws` feature only forwards to aegis-storage's.
"$CARGO" build -q --release -p aegis-fn-mcp --features aegis-storage/aws >&2
"$CARGO" build -q -p gitea-sim >&2
# The hot-log design's sealer run after the calls (`aegis audit seal`, debug is fine).
"$CARGO" build -q -p aegis-cli --features aws >&2
PATH="$ROOT/.venv/bin:$PATH" "$ROOT/tests/with_moto.sh" "$ROOT/.venv/bin" \
	"$ROOT/.venv/bin/python" "$ROOT/local/scripts/aws_bench.py" "${baseline[@]}" "$@"

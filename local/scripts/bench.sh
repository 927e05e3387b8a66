#!/usr/bin/env bash
# `make bench`: the benchmark suite, release builds, figures to docs/bench-results.md and
# docs/bench-results.json, and the figures block of docs/PERFORMANCE.md rewritten.
#
# Runs in about 3-4 minutes on 2 cores once the release build exists (the build itself is
# not timed). Knobs: BENCH_CALLS (latency samples per path, default 2000), BENCH_SECONDS
# (per throughput run, default 5), COLD_START_SCRIPT (the Lambda cold-start measurement,
# default local/scripts/cold-start.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CARGO="${CARGO:-cargo}"
CALLS="${BENCH_CALLS:-2000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
COLD_START_SCRIPT="${COLD_START_SCRIPT:-$ROOT/local/scripts/cold-start.sh}"
OUT_MD="$ROOT/docs/bench-results.md"
OUT_JSON="$ROOT/docs/bench-results.json"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aegis-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "==> release build (not timed)"
"$CARGO" build --release -q -p aegis-local --bin aegis-bench --bin aegis-local \
    -p aegis-cli --bin aegis -p aegis-core --example secrets_bench

started=$(date +%s)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)
machine="$(nproc) cores ($cpu_model), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr), $(rustc --version | cut -d' ' -f1-2)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date_utc=$(date -u +%Y-%m-%dT%H:%MZ)
echo "==> $date_utc on $machine (load average $load_before)"

echo "==> gateway overhead and throughput, single-file audit (the local default)"
"$TARGET/release/aegis-bench" --calls "$CALLS" --seconds "$SECONDS_PER_RUN" --audit file \
    --shim "$TARGET/release/aegis-local" --json "$WORK/gateway-file.json" | tee "$WORK/gateway-file.md"
echo "==> the same with the segments-and-digests audit"
"$TARGET/release/aegis-bench" --calls "$CALLS" --seconds "$SECONDS_PER_RUN" --audit segments \
    --json "$WORK/gateway-segments.json" | tee "$WORK/gateway-segments.md"

echo "==> audit append and verify rates"
"$TARGET/release/aegis" audit bench --dir "$WORK/audit" --records 2000 --writers 8 | tee "$WORK/audit.md"

echo "==> secret scanner throughput"
"$TARGET/release/examples/secrets_bench" | tee "$WORK/secrets.md"

echo "==> Lambda cold start (four functions, AWS adapters against moto)"
"$COLD_START_SCRIPT" --json "$WORK/cold-start.json" | tee "$WORK/cold-start.md"

echo "==> binary sizes"
{
    echo "| binary | bytes |"
    echo "|---|---|"
    for f in "$TARGET"/release/aegis-local "$TARGET"/release/aegis "$TARGET"/release/aegis-bench \
        "$TARGET"/release/aegis-mcp "$TARGET"/release/aegis-oauth "$TARGET"/release/aegis-webhook \
        "$TARGET"/release/aegis-jobs "$TARGET"/lambda/*/bootstrap; do
        [ -f "$f" ] || continue
        echo "| \`${f#"$TARGET"/}\` | $(stat -c %s "$f") |"
    done
} | tee "$WORK/sizes.md"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date +%s) - started ))

{
    echo "# Benchmark results"
    echo
    echo "<!-- Written by \`make bench\` (local/scripts/bench.sh); rerun it rather than editing. -->"
    echo
    echo "- date: $date_utc"
    echo "- machine: $machine"
    echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
    echo "- suite time: ${elapsed} s (release build excluded); latency samples per path: $CALLS; ${SECONDS_PER_RUN} s per throughput run"
    echo
    echo "## Gateway over a direct Gitea call: single-file audit (default), shim memory"
    echo
    cat "$WORK/gateway-file.md"
    echo
    echo "## Gateway over a direct Gitea call: segments-and-digests audit"
    echo
    cat "$WORK/gateway-segments.md"
    echo
    echo "## Audit append and verify (\`aegis audit bench --records 2000 --writers 8\`)"
    echo
    cat "$WORK/audit.md"
    echo
    echo "## Secret scanner (\`secrets_bench\`)"
    echo
    cat "$WORK/secrets.md"
    echo
    echo "## Lambda cold start"
    echo
    cat "$WORK/cold-start.md"
    echo
    echo "## Binary sizes (release builds present)"
    echo
    cat "$WORK/sizes.md"
} > "$OUT_MD"

{
    echo "{"
    echo "  \"date\": \"$date_utc\","
    echo "  \"machine\": \"$(echo "$machine" | sed 's/"/\\"/g')\","
    echo "  \"load_before\": \"$load_before\", \"load_after\": \"$load_after\","
    echo "  \"gateway_single_file_audit\": $(cat "$WORK/gateway-file.json"),"
    echo "  \"gateway_segments_audit\": $(cat "$WORK/gateway-segments.json"),"
    echo "  \"lambda_cold_start\": $(cat "$WORK/cold-start.json")"
    echo "}"
} > "$OUT_JSON"

# The figures block of PERFORMANCE.md, between its markers.
perf="$ROOT/docs/PERFORMANCE.md"
if grep -q '<!-- bench:begin -->' "$perf"; then
    block="$WORK/block.md"
    {
        echo "<!-- bench:begin -->"
        echo "Last \`make bench\`: $date_utc, $machine, load average $load_before before and $load_after after."
        echo
        cat "$WORK/gateway-file.md"
        echo
        echo "Lambda cold start (\`local/scripts/cold-start.sh\`):"
        echo
        cat "$WORK/cold-start.md"
        echo
        echo "Full output: [bench-results.md](bench-results.md) (JSON: bench-results.json)."
        echo "<!-- bench:end -->"
    } > "$block"
    awk -v block="$block" '
        /<!-- bench:begin -->/ { while ((getline line < block) > 0) print line; skip = 1; next }
        /<!-- bench:end -->/ { skip = 0; next }
        !skip { print }
    ' "$perf" > "$WORK/perf.md"
    cp "$WORK/perf.md" "$perf"
fi

echo "==> wrote docs/bench-results.md, docs/bench-results.json (suite: ${elapsed} s)"

#!/usr/bin/env python3
"""The modelled AWS run (issue 16): AWS requests, critical path, modelled latency and cost per call.

Method (docs/PERFORMANCE.md, "Modelled AWS run"): the MCP function's release bootstrap
(`aegis-mcp`, built with the `aws` feature) runs under `cargo lambda watch --only-lambda-apis`
as Lambda would run it (`AWS_LAMBDA_RUNTIME_API` pointing at the emulator), in API-key mode
with `STORAGE_BACKEND=aws`. Its `AWS_ENDPOINT_URL` is `aws_proxy.py` (in this process),
which forwards to moto, names and times every AWS request, and delays each by a draw from
the latency model. The script then drives, one at a time through the Function URL path:

- `--warmup` read and write calls (not measured: the instance's caches and connections
  warm up, as on a warm Lambda instance);
- `--reads` read calls (`tools/call list_labels` on `acme/app` of the Gitea simulator);
- `--writes` write calls (`tools/call create_issue_comment` on `acme/app` issue 2, write
  mode on).

Every AWS request whose start falls inside a call's window (request sent .. answer read)
belongs to that call; the answer waited for it. Requests of one call whose time spans
overlap are concurrent; the call's sequential AWS round trips (its critical path) are the
groups of overlapping requests in time order, and its added latency under the model is
the sum over those groups of the largest modelled delay in each. Requests outside every
call window (the start record at init, anything the function did after answering) are
reported apart. Costs per million calls come from the price table (`PRICES`, cited in
docs/PERFORMANCE.md), the requests counted, and a Lambda duration per call of what the
call spent here not waiting on AWS plus its modelled AWS latency (moto's own time is
replaced by the model's).

Designs: `--design` (repeatable) names an entry of `DESIGNS`; each design gets a fresh
function instance, table and bucket, and its own columns in the table. Today's design is
`today` (`AUDIT_HOT_LOG=off`: one S3 segment per call); `hotlog` is issue 16's (one
DynamoDB item per call, sealed after the calls by `aegis audit seal`, whose requests are
reported per 1,000 calls and priced per call). Both run by default. A further design is one
more `DESIGNS` entry (its environment, and a `finish`
hook for work after the calls, such as a sealer run, whose requests are counted apart).
`--baseline PATH` runs the `hotlog` design once more, first, with another build of the
function (an earlier revision's bootstrap: `make bench-aws BENCH_AWS_BASELINE=main` builds
and passes it), so a change to the function is measured against its predecessor in one run.

`--verify-calls N` adds the `auditor` design: the hot log with N read calls on one instance,
one sealer-and-digest run, then what an auditor runs, `aegis audit verify --s3 ... --table
... --public-key ... --max-digest-age 3600 --json`, through the same proxy; the report
counts the segment and digest GETs at the proxy beside what the verifier says it read, and
the records it covered (issue 16: 10,000 calls from at most 50 segment objects).

    make bench-aws                                   # builds, starts moto, runs this
    make bench-aws BENCH_AWS_ARGS="--reads 500 --writes 100 --json /tmp/aws.json"
    make bench-aws BENCH_AWS_BASELINE=main BENCH_AWS_ARGS="--design hotlog"
    make bench-aws BENCH_AWS_ARGS="--design auditor --verify-calls 10000"   # the auditor alone

Needs: the release `aegis-mcp` built with the `aws` feature, `gitea-sim` (debug is fine),
`cargo-lambda` on PATH and a moto server (AEGIS_TEST_MOTO_URL, as `tests/with_moto.sh` sets).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws_proxy import MODEL, AwsProxy, Exchange  # noqa: E402  (next to this script)
from coldstart import (  # noqa: E402  (the cold-start bench's emulator helpers)
    FUNCTION,
    ROOT,
    TARGET,
    cpu_model,
    free_port,
    http,
    stop,
    wait_line,
    wait_port,
)
from provision_emulator import provision  # noqa: E402

API_KEY = "bench-aws-" + "0" * 40
# alice may write to acme/app in the demo seed (local/gitea-sim/seed/demo.yaml).
GITEA_TOKEN = "alice-token-0001a4519d63df9568768119d218"
READ_TOOL = ("list_labels", lambda i: {"owner": "acme", "repo": "app"})
WRITE_TOOL = (
    "create_issue_comment",
    lambda i: {"owner": "acme", "repo": "app", "issue_number": 2, "body": f"bench-aws comment {i}"},
)
POLICY = """\
# bench-aws: reads allowed, one write tool on one repository
defaults:
  read: allow
  write: deny
repositories:
  acme/app:
    tools:
      allow: [list_labels, create_issue_comment]
"""

# us-east-1 list prices, USD; sources and date in docs/PERFORMANCE.md ("Price table").
PRICES = {
    "http_api_per_million": 1.00,  # API Gateway HTTP API, first 300 M requests a month
    "lambda_requests_per_million": 0.20,
    "lambda_gb_second_arm64": 0.0000133334,
    "dynamodb_wru_per_million": 0.625,  # on-demand write request units
    "dynamodb_rru_per_million": 0.125,  # on-demand read request units
    "s3_put_copy_post_list_per_thousand": 0.005,  # S3 Standard
    "s3_get_and_other_per_thousand": 0.0004,
}


@dataclass(frozen=True)
class Design:
    """One audit design under test: what the function's environment adds, and what runs after the calls."""

    name: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    # The bootstrap: a name in `--target`, or an absolute path (a `--baseline` build)
    binary: str = "aegis-mcp"
    # Work after the calls (a sealer run, say), given the run's context; the AWS requests it
    # causes are reported as `after the calls`, per call, beside the calls' own. What it
    # returns is kept with the run (`auditor_verify` returns its verification's window).
    finish: Callable[[dict[str, str]], dict | None] | None = None
    # The calls, by kind, from the arguments (default: --reads, then --writes)
    plan: Callable[[argparse.Namespace], list[tuple[str, int]]] | None = None


# The sealer's digest key in the bench (a fixed seed: nothing here is secret).
BENCH_SIGNING_SEED = "09" * 32
# `aegis` built with the `aws` feature (`--cli`)
CLI = {"path": TARGET / "debug" / "aegis"}


def seal_hot_log(env: dict[str, str]) -> None:
    """One run of the sealer and digest (what the jobs function's `audit_digest` does every
    AuditDigestSchedule), through the same counting proxy: `aegis audit seal`."""
    aegis(env, "seal", ["--table", env["AEGIS_TABLE_NAME"], "--signing-key-file", str(bench_key_file())])


def bench_key_file() -> Path:
    """The bench's digest seed in a file, for `--signing-key-file`."""
    key = Path(tempfile.mkdtemp(prefix="bench-aws-key-")) / "seed"
    key.write_text(BENCH_SIGNING_SEED)
    return key


def aegis(env: dict[str, str], command: str, args: list[str], ok: tuple[int, ...] = (0,)) -> str:
    """`aegis audit <command>` on the run's trail (`--s3`, region, endpoint: the counting
    proxy); its stdout."""
    out = subprocess.run(
        [str(CLI["path"]), "audit", command,
         "--s3", f"s3://{env['AUDIT_S3_BUCKET']}/{env['AUDIT_S3_PREFIX']}",
         "--region", env["AWS_REGION"], "--endpoint-url", env["AWS_ENDPOINT_URL"], *args],
        env=os.environ | {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
        capture_output=True, text=True, timeout=1800,
    )
    if out.returncode not in ok:
        sys.exit(f"aegis audit {command} failed ({out.returncode}): {out.stdout} {out.stderr}")
    if command == "seal":
        progress(f"sealer: {out.stdout.strip()[:2000]}")
    return out.stdout


def bench_public_key() -> str:
    """The public key of BENCH_SIGNING_SEED, which an auditor pins (`--public-key`)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(BENCH_SIGNING_SEED))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def auditor_verify(env: dict[str, str]) -> dict:
    """Seal and digest as `hotlog` does, then what an auditor runs, through the same counting
    proxy: `aegis audit verify --s3 ... --table ... --public-key ... --max-digest-age 3600
    --json` (the sealed segments and the hot log's unsealed tail). Returns the report and
    the verification's time window (its requests are the proxy's exchanges inside it)."""
    seal_hot_log(env)
    start = time.perf_counter()
    stdout = aegis(env, "verify", ["--table", env["AEGIS_TABLE_NAME"], "--public-key", bench_public_key(),
                                   "--max-digest-age", "3600", "--json"], ok=(0, *range(10, 19)))
    end = time.perf_counter()
    report = json.loads(stdout)
    progress(f"auditor: {len(report['findings'])} findings, {report['segment_reads']} segment objects read "
             f"for {report['records']} records in {end - start:.1f} s")
    return {"verify_window": (start, end), "report": report}


DESIGNS: dict[str, Design] = {
    "today": Design(
        "today",
        "the audit writer puts one S3 segment per batch; on Lambda a batch is one call's records",
        env={"AUDIT_HOT_LOG": "off"},
    ),
    "hotlog": Design(
        "hotlog",
        "the audit writer puts one create-only DynamoDB item per batch (the hot log); "
        "the sealer turns them into S3 segments and a digest after the calls",
        env={"AUDIT_HOT_LOG": "dynamodb"},
        finish=seal_hot_log,
    ),
    # `--verify-calls N`: N read calls on one instance, sealed, then verified from S3 as an
    # auditor would (issue 16: at most 50 segment objects for 10,000 calls).
    "auditor": Design(
        "auditor",
        "the hot log as in `hotlog`, --verify-calls read calls, sealed and digested, then "
        "`aegis audit verify --s3 ... --table ...` through the counting proxy",
        env={"AUDIT_HOT_LOG": "dynamodb"},
        finish=auditor_verify,
        plan=lambda args: [("read", args.verify_calls)],
    ),
}


@dataclass
class Call:
    kind: str  # "read" or "write"
    start: float
    end: float
    attempts: int  # 1 unless the emulator failed a try (retried)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start) * 1000


def stages(exchanges: list[Exchange]) -> list[list[Exchange]]:
    """The requests grouped into sequential round trips: overlapping time spans are one group."""
    out: list[list[Exchange]] = []
    horizon = -math.inf
    for x in sorted(exchanges, key=lambda x: x.start):
        if out and x.start < horizon:
            out[-1].append(x)
            horizon = max(horizon, x.end)
        else:
            out.append([x])
            horizon = x.end
    return out


def critical_path(exchanges: list[Exchange]) -> tuple[int, float, str]:
    """(sequential round trips, modelled added latency in ms, the path as text)."""
    groups = stages(exchanges)
    added = sum(max(x.delay_ms for x in g) for g in groups)
    text = " → ".join(" ∥ ".join(sorted(x.operation for x in g)) for g in groups)
    return len(groups), added, text or "none"


def aws_wait_ms(exchanges: list[Exchange]) -> float:
    """Wall time during which at least one of the requests was in flight (the union of their spans)."""
    total = 0.0
    for group in stages(exchanges):
        total += max(x.end for x in group) - min(x.start for x in group)
    return total * 1000


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), 0 < p <= 100."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def capacity_units(x: Exchange) -> tuple[float, float]:
    """(write, read) request units a DynamoDB request consumes on demand, bounded from above.

    Writes: 1 per started KB of the item: a `PutItem`'s item as the proxy sized it from the
    request (`item_bytes`, DynamoDB's own rule), other writes bounded by the request's size
    (which holds the item and more); reads: 1 per started 4 KB for a strongly consistent
    read (half that eventually consistent), bounded by the response's size. Transactions
    cost twice.
    """
    op = x.operation
    if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
        size = x.item_bytes if op == "PutItem" and x.item_bytes else x.request_bytes
        units = max(1, math.ceil(size / 1024))
        return (2 * units if op.startswith("Transact") else units), 0.0
    if op in ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"):
        units = max(1, math.ceil(x.response_bytes / 4096)) * (1.0 if x.consistent_read else 0.5)
        return 0.0, (2 * units if op.startswith("Transact") else units)
    return 0.0, 0.0  # control plane (CreateTable, ...): not billed per request


def s3_price(x: Exchange) -> float:
    if x.method == "DELETE":
        return 0.0
    if x.method in ("PUT", "POST") or x.operation.startswith("List"):
        return PRICES["s3_put_copy_post_list_per_thousand"] / 1000
    return PRICES["s3_get_and_other_per_thousand"] / 1000


def lambda_ms(call: Call) -> float:
    """The call's duration as Lambda would bill it on AWS: what it spent not waiting on AWS
    here (the function, the Gitea simulator, the emulator's relay), plus its modelled AWS
    latency instead of moto's own time."""
    return call.duration_ms - aws_wait_ms(call.exchanges) + critical_path(call.exchanges)[1]


def cost_per_million(calls: list[Call], memory_mb: int) -> dict[str, float]:
    """USD per million calls like `calls`, by service (each request billed as measured)."""
    n = len(calls)
    wru = rru = s3 = 0.0
    for call in calls:
        for x in call.exchanges:
            if x.service == "dynamodb":
                w, r = capacity_units(x)
                wru, rru = wru + w, rru + r
            elif x.service == "s3":
                s3 += s3_price(x)
    # Lambda bills each invocation's duration rounded up to the millisecond.
    gb_seconds = sum(math.ceil(lambda_ms(c)) / 1000 for c in calls) / n * (memory_mb / 1024)
    out = {
        "api_gateway_http_api": PRICES["http_api_per_million"],
        "lambda_requests": PRICES["lambda_requests_per_million"],
        "lambda_compute": gb_seconds * PRICES["lambda_gb_second_arm64"] * 1e6,
        "dynamodb": (wru * PRICES["dynamodb_wru_per_million"] + rru * PRICES["dynamodb_rru_per_million"]) / n,
        "s3": s3 / n * 1e6,
    }
    out["total"] = sum(out.values())
    return {k: round(v, 4) for k, v in out.items()}


def summarise(calls: list[Call], memory_mb: int) -> dict[str, object]:
    n = len(calls)
    ops: Counter[str] = Counter()
    retries = 0
    for call in calls:
        for x in call.exchanges:
            ops[f"{x.service}:{x.operation}"] += 1
            retries += x.attempt > 1
    paths = [critical_path(c.exchanges) for c in calls]
    added = [p[1] for p in paths]
    durations = [c.duration_ms for c in calls]
    # What the call spent not waiting on AWS: the function, the Gitea simulator, the emulator's relay
    rest = [c.duration_ms - aws_wait_ms(c.exchanges) for c in calls]
    billed = [lambda_ms(c) for c in calls]
    shapes = Counter(p[2] for p in paths)
    return {
        "calls": n,
        "requests_per_call": round(sum(ops.values()) / n, 3),
        "requests_per_call_by_operation": {k: round(v / n, 3) for k, v in sorted(ops.items())},
        "sequential_round_trips": {"median": statistics.median(p[0] for p in paths), "max": max(p[0] for p in paths)},
        "critical_paths": {shape: count for shape, count in shapes.most_common()},
        "added_latency_ms": {"p50": round(percentile(added, 50), 1), "p99": round(percentile(added, 99), 1),
                             "mean": round(statistics.fmean(added), 1)},
        "call_duration_ms": {"p50": round(percentile(durations, 50), 1), "p99": round(percentile(durations, 99), 1),
                             "mean": round(statistics.fmean(durations), 1)},
        "time_not_waiting_on_aws_ms": {"p50": round(percentile(rest, 50), 1), "p99": round(percentile(rest, 99), 1),
                                       "mean": round(statistics.fmean(rest), 1)},
        "lambda_duration_ms": {"p50": round(percentile(billed, 50), 1), "p99": round(percentile(billed, 99), 1),
                               "mean": round(statistics.fmean(billed), 1)},
        "sdk_retries": retries,
        "emulator_retries": sum(c.attempts - 1 for c in calls),
        "cost_per_million_usd": cost_per_million(calls, memory_mb),
    }


def tool_call(port: int, name: str, arguments: dict, request_id: int) -> tuple[int, bytes]:
    body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    return http(
        port,
        "POST",
        f"/lambda-url/{FUNCTION}/mcp",
        json.dumps(body).encode(),
        {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "authorization": f"Bearer {API_KEY}",
            "mcp-protocol-version": "2025-11-25",
        },
        30,
    )


def tool_error(body: bytes) -> str | None:
    """Why a tools/call answer is not a success, or None. Accepts JSON or one SSE `data:` event."""
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        payload = text
    else:
        payload = next((line[5:].strip() for line in text.splitlines() if line.startswith("data:")), "")
    try:
        message = json.loads(payload)
    except ValueError:
        return f"not JSON-RPC: {text[:200]!r}"
    if "error" in message:
        return f"JSON-RPC error {message['error']}"
    result = message.get("result") or {}
    if result.get("isError"):
        return f"tool error {json.dumps(result)[:300]}"
    return None


class Run:
    """One design: its emulator, function, proxy and calls."""

    def __init__(self, args: argparse.Namespace, design: Design, gitea_url: str, work: Path):
        self.args, self.design, self.gitea_url, self.work = args, design, gitea_url, work
        self.moto = os.environ["AEGIS_TEST_MOTO_URL"]
        suffix = uuid.uuid4().hex[:12]
        self.table, self.bucket = f"bench-aws-{suffix}", f"bench-aws-{suffix}"
        self.calls: list[Call] = []
        self.finish_s = 0.0
        self.finished: dict | None = None
        self.log = open(work / f"{design.name}-function.log", "ab")

    def env(self, runtime_port: int, proxy_url: str) -> dict[str, str]:
        policy = self.work / "policy.yaml"
        policy.write_text(POLICY, encoding="utf-8")
        return {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{runtime_port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.args.memory_mb),
            "GITEA_URL": self.gitea_url,
            "GITEA_TOKEN": GITEA_TOKEN,
            "MCP_API_KEYS": API_KEY,
            "ENVIRONMENT": "production",
            "LOG_LEVEL": os.environ.get("BENCH_AWS_LOG_LEVEL", "WARNING"),
            # Counted, never refused: the run measures requests, not the limits.
            "RATE_LIMIT_PER_MINUTE": "1000000",
            "TOKEN_RATE_LIMIT_PER_MINUTE": "1000000",
            "WRITE_MODE": "true",
            "WRITE_REPOSITORY_WHITELIST": "acme/app",
            "POLICY_FILE_PATH": str(policy),
            "STORAGE_BACKEND": "aws",
            "AEGIS_TABLE_NAME": self.table,
            "AUDIT_S3_BUCKET": self.bucket,
            "AUDIT_S3_PREFIX": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": proxy_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        } | self.design.env

    def call(self, port: int, kind: str, index: int) -> Call:
        name, arguments = READ_TOOL if kind == "read" else WRITE_TOOL
        for attempt in range(1, 4):
            start = time.perf_counter()
            try:
                status, body = tool_call(port, name, arguments(index), index + 10)
            except TimeoutError:
                status, body = 0, b"timed out"
            end = time.perf_counter()
            # The emulator now and then answers 500 without reaching the function
            # (coldstart.py has the same): retried, and counted.
            if status == 200:
                if why := tool_error(body):
                    sys.exit(f"{self.design.name}: {kind} call {index} ({name}) failed: {why} "
                             f"(function log: {self.log.name})")
                return Call(kind, start, end, attempt)
        sys.exit(f"{self.design.name}: {kind} call {index} ({name}): HTTP {status}: {body[:300]!r} "
                 f"(function log: {self.log.name})")

    def execute(self) -> dict[str, object]:
        args = self.args
        provision(self.moto, self.table, self.bucket)  # directly at moto: not counted
        proxy = AwsProxy(self.moto, seed=args.seed, latency=not args.no_latency).start()
        port = free_port()
        emulator = subprocess.Popen(
            ["cargo-lambda", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
            cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True,
        )
        proc = None
        try:
            wait_port(port)
            binary = args.target / self.design.binary
            proc = subprocess.Popen([str(binary)], env=self.env(port, proxy.url), stdout=self.log, stderr=self.log)
            progress(f"{self.design.name}: function started, {args.warmup} warm-up calls of each kind")
            for i in range(args.warmup):
                self.call(port, "read", i)
                self.call(port, "write", i)
            warm = len(proxy.exchanges())
            plan = self.design.plan(args) if self.design.plan else [("read", args.reads), ("write", args.writes)]
            for kind, count in plan:
                t0 = time.perf_counter()
                for i in range(count):
                    self.calls.append(self.call(port, kind, i))
                    if (i + 1) % args.progress_every == 0 or i + 1 == count:
                        progress(f"{self.design.name}: {kind} calls {i + 1}/{count} "
                                 f"({(i + 1) / (time.perf_counter() - t0):.1f}/s)")
            measured_end = time.perf_counter()
            if self.design.finish:
                progress(f"{self.design.name}: finishing ({self.design.finish.__name__})")
                t0 = time.perf_counter()
                self.finished = self.design.finish(self.env(port, proxy.url))
                self.finish_s = time.perf_counter() - t0
        finally:
            if proc is not None:
                stop(proc)
            os.killpg(emulator.pid, 2)
            try:
                emulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(emulator.pid, 9)
                emulator.wait()
            proxy.stop()
        exchanges = proxy.exchanges()
        return self.attribute(exchanges, warm, measured_end)

    def attribute(self, exchanges: list[Exchange], warm: int, measured_end: float) -> dict[str, object]:
        """Each request to the call whose window holds its start; the rest by phase."""
        windows = sorted(self.calls, key=lambda c: c.start)
        starts = [c.start for c in windows]
        outside: dict[str, Counter[str]] = {"init and warm-up": Counter(), "between calls (after an answer)": Counter(),
                                            "after the calls": Counter()}
        for x in exchanges[:warm]:
            outside["init and warm-up"][f"{x.service}:{x.operation}"] += 1
        after: list[Exchange] = []
        # The auditor's verification (the `auditor` design's finish), reported on its own
        verify_start, verify_end = (self.finished or {}).get("verify_window", (math.inf, math.inf))
        verifying: list[Exchange] = []
        for x in exchanges[warm:]:
            i = bisect.bisect_right(starts, x.start) - 1
            if i >= 0 and x.start <= windows[i].end:
                windows[i].exchanges.append(x)
            elif verify_start <= x.start <= verify_end:
                verifying.append(x)
            elif x.start > measured_end:
                outside["after the calls"][f"{x.service}:{x.operation}"] += 1
                after.append(x)
            else:
                outside["between calls (after an answer)"][f"{x.service}:{x.operation}"] += 1
        result: dict[str, object] = {"design": self.design.name, "description": self.design.description}
        for kind in ("read", "write"):
            calls = [c for c in self.calls if c.kind == kind]
            if calls:
                result[kind] = summarise(calls, self.args.memory_mb)
        result["outside_calls"] = {k: dict(v) for k, v in outside.items()}
        finish_s = self.finish_s
        if self.finished and "verify_window" in self.finished:
            finish_s -= verify_end - verify_start
            result["auditor"] = auditor_summary(verifying, self.finished["report"], len(self.calls),
                                                verify_end - verify_start)
        if after:
            result["after_calls"] = amortised(after, len(self.calls), finish_s, self.args.memory_mb)
        return result


def amortised(exchanges: list[Exchange], calls: int, seconds: float, memory_mb: int) -> dict[str, object]:
    """The work after the calls (a sealer run) spread over the run's calls: requests per
    1,000 calls by operation, S3 PUTs per 1,000 calls, and USD per million calls (its
    DynamoDB and S3 requests, and one jobs-function invocation of its measured duration)."""
    ops: Counter[str] = Counter(f"{x.service}:{x.operation}" for x in exchanges)
    wru = rru = s3 = 0.0
    for x in exchanges:
        if x.service == "dynamodb":
            w, r = capacity_units(x)
            wru, rru = wru + w, rru + r
        elif x.service == "s3":
            s3 += s3_price(x)
    usd = {
        "dynamodb": wru * PRICES["dynamodb_wru_per_million"] / 1e6 + rru * PRICES["dynamodb_rru_per_million"] / 1e6,
        "s3": s3,
        "lambda": PRICES["lambda_requests_per_million"] / 1e6
        + seconds * (memory_mb / 1024) * PRICES["lambda_gb_second_arm64"],
    }
    s3_puts = sum(1 for x in exchanges if x.service == "s3" and x.method in ("PUT", "POST"))
    return {
        "calls": calls,
        "requests_per_1000_calls_by_operation": {k: round(v / calls * 1000, 2) for k, v in sorted(ops.items())},
        "s3_puts_per_1000_calls": round(s3_puts / calls * 1000, 2),
        "seconds": round(seconds, 2),
        "cost_per_million_calls_usd": {k: round(v / calls * 1e6, 4) for k, v in usd.items()}
        | {"total": round(sum(usd.values()) / calls * 1e6, 4)},
    }


def auditor_summary(exchanges: list[Exchange], report: dict, calls: int, seconds: float) -> dict[str, object]:
    """What the auditor's verification read, counted at the proxy, beside what it reports."""
    ops: Counter[str] = Counter(f"{x.service}:{x.operation}" for x in exchanges)

    def gets(part: str) -> int:
        return sum(1 for x in exchanges if x.operation == "GetObject" and part in x.path)

    tail = report.get("hot_log") or {}
    return {
        "calls": calls,
        "segment_gets": gets("/segments/"),
        "digest_gets": gets("/digests/"),
        "requests_by_operation": dict(sorted(ops.items())),
        "seconds": round(seconds, 2),
        "modelled_aws_ms": round(sum(x.delay_ms for x in exchanges), 1),
        "report": {k: report.get(k) for k in ("chains", "segments", "records", "events", "digests",
                                               "segment_reads", "digest_reads", "newest_sealed_record_ts")}
        | {"records_unsealed": tail.get("records_unsealed"), "findings": len(report["findings"]),
           "exit": "ok" if not report["findings"] else "findings"},
    }


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.1 else f"${value:,.3f}"


def markdown(report: dict) -> str:
    runs = report["runs"]
    columns = [(r, kind) for r in runs for kind in ("read", "write") if kind in r]
    head = "| | " + " | ".join(f"{r['design']}: {kind} ({r[kind]['calls']} calls)" for r, kind in columns) + " |"
    rows = [head, "|---|" + "---|" * len(columns)]

    def row(label: str, cell: Callable[[dict], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(r[kind]) for r, kind in columns) + " |")

    row("AWS requests per call", lambda s: f"{s['requests_per_call']:g}")
    row("by operation", lambda s: ", ".join(f"{k.split(':')[1]} {v:g}" for k, v in s["requests_per_call_by_operation"].items()))
    row("sequential AWS round trips (median / max)",
        lambda s: f"{s['sequential_round_trips']['median']:g} / {s['sequential_round_trips']['max']}")
    row("critical path (most common)", lambda s: next(iter(s["critical_paths"])))
    row("added latency under the model, p50 / p99", lambda s: f"{s['added_latency_ms']['p50']} / {s['added_latency_ms']['p99']} ms")
    row("call duration through the emulator, p50 / p99 (mean)",
        lambda s: f"{s['call_duration_ms']['p50']} / {s['call_duration_ms']['p99']} ms ({s['call_duration_ms']['mean']})")
    row("of which not waiting on AWS (function, simulator, emulator), p50 / p99",
        lambda s: f"{s['time_not_waiting_on_aws_ms']['p50']} / {s['time_not_waiting_on_aws_ms']['p99']} ms")
    row("Lambda duration (not waiting on AWS + modelled AWS latency), p50 / p99 (mean)",
        lambda s: f"{s['lambda_duration_ms']['p50']} / {s['lambda_duration_ms']['p99']} ms ({s['lambda_duration_ms']['mean']})")
    row("SDK retries / emulator retries", lambda s: f"{s['sdk_retries']} / {s['emulator_retries']}")
    for key, label in [("api_gateway_http_api", "per million calls: API Gateway HTTP API"),
                       ("lambda_requests", "Lambda requests"),
                       ("lambda_compute", f"Lambda GB-s ({report['memory_mb']} MB arm64, the duration above)"),
                       ("dynamodb", "DynamoDB on-demand"), ("s3", "S3"), ("total", "**total per million calls**")]:
        row(label, lambda s, key=key: money(s["cost_per_million_usd"][key]))
    lines = [
        f"{report['date']}, {report['machine']}, load average {report['load_average_before']} before and "
        f"{report['load_average_after']} after; moto behind `local/scripts/aws_proxy.py` "
        f"({'latency model on' if report['latency_model'] else 'no added latency'}, seed {report['seed']}); "
        f"{report['warmup']} warm-up calls of each kind first, then the calls one at a time.",
        "",
        *rows,
    ]
    for r in runs:
        if a := r.get("after_calls"):
            lines.append(
                f"\n{r['design']}, the work after the calls (sealer and digest, {a['seconds']} s) over the run's "
                f"{a['calls']} calls: per 1,000 calls "
                + ", ".join(f"{k.split(':')[1]} {v:g}" for k, v in a["requests_per_1000_calls_by_operation"].items())
                + f"; S3 PUTs {a['s3_puts_per_1000_calls']:g} per 1,000 calls; "
                + f"{money(a['cost_per_million_calls_usd']['total'])} per million calls, to add to each column's total.")
        if a := r.get("auditor"):
            rep = a["report"]
            lines.append(
                f"\n{r['design']}, the auditor's `aegis audit verify --s3 ... --table ... --public-key ... "
                f"--max-digest-age 3600` after {a['calls']:,} calls, sealing and a digest: "
                f"{a['segment_gets']} segment and {a['digest_gets']} digest GETs at the proxy (the report says "
                f"{rep['segment_reads']} and {rep['digest_reads']}) for {rep['records']:,} records "
                f"({rep['events']:,} events) in {rep['segments']} segments of {rep['chains']} chains, "
                f"{rep['records_unsealed']} unsealed, {rep['findings']} findings; requests "
                + ", ".join(f"{k.split(':')[1]} {v}" for k, v in a["requests_by_operation"].items())
                + f"; {a['seconds']} s wall time ({a['modelled_aws_ms']:.0f} ms of it modelled AWS latency, "
                "requests one after another).")
        for phase, ops in r["outside_calls"].items():
            if ops:
                lines.append(f"\n{r['design']}, requests outside the measured calls, {phase}: "
                             + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(ops.items())) + ".")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=TARGET / "release", help="where the release bootstrap is")
    parser.add_argument("--gitea-sim", type=Path, default=TARGET / "debug" / "gitea-sim")
    parser.add_argument("--cli", type=Path, default=CLI["path"],
                        help="`aegis` with the aws feature, for the hotlog design's sealer run")
    parser.add_argument("--design", choices=tuple(DESIGNS), action="append",
                        help="a design to run (repeatable; default: today, then hotlog, then auditor with --verify-calls)")
    parser.add_argument("--baseline", type=Path,
                        help="another build of the MCP bootstrap: its hotlog design runs first, in the same run")
    parser.add_argument("--baseline-label", default="baseline",
                        help="what to call that build in the table (e.g. its git revision)")
    parser.add_argument("--reads", type=int, default=200, help="measured read calls (default 200)")
    parser.add_argument("--writes", type=int, default=50, help="measured write calls (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured calls of each kind first (default 5)")
    parser.add_argument("--verify-calls", type=int, default=0,
                        help="also run the `auditor` design: this many read calls, sealed, then "
                             "`aegis audit verify --s3 ... --table ...` through the proxy (default 0: not run)")
    parser.add_argument("--memory-mb", type=int, default=256, help="Lambda memory for the GB-s price (default 256, the template's)")
    parser.add_argument("--seed", type=int, default=16, help="seed of the modelled delays (default 16)")
    parser.add_argument("--no-latency", action="store_true", help="count requests without adding modelled latency")
    parser.add_argument("--progress-every", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    args = parser.parse_args()
    if args.reads < 1 or args.writes < 1 or args.warmup < 0:
        sys.exit("--reads and --writes must be at least 1, --warmup at least 0")
    if not os.environ.get("AEGIS_TEST_MOTO_URL"):
        sys.exit("needs a moto server in AEGIS_TEST_MOTO_URL (run through `make bench-aws`)")
    if shutil.which("cargo-lambda") is None:
        sys.exit("cargo-lambda is not on PATH (make bench-aws installs it into .venv/bin)")
    if args.verify_calls < 0:
        sys.exit("--verify-calls must be at least 0")
    chosen = args.design or [d for d in DESIGNS if d != "auditor"]
    if args.verify_calls and "auditor" not in chosen:
        chosen.append("auditor")
    if "auditor" in chosen and not args.verify_calls:
        sys.exit("the auditor design needs --verify-calls N")
    designs = [DESIGNS[d] for d in chosen]
    if args.baseline:
        hotlog = DESIGNS["hotlog"]
        designs.insert(0, Design(
            f"hotlog@{args.baseline_label}", f"{hotlog.description}; the function as built at {args.baseline_label}",
            env=hotlog.env, binary=str(args.baseline.resolve()), finish=hotlog.finish,
        ))
    needed = [args.target / d.binary for d in designs] + [args.gitea_sim]
    if any(d.finish in (seal_hot_log, auditor_verify) for d in designs):
        CLI["path"] = args.cli
        needed.append(args.cli)
    for path in needed:
        if not path.is_file():
            sys.exit(f"{path} is missing (make bench-aws builds it)")

    work = Path(tempfile.mkdtemp(prefix="bench-aws-"))
    sim = subprocess.Popen(
        [str(args.gitea_sim), "--seed", str(ROOT / "local/gitea-sim/seed/demo.yaml"), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        gitea_url = wait_line(sim, r"listening on (http://\S+)", 30)
        # The simulator's stdout must keep draining, or it blocks once the pipe is full.
        threading.Thread(target=lambda: sim.stdout and sim.stdout.read(), daemon=True).start()
        report: dict[str, object] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
            "load_average_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "latency_model": not args.no_latency,
            "model_ms": {f"{s}:{o}": [m.p50_ms, m.p99_ms] for (s, o), m in MODEL.items()},
            "prices_usd": PRICES,
            "seed": args.seed,
            "warmup": args.warmup,
            "memory_mb": args.memory_mb,
            "runs": [Run(args, design, gitea_url, work).execute() for design in designs],
        }
        report["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(markdown(report))
    finally:
        stop(sim)


if __name__ == "__main__":
    main()

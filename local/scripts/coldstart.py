#!/usr/bin/env python3
"""Cold start of the four Lambda functions, and memory of the MCP function, under the local Lambda emulator.

Method (docs/PERFORMANCE.md, "Cold start"): `cargo lambda watch --only-lambda-apis` serves
the Lambda Runtime API, the Function URL front door and the Invoke API, but does not start
the function itself; this script starts a release bootstrap (`aegis-mcp`, `aegis-oauth`,
`aegis-webhook`, `aegis-jobs`, built with the `aws` feature) as Lambda would, with
`AWS_LAMBDA_RUNTIME_API` pointing at the emulator.

One sample: the function's first request is queued at the emulator first; then the clock
starts, the bootstrap is spawned, and the clock stops when the response reaches the client.
So a sample is process start -> configuration -> state (SDK clients, the audit trail's
durable start record) -> the runtime's first `/next` -> the handled request -> the
response relayed back. The process is then stopped and the next sample starts a new one
(`--samples`, default 20; the median is reported). The first request of each function:

- mcp: `POST /mcp` `tools/list` through the Function URL path;
- oauth: `GET /.well-known/oauth-authorization-server` (OAuth mode on);
- webhook: a `push` delivery to `POST /automation/webhook`, signed as Gitea signs it,
  touching `Cargo.toml` on the default branch, so it runs the dependency scan;
- jobs: an EventBridge scheduled event (`stale_issue_detection`, which reads the
  simulator's issues) through the Invoke API.

Memory: after the samples, one more MCP instance serves `--requests` (default 1,000)
Function URL requests (alternating `tools/list` and a `get_file_contents` call that reaches
the Gitea simulator and writes audit records), then its VmRSS and VmHWM are read from /proc,
and the CPU time it used for them (user + system, `/proc/<pid>/stat`) per request.

    make bench-coldstart        # builds, starts moto and gitea-sim, runs this
    python3 local/scripts/coldstart.py --backend embedded --function mcp   # without moto

Needs: the release bootstraps, `gitea-sim` (debug is fine), `cargo-lambda` on PATH, and for
`--backend aws` a moto server (AEGIS_TEST_MOTO_URL, as `tests/with_moto.sh` sets).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from provision_emulator import provision  # noqa: E402  (next to this script)

TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
API_KEY = "coldstart-" + "0" * 40
# The emulator's runtime API serves the function named `_` with --only-lambda-apis.
FUNCTION = "_"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(proc: subprocess.Popen, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                sys.exit(f"process exited with {proc.returncode} before printing {pattern!r}")
            continue
        if m := re.search(pattern, line):
            return m.group(1)
    sys.exit(f"timed out waiting for {pattern!r}")


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def http(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float = 15) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def mcp_request(port: int, body: dict, timeout: float = 15) -> tuple[int, bytes]:
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
        timeout,
    )


TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
READ_CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "get_file_contents", "arguments": {"owner": "acme", "repo": "app", "filepath": "README.md"}},
}
WEBHOOK_SECRET = "coldstart-webhook-secret-0123456789"
OAUTH_STATE_SECRET = "coldstart-oauth-state-secret-0123456789abcdef"


def first_mcp(port: int, timeout: float) -> tuple[int, bytes, bytes]:
    status, body = mcp_request(port, TOOLS_LIST, timeout)
    return status, body, b'"tools"'


def first_oauth(port: int, timeout: float) -> tuple[int, bytes, bytes]:
    status, body = http(port, "GET", f"/lambda-url/{FUNCTION}/.well-known/oauth-authorization-server", None, {}, timeout)
    return status, body, b'"authorization_endpoint"'


def first_webhook(port: int, timeout: float) -> tuple[int, bytes, bytes]:
    payload = json.dumps({
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": "1" * 40,
        # A manifest on the default branch: the delivery runs the dependency scan (Gitea
        # requests, audit records), as a real push would.
        "commits": [{"id": "1" * 40, "message": "deps", "added": [], "removed": [], "modified": ["Cargo.toml"]}],
        "repository": {"id": 1, "name": "app", "full_name": "acme/app", "owner": {"login": "acme"},
                       "default_branch": "main"},
        "sender": {"login": "alice"},
    }).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), payload, hashlib.sha256).hexdigest()
    status, body = http(port, "POST", f"/lambda-url/{FUNCTION}/automation/webhook", payload, {
        "content-type": "application/json",
        "x-gitea-event": "push",
        "x-gitea-delivery": str(uuid.uuid4()),
        "x-gitea-signature": signature,
    }, timeout)
    return status, body, b'"status":"ran"'


def first_jobs(port: int, timeout: float) -> tuple[int, bytes, bytes]:
    event = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/coldstart"],
        "detail": {"jobs": ["stale_issue_detection"]},
    }
    status, body = http(port, "POST", f"/2015-03-31/functions/{FUNCTION}/invocations", json.dumps(event).encode(),
                        {"content-type": "application/json"}, timeout)
    return status, body, b'"status":"ran"'


# name -> (binary, first request, extra environment)
FUNCTIONS = {
    "mcp": ("aegis-mcp", first_mcp, {}),
    "oauth": ("aegis-oauth", first_oauth, {
        "OAUTH_MODE": "true",
        # The demo seed's OAuth2 application: the start-up check asks Gitea about our client
        # (STARTUP_VALIDATE_GITEA), as on Lambda, so it must be one Gitea knows.
        "GITEA_OAUTH_CLIENT_ID": "aegis-demo-client",
        "GITEA_OAUTH_CLIENT_SECRET": "aegis-demo-secret-5f0c1d7e9b2a4c68",
        "OAUTH_STATE_SECRET": OAUTH_STATE_SECRET,
        "PUBLIC_BASE_URL": "https://aegis.example.com",
    }),
    "webhook": ("aegis-webhook", first_webhook, {
        "AUTOMATION_ENABLED": "true",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "POLICY_FILE_PATH": str(ROOT / "policies" / "automation.yaml"),
    }),
    "jobs": ("aegis-jobs", first_jobs, {
        "AUTOMATION_ENABLED": "true",
        "POLICY_FILE_PATH": str(ROOT / "policies" / "automation.yaml"),
    }),
}


def function_env(args: argparse.Namespace, runtime_port: int, gitea_url: str, data_dir: Path, function: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{runtime_port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "GITEA_URL": gitea_url,
        "GITEA_TOKEN": "bob-token-0002709b0c4032fd07f6902b43f8b9",
        "MCP_API_KEYS": API_KEY,
        "ENVIRONMENT": "production",
        # INFO: each start logs its `instance initialised` line (start-up cost by step)
        "LOG_LEVEL": os.environ.get("COLDSTART_LOG_LEVEL", "INFO"),
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "TOKEN_RATE_LIMIT_PER_MINUTE": "1000000",
    } | FUNCTIONS[function][2] | dict(kv.split("=", 1) for kv in args.set)
    if args.backend == "aws":
        moto = os.environ.get("AEGIS_TEST_MOTO_URL")
        if not moto:
            sys.exit("--backend aws needs AEGIS_TEST_MOTO_URL (run through `make bench-coldstart`)")
        env |= {
            "STORAGE_BACKEND": "aws",
            "AEGIS_TABLE_NAME": args.table,
            "AUDIT_S3_BUCKET": args.bucket,
            "AUDIT_S3_PREFIX": "coldstart",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    else:
        env |= {
            "DATA_DIR": str(data_dir),
            "DCR_STORAGE_PATH": str(data_dir / "dcr.json"),
            "AUDIT_LOG_PATH": str(data_dir / "audit"),
        }
    return env


def sample(args: argparse.Namespace, port: int, env: dict[str, str], function: str) -> tuple[float, subprocess.Popen]:
    """Queues the function's first request, starts its bootstrap, returns (seconds to response, process)."""
    binary, first, _ = FUNCTIONS[function]
    result: dict[str, object] = {}
    done = threading.Event()

    def invoke() -> None:
        try:
            result["reply"] = first(port, 120)
        except Exception as e:  # reported below
            result["error"] = e
        result["t1"] = time.perf_counter()
        done.set()

    threading.Thread(target=invoke, daemon=True).start()
    time.sleep(0.3)  # the request is queued at the emulator before the process exists
    t0 = time.perf_counter()
    # Its logs go to a file: an unread pipe would fill up and stall the function.
    proc = subprocess.Popen([str(args.target / binary)], env=env, stdout=args.log, stderr=args.log)
    if not done.wait(120):
        proc.kill()
        sys.exit(f"{function}: no response within 120 s (function log: {args.log.name})")
    if "error" in result:
        proc.kill()
        sys.exit(f"{function}: request failed: {result['error']} (function log: {args.log.name})")
    status, body, expect = result["reply"]  # type: ignore[misc]
    if status != 200 or expect not in body:
        proc.kill()
        sys.exit(f"{function}: unexpected reply {status}: {body[:300]!r} (function log: {args.log.name})")
    return float(result["t1"]) - t0, proc  # type: ignore[arg-type]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # after the command: state is field 3, utime and stime fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


INIT_STEPS = ("config_us", "state_us", "router_us", "total_us")


def init_line(log: Path, start: int) -> dict[str, int] | None:
    """The `instance initialised` line the function logged after byte `start` of the log."""
    with open(log, "rb") as f:
        f.seek(start)
        for raw in f:
            if b"instance initialised" not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            fields = line.get("fields", line)
            if all(k in fields for k in INIT_STEPS):
                return {k: int(fields[k]) for k in INIT_STEPS}
    return None


def summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    # one sample has no deciles: its p10 and p90 are the sample itself
    q = statistics.quantiles(times, n=10, method="inclusive") if len(times) > 1 else times
    return {
        "median": round(statistics.median(times), 1),
        "p10": round(q[0], 1),
        "p90": round(q[-1], 1),
        "min": round(times[0], 1),
        "max": round(times[-1], 1),
    }


def markdown(report: dict) -> str:
    lines = [
        f"{report['date']}, {report['machine']}, `STORAGE_BACKEND={report['backend']}`, "
        f"load average {report['load_average_before']} before and {report['load_average_after']} after; "
        f"{report['samples']} cold starts per function, each a fresh process and emulator.",
        "",
        "| function | bootstrap | cold start median | p10 / p90 | min / max | `instance initialised` medians: config / state / total |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in report["functions"].items():
        c = f["cold_start_ms"]
        i = f.get("init_us")
        init = f"{i['config_us'] / 1000:.1f} / {i['state_us'] / 1000:.1f} / {i['total_us'] / 1000:.1f} ms" if i else "not logged"
        lines.append(f"| {name} | {f['bootstrap']} | {c['median']} ms | {c['p10']} / {c['p90']} ms | {c['min']} / {c['max']} ms | {init} |")
    if mem := report.get("mcp_memory"):
        lines += ["", f"MCP function after {mem['requests']:,} requests ({mem['requests_per_second']} requests/s through the "
                  f"emulator): {mem['rss_after_requests_mib']} MiB resident, peak {mem['peak_rss_mib']} MiB; "
                  f"{mem['cpu_us_per_request']} µs of the function's CPU (user + system) per request."]
    lines += [f"Emulator failures retried: {report['emulator_failures_retried']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=TARGET / "release", help="where the release bootstraps are")
    parser.add_argument("--gitea-sim", type=Path, default=TARGET / "debug" / "gitea-sim")
    parser.add_argument("--backend", choices=("aws", "embedded"), default="aws")
    parser.add_argument("--function", choices=tuple(FUNCTIONS), action="append",
                        help="a function to measure (repeatable; default all four)")
    parser.add_argument("--samples", type=int, default=20, help="cold starts per function (at least 1)")
    parser.add_argument("--requests", type=int, default=1000, help="MCP requests before reading its memory (0: skip)")
    parser.add_argument("--table", default=f"coldstart-{uuid.uuid4().hex[:12]}")
    parser.add_argument("--bucket", default=f"coldstart-{uuid.uuid4().hex[:12]}")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                        help="an extra variable for the function (repeatable), e.g. STARTUP_VALIDATE_GITEA=false")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    functions = args.function or list(FUNCTIONS)
    for path in [args.target / FUNCTIONS[f][0] for f in functions] + [args.gitea_sim]:
        if not path.is_file():
            sys.exit(f"{path} is missing (make bench-coldstart builds it)")

    children: list[subprocess.Popen] = []
    try:
        sim = subprocess.Popen(
            [str(args.gitea_sim), "--seed", str(ROOT / "local/gitea-sim/seed/demo.yaml"), "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        children.append(sim)
        gitea_url = wait_line(sim, r"listening on (http://\S+)", 30)
        data_dir = Path(tempfile.mkdtemp(prefix="coldstart-"))
        args.log = open(data_dir / "function.log", "ab")
        args.emulator_errors = 0
        args.inits = []

        def run(function: str, measure_requests: int) -> tuple[float, dict[str, int], float]:
            """One emulator, one bootstrap: a cold start, then `measure_requests` more MCP requests.

            A fresh emulator each time: a stopped function's pending `/next` poll would
            otherwise stay registered with the emulator and swallow a later request.
            """
            port = free_port()
            args.log.flush()
            log_start = args.log.tell()
            emulator = subprocess.Popen(
                ["cargo-lambda", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
                cwd=ROOT, stdout=args.log, stderr=args.log, start_new_session=True,
            )
            try:
                wait_port(port)
                env = function_env(args, port, gitea_url, data_dir, function)
                seconds, proc = sample(args, port, env, function)
                try:
                    t0 = time.perf_counter()
                    cpu0 = cpu_seconds(proc.pid)
                    for i in range(measure_requests):
                        # The emulator now and then answers 500 without reaching the function
                        # (nothing in the function's log): retried, and counted in the report.
                        for _attempt in range(3):
                            try:
                                status, body = mcp_request(port, READ_CALL if i % 2 else TOOLS_LIST)
                            except TimeoutError:
                                status, body = 0, b"timed out"
                            if status == 200:
                                break
                            args.emulator_errors += 1
                        else:
                            sys.exit(f"request {i}: {status} {body[:200]!r} (function log: {args.log.name})")
                    elapsed = time.perf_counter() - t0
                    mem = proc_status(proc.pid) if measure_requests else {}
                    if measure_requests:
                        mem["cpu_us_per_request"] = round((cpu_seconds(proc.pid) - cpu0) * 1e6 / measure_requests)
                finally:
                    stop(proc)
            finally:
                os.killpg(emulator.pid, signal.SIGINT)
                try:
                    emulator.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(emulator.pid, signal.SIGKILL)
                    emulator.wait()
            args.inits.append(init_line(Path(args.log.name), log_start))
            return seconds, mem, elapsed

        report: dict[str, object] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
            "load_average_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "backend": args.backend,
            "samples": args.samples,
            "functions": {},
        }
        if args.backend == "aws":
            # As the SAM template would: the functions never create infrastructure.
            provision(os.environ["AEGIS_TEST_MOTO_URL"], args.table, args.bucket)
        # One unmeasured start, so every measured one finds the binary in the page cache.
        run(functions[0], 0)
        for function in functions:
            binary = args.target / FUNCTIONS[function][0]
            args.inits = []
            times = [run(function, 0)[0] * 1000 for _ in range(args.samples)]
            inits = [i for i in args.inits if i]
            shown = binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary
            report["functions"][function] = {  # type: ignore[index]
                "bootstrap": f"`{shown}` ({binary.stat().st_size:,} B)",
                "cold_start_ms": summary(times),
                # medians of the `instance initialised` lines (µs by step; state includes
                # the start-up check of Gitea and any other round trip made in INIT)
                "init_us": {k: statistics.median(i[k] for i in inits) for k in INIT_STEPS} if inits else None,
            }
            print(f"{function}: cold start median {report['functions'][function]['cold_start_ms']['median']} ms", file=sys.stderr)  # type: ignore[index]
        if args.requests and "mcp" in functions:
            _, mem, elapsed = run("mcp", args.requests)
            report["mcp_memory"] = {
                "requests": args.requests,
                "requests_per_second": round(args.requests / elapsed, 1),
                "rss_after_requests_mib": round(mem["VmRSS"] / 2**20, 1),
                "peak_rss_mib": round(mem["VmHWM"] / 2**20, 1),
                "cpu_us_per_request": mem["cpu_us_per_request"],
            }
        report["emulator_failures_retried"] = args.emulator_errors
        report["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(markdown(report))
    finally:
        for child in reversed(children):
            stop(child)


if __name__ == "__main__":
    main()

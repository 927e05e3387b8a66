"""The client matrix: the official MCP SDKs agents run, each as a real client process.

- Python SDK 1.x (PyPI `mcp==1.30.0`, in `.venv-mcp1`) and 2.x (`mcp==2.3.0`, this `.venv`):
  tests/python/sdk_client.py, run by each venv's interpreter;
- TypeScript SDK (npm `@modelcontextprotocol/sdk` 1.32.2, tests/clients): tests/clients/ts_client.mjs
  under the Node 22 of tests/clients/node_modules/node.

Each gets the same JSON plan and reports what it saw (results, exceptions, HTTP statuses); the
assertions are here. `make client-deps` installs both client environments.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, start_oauth_sim, start_oauth_stack, start_shim

HERE = Path(__file__).resolve().parent
CLIENTS = ROOT / "tests" / "clients"
NODE = CLIENTS / "node_modules" / "node" / "bin" / "node"
MCP1_PYTHON = ROOT / ".venv-mcp1" / "bin" / "python"

SDKS: dict[str, tuple[list[str], Path]] = {
    # name -> (argv, working directory)
    "python-mcp1": ([str(MCP1_PYTHON), str(HERE / "sdk_client.py")], HERE),
    "python-mcp2": ([sys.executable, str(HERE / "sdk_client.py")], HERE),
    "typescript": ([str(NODE), str(CLIENTS / "ts_client.mjs")], CLIENTS),
}
EXPECTED_SDK = {"python-mcp1": "mcp 1.30.0", "python-mcp2": "mcp 2.3.0", "typescript": "@modelcontextprotocol/sdk 1.32.2"}

APP = {"owner": "acme", "repo": "app"}
OK_CALL = {"name": "get_repository_info", "arguments": APP}
POLICY = ROOT / "policies" / "write-one-repo.yaml"  # on acme/app only its listed tools run


def start_client(sdk: str, plan: dict[str, Any]) -> subprocess.Popen[str]:
    argv, cwd = SDKS[sdk]
    if not Path(argv[0]).is_file():
        pytest.fail(f"{argv[0]} is missing: run `make client-deps`", pytrace=False)
    return subprocess.Popen([*argv, json.dumps(plan)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_client(sdk: str, proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"{sdk} client did not finish within {timeout}s\n{stderr[-3000:]}")
    lines = stdout.strip().splitlines()
    assert lines, f"{sdk} client printed no report (exit {proc.returncode})\n{stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert report.get("sdk") == EXPECTED_SDK[sdk], report.get("sdk")
    assert "fatal" not in report, f"{sdk}: the client failed outright: {report['fatal']}"
    return report


def run_client(sdk: str, plan: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    return finish_client(sdk, start_client(sdk, plan), timeout)


def assert_success(record: dict[str, Any], what: str) -> None:
    assert record["outcome"] == "result", f"{what}: the SDK raised {record.get('error')}"
    assert record["is_error"] is False, f"{what}: tool error: {record['text'][:500]}"


def assert_tool_error(record: dict[str, Any], what: str) -> str:
    assert record["outcome"] == "result", f"{what}: the SDK raised instead of returning an isError result: {record.get('error')}"
    assert record["is_error"] is True, f"{what}: not an error: {record['text'][:300]}"
    assert record["text"].strip(), f"{what}: an error without a message for the model"
    return record["text"]


def rate_limited(statuses: list[list[Any]]) -> list[list[Any]]:
    return [s for s in statuses if s[2] in (403, 429)]


@pytest.fixture(scope="module")
def policy_shim(sim, seed, tmp_path_factory):
    """API-key mode with a policy that refuses some read tools on acme/app."""
    handle = start_shim("aegis-local-matrix", sim, seed, tmp_path_factory.mktemp("aegis-local-matrix"), POLICY_FILE_PATH=str(POLICY))
    try:
        yield handle
    finally:
        handle.process.stop()


# ---- connect, list, call ---------------------------------------------------------------------


@pytest.mark.parametrize("sdk", SDKS)
def test_connect_list_and_call(sdk, shim):
    report = run_client(sdk, {"url": shim.mcp_url, "headers": shim.auth, "calls": [OK_CALL, {"name": "list_repositories", "arguments": {}}]})
    assert "get_repository_info" in report["tools"] and len(report["tools"]) >= 28, report["tools"]
    for record in report["calls"]:
        assert_success(record, sdk)
    assert "acme/app" in report["calls"][0]["text"]


# ---- refusals are tool results, and the client object lives on ----------------------------

REFUSALS = [
    ("policy denial", {"name": "list_releases", "arguments": APP}),
    ("missing argument", {"name": "get_repository_info", "arguments": {"owner": "acme"}}),
    ("unknown argument", {"name": "get_repository_info", "arguments": {**APP, "branch": "main"}}),
    ("wrong type", {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": 7}}),
    ("path traversal", {"name": "get_file_contents", "arguments": {**APP, "filepath": "../../etc/passwd"}}),
    ("Gitea 404", {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": "no-such-repository"}}),
]


@pytest.mark.parametrize("sdk", SDKS)
def test_refusals_are_is_error_results_and_the_same_client_keeps_working(sdk, policy_shim):
    calls = [OK_CALL]
    for _, refused in REFUSALS:
        calls += [refused, OK_CALL]
    # an unknown tool stays a protocol error (JSON-RPC -32602), which the SDKs raise
    calls += [{"name": "no_such_tool", "arguments": {}}, OK_CALL]
    report = run_client(sdk, {"url": policy_shim.mcp_url, "headers": policy_shim.auth, "calls": calls})
    records = report["calls"]
    assert len(records) == len(calls)
    assert_success(records[0], "first call")
    problems = []
    for i, (what, _) in enumerate(REFUSALS):
        refused, after = records[1 + 2 * i], records[2 + 2 * i]
        try:
            text = assert_tool_error(refused, what)
            if what == "policy denial":
                assert "polic" in text.lower(), f"the denial does not say a policy refused it: {text[:300]}"
        except AssertionError as e:
            problems.append(str(e))
        try:
            assert_success(after, f"the call after the {what}, on the same client")
        except AssertionError as e:
            problems.append(str(e))
    unknown, after = records[-2], records[-1]
    if unknown["outcome"] != "exception":
        problems.append(f"an unknown tool is not a protocol error: {unknown}")
    try:
        assert_success(after, "the call after the unknown tool, on the same client")
    except AssertionError as e:
        problems.append(str(e))
    assert not problems, f"{sdk}:\n" + "\n".join(problems)
    # nothing on the wire was an HTTP refusal: all of it was MCP
    assert all(s[2] < 400 or s[2] == 405 for s in report["statuses"]), report["statuses"]


# ---- a browser-style request: same-origin loopback Origin -------------------------------


@pytest.mark.parametrize("sdk", SDKS)
def test_same_origin_loopback_origin_is_accepted(sdk, shim):
    # The gateway listens on 127.0.0.1:<port>; a page served from there sends this Origin.
    assert shim.url.startswith("http://127.0.0.1:")
    report = run_client(sdk, {"url": shim.mcp_url, "headers": shim.auth | {"Origin": shim.url}, "calls": [OK_CALL]})
    assert_success(report["calls"][0], f"{sdk} with Origin {shim.url}")


# ---- the TypeScript SDK: portable schemas, no warnings ------------------------------------


def test_ts_sdk_compiles_every_schema_in_ajv_strict_mode_and_warns_about_nothing(shim):
    calls = [OK_CALL, {"name": "list_repositories", "arguments": {}}, {"name": "list_releases", "arguments": APP},
             {"name": "get_file_tree", "arguments": APP}, {"name": "list_commits", "arguments": APP}]
    report = run_client("typescript", {"url": shim.mcp_url, "headers": shim.auth, "calls": calls})
    for record in report["calls"]:
        assert_success(record, "typescript")
    assert len(report["tools"]) >= 28
    errors = report["ajv"]
    assert errors == {}, f"{len(errors)} of {2 * len(report['tools'])} schemas fail in Ajv {report['ajv_version']} strict mode:\n" + "\n".join(
        f"  {k}: {v}" for k, v in sorted(errors.items())
    )
    assert report["warnings"] == [], f"the TS SDK printed {len(report['warnings'])} warnings, e.g. {report['warnings'][:3]}"


# ---- one agent's traffic with the default limits ---------------------------------------------


def test_one_agent_100_calls_in_a_minute_with_default_limits(sim, seed, tmp_path_factory):
    """Each SDK is one agent with its own key, all three at once, on a gateway with the default
    limits: 60 calls as fast as they go within the first 10 s, then 40 more, one every 0.5 s
    (the last at ~30 s: 100 calls well within one minute). Every call succeeds."""
    keys = {sdk: secrets.token_hex(32) for sdk in SDKS}
    shim = start_shim(
        "aegis-local-default-limits", sim, seed, tmp_path_factory.mktemp("aegis-local-default-limits"),
        limits={}, MCP_API_KEYS=",".join(keys.values()),
    )
    try:
        plan_calls = [dict(OK_CALL, at=0) for _ in range(60)] + [dict(OK_CALL, at=10 + 0.5 * i) for i in range(40)]
        procs = {
            sdk: start_client(sdk, {"url": shim.mcp_url, "headers": {"Authorization": f"Bearer {key}"}, "calls": plan_calls})
            for sdk, key in keys.items()
        }
        reports, problems = {}, []
        try:
            for sdk, proc in procs.items():
                try:
                    reports[sdk] = finish_client(sdk, proc, timeout=110)
                except AssertionError as e:  # the others are still judged
                    problems.append(str(e).splitlines()[0])
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        exited = shim.process.proc.poll()
        if exited is not None:
            problems.append(f"the gateway exited with status {exited} during the run\n{shim.process.log_tail()}")
    finally:
        shim.process.stop()
    for sdk, report in reports.items():
        records = report["calls"]
        assert len(records) == 100
        failed = [(i, r.get("error") or r["text"][:200]) for i, r in enumerate(records) if r["outcome"] != "result" or r["is_error"]]
        if failed:
            problems.append(f"{sdk}: {len(failed)} of 100 calls failed, first at #{failed[0][0]}: {failed[0][1]}")
        elif records[59]["t"] > 10.5 or records[-1]["t"] > 60:
            problems.append(f"{sdk}: too slow to test the limit (60th call at {records[59]['t']} s, 100th at {records[-1]['t']} s)")
        if limited := rate_limited(report["statuses"]):
            problems.append(f"{sdk}: refused on the wire: {limited[:3]}")
    assert not problems, "\n".join(problems)


# ---- the per-credential limit reached: a result that says when to retry -----------------

TIGHT_BUDGET = 10  # requests per minute per credential on this gateway


@pytest.fixture(scope="module")
def tight_budget_shim(sim, seed, tmp_path_factory):
    """A per-credential budget small enough to reach; one key per SDK, the other limits default."""
    keys = {sdk: secrets.token_hex(32) for sdk in SDKS}
    handle = start_shim(
        "aegis-local-tight-budget", sim, seed, tmp_path_factory.mktemp("aegis-local-tight-budget"),
        limits={"TOKEN_RATE_LIMIT_PER_MINUTE": str(TIGHT_BUDGET)}, MCP_API_KEYS=",".join(keys.values()),
    )
    try:
        yield handle, keys
    finally:
        handle.process.stop()


@pytest.mark.parametrize("sdk", SDKS)
def test_reaching_the_credential_limit_is_a_retry_after_result_on_a_live_client(sdk, tight_budget_shim):
    shim, keys = tight_budget_shim
    calls = [OK_CALL] * (TIGHT_BUDGET + 2)
    report = run_client(sdk, {"url": shim.mcp_url, "headers": {"Authorization": f"Bearer {keys[sdk]}"}, "calls": calls})
    records = report["calls"]
    assert len(records) == len(calls)
    assert_success(records[0], "the first call, within the budget")
    limited_from = next((i for i, r in enumerate(records) if r["outcome"] != "result" or r["is_error"]), None)
    assert limited_from is not None, f"{len(calls)} calls on a budget of {TIGHT_BUDGET} a minute were never limited"
    for i, record in enumerate(records[limited_from:], start=limited_from):
        text = assert_tool_error(record, f"call #{i}, over the budget")
        assert "retry after" in text.lower(), f"call #{i}: the refusal does not say when to retry: {text[:300]}"
    assert all(s[2] < 400 or s[2] == 405 for s in report["statuses"]), report["statuses"]


# ---- OAuth: reconnecting is never a lockout ---------------------------------------------------


@pytest.mark.parametrize("sdk", SDKS)
def test_oauth_client_reconnecting_20_times_is_never_locked_out(sdk, seed, tmp_path_factory):
    """Sign in once through the SDK, then 20 reconnects (a new HTTP client, provider, transport
    and session each) with the stored token; every 5th starts without a token, so the SDK's
    discovery runs again from the 401 (and the consent page, with the stored registration).
    Default limits, a gateway of its own (limits are per process)."""
    sim = start_oauth_sim(f"gitea-sim-oauth-matrix-{sdk}", "alice", tmp_path_factory.mktemp(f"sim-oauth-{sdk}"))
    stack = start_oauth_stack(f"matrix-{sdk}", "alice", sim, seed, tmp_path_factory.mktemp(f"oauth-{sdk}"), limits={})
    try:
        report = run_client(sdk, {
            "url": stack.shim.mcp_url,
            "oauth": {"reconnects": 20, "fresh_every": 5, "call": {"name": "get_repository_info", "arguments": {"owner": "alice", "repo": "notes"}}},
        }, timeout=110)
    finally:
        stack.shim.process.stop()
        sim.process.stop()
    connections = report["connections"]
    assert len(connections) == 21
    problems = []
    for i, c in enumerate(connections):
        if c["outcome"] != "result" or c["is_error"]:
            problems.append(f"connection {i} ({'fresh' if c['fresh'] else 'stored token'}): {c.get('error') or c['text'][:300]}")
        elif c["sign_ins"] != (1 if c["fresh"] else 0):
            problems.append(f"connection {i}: {c['sign_ins']} sign-ins ({'fresh' if c['fresh'] else 'stored token'})")
    if limited := rate_limited(report["statuses"]):
        problems.append(f"refused on the wire: {limited[:5]}")
    assert not problems, f"{sdk}:\n" + "\n".join(problems)
    assert sum(c["sign_ins"] for c in connections) == 5
    assert any(s[1] == "/.well-known/oauth-protected-resource" or s[1].startswith("/.well-known/oauth-protected-resource/") for s in report["statuses"])

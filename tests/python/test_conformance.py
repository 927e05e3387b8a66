"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`) against the gateway.

Both pinned versions of tests/clients/package.json run every server scenario (`--suite all`)
against a gateway in API-key mode, through `header_proxy.HeaderProxy` (the runner cannot send
an `Authorization` header). The gateway runs with its default per-IP and auth-failure limits;
only the per-credential limit is raised, because the runner sends ~120-210 authenticated
requests within a few seconds, more than one agent's budget (the client matrix tests that
budget with default settings). The 0.2 pre-release's `authorization` scenarios run against a
gateway in OAuth mode with default limits, with a client registered through `/register`; the
person at the browser is `oauth_flow.ConsentBrowser`.

Scenarios that need the suite's own fixture tools, resources or prompts, or optional
capabilities the gateway does not offer (logging, subscriptions, tasks), are listed in tests/clients/conformance-not-applicable.yaml
with the reason; each entry is verified against the gateway, and any other failing check fails
the test. The per-scenario results are printed at the end of the run and written to
docs/conformance.md.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import types
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import yaml

from conftest import ROOT, TERMINAL_REPORTS, start_oauth_sim, start_oauth_stack, start_shim
from header_proxy import HeaderProxy
from oauth_flow import ConsentBrowser

CLIENTS = ROOT / "tests" / "clients"
NODE = CLIENTS / "node_modules" / "node" / "bin" / "node"
NOT_APPLICABLE = CLIENTS / "conformance-not-applicable.yaml"
DOC = ROOT / "docs" / "conformance.md"
# npm alias in tests/clients/package.json -> the version it pins
SUITES = {"conformance-0.1": "0.1.16", "conformance-0.2": "0.2.0-alpha.12"}
# Raised for the runner only (see the module docstring); every other limit keeps its default.
CONFORMANCE_LIMITS = {"TOKEN_RATE_LIMIT_PER_MINUTE": "100000"}
RUN_TIMEOUT = 100
# A check of a not-applicable scenario that failed this way failed for another reason than its listing.
TRANSPORT_FAILURE = re.compile(r"HTTP error|HTTP \d{3}|too many requests|-32029|\b(?:401|403|429|5\d\d)\b")

_results: dict[str, dict[str, dict[str, Any]]] = {}  # "server <version>" / "authorization <version>" -> scenario -> result


def cli(alias: str) -> list[str]:
    entry = CLIENTS / "node_modules" / alias / "dist" / "index.js"
    if not (NODE.is_file() and entry.is_file()):
        pytest.fail(f"{entry} or {NODE} is missing: run `make client-deps`", pytrace=False)
    installed = json.loads((CLIENTS / "node_modules" / alias / "package.json").read_text())["version"]
    assert installed == SUITES[alias], f"{alias} is {installed}, the pin is {SUITES[alias]}: run `make client-deps`"
    return [str(NODE), str(entry)]


def listed_scenarios(alias: str, section: str) -> list[str]:
    """The scenario names `conformance list` prints under `section` (e.g. "Server scenarios")."""
    out = subprocess.run([*cli(alias), "list"], capture_output=True, text=True, timeout=60, check=True).stdout
    names, inside = [], False
    for line in out.splitlines():
        if line and not line.startswith(" "):
            inside = line.startswith(section)
        elif inside and (m := re.match(r"\s+- (\S+)", line)):
            names.append(m.group(1))
    assert names, out
    return names


def read_results(out_dir: Path, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """scenario -> its checks, from the runner's `-o` directory (`<prefix><scenario>-<time>/checks.json`)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for checks in out_dir.glob("*/checks.json"):
        name = re.sub(r"-\d{4}-\d\d-\d\dT[\d-]+Z$", "", checks.parent.name)
        assert name.startswith(prefix), checks
        found[name[len(prefix):]] = json.loads(checks.read_text())
    return found


# ---- the not-applicable list, verified ------------------------------------------------


def load_not_applicable() -> dict[str, Any]:
    data = yaml.safe_load(NOT_APPLICABLE.read_text(encoding="utf-8"))
    assert set(data) == {"scenarios", "checks"}, data.keys()
    return data


def rpc(url: str, method: str, params: dict[str, Any] | None = None, errors: bool = False) -> dict[str, Any]:
    """One JSON-RPC call; an error other than -32601 fails unless `errors` (a refusal expected)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    r = httpx2.post(url, json=body, headers=headers, timeout=15)
    assert r.headers.get("content-type", "").startswith("application/json"), (method, r.status_code, r.text[:300])
    answer = r.json()
    assert errors or "result" in answer or answer.get("error", {}).get("code") == -32601, (method, r.status_code, answer)
    return answer


def verify_entries(mcp_url: str, entries: list[dict[str, Any]]) -> None:
    """Every reason in the list still holds: the fixture tools are not the gateway's, the
    capabilities are not declared, their methods answer `method not found`."""
    init = rpc(mcp_url, "initialize", {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "conformance-na-check", "version": "0"},
    })
    capabilities = init["result"]["capabilities"]
    tools: set[str] = set()
    cursor = None
    while True:
        page = rpc(mcp_url, "tools/list", {"cursor": cursor} if cursor else {})["result"]
        tools |= {t["name"] for t in page["tools"]}
        if not (cursor := page.get("nextCursor")):
            break
    assert "get_repository_info" in tools, tools
    for entry in entries:
        assert entry.get("reason"), entry
        assert not set(entry.get("tools", [])) & tools, f"the gateway has a tool named like a fixture: {entry}"
        assert not set(entry.get("capabilities", [])) & set(capabilities), f"declared: {capabilities} ({entry})"
    for method in sorted({m for e in entries for m in e.get("methods", [])}):
        error = rpc(mcp_url, method, {}).get("error")
        assert error and error["code"] == -32601, f"{method} is answered: {error}"
    for uri in sorted({u for e in entries for u in e.get("resources", [])}):
        answer = rpc(mcp_url, "resources/read", {"uri": uri}, errors=True)
        assert "error" in answer, f"the gateway serves the fixture resource {uri}: {answer}"
    prompts = {p["name"] for p in rpc(mcp_url, "prompts/list")["result"]["prompts"]}
    for name in sorted({n for e in entries for n in e.get("prompts", [])}):
        assert name not in prompts, f"the gateway has a prompt named like a fixture: {name}"
        answer = rpc(mcp_url, "prompts/get", {"name": name}, errors=True)
        assert "error" in answer, f"the gateway answers the fixture prompt {name}: {answer}"


# ---- classification --------------------------------------------------------------------


def summarize(checks: list[dict[str, Any]], na_checks: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    failures, na_failures, warnings = [], [], []
    for c in checks:
        status = c["status"]
        counts[status] = counts.get(status, 0) + 1
        if status == "FAILURE":
            (na_failures if c["id"] in na_checks else failures).append(c)
        elif status == "WARNING":
            message = re.sub(r"\s+", " ", c.get("errorMessage") or c.get("description") or "").strip()
            warnings.append(f"{c['id']} ({message[:160]})" if message else c["id"])
    return {"counts": counts, "failures": failures, "na_failures": na_failures, "warnings": sorted(set(warnings))}


def classify(results: dict[str, list[dict[str, Any]]], na: dict[str, Any]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for scenario, checks in sorted(results.items()):
        s = summarize(checks, na["checks"].get(scenario, {}))
        if scenario in na["scenarios"]:
            s["result"] = "n/a" if s["failures"] else "STALE n/a (no failing check)"
            s["note"] = na["scenarios"][scenario]["reason"]
            # n/a covers its reason only: a refusal at the HTTP level still counts as a failure
            other = [c for c in s["failures"] if TRANSPORT_FAILURE.search(c.get("errorMessage") or "")]
            if other:
                s["result"] = "FAIL"
                s["note"] = "n/a, but refused at the HTTP level: " + (other[0].get("errorMessage") or "")[:200]
        elif s["failures"]:
            s["result"] = "FAIL"
            s["note"] = "; ".join(f"{c['id']}: {(c.get('errorMessage') or '')[:200]}" for c in s["failures"])
        else:
            s["result"] = "pass"
            notes = []
            if s["warnings"]:
                notes.append("warnings: " + ", ".join(s["warnings"]))
            if not s["counts"].get("SUCCESS"):
                notes.append("no check applied (the suite's own skip/info)")
            for cid in na["checks"].get(scenario, {}):
                if not any(c["id"] == cid for c in s["na_failures"]):
                    s["result"] = "STALE n/a"
                    notes.append(f"the n/a check {cid} did not fail")
            s["note"] = "; ".join(notes)
        table[scenario] = s
    return table


def render(table: dict[str, dict[str, Any]], title: str) -> str:
    lines = [title, f"{'scenario':48} {'result':10} checks (ok/fail/warn/skip/info)  note"]
    for scenario, s in table.items():
        c = s["counts"]
        counts = "/".join(str(c.get(k, 0)) for k in ("SUCCESS", "FAILURE", "WARNING", "SKIPPED", "INFO"))
        lines.append(f"{scenario:48} {s['result']:10} {counts:31} {s['note'][:160]}")
    return "\n".join(lines)


def assert_clean(table: dict[str, dict[str, Any]], label: str) -> None:
    bad = {k: (v["result"], v["note"]) for k, v in table.items() if v["result"] not in ("pass", "n/a")}
    assert not bad, f"{label}: scenarios failing (or stale not-applicable entries):\n" + "\n".join(
        f"  {k}: {r}: {n}" for k, (r, n) in bad.items()
    )


# ---- the gateways ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance_shim(sim, seed, tmp_path_factory):
    handle = start_shim(
        "aegis-local-conformance", sim, seed, tmp_path_factory.mktemp("aegis-local-conformance"), CONFORMANCE_LIMITS
    )
    try:
        yield handle
    finally:
        handle.process.stop()


@pytest.fixture(scope="module")
def report():
    """Prints the result tables at the end of the run; writes docs/conformance.md when every
    run of this module has produced its table and all of them are clean (the page shows the
    last green run)."""
    yield _results
    if not _results:
        return
    TERMINAL_REPORTS.append("\n\n".join(render(t, f"conformance {label}") for label, t in _results.items()))
    expected = {f"server {v}" for v in SUITES.values()} | {f"authorization {SUITES['conformance-0.2']}"}
    clean = all(s["result"] in ("pass", "n/a") for table in _results.values() for s in table.values())
    if set(_results) == expected and clean:
        DOC.write_text(render_doc(_results), encoding="utf-8")


@pytest.mark.parametrize("alias", sorted(SUITES), ids=[SUITES[a] for a in sorted(SUITES)])
def test_server_scenarios(alias, conformance_shim, report, tmp_path):
    na = load_not_applicable()
    with HeaderProxy(conformance_shim.url, conformance_shim.auth) as proxy:
        mcp_url = f"{proxy.url}/mcp"
        verify_entries(mcp_url, list(na["scenarios"].values()) + [e for c in na["checks"].values() for e in c.values()])
        run = subprocess.run(
            [*cli(alias), "server", "--url", mcp_url, "--suite", "all", "-o", str(tmp_path)],
            capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp_path,
        )
    (tmp_path / "runner.log").write_text(run.stdout + run.stderr)
    results = read_results(tmp_path, "server-")
    # A scenario the runner gave up on leaves no result: it counts as a failure.
    for scenario in set(listed_scenarios(alias, "Server scenarios")) - set(results):
        results[scenario] = [{"id": "no-result", "status": "FAILURE", "errorMessage": "the runner wrote no result (see runner.log)"}]
    table = classify(results, na)
    version = SUITES[alias]
    _results[f"server {version}"] = table
    print(render(table, f"conformance server {version}"))
    assert_clean(table, f"conformance {version} server scenarios")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_authorization_scenarios(seed, report, tmp_path_factory):
    """The 0.2 suite's authorization-server scenarios (0.1.16 has none) against OAuth mode."""
    alias = "conformance-0.2"
    tmp = tmp_path_factory.mktemp("conformance-oauth")
    sim = start_oauth_sim("gitea-sim-oauth-conformance", "alice", tmp_path_factory.mktemp("sim-oauth-conformance"))
    stack = start_oauth_stack("conformance", "alice", sim, seed, tmp, limits={})
    try:
        port = free_port()
        redirect_uri = f"http://127.0.0.1:{port}/callback"
        registered = httpx2.post(
            f"{stack.shim.url}/register",
            json={
                "client_name": "MCP conformance suite",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        out_dir = tmp / "out"
        proc = subprocess.Popen(
            [
                *cli(alias), "authorization", "--url", stack.shim.url, "--client-id", registered.json()["client_id"],
                "--resource", stack.shim.mcp_url, "--port", str(port), "-o", str(out_dir),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp,
        )
        timer = threading.Timer(RUN_TIMEOUT, proc.kill)
        timer.start()
        output, browser, authorization_url = [], None, None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                output.append(line)
                if line.startswith(f"{stack.shim.url}/oauth/authorize?"):
                    authorization_url = line.strip()
                # the runner's callback listener is up: play the user at the browser
                if authorization_url and line.startswith("Callback server started") and browser is None:
                    browser = ConsentBrowser(types.SimpleNamespace(redirect_uri=redirect_uri))
                    anyio.run(browser.redirect_handler, authorization_url)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
        log = "".join(output)
        assert browser is not None, f"the runner never asked for the browser:\n{log[-3000:]}"
    finally:
        stack.shim.process.stop()
        violations = sim.get("/_sim/violations").json()
        sim.process.stop()
    assert violations == [], violations
    results = read_results(out_dir, "authorization-server-")
    assert set(results) == set(listed_scenarios(alias, "Authorization server scenarios")), log[-3000:]
    table = classify(results, {"scenarios": {}, "checks": {}})
    version = SUITES[alias]
    _results[f"authorization {version}"] = table
    print(render(table, f"conformance authorization {version}"))
    assert_clean(table, f"conformance {version} authorization scenarios")


# ---- docs/conformance.md -----------------------------------------------------------------


def render_doc(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    versions = list(SUITES.values())
    server = {v: results[f"server {v}"] for v in versions}
    scenarios = sorted(set().union(*(t.keys() for t in server.values())))
    na = load_not_applicable()

    def cell(table: dict[str, dict[str, Any]], scenario: str) -> str:
        if scenario not in table:
            return "not in this version"
        s = table[scenario]
        ok = s["counts"].get("SUCCESS", 0)
        extra = [f"{n} {k.lower()}" for k, n in sorted(s["counts"].items()) if k not in ("SUCCESS", "FAILURE")]
        if s["result"] == "pass":
            return "pass (" + ", ".join([f"{ok} ok", *extra]) + ")"
        return s["result"]

    out = [
        "# Conformance",
        "",
        "Results of the official MCP conformance suite (npm `@modelcontextprotocol/conformance`, "
        f"{' and '.join(versions)}) against the gateway, as `make test` runs it "
        "(`tests/python/test_conformance.py`, which writes this page; do not edit it by hand).",
        "",
        "- **Server scenarios**: every scenario of `conformance server --suite all`, against `aegis-local` in "
        "API-key mode with the Gitea simulator, through a loopback proxy that adds the `Authorization` "
        "header (the runner sends none). Default per-IP and auth-failure limits; the per-credential "
        "limit is raised for the runner, which sends a few hundred requests in seconds.",
        "- **Authorization scenarios** (0.2 only): `conformance authorization` against the gateway in "
        "OAuth mode (default limits), with a client registered through `/register`; the test plays "
        "the user on the consent page.",
        "- **n/a**: the scenario needs the suite's own fixture tools, resources or prompts, or an "
        "optional capability the gateway does not offer. The reasons live in "
        "`tests/clients/conformance-not-applicable.yaml`; the test checks each one against the gateway "
        "(no such tool, resource or prompt; capability not declared; method answers -32601). Any other failing check "
        "fails `make test`.",
        "- Counts are the suite's checks: ok, warning (a SHOULD not met), skipped and info (not "
        "applicable by the suite's own judgement, e.g. no session id on a stateless server).",
        "",
        "## Server scenarios",
        "",
        *[
            f"- {v}: {sum(s['result'] == 'pass' for s in server[v].values())} pass, "
            f"{sum(s['result'] == 'n/a' for s in server[v].values())} not applicable, "
            f"{len(server[v])} scenarios"
            for v in versions
        ],
        "",
        f"| scenario | {' | '.join(versions)} | note |",
        "|---|" + "---|" * len(versions) + "---|",
    ]
    for scenario in scenarios:
        if scenario in na["scenarios"]:
            note = na["scenarios"][scenario]["reason"]
        else:
            notes = sorted({s["note"] for v in versions if (s := server[v].get(scenario)) and s["note"]})
            note = "; ".join(n for n in notes if n)
        if scenario in na["checks"]:
            note = (note + "; " if note else "") + "; ".join(
                f"`{cid}` n/a: {e['reason']}" for cid, e in na["checks"][scenario].items()
            )
        out.append(f"| `{scenario}` | {' | '.join(cell(server[v], scenario) for v in versions)} | {note.replace('|', '/')} |")
    auth = results[f"authorization {SUITES['conformance-0.2']}"]
    out += [
        "",
        f"## Authorization scenarios ({SUITES['conformance-0.2']})",
        "",
        "| scenario | result |",
        "|---|---|",
    ]
    out += [f"| `{scenario}` | {cell(auth, scenario)} |" for scenario in auth]
    out.append("")
    return "\n".join(out)

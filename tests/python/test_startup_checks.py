"""STARTUP_VALIDATE_GITEA (issue 17), on the built aegis-local: with the check on, an unreachable
Gitea or a rejected token stops the start with a message naming the variable to fix; with it off,
the gateway starts and the first failing Gitea call logs a WARN/ERROR line naming Gitea and the
request id."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx2

from conftest import AEGIS_LOCAL_BIN, Process, Seed, Sim, _base_env, _require_binary, start_shim

STARTUP_TIMEOUT = 30


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_start(tmp: Path, **env: str) -> str:
    """Runs aegis-local with `env`; asserts it exits non-zero without listening; its output."""
    _require_binary(AEGIS_LOCAL_BIN)
    data = tmp / "data"
    data.mkdir()
    full = _base_env() | {
        "MCP_API_KEYS": "k" * 40,
        "MCP_HOST": "127.0.0.1",
        "MCP_PORT": "0",
        "DATA_DIR": str(data),
        "DCR_STORAGE_PATH": str(data / "dcr_clients.json"),
        "AUDIT_LOG_PATH": str(data / "audit"),
        "ENVIRONMENT": "development",
        **env,
    }
    process = Process("aegis-local-refused", [str(AEGIS_LOCAL_BIN)], env=full, cwd=tmp, log_dir=tmp)
    try:
        code = process.proc.wait(timeout=STARTUP_TIMEOUT)
    finally:
        process.stop()
    output = "".join(process.stdout_lines) + process.log_path.read_text(errors="replace")
    assert code != 0, output
    assert "listening on" not in "".join(process.stdout_lines), output
    return output


def test_an_unreachable_gitea_stops_the_start_naming_gitea_url(tmp_path: Path, seed: Seed) -> None:
    output = refused_start(
        tmp_path,
        GITEA_URL=f"http://127.0.0.1:{closed_port()}",
        GITEA_TOKEN=seed.token("bob"),
        STARTUP_VALIDATE_GITEA="true",
    )
    assert "GITEA_URL" in output, output


def test_a_rejected_token_stops_the_start_naming_gitea_token(tmp_path: Path, sim: Sim) -> None:
    output = refused_start(tmp_path, GITEA_URL=sim.url, GITEA_TOKEN="not-a-valid-token-0123456789")
    assert "GITEA_TOKEN" in output, output


def test_without_the_check_a_failing_call_logs_gitea_and_the_request_id(
    tmp_path: Path, sim: Sim, seed: Seed
) -> None:
    shim = start_shim(
        "aegis-local-no-check",
        sim,
        seed,
        tmp_path,
        GITEA_URL=f"http://127.0.0.1:{closed_port()}",
        STARTUP_VALIDATE_GITEA="false",
    )
    try:
        r = httpx2.post(
            f"{shim.url}/mcp/tool/call",
            headers=shim.auth | {"Content-Type": "application/json", "X-Request-ID": "startup-check-7"},
            json={"tool": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}},
            timeout=30,
        )
        assert r.headers["x-request-id"] == "startup-check-7"
        assert r.status_code >= 400, r.text
        deadline = time.monotonic() + 10
        found = []
        while not found and time.monotonic() < deadline:
            lines = shim.process.log_path.read_text(errors="replace").splitlines()
            records = [json.loads(l) for l in lines if l.startswith("{")]
            found = [
                rec
                for rec in records
                if rec.get("level") in ("WARN", "ERROR")
                # the request's span (or a tool call's inside it) carries the id
                and "startup-check-7" in json.dumps(rec)
                and "gitea" in rec.get("message", "").lower()
            ]
            time.sleep(0.1)
        assert found, shim.process.log_tail()
        assert "GITEA_URL" in found[0]["message"], found[0]
    finally:
        shim.process.stop()

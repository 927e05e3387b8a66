"""`make dev` (local/dev.sh) as a newcomer meets it: the banner says what the gateway does,
and a port in use gets a hint whose ports are all free.

dev.sh runs from a scratch checkout (the repository linked, its own `.data/`, no `.env`),
with `CARGO=true`: the binaries are the ones `make build-bins` made."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import AEGIS_LOCAL_BIN, GITEA_SIM_BIN, TARGET_DIR, _base_env, _require_binary
from test_docs_commands import scratch_checkout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_free(port: int) -> bool:
    """No process listens on `port`. SO_REUSEADDR, because connections the killed servers
    closed first linger in TIME_WAIT on their port (the gateway's start-up check talks to the
    simulator), which a plain bind reports as in use although nothing is left behind."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def dev_env(**extra: str) -> dict[str, str]:
    return _base_env() | {"CARGO": "true", "CARGO_TARGET_DIR": str(TARGET_DIR), "DEV_STARTUP_TIMEOUT": "60"} | extra


def test_a_busy_port_gets_a_hint_with_free_ports(tmp_path: Path):
    checkout = scratch_checkout(tmp_path)
    listeners = []
    try:
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            listeners.append(s)
        gateway, simulator = (s.getsockname()[1] for s in listeners)
        # (busy MCP_PORT?, busy GITEA_SIM_PORT?) -> the variables the hint must set
        for mcp_busy, sim_busy in [(True, False), (False, True), (True, True)]:
            mcp = gateway if mcp_busy else free_port()
            sim = simulator if sim_busy else free_port()
            result = subprocess.run(
                ["bash", str(checkout / "local" / "dev.sh")],
                env=dev_env(MCP_PORT=str(mcp), GITEA_SIM_PORT=str(sim)),
                capture_output=True, text=True, timeout=60,
            )
            assert result.returncode == 1, result.stdout + result.stderr
            message = result.stderr
            for port, busy in ((mcp, mcp_busy), (sim, sim_busy)):
                assert (str(port) in message.split("run:")[0]) == busy, message
            hint = re.search(r"run: (.*make dev)$", message.strip())
            assert hint, message
            ports = dict(re.findall(r"(MCP_PORT|GITEA_SIM_PORT)=(\d+)", hint.group(1)))
            # Both ports named (neither is a default), different, and free.
            assert set(ports) == {"MCP_PORT", "GITEA_SIM_PORT"}, hint.group(1)
            assert ports["MCP_PORT"] != ports["GITEA_SIM_PORT"], hint.group(1)
            assert all(is_free(int(p)) for p in ports.values()), hint.group(1)
            assert (ports["MCP_PORT"] == str(mcp)) != mcp_busy, hint.group(1)
            assert (ports["GITEA_SIM_PORT"] == str(sim)) != sim_busy, hint.group(1)
    finally:
        for s in listeners:
            s.close()


def test_the_banner_shows_what_the_gateway_does(tmp_path: Path):
    _require_binary(AEGIS_LOCAL_BIN)
    _require_binary(GITEA_SIM_BIN)
    checkout = scratch_checkout(tmp_path)
    env = dev_env(
        MCP_PORT=str(free_port()),
        GITEA_SIM_PORT=str(free_port()),
        WRITE_MODE="true",
        WRITE_REPOSITORY_WHITELIST="acme/app",
        POLICY_FILE_PATH="policies/automation.yaml",
        AUTOMATION_ENABLED="true",
    )
    proc = subprocess.Popen(
        ["bash", str(checkout / "local" / "dev.sh")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )
    banner: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            banner.append(line.rstrip())
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        text = "\n".join(banner)
        for expected in [
            f"MCP endpoint : http://127.0.0.1:{env['MCP_PORT']}/mcp",
            "Auth         : API key (from .data/dev-api-key)",
            "Write mode   : on, for acme/app",
            "Policy       : policies/automation.yaml",
            "Automation   : on: POST /automation/jobs/run (webhooks refused: WEBHOOK_SECRET is unset)",
            "Audit trail  : .data/audit",
            "not the old",
        ]:
            assert expected in text, text
    finally:
        # Ctrl-C reaches the whole foreground group in a terminal; here, the session's.
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert is_free(int(env["MCP_PORT"])) and is_free(int(env["GITEA_SIM_PORT"])), "make dev left a process behind"

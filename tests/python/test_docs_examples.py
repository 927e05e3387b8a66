"""The manual's client example runs as documented (docs/getting-started.md, README.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_CALL = ROOT / "local" / "scripts" / "mcp_first_call.py"


def run_first_call(url: str, api_key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AEGIS_API_KEY", "AEGIS_MCP_URL")}
    if api_key is not None:
        env["AEGIS_API_KEY"] = api_key
    return subprocess.run(
        [sys.executable, str(FIRST_CALL), url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_first_call_example_lists_the_demo_repositories(shim):
    result = run_first_call(shim.mcp_url, shim.api_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "connected: protocol 2026-07-28" in result.stdout
    assert "list_repositories:" in result.stdout
    assert "  acme/app" in result.stdout.splitlines()


def test_first_call_example_fails_without_the_key(shim):
    result = run_first_call(shim.mcp_url, None)
    assert result.returncode != 0
    assert "acme/app" not in result.stdout
    assert "error: " in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_first_call_without_the_sdk_points_at_the_venv():
    # `-S`: no site-packages, as with a system Python that lacks the SDK.
    result = subprocess.run([sys.executable, "-S", str(FIRST_CALL)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "No module named" in result.stderr and ".venv/bin/python local/scripts/mcp_first_call.py" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr

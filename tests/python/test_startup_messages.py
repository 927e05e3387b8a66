"""What an operator sees when a binary refuses to start, or starts with a doubtful setting:
one `error: ...` line with each message once and no backtrace, even with RUST_BACKTRACE=1;
a WARN naming GITEA_URL for plain http off loopback; and the `aegis` command's errors and
its default audit trail."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from conftest import AEGIS_LOCAL_BIN, TARGET_DIR, _base_env, _require_binary

AEGIS_BIN = Path(os.environ.get("AEGIS_BIN") or TARGET_DIR / "debug" / "aegis")
MCP_BIN = TARGET_DIR / "debug" / "aegis-mcp"
KEY = secrets.token_hex(32)


def run(argv: list[str], cwd: Path, timeout: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=_base_env() | {"RUST_BACKTRACE": "1"} | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def gateway_env(tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "GITEA_URL": "http://127.0.0.1:9",
        "GITEA_TOKEN": "service-token",
        "MCP_API_KEYS": KEY,
        "MCP_PORT": "0",
        "DATA_DIR": str(tmp / "data"),
        "DCR_STORAGE_PATH": str(tmp / "data" / "dcr.json"),
        "AUDIT_LOG_PATH": str(tmp / "data" / "audit"),
        "STARTUP_VALIDATE_GITEA": "false",
        **extra,
    }


def bad_policy(tmp: Path) -> Path:
    path = tmp / "bad.yaml"
    path.write_text("defaults:\n  read: allow\ntools:\n  deny: [creat_issue]\n")
    return path


@pytest.mark.parametrize("binary", [AEGIS_LOCAL_BIN, MCP_BIN], ids=lambda p: p.name)
@pytest.mark.parametrize(
    "case",
    [
        # (variables, what the one error line says, text it must hold exactly once)
        ({"POLICY_FILE_PATH": "{bad}"}, "did you mean `create_issue`", "unknown tool `creat_issue`"),
        ({"MCP_API_KEYS": "short"}, "make generate-key", "at least 32 characters"),
        ({"GITEA_URL": "ftp://gitea"}, "`GITEA_URL`", "must be an http or https URL"),
        # a mistyped trust store must not fall back to the system's roots
        ({"SSL_CERT_FILE": "{tmp}/no-such-ca.pem"}, "`SSL_CERT_FILE`", "no such file"),
        ({"SSL_CERT_FILE": "{empty}"}, "TLS setup failed", "hold no PEM root certificate"),
    ],
    ids=["policy", "short-key", "gitea-url", "ssl-cert-file-missing", "ssl-cert-file-empty"],
)
def test_a_start_up_error_is_one_line_without_backtrace(binary: Path, case, tmp_path: Path):
    _require_binary(binary)
    variables, says, once = case
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    fill = {"{bad}": str(bad_policy(tmp_path)), "{empty}": str(empty), "{tmp}": str(tmp_path)}
    env = gateway_env(tmp_path)
    for k, v in variables.items():
        for placeholder, value in fill.items():
            v = v.replace(placeholder, value)
        env[k] = v
    result = run([str(binary)], tmp_path, **env)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]
    assert lines[0].count(once) == 1, lines[0]
    for noise in ("backtrace", "Caused by", "Error: "):
        assert noise not in result.stderr, result.stderr


def test_plain_http_gitea_off_loopback_is_a_warning_naming_gitea_url(tmp_path: Path):
    _require_binary(AEGIS_LOCAL_BIN)
    proc = subprocess.Popen(
        [str(AEGIS_LOCAL_BIN)],
        cwd=tmp_path,
        env=_base_env() | gateway_env(tmp_path, GITEA_URL="http://gitea.invalid:3000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and "listening on" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    warnings = [json.loads(line) for line in stderr.splitlines() if line.startswith("{") and '"WARN"' in line]
    assert any(w.get("variable") == "GITEA_URL" and "plain http" in w["message"] for w in warnings), stderr

    # Loopback http (the simulator, make dev) and https are not warned about.
    for url in ("http://127.0.0.1:3000", "https://gitea.invalid"):
        proc = subprocess.Popen(
            [str(AEGIS_LOCAL_BIN)], cwd=tmp_path, env=_base_env() | gateway_env(tmp_path, GITEA_URL=url),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert proc.stdout is not None and "listening on" in proc.stdout.readline()
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
        assert "plain http" not in stderr, (url, stderr)


def test_audit_verify_defaults_to_the_gateway_trail(tmp_path: Path):
    _require_binary(AEGIS_BIN)
    aegis = str(AEGIS_BIN)
    # Nothing configured, no make dev trail: it says where it looked.
    result = run([aegis, "audit", "verify"], tmp_path)
    assert result.returncode == 2
    assert "AUDIT_LOG_PATH" in result.stderr and "/var/lib/aegis-mcp/audit.log" in result.stderr, result.stderr

    # make dev's trail, found from the checkout.
    (tmp_path / ".data" / "audit").mkdir(parents=True)
    result = run([aegis, "audit", "verify"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`.data/audit` (make dev's trail" in result.stderr

    # AUDIT_LOG_PATH from .env wins; a file is verified as a JSON-lines file.
    (tmp_path / "trail.log").write_text("")
    (tmp_path / ".env").write_text("AUDIT_LOG_PATH=trail.log\n")
    result = run([aegis, "audit", "verify"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`trail.log` (from AUDIT_LOG_PATH)" in result.stderr

    # A directory passed as --path is a segments directory, not an OS error printed twice.
    result = run([aegis, "audit", "verify", "--path", ".data/audit"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([aegis, "audit", "verify", "--path", "trail.log", "--path", ".data/audit"], tmp_path)
    assert result.returncode == 2
    assert "is a directory" in result.stderr and "os error" not in result.stderr, result.stderr


def test_aegis_errors_print_each_text_once(tmp_path: Path):
    _require_binary(AEGIS_BIN)
    result = run([str(AEGIS_BIN), "policy", "validate", "--policy", str(bad_policy(tmp_path))], tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("unknown tool `creat_issue`") == 1, result.stderr
    # JSON-lines files that cannot be read: the OS error once.
    result = run([str(AEGIS_BIN), "audit", "verify", "--path", "a.log", "--path", "b.log"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("os error") == 1, result.stderr

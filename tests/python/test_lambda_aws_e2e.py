"""The MCP function as deployed: `lambda_http` behind a Function URL, state in DynamoDB + S3.

Issue 7, point 5. `cargo lambda watch` (the local Lambda emulator, pinned in the Makefile)
runs the `aegis-mcp` bootstrap built with the `aws` feature and serves it at the Function URL
path `/lambda-url/aegis-mcp/...`; the function's `STORAGE_BACKEND=aws` points at the moto
server `make test` starts (`AEGIS_TEST_MOTO_URL`). The official SDK client drives
`initialize`, `tools/list` and a read tool through that path, and the audit segments of those
calls must then be in the moto bucket.

Without `AEGIS_TEST_MOTO_URL` the test is skipped (say `make test-aws`), unless
`AEGIS_TEST_REQUIRE_MOTO=1` (set by `make test`), when it fails. The first run compiles the
function (debug, shared target dir): allow several minutes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from conftest import ROOT, SERVICE_USER, TARGET_DIR, Seed, Sim, _base_env
from support import check_success, handshake_session

sys.path.insert(0, str(ROOT / "local" / "scripts"))
from provision_emulator import provision  # noqa: E402  (the script developers run too)

pytestmark = pytest.mark.anyio

MOTO_URL = os.environ.get("AEGIS_TEST_MOTO_URL", "").strip()
REQUIRED = os.environ.get("AEGIS_TEST_REQUIRE_MOTO") == "1"
# Compiling the function with the AWS SDK the first time is slow on a small machine.
BUILD_TIMEOUT = float(os.environ.get("LAMBDA_E2E_BUILD_TIMEOUT", "1500"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_client(service: str):
    import boto3  # comes with moto[server]

    return boto3.client(
        service,
        endpoint_url=MOTO_URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def s3_client():
    return aws_client("s3")


class Watch:
    """`cargo lambda watch` in its own process group (it runs `cargo run` under it)."""

    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.log = log
        self._out = open(log, "wb")
        cargo_lambda = shutil.which("cargo-lambda", path=env["PATH"])
        if cargo_lambda is None:
            pytest.fail("cargo-lambda is not on PATH: run through `make test` (it installs it)", pytrace=False)
        self.proc = subprocess.Popen(
            [
                cargo_lambda, "lambda", "watch",
                "-A", "127.0.0.1", "-P", str(port),
                "--manifest-path", str(ROOT / "Cargo.toml"),
                "-p", "aegis-fn-mcp", "--bin", "aegis-mcp", "--features", "aws",
                "--ignore-changes",
            ],
            env=env,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self, lines: int = 40) -> str:
        self._out.flush()
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- cargo lambda watch (last {lines} lines, {self.log}) ---\n" + "\n".join(text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._out.close()


@pytest.fixture
def function_url(sim: Sim, seed: Seed, tmp_path: Path) -> Iterator[tuple[str, str, str, str]]:
    if not MOTO_URL:
        if REQUIRED:
            pytest.fail("AEGIS_TEST_REQUIRE_MOTO=1 but AEGIS_TEST_MOTO_URL is unset", pytrace=False)
        pytest.skip("AEGIS_TEST_MOTO_URL is unset: `make test-aws` starts moto and sets it")
    try:
        httpx2.get(f"{MOTO_URL}/moto-api/", timeout=5)
    except httpx2.TransportError as e:
        pytest.fail(f"AEGIS_TEST_MOTO_URL={MOTO_URL} is not reachable: {e}", pytrace=False)
    api_key = secrets.token_hex(32)
    bucket = f"aegis-e2e-{uuid.uuid4().hex[:16]}"
    table = f"aegis-e2e-{uuid.uuid4().hex[:16]}"
    # A function never creates its table or bucket (the SAM template does): made here from
    # the template, as a deployment would have them.
    provision(MOTO_URL, table, bucket)
    port = free_port()
    env = _base_env() | {
        # cargo and rustup find their homes; the function inherits this environment
        **{k: os.environ[k] for k in ("CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN") if k in os.environ},
        "CARGO_TARGET_DIR": str(TARGET_DIR),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "GITEA_URL": sim.url,
        "GITEA_TOKEN": seed.token(SERVICE_USER),
        "MCP_API_KEYS": api_key,
        "ENVIRONMENT": "development",
        "STORAGE_BACKEND": "aws",
        "AEGIS_TABLE_NAME": table,
        "AUDIT_S3_BUCKET": bucket,
        "AUDIT_S3_PREFIX": "mcp",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": MOTO_URL,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "TOKEN_RATE_LIMIT_PER_MINUTE": "100000",
    }
    watch = Watch(env, port, tmp_path / "cargo-lambda-watch.log")
    base = f"http://127.0.0.1:{port}/lambda-url/aegis-mcp"
    try:
        # The first invocation waits for the build; /health answers once the function runs.
        deadline = time.monotonic() + BUILD_TIMEOUT
        while True:
            if watch.proc.poll() is not None:
                pytest.fail(f"cargo lambda watch exited with {watch.proc.returncode}\n{watch.tail()}", pytrace=False)
            try:
                r = httpx2.get(f"{base}/health", timeout=BUILD_TIMEOUT)
                if r.status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the function never answered /health\n{watch.tail()}", pytrace=False)
            time.sleep(0.5)
        yield f"{base}/mcp", api_key, bucket, table
    finally:
        watch.stop()


@pytest.mark.timeout(1800)
async def test_function_url_with_dynamodb_and_s3(function_url: tuple[str, str, str, str]):
    import zlib

    mcp_url, api_key, bucket, table = function_url
    async with handshake_session(mcp_url, api_key) as (session, init):
        assert init.server_info.name
        tools = await session.list_tools()
        names = {t.name for t in tools.tools}
        assert "get_file_contents" in names and "list_repositories" in names
        result = await session.call_tool(
            "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "README.md"}
        )
        content = check_success(result)
        assert "ACME App" in json.dumps(content)
    # The tool call's records are durable in the hot log (the state table, AUDIT_HOT_LOG's
    # default with STORAGE_BACKEND=aws) before the response was sent; S3 segments come from
    # the sealer (the jobs function's schedule), not from the request path.
    ddb = aws_client("dynamodb")
    items = ddb.scan(TableName=table)["Items"]
    batches = [i for i in items if i["pk"]["S"].startswith("audit#")]
    assert batches, f"no audit batches in the table {table}"
    records = []
    for item in batches:
        body = zlib.decompress(item["body_z"]["B"], -15)
        records.extend(json.loads(body)["records"])
    tools_called = {r.get("tool") for r in records} | {r.get("context", {}).get("tool") for r in records}
    assert "get_file_contents" in tools_called, records
    s3 = s3_client()
    on_path = s3.list_objects_v2(Bucket=bucket, Prefix="mcp/segments/").get("Contents", [])
    assert not on_path, f"segments written on the request path: {on_path}"
    # Create-only: a batch the function wrote cannot be written again.
    first = batches[0]
    with pytest.raises(Exception) as refused:
        ddb.put_item(
            TableName=table,
            Item=first,
            ConditionExpression="attribute_not_exists(pk)",
        )
    assert "ConditionalCheckFailed" in str(refused.value)

"""Plain-HTTP checks of the gateway's edge: transport rules of MCP Streamable HTTP, DNS-rebinding
defence, body limits, authentication challenges, and the non-MCP endpoints."""

from __future__ import annotations

import json
import re

import httpx2
import pytest

from support import PARSE_ERROR, READ_TOOLS

ACCEPT = {"Accept": "application/json, text/event-stream"}
MCP_HEADERS = ACCEPT | {"Content-Type": "application/json"}


def initialize_body(request_id=1, version="2025-11-25"):
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "edge-test", "version": "0"}},
    }


def post(shim, path="/mcp", *, headers=None, auth=True, **kwargs):
    h = dict(MCP_HEADERS)
    if auth:
        h |= shim.auth
    h |= headers or {}
    return httpx2.post(f"{shim.url}{path}", headers=h, timeout=10, **kwargs)


def describe(r: httpx2.Response) -> str:
    return f"{r.request.method} {r.request.url} -> {r.status_code} {dict(r.headers)} {r.text[:500]!r}"


# ---- transport -----------------------------------------------------------------------


@pytest.mark.parametrize("auth", [True, False], ids=["with-key", "without-key"])
def test_get_mcp_is_405(shim, auth):
    headers = {"Accept": "text/event-stream"} | (shim.auth if auth else {})
    r = httpx2.get(shim.mcp_url, headers=headers, timeout=10)
    assert r.status_code == 405, describe(r)
    # RFC 9110: a 405 response MUST list the allowed methods
    assert "POST" in r.headers.get("allow", ""), describe(r)


def test_batch_request_is_rejected(shim):
    batch = [initialize_body(1), {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    r = post(shim, json=batch)
    assert 400 <= r.status_code < 500, describe(r)
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        assert isinstance(body, dict) and "error" in body and "result" not in body, describe(r)


def test_malformed_json_is_a_json_rpc_parse_error(shim):
    r = post(shim, content=b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert 400 <= r.status_code < 500, describe(r)
    body = r.json()
    assert body.get("jsonrpc") == "2.0", describe(r)
    assert body["error"]["code"] == PARSE_ERROR, describe(r)
    assert body.get("id") is None, describe(r)


def test_notification_gets_202_without_body(shim):
    r = post(
        shim,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={"MCP-Protocol-Version": "2025-11-25"},
    )
    assert r.status_code == 202, describe(r)
    assert r.content == b"", describe(r)


def test_unsupported_protocol_version_header_is_400(shim):
    r = post(
        shim,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"MCP-Protocol-Version": "1999-01-01"},
    )
    assert r.status_code == 400, describe(r)


def test_tools_list_over_plain_http(shim):
    r = post(
        shim,
        json={"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
        headers={"MCP-Protocol-Version": "2025-06-18"},
    )
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["id"] == 7
    assert set(READ_TOOLS) <= {t["name"] for t in body["result"]["tools"]}


# ---- DNS-rebinding defence -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/health", "/mcp/tools"])
def test_foreign_host_is_403(shim, path):
    if path == "/mcp":
        r = post(shim, json=initialize_body(), headers={"Host": "evil.example.com"})
    else:
        r = httpx2.get(f"{shim.url}{path}", headers={"Host": "evil.example.com"}, timeout=10)
    assert r.status_code == 403, describe(r)


@pytest.mark.parametrize("path", ["/mcp", "/health"])
def test_foreign_origin_is_403(shim, path):
    headers = {"Origin": "https://evil.example.com"}
    if path == "/mcp":
        r = post(shim, json=initialize_body(), headers=headers)
    else:
        r = httpx2.get(f"{shim.url}{path}", headers=headers, timeout=10)
    assert r.status_code == 403, describe(r)


def test_own_host_names_are_served(shim):
    port = shim.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        r = post(shim, json=initialize_body(), headers={"Host": host})
        assert r.status_code == 200, describe(r)


# ---- body limits ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/mcp/tool/call"])
def test_oversized_body_is_413(shim, path):
    # MAX_REQUEST_BODY_BYTES defaults to 1 MiB
    padding = "a" * (1_048_576 + 1024)
    body = initialize_body() | {"padding": padding}
    if path == "/mcp/tool/call":
        body = {"tool": "get_repository_info", "arguments": {"owner": "acme", "repo": padding}}
    r = post(shim, path, content=json.dumps(body).encode())
    assert r.status_code == 413, describe(r)


# ---- authentication ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/mcp/sse", "/mcp/tool/call"])
def test_missing_key_is_401_with_the_exact_challenge(shim, path):
    body = initialize_body() if path != "/mcp/tool/call" else {"tool": "list_repositories", "arguments": {}}
    r = post(shim, path, json=body, auth=False)
    assert r.status_code == 401, describe(r)
    assert r.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{shim.url}/.well-known/oauth-protected-resource", scope="read:repository"'
    ), describe(r)


def test_wrong_key_is_401_with_invalid_token(shim):
    r = post(shim, json=initialize_body(), headers={"Authorization": "Bearer " + "0" * 64})
    assert r.status_code == 401, describe(r)
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith(
        f'Bearer resource_metadata="{shim.url}/.well-known/oauth-protected-resource", scope="read:repository"'
    ), challenge
    assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize("suffix", ["", "/mcp"], ids=["root", "path-suffixed"])
def test_the_challenge_points_at_protected_resource_metadata(shim, suffix):
    # A client that gets the 401 follows `resource_metadata` (RFC 9728, MCP authorization):
    # the URL the gateway advertises must answer with the metadata document.
    challenge = post(shim, json=initialize_body(), auth=False).headers["www-authenticate"]
    url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1) + suffix
    r = httpx2.get(url, timeout=10)
    assert r.status_code == 200, describe(r)
    metadata = r.json()
    assert metadata["resource"].startswith(shim.url), metadata
    assert "read:repository" in metadata.get("scopes_supported", []), metadata
    assert metadata.get("bearer_methods_supported", ["header"]) == ["header"], metadata


def test_key_in_query_string_is_not_accepted(shim):
    r = post(shim, f"/mcp?api_key={shim.api_key}", json=initialize_body(), auth=False)
    assert r.status_code == 401, describe(r)


# ---- other endpoints -----------------------------------------------------------------


def test_public_tool_listing_needs_no_key(shim):
    r = httpx2.get(f"{shim.url}/mcp/tools", timeout=10)
    assert r.status_code == 200, describe(r)
    tools = {t["name"]: t for t in r.json()["tools"]}
    assert set(READ_TOOLS) <= set(tools)
    assert tools["get_repository_info"]["inputSchema"]["additionalProperties"] is False


def test_direct_tool_call_endpoint(shim):
    r = post(
        shim,
        "/mcp/tool/call",
        json={"tool": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}},
        headers={"X-Request-ID": "interop-42"},
    )
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["success"] is True
    assert body["result"]["repository"]["full_name"] == "acme/app"
    assert r.headers["x-request-id"] == "interop-42"


def test_direct_tool_call_rejects_unknown_arguments(shim):
    r = post(
        shim,
        "/mcp/tool/call",
        json={"tool": "get_repository_info", "arguments": {"owner": "acme", "repo": "app", "x": 1}},
    )
    assert r.status_code == 400, describe(r)


def test_health_and_metadata(shim):
    health = httpx2.get(f"{shim.url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    meta = httpx2.get(f"{shim.url}/", timeout=10).json()
    assert meta["mcp_endpoint"] == shim.mcp_url
    assert set(meta["protocol_versions"]) >= {"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}
    assert health.headers.get("x-request-id")

"""Connecting with the official MCP Python SDK: the default probe and the explicit handshake."""

from __future__ import annotations

import httpx2
import pytest

from support import READ_TOOLS, ExchangeLog, check_success, handshake_session, sdk_client

pytestmark = pytest.mark.anyio


async def test_default_client_probes_discover_and_adopts_the_newest_version(shim):
    log = ExchangeLog()
    async with sdk_client(shim.mcp_url, shim.api_key, log) as client:
        # mcp.Client probes `server/discover` first; the gateway serves 2026-07-28, so the
        # probe must succeed and the client must not fall back to `initialize`.
        assert log[0].rpc_method == "server/discover", [(e.rpc_method, e.status) for e in log]
        assert log[0].status == 200
        assert "initialize" not in [e.rpc_method for e in log]
        assert client.protocol_version == "2026-07-28"
        assert client.session.discover_result is not None
        assert "2026-07-28" in client.session.discover_result.supported_versions

        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert set(READ_TOOLS) <= set(tools)

        result = await client.call_tool("get_repository_info", {"owner": "acme", "repo": "app"})
        structured = check_success(result, tools["get_repository_info"])
        assert structured["repository"]["full_name"] == "acme/app"
    assert all(e.status < 400 for e in log), [(e.rpc_method, e.status) for e in log]


async def test_initialize_handshake_2025_11_25(shim):
    log = ExchangeLog()
    async with handshake_session(shim.mcp_url, shim.api_key, log) as (session, init):
        assert init.protocol_version == "2025-11-25"
        assert session.protocol_version == "2025-11-25"
        assert init.server_info.name == "aegis-gitea-mcp"
        assert init.capabilities.tools is not None
        # Every request after initialization carries the negotiated version.
        listed = await session.list_tools()
        assert log[-1].rpc_method == "tools/list" and log[-1].status == 200

    tools = {t.name: t for t in listed.tools}
    assert set(READ_TOOLS) <= set(tools), sorted(tools)
    assert listed.next_cursor is None
    for tool in listed.tools:
        schema = tool.input_schema
        assert schema.get("type") == "object", tool.name
        assert schema.get("additionalProperties") is False, f"{tool.name} accepts unknown arguments"
        assert tool.output_schema is not None, f"{tool.name} has no outputSchema"
        assert tool.output_schema.get("type") == "object", tool.name
        assert tool.annotations is not None, f"{tool.name} has no annotations"
        assert tool.description, tool.name
    for name in READ_TOOLS:
        assert tools[name].annotations.read_only_hint is True, name
        assert tools[name].annotations.destructive_hint is not True, name

    # The arguments the spec names, no more, no less, with the required ones required.
    expected = {
        "list_repositories": (set(), set()),
        "get_repository_info": ({"owner", "repo"}, {"owner", "repo"}),
        "get_file_tree": ({"owner", "repo", "ref", "recursive"}, {"owner", "repo"}),
        "get_file_contents": ({"owner", "repo", "filepath", "ref"}, {"owner", "repo", "filepath"}),
    }
    for name, (props, required) in expected.items():
        schema = tools[name].input_schema
        assert set(schema.get("properties", {})) == props, name
        assert set(schema.get("required", [])) == required, name

    # The public listing and the MCP listing describe the same tools.
    public = httpx2.get(f"{shim.url}/mcp/tools", timeout=10).json()["tools"]
    assert sorted(t["name"] for t in public) == sorted(tools)


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_initialize_negotiates_each_handshake_version(shim, version):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "interop-test", "version": "0"},
        },
    }
    r = httpx2.post(
        shim.mcp_url,
        json=body,
        headers=shim.auth | {"Accept": "application/json, text/event-stream"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["result"]["protocolVersion"] == version


def test_initialize_with_an_unknown_version_gets_a_supported_handshake_version(shim):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2024-01-01", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    r = httpx2.post(
        shim.mcp_url, json=body, headers=shim.auth | {"Accept": "application/json, text/event-stream"}, timeout=10
    )
    assert r.status_code == 200, r.text
    # 2026-07-28 has no initialize handshake, so the counter-offer must be a handshake version.
    assert r.json()["result"]["protocolVersion"] in ("2025-03-26", "2025-06-18", "2025-11-25")


async def test_sse_alias_speaks_the_same_protocol(shim):
    async with handshake_session(f"{shim.url}/mcp/sse", shim.api_key) as (session, init):
        assert init.protocol_version == "2025-11-25"
        listed = await session.list_tools()
        assert set(READ_TOOLS) <= {t.name for t in listed.tools}

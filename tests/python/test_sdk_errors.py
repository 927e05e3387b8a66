"""Errors as the official SDK sees them: tool errors (`isError` results, which keep the
session), JSON-RPC errors for unknown tools, and HTTP 401 (docs/adr/0007-mcp-error-model.md)."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import FOREIGN_PRIVATE_REPO
from support import INVALID_PARAMS, ExchangeLog, find_mcp_error, handshake_session, sdk_client, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture
async def session(shim):
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        await session.list_tools()
        yield session


async def test_unknown_tool_is_invalid_params(session):
    with pytest.raises(MCPError) as info:
        await session.call_tool("no_such_tool", {})
    assert info.value.code == INVALID_PARAMS
    assert "no_such_tool" in info.value.message


async def _assert_invalid_arguments_result(session, name, arguments, needle):
    """An argument error is a tool result with `isError` naming the field (MCP 2025-11-25:
    input validation is a tool execution error, so the model can correct its call), and
    the same session serves the next call."""
    result = await session.call_tool(name, arguments)
    assert result.is_error is True, result
    text = text_of(result)
    assert text.startswith("invalid arguments:"), text
    assert needle in text, text
    after = await session.call_tool("get_repository_info", {"owner": "acme", "repo": "app"})
    assert after.is_error is not True, after


@pytest.mark.parametrize(
    "name, arguments, needle",
    [
        ("get_repository_info", {"owner": "acme", "repo": "app", "branch": "main"}, "branch"),
        ("list_repositories", {"page": 1}, "page"),
        ("get_file_tree", {"owner": "acme", "repo": "app", "depth": 2}, "depth"),
        ("get_file_contents", {"owner": "acme", "repo": "app", "filepath": "README.md", "encoding": "raw"}, "encoding"),
    ],
    ids=["get_repository_info", "list_repositories", "get_file_tree", "get_file_contents"],
)
async def test_an_unknown_argument_is_an_error_result(session, name, arguments, needle):
    await _assert_invalid_arguments_result(session, name, arguments, needle)


@pytest.mark.parametrize(
    "arguments, needle",
    [
        ({"owner": "acme"}, "repo"),  # repo missing
        ({"owner": "acme", "repo": 7}, "invalid type"),  # wrong type
        ({"owner": "../acme", "repo": "app"}, "owner"),  # not a name
    ],
    ids=["missing", "wrong-type", "bad-name"],
)
async def test_invalid_arguments_are_error_results(session, arguments, needle):
    await _assert_invalid_arguments_result(session, "get_repository_info", arguments, needle)


async def test_path_traversal_is_an_error_result(session):
    await _assert_invalid_arguments_result(
        session, "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "../../etc/passwd"}, "filepath"
    )


async def test_private_repository_the_token_cannot_see_is_a_tool_error(session):
    owner, repo = FOREIGN_PRIVATE_REPO
    for name, arguments in [
        ("get_repository_info", {"owner": owner, "repo": repo}),
        ("get_file_tree", {"owner": owner, "repo": repo}),
        ("get_file_contents", {"owner": owner, "repo": repo, "filepath": "README.md"}),
    ]:
        result = await session.call_tool(name, arguments)
        assert result.is_error is True, (name, result)
        text = text_of(result)
        assert text, name
        # The repository's content never leaks into the error.
        assert "Personal notes" not in text, name


async def test_missing_file_is_a_tool_error(session):
    result = await session.call_tool(
        "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "does/not/exist.txt"}
    )
    assert result.is_error is True
    assert text_of(result)


def _assert_401_challenge(log: ExchangeLog, shim) -> None:
    assert log, "no HTTP exchange recorded"
    assert set(log.statuses()) == {401}, [(e.rpc_method, e.status) for e in log]
    challenge = log[0].headers.get("www-authenticate", "")
    assert challenge.startswith(
        f'Bearer resource_metadata="{shim.url}/.well-known/oauth-protected-resource", scope="read:repository"'
    ), challenge


async def test_wrong_api_key_surfaces_401_through_the_sdk(shim):
    log = ExchangeLog()
    with pytest.raises(BaseException) as info:
        async with handshake_session(shim.mcp_url, "x" * 64, log):
            pass
    assert find_mcp_error(info.value) is not None, repr(info.value)
    _assert_401_challenge(log, shim)
    assert re.search(r'error="invalid_token"', log[0].headers["www-authenticate"])


async def test_wrong_api_key_with_the_default_client(shim):
    log = ExchangeLog()
    with pytest.raises(BaseException) as info:
        async with sdk_client(shim.mcp_url, "y" * 64, log):
            pass
    assert find_mcp_error(info.value) is not None, repr(info.value)
    # the discover probe and the initialize fallback are both refused
    assert [e.rpc_method for e in log] == ["server/discover", "initialize"]
    _assert_401_challenge(log, shim)


async def test_missing_api_key_surfaces_401(shim):
    log = ExchangeLog()
    with pytest.raises(BaseException) as info:
        async with handshake_session(shim.mcp_url, None, log):
            pass
    assert find_mcp_error(info.value) is not None, repr(info.value)
    _assert_401_challenge(log, shim)


async def test_plain_client_url_without_a_key_is_refused(shim):
    # `mcp.Client(url)` exactly as documented: no way to pass a key, so the gateway refuses it.
    with pytest.raises(BaseException) as info:
        async with Client(shim.mcp_url):
            pass
    error = find_mcp_error(info.value)
    assert error is not None, repr(info.value)

"""What the model reads (issue 18): the text content of every read tool is compact, holds
the same data as `structuredContent`, and is bounded as a whole by MAX_TOOL_RESPONSE_CHARS
with a notice after the untrusted-data block saying how to get the rest."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import mcp_types as types
import pytest

from conftest import SMALL_MAX_CHARS
from model_chars import model_visible, representative_calls
from support import (
    READ_TOOL_ARGS,
    TRUNCATION_NOTICE,
    UNTRUSTED_CLOSE,
    handshake_session,
    text_of,
    untable,
    without_empty,
)

pytestmark = pytest.mark.anyio

# Tools whose text is their own rendering (a file, a diff, search hits), not the data.
CUSTOM_TEXT = {"get_file_contents", "get_commit_diff", "search_code"}


def block_of(text: str) -> tuple[str, str]:
    """(the framed block, the truncation notice after it or "")."""
    block, sep, notice = text.partition(TRUNCATION_NOTICE)
    return block, sep + notice


async def _calls(shim, sim, seed) -> dict[str, types.CallToolResult]:
    calls = representative_calls(sim, seed.token("alice"))
    assert set(calls) == set(READ_TOOL_ARGS)
    out = {}
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        for tool, arguments in calls.items():
            result = await session.call_tool(tool, arguments)
            assert result.is_error is not True, (tool, result)
            jsonschema.validate(result.structured_content, tools[tool].output_schema)
            out[tool] = result
    return out


async def test_the_text_holds_the_structured_result_compactly(shim, sim, seed):
    results = await _calls(shim, sim, seed)
    for tool, result in results.items():
        text = model_visible(result)
        block, notice = block_of(text)
        assert not notice, (tool, notice)
        data = text_of(result)
        if tool in CUSTOM_TEXT:
            continue
        assert "\n  " not in data, f"{tool}: pretty-printed"
        assert untable(json.loads(data)) == without_empty(result.structured_content), tool
    # The largest listing of the demo data is well within the default bound.
    assert len(model_visible(results["list_repositories"])) <= 20_000


async def test_every_text_is_bounded_as_a_whole_with_a_notice(small_shim, sim, seed):
    results = await _calls(small_shim, sim, seed)
    cut = []
    for tool, result in results.items():
        text = model_visible(result)
        block, notice = block_of(text)
        assert len(block) <= SMALL_MAX_CHARS, (tool, len(block))
        assert block.endswith(UNTRUSTED_CLOSE), tool
        if notice:
            cut.append(tool)
            assert f"(MAX_TOOL_RESPONSE_CHARS={SMALL_MAX_CHARS})" in notice, notice
            assert "structuredContent has the whole result" in notice, notice
    # The demo data has listings far larger than the bound: they were cut, visibly.
    assert {"list_repositories", "list_issues", "get_file_tree"} <= set(cut), cut

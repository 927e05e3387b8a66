#!/usr/bin/env python3
"""A first MCP session with the gateway, using the official MCP Python SDK (PyPI `mcp` 2.3).

    AEGIS_API_KEY=$(cat .data/dev-api-key) .venv/bin/python local/scripts/mcp_first_call.py [MCP_URL]

The project's `.venv` (made by `make dev` or `make venv`) has the SDK; the system Python
usually does not, and then this script says so and exits 1. Elsewhere: `pip install mcp==2.3.0`.

MCP_URL defaults to `make dev`'s http://127.0.0.1:8080/mcp (or AEGIS_MCP_URL). The key is
read from the environment, never from the command line (it would land in shell history).
Lists the tools, calls `list_repositories`, prints the repositories. Exit status 0 on
success, 1 when the call failed. docs/getting-started.md walks through it; the interop
suite runs it against a real gateway (tests/python/test_docs_examples.py).
"""

from __future__ import annotations

import asyncio
import os
import sys

try:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
except ImportError as missing:  # the system Python, not the project's .venv
    sys.exit(
        f"error: {missing}: this script needs the MCP Python SDK (mcp==2.3.0), which the "
        "project's .venv has (`make venv`, or `make dev`, creates it); run it with\n"
        "  AEGIS_API_KEY=$(cat .data/dev-api-key) .venv/bin/python local/scripts/mcp_first_call.py"
    )


async def main(url: str, api_key: str | None) -> int:
    # API-key mode: the key goes in the Authorization header of every request.
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            print(f"connected: protocol {client.protocol_version}")
            listed = await client.list_tools()
            print(f"{len(listed.tools)} tools, e.g. {', '.join(t.name for t in listed.tools[:5])}")
            result = await client.call_tool("list_repositories", {})
            if result.is_error:
                print(f"list_repositories failed: {result.content[0].text}", file=sys.stderr)
                return 1
            repositories = (result.structured_content or {}).get("repositories", [])
            print(f"list_repositories: {len(repositories)} repositories")
            for repo in repositories[:10]:
                print(f"  {repo.get('full_name')}")
            if len(repositories) > 10:
                print(f"  ... and {len(repositories) - 10} more")
            return 0


def innermost(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (the SDK runs its transport in a task group)."""
    while getattr(exc, "exceptions", None):  # BaseExceptionGroup (Python 3.11+)
        exc = exc.exceptions[0]
    return exc


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AEGIS_MCP_URL", "http://127.0.0.1:8080/mcp")
    try:
        sys.exit(asyncio.run(main(target, os.environ.get("AEGIS_API_KEY"))))
    except Exception as exc:  # a 401, a refused connection, ...: one line, no traceback
        leaf = innermost(exc)
        print(f"error: {type(leaf).__name__}: {leaf}", file=sys.stderr)
        print("check the MCP URL and AEGIS_API_KEY (`make dev` prints both)", file=sys.stderr)
        sys.exit(1)

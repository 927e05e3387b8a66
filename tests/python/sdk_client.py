"""One agent on the official MCP Python SDK, 1.x or 2.x, as the client matrix drives it.

Run as a script by the interpreter of the SDK under test (`.venv-mcp1/bin/python` for mcp 1.30,
`.venv/bin/python` for mcp 2.3); tests/python/test_client_matrix.py starts it and reads what
it saw. Argument: a JSON plan. Output: one JSON line on stdout.

Plan:
  url        the gateway's MCP URL
  headers    HTTP headers of every request (the API key, a browser's Origin)
  calls      [{name, arguments, at}]: tool calls on ONE client object, in order; `at` (seconds
             from the first call) holds a call back until then, for paced traffic
  oauth      {reconnects, fresh_every, call}: sign in once through the SDK's OAuth provider
             (the consent page passed by browser_user.ConsentBrowser), then reconnect
             `reconnects` times, each a new HTTP client, provider, transport and session over
             the stored token; every `fresh_every`-th reconnect starts with no token (the
             stored registration only), so the SDK runs its whole discovery and sign-in again

Each call is recorded as a result (`is_error`, text) or the exception the SDK raised; an
exception is a finding, not the end: the next call goes through the same client object.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from browser_user import ConsentBrowser, LoopbackReceiver, httpx2

SDK_VERSION = version("mcp")
MAJOR = int(SDK_VERSION.split(".")[0])
CALL_TIMEOUT = 30


@asynccontextmanager
async def connect(url: str, http: Any):
    """An initialized client on `http`: 2.x's `mcp.Client` (server/discover, else initialize),
    1.x's `ClientSession` after `initialize`. Both expose list_tools and call_tool."""
    if MAJOR >= 2:
        from mcp import Client

        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client
    else:
        async with streamable_http_client(url, http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def describe(result: Any) -> dict[str, Any]:
    is_error = result.is_error if MAJOR >= 2 else result.isError
    text = "".join(getattr(block, "text", "") for block in result.content)
    return {"outcome": "result", "is_error": bool(is_error), "text": text[:2000]}


def explain(e: BaseException) -> str:
    """The exception, with the leaves of exception groups (anyio task groups) spelled out."""
    if isinstance(e, BaseExceptionGroup):
        return f"{type(e).__name__}[" + "; ".join(explain(x) for x in e.exceptions) + "]"
    cause = f" (from {explain(e.__cause__)})" if e.__cause__ is not None else ""
    return f"{type(e).__name__}: {e}{cause}"[:1000]


async def call(client: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            return describe(await client.call_tool(name, arguments))
    except Exception as e:  # noqa: BLE001 - the finding is which exception the SDK raised
        return {"outcome": "exception", "error": explain(e)[:2000]}


class StatusLog:
    """Every HTTP status the SDK got, by path (to tell a lockout from a flaky call)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    async def hook(self, response: Any) -> None:
        self.seen.append((response.request.method, response.request.url.path, response.status_code))


async def run_calls(plan: dict[str, Any]) -> dict[str, Any]:
    log = StatusLog()
    out: dict[str, Any] = {"calls": [], "statuses": log.seen}
    async with httpx2.AsyncClient(
        headers=plan.get("headers", {}), timeout=30, event_hooks={"response": [log.hook]}
    ) as http:
        async with connect(plan["url"], http) as client:
            out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
            start = time.monotonic()
            for c in plan["calls"]:
                if (wait := c.get("at", 0) - (time.monotonic() - start)) > 0:
                    await anyio.sleep(wait)
                record = await call(client, c["name"], c["arguments"])
                record["t"] = round(time.monotonic() - start, 3)
                out["calls"].append(record)
    return out


class Storage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self, tokens: Any = None, client_info: Any = None) -> None:
        self.tokens, self.client_info = tokens, client_info

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


async def run_oauth(plan: dict[str, Any]) -> dict[str, Any]:
    spec = plan["oauth"]
    log = StatusLog()
    connections: list[dict[str, Any]] = []
    with LoopbackReceiver() as receiver:
        browser = ConsentBrowser(receiver)

        async def callback_handler() -> Any:
            got = browser.received_code()
            if MAJOR >= 2:
                from mcp.client.auth import AuthorizationCodeResult

                return AuthorizationCodeResult(code=got["code"], state=got.get("state"), iss=got.get("iss"))
            return got["code"], got.get("state")

        stored = Storage()
        for i in range(spec["reconnects"] + 1):
            fresh = i == 0 or i % spec["fresh_every"] == 0
            storage = Storage(None, stored.client_info) if fresh else stored
            provider = OAuthClientProvider(
                server_url=plan["url"],
                client_metadata=OAuthClientMetadata(
                    client_name=f"client matrix (mcp {SDK_VERSION})",
                    redirect_uris=[receiver.redirect_uri],
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"],
                    token_endpoint_auth_method="none",
                ),
                storage=storage,
                redirect_handler=browser.redirect_handler,
                callback_handler=callback_handler,
            )
            sign_ins = len(browser.authorization_urls)
            record: dict[str, Any] = {"fresh": fresh}
            try:
                async with httpx2.AsyncClient(auth=provider, timeout=30, event_hooks={"response": [log.hook]}) as http:
                    with anyio.fail_after(CALL_TIMEOUT):
                        async with connect(plan["url"], http) as client:
                            record |= await call(client, spec["call"]["name"], spec["call"]["arguments"])
            except Exception as e:  # noqa: BLE001
                record |= {"outcome": "exception", "error": explain(e)[:2000]}
            record["sign_ins"] = len(browser.authorization_urls) - sign_ins
            connections.append(record)
            if storage is not stored:
                stored.tokens, stored.client_info = storage.tokens, storage.client_info
    return {"connections": connections, "statuses": log.seen}


async def main(plan: dict[str, Any]) -> dict[str, Any]:
    out = await (run_oauth(plan) if plan.get("oauth") else run_calls(plan))
    return {"sdk": f"mcp {SDK_VERSION}", **out}


if __name__ == "__main__":
    try:
        report = anyio.run(main, json.loads(sys.argv[1]))
    except BaseException as e:  # noqa: BLE001 - reported to the test, which fails with it
        report = {"sdk": f"mcp {SDK_VERSION}", "fatal": explain(e)[:4000]}
    print(json.dumps(report))

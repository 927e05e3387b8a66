"""OAuth mode end to end with the official SDK's `OAuthClientProvider` as the client.

The SDK discovers the metadata, registers (RFC 7591), builds the authorization URL with PKCE
and exchanges the code; `oauth_flow.ConsentBrowser` plays the user, who approves our consent
page and signs in at the simulator (auto-login). Tools then run as that user with the user's
own Gitea token: the gateway in these stacks has no service token and no API key.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import ROOT
from oauth_flow import AuthorizationRefused, SignIn, find_exception, jwt_claims, sdk_sign_in
from support import ExchangeLog, check_success, text_of

pytestmark = pytest.mark.anyio


class OAuthLog(ExchangeLog):
    """The exchange log plus the `grant_type` of each token request the SDK made."""

    def __init__(self) -> None:
        super().__init__()
        self.token_requests: list[tuple[str, int]] = []

    async def on_response(self, response: httpx2.Response) -> None:
        await super().on_response(response)
        if path_of(str(response.request.url)) == "/oauth/token":
            form = parse_qs(response.request.content.decode())
            self.token_requests.append((form.get("grant_type", [""])[0], response.status_code))


def sdk_http(sign_in: SignIn, log: ExchangeLog) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        auth=sign_in.provider, timeout=httpx2.Timeout(30, read=60), event_hooks={"response": [log.on_response]}
    )


def path_of(url: str) -> str:
    return urlsplit(url).path


def sim_requests(sim, path: str, method: str | None = None) -> list[dict]:
    r = sim.get("/_sim/requests")
    r.raise_for_status()
    return [e for e in r.json() if e["path"] == path and (method is None or e["method"] == method)]


async def test_sdk_signs_in_and_acts_as_alice(oauth_stacks):
    stack = oauth_stacks.get("alice")
    shim = stack.shim
    log = OAuthLog()
    with sdk_sign_in(shim.mcp_url, "SDK e2e (alice)") as sign_in:
        async with sdk_http(sign_in, log) as http:
            async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                listed = await client.list_tools()
                tools = {t.name: t for t in listed.tools}
                assert "get_repository_info" in tools
                # alice/notes is private to alice: the service user of the API-key stacks
                # cannot read it, alice's own token can.
                result = await client.call_tool("get_repository_info", {"owner": "alice", "repo": "notes"})
                repo = check_success(result, tools["get_repository_info"])["repository"]
                assert repo["full_name"] == "alice/notes"
                assert repo["private"] is True
                mine = check_success(await client.call_tool("list_repositories", {}))
                names = {r["full_name"] for r in mine["repositories"]}
                assert "alice/notes" in names and "acme/secrets-vault" in names, names

        # What went over the wire, in order: the SDK's discovery, registration and token
        # exchange, then MCP traffic with our token.
        trail = [(e.method, path_of(e.url), e.status) for e in log]
        assert trail[:6] == [
            ("POST", "/mcp", 401),
            ("GET", "/.well-known/oauth-protected-resource", 200),
            ("GET", "/.well-known/oauth-authorization-server", 200),
            ("POST", "/register", 201),
            ("POST", "/oauth/token", 200),
            ("POST", "/mcp", 200),
        ], trail
        token_at = trail.index(("POST", "/oauth/token", 200))
        assert all(status < 400 for _, _, status in trail[token_at:]), trail

        # The browser's hops: consent page, approve -> Gitea -> our callback -> the client.
        hops = [(h.method, path_of(h.url), h.status) for h in sign_in.browser.hops]
        assert hops[:5] == [
            ("GET", "/oauth/authorize", 200),
            ("POST", "/oauth/authorize", 303),
            ("GET", "/login/oauth/authorize", 303),
            ("GET", "/oauth/callback", 303),
            ("GET", "/callback", 200),
        ], hops
        assert sign_in.browser.hops[2].url.startswith(stack.sim.url)
        final = parse_qs(urlsplit(sign_in.browser.hops[4].url).query)
        assert set(final) == {"code", "state", "iss"}, final
        assert final["iss"] == [shim.url]
        page = sign_in.browser.consent
        assert page is not None
        assert page.texts["client-name"] == "SDK e2e (alice)"
        assert page.texts["redirect-host"] == "127.0.0.1"
        assert "read:repository" in page.texts["scopes"]

        # The SDK holds our token, bound to this resource, never Gitea's.
        tokens = sign_in.storage.tokens
        assert tokens is not None and tokens.refresh_token
        claims = jwt_claims(tokens.access_token)
        assert claims["aud"] == shim.mcp_url and claims["iss"] == shim.url
        assert claims["sub"] == "alice" and claims["scope"] == "read:repository"
        assert "gnt" not in claims

    # Gitea saw alice's own token on the tool calls.
    seen = sim_requests(stack.sim, "/api/v1/repos/alice/notes")
    assert seen and {e["user"] for e in seen} == {"alice"}, seen


async def test_sdk_refreshes_and_a_replayed_refresh_token_revokes_the_grant(oauth_stacks):
    shim = oauth_stacks.get("alice").shim
    log = OAuthLog()
    with sdk_sign_in(shim.mcp_url, "SDK e2e (refresh)") as sign_in:
        async with sdk_http(sign_in, log) as http:
            async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                check_success(await client.call_tool("get_repository_info", {"owner": "alice", "repo": "notes"}))
                first = sign_in.storage.tokens
                assert first is not None and first.expires_in and first.expires_in > 60

                # Our access tokens live 15 minutes; make the SDK believe this one has run
                # out, so its own refresh path (`grant_type=refresh_token`) runs before the
                # next request.
                sign_in.provider.context.token_expiry_time = time.time() - 1
                check_success(await client.call_tool("get_repository_info", {"owner": "alice", "repo": "notes"}))
                second = sign_in.storage.tokens
                assert second is not first
                assert second.access_token != first.access_token
                assert second.refresh_token and second.refresh_token != first.refresh_token
                assert jwt_claims(second.access_token)["sub"] == "alice"
                assert log.token_requests == [("authorization_code", 200), ("refresh_token", 200)]
                assert len(sign_in.browser.hops) == 5, "a refresh must not send the user to the browser again"

                # The rotated-out refresh token, replayed: invalid_grant, and the whole grant
                # is revoked, so the current access token stops working at once.
                client_id = sign_in.storage.client_info.client_id
                async with httpx2.AsyncClient(timeout=10) as raw:
                    replay = await raw.post(
                        f"{shim.url}/oauth/token",
                        data={"grant_type": "refresh_token", "refresh_token": first.refresh_token, "client_id": client_id},
                    )
                    assert replay.status_code == 400, replay.text
                    assert replay.json()["error"] == "invalid_grant"
                    assert replay.headers["cache-control"] == "no-store"
                    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                    headers = {
                        "Authorization": f"Bearer {second.access_token}",
                        "Accept": "application/json, text/event-stream",
                        "MCP-Protocol-Version": "2025-11-25",
                    }
                    after = await raw.post(shim.mcp_url, json=ping, headers=headers)
                    assert after.status_code == 401, after.text[:300]
                    assert 'error="invalid_token"' in after.headers["www-authenticate"]
                    # ... and so does the current refresh token.
                    again = await raw.post(
                        f"{shim.url}/oauth/token",
                        data={"grant_type": "refresh_token", "refresh_token": second.refresh_token, "client_id": client_id},
                    )
                    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text

                # The SDK recovers the way a client should: the 401 sends the user through
                # the consent page again (same registration, a new grant).
                check_success(await client.call_tool("get_repository_info", {"owner": "alice", "repo": "notes"}))
                assert len(sign_in.browser.hops) == 10, [(h.method, h.url, h.status) for h in sign_in.browser.hops]
                assert sign_in.storage.tokens.access_token not in (first.access_token, second.access_token)
    assert [path_of(e.url) for e in log].count("/register") == 1


async def test_gateway_refreshes_the_users_gitea_token_when_it_runs_out(oauth_stacks):
    # Gitea's access tokens live 2 s here (Gitea's default is an hour): every call finds the
    # user's Gitea token expired or about to, and the gateway must refresh it at Gitea
    # (server side; the client's token is untouched) before acting.
    stack = oauth_stacks.get("alice", access_ttl=2)
    shim = stack.shim
    log = OAuthLog()
    with sdk_sign_in(shim.mcp_url, "SDK e2e (gitea refresh)") as sign_in:
        async with sdk_http(sign_in, log) as http:
            async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                # Entering the client already made authenticated requests (discovery), so
                # Gitea's first token was refreshed once; it expires 2 s later.
                def gitea_token_requests() -> int:
                    return len(sim_requests(stack.sim, "/login/oauth/access_token", "POST"))

                before = gitea_token_requests()
                assert before >= 2, "the code exchange and at least one refresh"
                time.sleep(2.5)
                check_success(await client.call_tool("get_repository_info", {"owner": "alice", "repo": "notes"}))
                assert gitea_token_requests() > before, "the gateway used an expired Gitea token"
                time.sleep(2.5)
                check_success(await client.call_tool("list_repositories", {}))
                assert gitea_token_requests() > before + 1
    assert log.token_requests == [("authorization_code", 200)], "the client never had to refresh"
    # No Gitea call was made with an expired token.
    rejected = [e for e in sim_requests(stack.sim, "/api/v1/repos/alice/notes") if e["status"] == 401]
    assert rejected == []


async def test_carol_is_denied_a_private_repository_she_cannot_see(oauth_stacks):
    stack = oauth_stacks.get("carol")
    shim = stack.shim
    with sdk_sign_in(shim.mcp_url, "SDK e2e (carol)") as sign_in:
        async with sdk_http(sign_in, OAuthLog()) as http:
            async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                public = await client.call_tool("get_repository_info", {"owner": "acme", "repo": "app"})
                assert check_success(public)["repository"]["full_name"] == "acme/app"
                assert jwt_claims(sign_in.storage.tokens.access_token)["sub"] == "carol"
                for owner, repo in [("acme", "secrets-vault"), ("alice", "notes")]:
                    denied = await client.call_tool("get_repository_info", {"owner": owner, "repo": repo})
                    assert denied.is_error is True, text_of(denied)
                    assert "not found" in text_of(denied).lower(), text_of(denied)
                listed = check_success(await client.call_tool("list_repositories", {}))
                names = {r["full_name"] for r in listed["repositories"]}
                assert names == {"carol/dotfiles"}, names  # her own; public repos of others are not "hers"
                assert not names & {"acme/secrets-vault", "alice/notes"}, names
    # Gitea answered carol (her own token) with 404 for the private repository.
    seen = sim_requests(stack.sim, "/api/v1/repos/acme/secrets-vault")
    assert seen and {(e["user"], e["status"]) for e in seen} == {("carol", 404)}, seen


async def test_sdk_step_up_to_write_scope_and_gitea_keeping_a_read_only_grant(oauth_stacks):
    # Signed in with `read:repository` (the scope of the 401 challenge), the client calls a
    # write tool: 403 `insufficient_scope` makes the SDK authorize again, through the consent
    # page, with the union of the scopes. Gitea, like 1.27 does, reuses alice's existing
    # grant of the gateway's client with its first (read-only) scope; the gateway must say so
    # rather than issue a write token whose writes Gitea refuses. Once the old grant is gone
    # at Gitea, the same step-up succeeds and the issue is filed.
    stack = oauth_stacks.get(
        "alice",
        WRITE_MODE="true",
        WRITE_REPOSITORY_WHITELIST="acme/app",
        POLICY_FILE_PATH=str(ROOT / "policies" / "write-one-repo.yaml"),
    )
    shim = stack.shim
    log = OAuthLog()
    title = "Filed after a scope step-up"
    app = {"owner": "acme", "repo": "app"}
    with sdk_sign_in(shim.mcp_url, "SDK e2e (step-up)") as sign_in:
        async with sdk_http(sign_in, log) as http:
            # A failed authorization tears the SDK's session down: the error surfaces when
            # the client closes.
            with pytest.raises(BaseException) as info:
                async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                    check_success(await client.call_tool("get_repository_info", app))
                    assert jwt_claims(sign_in.storage.tokens.access_token)["scope"] == "read:repository"
                    await client.call_tool("create_issue", {**app, "title": title})
            refused = find_exception(info.value, AuthorizationRefused)
            assert isinstance(refused, AuthorizationRefused), info.value
            assert refused.params["error"] == "invalid_scope", refused.params
            assert "read-only authorization" in refused.params["error_description"]
            assert refused.params["iss"] == shim.url
            consent = sign_in.browser.consent
            assert consent is not None and "write:repository" in consent.texts["scopes"]
            assert log.token_requests == [("authorization_code", 200)], "no token for the step-up"
            assert not sim_requests(stack.sim, "/api/v1/repos/acme/app/issues", "POST"), "nothing written"

            # The user revokes the old authorization at Gitea (the simulator forgets its
            # grants), and the client tries again with the same registration.
            httpx2.post(f"{stack.sim.url}/_sim/reset", timeout=10).raise_for_status()
            async with Client(streamable_http_client(shim.mcp_url, http_client=http)) as client:
                created = check_success(await client.call_tool("create_issue", {**app, "title": title}))
                assert created["issue"]["title"] == title, created
            assert jwt_claims(sign_in.storage.tokens.access_token)["scope"] == "read:repository write:repository"
    assert [path_of(e.url) for e in log].count("/register") == 1
    posted = sim_requests(stack.sim, "/api/v1/repos/acme/app/issues", "POST")
    assert [(e["user"], e["status"]) for e in posted] == [("alice", 201)], posted

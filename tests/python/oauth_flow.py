"""The user's side of the OAuth flow for the SDK's `OAuthClientProvider`: a loopback redirect
receiver (what a native client listens on) and a cookie-keeping HTTP "browser" that passes the
gateway's consent page and follows the redirects through Gitea back to the client.

Nothing here makes tokens: the SDK discovers, registers, builds the authorization URL and
exchanges the code; this module only plays the person at the browser.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

import browser_user
from browser_user import ConsentPage, Hop, LoopbackReceiver, form_origin, origin_of, parse_consent

__all__ = ["ConsentBrowser", "ConsentPage", "Hop", "LoopbackReceiver", "form_origin", "origin_of", "parse_consent"]


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (to show what the client was given)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class ConsentBrowser(browser_user.ConsentBrowser):
    """`browser_user.ConsentBrowser` with the 2.x SDK's `callback_handler`."""

    async def callback_handler(self) -> AuthorizationCodeResult:
        got = self.received_code()
        if "code" not in got:
            raise AuthorizationRefused(got)
        return AuthorizationCodeResult(code=got["code"], state=got.get("state"), iss=got.get("iss"))


class AuthorizationRefused(Exception):
    """The client's redirect URI received an OAuth error instead of a code."""

    def __init__(self, params: dict[str, str]):
        super().__init__(f"{params.get('error')}: {params.get('error_description')}")
        self.params = params


def find_exception(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The `kind` exception inside `exc` (exception groups, causes, contexts)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kind):
            return e
        if isinstance(e, BaseExceptionGroup):
            stack.extend(e.exceptions)
        stack.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return None


# ---- the SDK's provider ----------------------------------------------------------------


class MemoryTokenStorage:
    """The SDK's `TokenStorage`, in memory; the tests read what the SDK stored."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class SignIn:
    provider: OAuthClientProvider
    storage: MemoryTokenStorage
    browser: ConsentBrowser


@contextmanager
def sdk_sign_in(mcp_url: str, client_name: str, decision: str = "approve") -> Iterator[SignIn]:
    """An `OAuthClientProvider` for `mcp_url` whose user passes the consent page."""
    with LoopbackReceiver() as receiver:
        storage = MemoryTokenStorage()
        browser = ConsentBrowser(receiver, decision)
        provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name=client_name,
                redirect_uris=[receiver.redirect_uri],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=browser.redirect_handler,
            callback_handler=browser.callback_handler,
        )
        yield SignIn(provider, storage, browser)

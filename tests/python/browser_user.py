"""The person at the browser in the OAuth flow, for any client: a loopback redirect receiver
(what a native client listens on) and a cookie-keeping HTTP "browser" that passes the gateway's
consent page and follows the redirects through Gitea back to the client.

Standard library plus httpx2 (the 2.x SDK's HTTP client) or httpx (1.x's), whichever the
interpreter has: the client matrix runs it under both SDK venvs (tests/python/sdk_client.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

try:
    import httpx2
except ImportError:  # the 1.x SDK's venv
    import httpx as httpx2  # type: ignore[no-redef]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_origin(page_url: str, referrer_policy: str | None) -> str:
    """The `Origin` a browser sends with a form POST from `page_url`: the page's origin, or
    `null` when the page's referrer policy is `no-referrer` (Fetch, "serialize a request
    origin"), as Chromium and Firefox do."""
    policies = [p.strip().lower() for p in (referrer_policy or "").split(",") if p.strip()]
    if policies and policies[-1] == "no-referrer":
        return "null"
    return origin_of(page_url)


# ---- the client's loopback redirect URI (RFC 8252) ----------------------------------------


class LoopbackReceiver:
    """`http://127.0.0.1:<port>/callback`: records each redirect's query and answers 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                receiver.received.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = b"<!doctype html><title>Signed in</title><p>You can close this window.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-redirect", daemon=True)

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- the consent page ------------------------------------------------------------------


@dataclass
class ConsentPage:
    """What the gateway's consent page shows and the form it submits."""

    action: str = ""
    method: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)  # id -> value of decision buttons
    texts: dict[str, str] = field(default_factory=dict)  # element id -> its text


class _ConsentParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = ConsentPage()
        self._open: list[tuple[str, str]] = []  # (tag, id) of elements whose text is collected

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.page.action, self.page.method = a.get("action", ""), a.get("method", "get").lower()
        elif tag == "input" and a.get("type") == "hidden":
            self.page.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "button" and a.get("name") == "decision":
            self.page.buttons[a.get("id", "")] = a.get("value", "")
        if a.get("id"):
            self._open.append((tag, a["id"]))
            self.page.texts.setdefault(a["id"], "")

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i]
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            self.page.texts[element_id] += data


def parse_consent(html: str) -> ConsentPage:
    parser = _ConsentParser()
    parser.feed(html)
    return parser.page


# ---- the browser -----------------------------------------------------------------------


@dataclass
class Hop:
    method: str
    url: str
    status: int
    location: str | None
    headers: httpx2.Headers


class ConsentBrowser:
    """The SDK's `redirect_handler` and `callback_handler`, acting as the user's browser.

    It opens the authorization URL, checks and submits the consent form the way a browser
    does (the `aegis_csrf` cookie the page set, the `Origin` header a browser would send under
    the page's referrer policy), follows every
    redirect (gateway -> Gitea -> gateway callback -> the client's loopback URI) hop by hop,
    and hands the code that reached the loopback receiver to the SDK.
    """

    def __init__(self, receiver: LoopbackReceiver, decision: str = "approve"):
        self.receiver = receiver
        self.decision = decision
        self.hops: list[Hop] = []
        self.consent: ConsentPage | None = None
        self.consent_response: httpx2.Response | None = None
        self.authorization_urls: list[str] = []

    async def _send(self, browser: httpx2.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        r = await browser.request(method, url, **kwargs)
        self.hops.append(Hop(method, url, r.status_code, r.headers.get("location"), r.headers))
        return r

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as browser:
            page = await self._send(browser, "GET", authorization_url)
            assert page.status_code == 200, f"consent page: {page.status_code} {page.text[:300]}"
            self.consent_response = page
            self.consent = parse_consent(page.text)
            assert self.consent.method == "post", self.consent
            assert {"request", "csrf_token"} <= set(self.consent.hidden), self.consent.hidden
            form = dict(self.consent.hidden) | {"decision": self.decision}
            url = urljoin(authorization_url, self.consent.action)
            origin = form_origin(authorization_url, page.headers.get("referrer-policy"))
            r = await self._send(browser, "POST", url, data=form, headers={"Origin": origin})
            # Redirects, as a browser follows them: 303 turns into GET.
            for _ in range(10):
                if r.status_code not in (301, 302, 303, 307, 308):
                    break
                url = urljoin(url, r.headers["location"])
                r = await self._send(browser, "GET", url)
            assert r.status_code == 200, f"the flow ended at {url} with {r.status_code}: {r.text[:300]}"
            assert url.startswith(self.receiver.redirect_uri + "?"), f"the flow ended at {url}, not the client"

    def received_code(self) -> dict[str, str]:
        """The query the client's redirect URI received last (`code`, `state`, `iss` or `error`)."""
        assert self.receiver.received, "nothing reached the client's redirect URI"
        return self.receiver.received[-1]

"""The consent page in a real browser: Debian's chromium, headless, driven by playwright-core
(`tests/browser/consent.mjs`; `make browser-deps` installs both, nothing is downloaded).

One run covers what only a browser can show: the page renders what the user must see (the
client's name, where the browser will be sent, the scopes), clicking Approve completes the
flow through Gitea to the client's redirect URI, and a page of another site that frames the
consent page gets no form (X-Frame-Options / CSP frame-ancestors honoured).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from conftest import ROOT
from oauth_flow import LoopbackReceiver

BROWSER_DIR = ROOT / "tests" / "browser"
SCRIPT = BROWSER_DIR / "consent.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# A name a careless page would turn into markup: it must show as text.
CLIENT_NAME = 'Browser <b>Test</b> & "Co"'


def require_browser() -> str:
    """The node binary; fails (never skips) with the command that installs what is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (Debian package `chromium`)")
    node = shutil.which("node")
    if node is None:
        missing.append("node (Debian package `nodejs`)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append(f"{BROWSER_DIR}/node_modules/playwright-core (npm)")
    if missing:
        pytest.fail(
            "the browser test needs " + ", ".join(missing) + ": run `make browser-deps` (as root for apt)",
            pytrace=False,
        )
    assert node is not None
    return node


class FramingSite:
    """Another site (`http://localhost:<port>`, while the gateway is `127.0.0.1`) whose page
    frames the consent page, next to a control frame of a page that allows framing."""

    def __init__(self, consent_url: str, control_url: str):
        page = (
            "<!doctype html><html><head><meta charset=utf-8><title>Totally legit</title></head><body>"
            "<h1>Win a prize</h1>"
            f'<iframe id="consent" src="{consent_url}" width="600" height="400"></iframe>'
            f'<iframe id="control" src="{control_url}" width="600" height="200"></iframe>'
            "</body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                if self.path != "/prize.html":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self._server.server_address[1]}/prize.html"
        self._thread = threading.Thread(target=self._server.serve_forever, name="framing-site", daemon=True)

    def __enter__(self) -> FramingSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_consent_page_in_chromium(oauth_stacks):
    node = require_browser()
    shim = oauth_stacks.get("alice").shim
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    state = secrets.token_urlsafe(16)
    with LoopbackReceiver() as receiver:
        registered = httpx2.post(
            f"{shim.url}/register",
            json={"redirect_uris": [receiver.redirect_uri], "client_name": CLIENT_NAME, "token_endpoint_auth_method": "none"},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["client_id"]
        authorize_url = f"{shim.url}/oauth/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": receiver.redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": state,
                "scope": "read:repository write:repository",
                "resource": shim.mcp_url,
            }
        )
        control_url = f"{shim.url}/.well-known/oauth-protected-resource"
        with FramingSite(authorize_url, control_url) as site:
            run = subprocess.run(
                [node, str(SCRIPT)],
                input=json.dumps(
                    {
                        "authorizeUrl": authorize_url,
                        "redirectUri": receiver.redirect_uri,
                        "framingPageUrl": site.url,
                        "controlUrl": control_url,
                        "timeoutMs": 20000,
                    }
                ),
                capture_output=True,
                text=True,
                cwd=BROWSER_DIR,
                env={**os.environ, "CHROMIUM_PATH": str(CHROMIUM)},
                timeout=90,
            )
        try:
            out = json.loads(run.stdout)
        except ValueError:
            pytest.fail(f"consent.mjs exited {run.returncode}:\nstdout: {run.stdout}\nstderr: {run.stderr}", pytrace=False)
        assert run.returncode == 0 and "error" not in out, f"{out.get('error')}\nstderr: {run.stderr}"

        # 1. What the user sees.
        consent = out["consent"]
        assert consent["status"] == 200
        assert consent["clientName"] == CLIENT_NAME  # rendered as text, not markup
        assert consent["title"] == f"Authorize {CLIENT_NAME}"
        assert consent["redirectHost"] == "127.0.0.1"
        assert [s.split(":", 2)[:2] for s in consent["scopes"]] == [
            ["read", "repository"],
            ["write", "repository"],
        ], consent["scopes"]
        assert all(len(s) > len("write:repository: ") for s in consent["scopes"]), "each scope is explained"
        assert consent["approveVisible"] and consent["denyVisible"]
        assert consent["xFrameOptions"] == "DENY"
        assert "frame-ancestors 'none'" in consent["csp"]
        assert consent["scriptCookies"] == "", "the CSRF cookie must be HttpOnly"
        # Served over plain http here: the unprefixed cookie. Over https it is
        # `__Host-aegis_csrf`, `Secure`, `Path=/` (tests/it/hostile.rs checks that one).
        assert {"name": "aegis_csrf", "path": "/oauth", "httpOnly": True, "sameSite": "Strict"} in consent["cookies"]

        # 2. Approve: the browser ends on the client's redirect URI with our code.
        approve = out["approve"]
        final = urlsplit(approve["finalUrl"])
        assert approve["finalUrl"].startswith(receiver.redirect_uri + "?"), approve
        params = {k: v[0] for k, v in parse_qs(final.query).items()}
        assert set(params) == {"code", "state", "iss"}, params
        assert params["state"] == state and params["iss"] == shim.url
        assert "You can close this window" in approve["finalText"]
        hops = [(n["method"], urlsplit(n["url"]).path, n["status"]) for n in approve["navigations"]]
        assert hops == [
            ("GET", "/oauth/authorize", 200),
            ("POST", "/oauth/authorize", 303),
            ("GET", "/login/oauth/authorize", 303),
            ("GET", "/oauth/callback", 303),
            ("GET", "/callback", 200),
        ], hops
        assert receiver.received == [params]
        # The code is real: the client redeems it.
        redeemed = httpx2.post(
            f"{shim.url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": receiver.redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
            },
            timeout=10,
        )
        assert redeemed.status_code == 200, redeemed.text
        assert redeemed.json()["scope"] == "read:repository write:repository"

    # 3. Another site framing the consent page gets nothing; the control frame renders.
    framing = out["framing"]
    frames = {f["id"]: f for f in framing["frames"]}
    assert set(frames) == {"consent", "control"}, framing
    control = frames["control"]
    assert control["url"] == control_url and '"resource"' in (control["text"] or ""), control
    framed = frames["consent"]
    assert framed["approveButtons"] in (0, None), framed
    assert framed["url"] == "chrome-error://chromewebdata/", f"the consent page loaded inside a frame: {framed}"
    assert "Authorize" not in (framed["text"] or ""), framed
    refusals = [m for m in framing["console"] if "frame-ancestors" in m or "X-Frame-Options" in m]
    assert refusals, f"chromium reported no framing refusal: {framing['console']}"

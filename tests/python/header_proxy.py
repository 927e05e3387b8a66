"""A loopback reverse proxy that adds one header: how a client that cannot send custom headers
(the official conformance runner) reaches the gateway in API-key mode.

Every request to `http://127.0.0.1:<port>/...` goes to the upstream with the same method,
path, headers and body, plus `Authorization: Bearer <key>` when the request carries no
`Authorization` of its own. The proxy stands in for the upstream's address: where `Host` or
`Origin` name the proxy itself, the upstream sees its own address instead, so the gateway
judges the request exactly as if the client had sent it directly (a foreign `Host` or
`Origin`, as in the DNS-rebinding scenario, passes unchanged). Responses are passed back
whole (the gateway answers JSON, never a long-lived stream).

Loopback only: it binds 127.0.0.1 and forwards only to a 127.0.0.1 upstream.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class HeaderProxy:
    def __init__(self, upstream: str, headers: dict[str, str]):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the proxy forwards only to http://127.0.0.1:<port>, not {upstream}")
        self.upstream_authority = f"127.0.0.1:{parts.port}"
        self.added = dict(headers)
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                proxy.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                out: dict[str, str] = {}
                for name, value in self.headers.items():
                    lower = name.lower()
                    if lower in HOP_BY_HOP or lower == "content-length":
                        continue
                    if lower == "host" and value == proxy.authority:
                        value = proxy.upstream_authority
                    elif lower == "origin" and value == f"http://{proxy.authority}":
                        value = f"http://{proxy.upstream_authority}"
                    out[name] = value
                present = {k.lower() for k in out}
                for name, value in proxy.added.items():
                    if name.lower() not in present:
                        out[name] = value
                if body is not None:
                    out["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(proxy.upstream_authority, timeout=60)
                try:
                    # skip_host: the Host header (the client's, mapped above) goes through as is
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in out.items():
                        conn.putheader(name, value)
                    conn.endheaders(body)
                    response = conn.getresponse()
                    data = response.read()
                    self.send_response_only(response.status, response.reason)
                    for name, value in response.getheaders():
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.authority = f"127.0.0.1:{self._server.server_address[1]}"
        self.url = f"http://{self.authority}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="header-proxy", daemon=True)

    def __enter__(self) -> HeaderProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

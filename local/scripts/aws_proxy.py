#!/usr/bin/env python3
"""A counting, latency-modelling proxy between the AWS SDK and an AWS API emulator (moto).

What `make bench-aws` puts in front of moto (docs/PERFORMANCE.md, "Modelled AWS run"):
every request the function makes to "AWS" (its `AWS_ENDPOINT_URL` is this proxy) is

- named: DynamoDB by its `X-Amz-Target` header (`DynamoDB_20120810.PutItem` -> `PutItem`),
  S3 (path-style, as the adapters use against an emulator) by method, path and query
  shape (`PutObject`, `GetObject`, `ListObjectsV2`, `HeadBucket`, ...);
- delayed by a time drawn from the latency model (`MODEL`: a log-normal per operation,
  fixed by its p50 and p99, whose sources docs/PERFORMANCE.md cites), before it is
  forwarded, so the function really waits as long as it would on AWS;
- recorded with its start and end times (read, and answered by moto; one monotonic clock, shared with the caller when
  the proxy runs in-process), the modelled delay, the SDK's attempt number
  (`amz-sdk-request`) and invocation id, and the request and response sizes.

Nothing is changed on the way: method, path, headers (including `Host`, which the SigV4
signature covers) and body reach moto as sent. Responses come back whole. Requests to
moto's own control API (`/moto-api/...`) are forwarded but neither delayed nor counted.

In-process (the bench, the tests):

    proxy = AwsProxy("http://127.0.0.1:5000", seed=1).start()
    ... point the SDK at proxy.url ...
    for x in proxy.exchanges(): print(x.service, x.operation, x.delay_ms)
    proxy.stop()

Standalone (e.g. to watch a `make dev` run with `STORAGE_BACKEND=aws`):

    .venv/bin/python local/scripts/aws_proxy.py --upstream http://127.0.0.1:5000 --port 4566
    curl -s http://127.0.0.1:4566/__aws_proxy/exchanges     # what it saw, as JSON
    curl -s -X POST http://127.0.0.1:4566/__aws_proxy/reset

Loopback only: it binds 127.0.0.1 and forwards only to an http://127.0.0.1 upstream.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import random
import re
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

# Hop-by-hop headers (RFC 9110 7.6.1) and `Expect` (the proxy has read the whole body by
# then) are the proxy's own business, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"}
CONTROL_PREFIX = "/__aws_proxy/"
# z of the 99th percentile of a standard normal: p99 = p50 * exp(Z99 * sigma)
Z99 = 2.3263478740408408


@dataclass(frozen=True)
class Latency:
    """A log-normal latency fixed by its median and 99th percentile, in milliseconds."""

    p50_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        if not 0 < self.p50_ms <= self.p99_ms:
            raise ValueError(f"latency needs 0 < p50 <= p99, got p50 {self.p50_ms} ms and p99 {self.p99_ms} ms")

    @property
    def sigma(self) -> float:
        return math.log(self.p99_ms / self.p50_ms) / Z99

    def sample_ms(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.p50_ms), self.sigma)


# The latency model: (service, operation) -> latency, with a per-service fallback under
# (service, "*"). What each figure rests on is in docs/PERFORMANCE.md ("The model"); keep
# the two in step. Client-observed, in-Region, on a kept-alive connection.
MODEL: dict[tuple[str, str], Latency] = {
    # DynamoDB: single-digit milliseconds; a strongly consistent read is served by the
    # partition's leader, a write waits for a quorum of replicas in other AZs.
    ("dynamodb", "GetItem"): Latency(4.0, 12.0),
    ("dynamodb", "PutItem"): Latency(6.0, 18.0),
    ("dynamodb", "UpdateItem"): Latency(6.0, 18.0),
    ("dynamodb", "DeleteItem"): Latency(6.0, 18.0),
    ("dynamodb", "*"): Latency(6.0, 20.0),
    # S3 Standard: tens of milliseconds for small objects.
    ("s3", "PutObject"): Latency(25.0, 80.0),
    ("s3", "GetObject"): Latency(15.0, 50.0),
    ("s3", "HeadObject"): Latency(15.0, 50.0),
    ("s3", "ListObjectsV2"): Latency(30.0, 100.0),
    ("s3", "*"): Latency(25.0, 80.0),
}


def latency_of(service: str, operation: str, model: dict[tuple[str, str], Latency] = MODEL) -> Latency | None:
    """The model's latency for an operation, its service's fallback, or None (not modelled)."""
    return model.get((service, operation)) or model.get((service, "*"))


@dataclass
class Exchange:
    """One request the proxy forwarded, as seen from the caller's side."""

    seq: int
    service: str
    operation: str
    method: str
    path: str
    status: int
    start: float  # time.perf_counter() when the request had been read
    end: float  # time.perf_counter() when the answer had come from upstream, before it was written back
    delay_ms: float  # the modelled latency added before forwarding
    attempt: int  # the SDK's attempt number (1 = first try)
    invocation_id: str  # the SDK's id of the operation, shared by its retries
    request_bytes: int
    response_bytes: int
    consistent_read: bool  # DynamoDB reads: ConsistentRead requested
    item_bytes: int = 0  # DynamoDB PutItem: the item's size as DynamoDB bills it (0: not known)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _value_size(value: dict) -> int:
    """One attribute value's size as DynamoDB counts it (Developer Guide, "Item sizes"):
    strings by their UTF-8 length, binaries by their decoded length, numbers about one byte
    per two digits plus one, maps and lists by their members plus 3 bytes, booleans and
    nulls one byte."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(base64.b64decode(v))
    if kind == "N":
        return (len(v.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "BS":
        return sum(len(base64.b64decode(x)) for x in v)
    return sum(len(x) for x in v)  # NS: an approximation


def item_size(body: bytes) -> int:
    """The size of the item a PutItem request writes (attribute names plus values), or 0."""
    try:
        item = json.loads(body)["Item"]
        return sum(len(k.encode()) + _value_size(v) for k, v in item.items())
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_ATTEMPT = re.compile(r"attempt=(\d+)")

# S3 sub-resources that name a bucket-level operation: query key -> (GET, PUT, DELETE) names
_BUCKET_SUBRESOURCES = {
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "object-lock": ("GetObjectLockConfiguration", "PutObjectLockConfiguration", None),
    "location": ("GetBucketLocation", None, None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "encryption": ("GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"),
    "lifecycle": ("GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"),
    "versions": ("ListObjectVersions", None, None),
    "uploads": ("ListMultipartUploads", None, None),
}
_OBJECT_SUBRESOURCES = {
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "attributes": ("GetObjectAttributes", None, None),
}


def _subresource(table: dict[str, tuple[str | None, ...]], query: dict[str, str], method: str) -> str | None:
    index = {"GET": 0, "PUT": 1, "DELETE": 2}.get(method)
    for key, names in table.items():
        if key in query and index is not None and names[index]:
            return names[index]
    return None


def s3_operation(method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """The S3 API operation of a path-style request (`/bucket/key?query`)."""
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if not key:
        if named := _subresource(_BUCKET_SUBRESOURCES, query, method):
            return named
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {
            "GET": "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects",
            "PUT": "CreateBucket",
            "HEAD": "HeadBucket",
            "DELETE": "DeleteBucket",
        }.get(method, f"{method} bucket")
    if named := _subresource(_OBJECT_SUBRESOURCES, query, method):
        return named
    if method == "PUT":
        if "x-amz-copy-source" in headers:
            return "UploadPartCopy" if "uploadId" in query else "CopyObject"
        return "UploadPart" if "uploadId" in query else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return {"GET": "ListParts" if "uploadId" in query else "GetObject", "HEAD": "HeadObject"}.get(
        method, f"{method} object"
    )


def classify(method: str, target: str, headers: dict[str, str]) -> tuple[str, str]:
    """(service, operation) of a request; `headers` with lower-case names.

    The service comes from `X-Amz-Target` (JSON protocols: DynamoDB, ...), else from the
    SigV4 credential scope, else it is taken to be S3 (the one REST-XML service here).
    """
    if amz_target := headers.get("x-amz-target"):
        prefix, _, operation = amz_target.partition(".")
        service = "dynamodb" if prefix.startswith("DynamoDB") else prefix.split("_")[0].lower()
        return service, operation or amz_target
    split = urlsplit(target)
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "s3"
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    if service == "s3":
        return "s3", s3_operation(method, split.path, query, headers)
    return service, f"{method} {split.path}"


class AwsProxy:
    """The proxy: a threaded HTTP server on 127.0.0.1 forwarding to `upstream`.

    `latency=False` counts without delaying. `seed` makes the drawn delays repeatable for a
    given order of requests.
    """

    def __init__(
        self,
        upstream: str,
        *,
        port: int = 0,
        seed: int | None = None,
        latency: bool = True,
        model: dict[tuple[str, str], Latency] | None = None,
    ):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the proxy forwards only to http://127.0.0.1:<port>, not `{upstream}`")
        self.upstream = f"127.0.0.1:{parts.port}"
        self.latency = latency
        self.model = dict(MODEL if model is None else model)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._seq = 0
        self._local = threading.local()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AwsProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AwsProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def exchanges(self) -> list[Exchange]:
        """What was forwarded so far, in the order the requests arrived."""
        with self._lock:
            return sorted(self._exchanges, key=lambda x: x.seq)

    def reset(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def _delay_ms(self, service: str, operation: str) -> float:
        if not self.latency:
            return 0.0
        latency = latency_of(service, operation, self.model)
        if latency is None:
            return 0.0
        with self._lock:  # one generator, one order: repeatable for a seed
            return latency.sample_ms(self._rng)

    def _upstream_connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.upstream, timeout=120)
            self._local.conn = conn
        return conn

    def _send_upstream(self, method: str, target: str, body: bytes, headers: dict[str, str]):
        """One request upstream on this thread's kept-alive connection (reopened once if moto closed it)."""
        for attempt in (1, 2):
            conn = self._upstream_connection()
            try:
                conn.request(method, target, body=body if body or method not in ("GET", "HEAD") else None, headers=headers)
                resp = conn.getresponse()
                return resp, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm holds
                # the body until the client's delayed ACK (40 ms on Linux) on every response.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the exchanges are the log

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response_only(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                if self.command == "HEAD":
                    length = next((v for n, v in headers if n.lower() == "content-length"), "0")
                    self.send_header("Content-Length", length)
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def _control(self) -> None:
                if self.path == CONTROL_PREFIX + "exchanges" and self.command == "GET":
                    body = json.dumps([x.as_json() for x in proxy.exchanges()]).encode()
                    self._reply(200, [("Content-Type", "application/json")], body)
                elif self.path == CONTROL_PREFIX + "reset" and self.command == "POST":
                    proxy.reset()
                    self._reply(204, [], b"")
                else:
                    self._reply(404, [("Content-Type", "text/plain")], b"unknown proxy control path\n")

            def _forward(self) -> None:
                body = self._body()
                start = time.perf_counter()
                if self.path.startswith(CONTROL_PREFIX):
                    self._control()
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                counted = not self.path.startswith("/moto-api")
                service, operation = classify(self.command, self.path, headers) if counted else ("moto-api", "")
                delay = proxy._delay_ms(service, operation) if counted else 0.0
                if delay:
                    time.sleep(delay / 1000)
                out = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                out = {k: v for k, v in out.items() if k.lower() != "content-length"}
                if body or self.command not in ("GET", "HEAD", "DELETE"):
                    out["Content-Length"] = str(len(body))
                try:
                    resp, resp_body = proxy._send_upstream(self.command, self.path, body, out)
                except OSError as e:
                    self._reply(502, [("Content-Type", "text/plain")], f"aws proxy: upstream {proxy.upstream}: {e}\n".encode())
                    return
                # Taken before the answer is written: the caller may send its next request as
                # soon as it has read this one, and that one must not seem to overlap it. For
                # the same reason the exchange is recorded before the answer leaves: a caller
                # that reads the exchanges right after its request must find it there.
                end = time.perf_counter()
                if counted:
                    attempt = _ATTEMPT.search(headers.get("amz-sdk-request", ""))
                    consistent = False
                    if service == "dynamodb" and body:
                        try:
                            consistent = bool(json.loads(body).get("ConsistentRead"))
                        except (ValueError, AttributeError):
                            pass
                    with proxy._lock:
                        proxy._seq += 1
                        proxy._exchanges.append(
                            Exchange(
                                seq=proxy._seq,
                                service=service,
                                operation=operation,
                                method=self.command,
                                path=urlsplit(self.path).path,
                                status=resp.status,
                                start=start,
                                end=end,
                                delay_ms=round(delay, 3),
                                attempt=int(attempt.group(1)) if attempt else 1,
                                invocation_id=headers.get("amz-sdk-invocation-id", ""),
                                request_bytes=len(body),
                                response_bytes=len(resp_body),
                                consistent_read=consistent,
                                item_bytes=item_size(body) if operation == "PutItem" else 0,
                            )
                        )
                self._reply(resp.status, resp.getheaders(), resp_body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the modelled delays")
    parser.add_argument("--no-latency", action="store_true", help="count only, add no delay")
    args = parser.parse_args()
    try:
        proxy = AwsProxy(args.upstream, port=args.port, seed=args.seed, latency=not args.no_latency)
    except (ValueError, OSError) as e:
        sys.exit(f"error: {e}")
    print(f"aws proxy on {proxy.url} -> http://{proxy.upstream}", flush=True)
    try:
        proxy._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

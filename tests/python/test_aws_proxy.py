"""The counting, latency-modelling AWS proxy of `make bench-aws` (local/scripts/aws_proxy.py).

No Lambda here: boto3 drives the proxy in front of moto directly. Checked: every request
is named by service and operation as the bench reports it (a table of requests, and real
S3/DynamoDB calls); the modelled delay is really added and recorded; requests and answers
pass unchanged (an object put through the proxy reads back, a 412 stays a 412); the
latency model's draws have the p50 and p99 it is declared with; and the bench's analysis
(concurrent requests are one round trip, the added latency of a call, the cost per million)
on requests the proxy really timed.

moto: the one `make test` starts (AEGIS_TEST_MOTO_URL), else one of this module's own.
"""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "local" / "scripts"))
from aws_bench import Call, auditor_summary, cost_per_million, critical_path, percentile  # noqa: E402
from aws_proxy import MODEL, AwsProxy, Exchange, Latency, classify, item_size  # noqa: E402

# Constant delays (p50 = p99), so that what the proxy recorded can be checked exactly.
FIXED = {
    ("dynamodb", "*"): Latency(20.0, 20.0),
    ("s3", "PutObject"): Latency(40.0, 40.0),
    ("s3", "*"): Latency(10.0, 10.0),
}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    url = os.environ.get("AEGIS_TEST_MOTO_URL", "").strip()
    if url:
        yield url
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "moto_serial.py"), "127.0.0.1", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx2.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto did not start on {url} (exit {proc.poll()})", pytrace=False)
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def clients(endpoint: str):
    import boto3  # comes with moto[server] in .venv
    from botocore.config import Config

    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    return boto3.client("s3", **kw), boto3.client("dynamodb", **kw)


# ---- naming: (method, target, headers) -> (service, operation) ---------------------

SIGNED_S3 = {"authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/s3/aws4_request, SignedHeaders=host"}
CLASSIFY_CASES = [
    ("POST", "/", {"x-amz-target": "DynamoDB_20120810.UpdateItem"}, ("dynamodb", "UpdateItem")),
    ("POST", "/", {"x-amz-target": "DynamoDB_20120810.TransactWriteItems"}, ("dynamodb", "TransactWriteItems")),
    ("PUT", "/audit/bench/segments/c/00000000000000000001.json?x-id=PutObject", SIGNED_S3, ("s3", "PutObject")),
    ("PUT", "/audit/k", SIGNED_S3 | {"x-amz-copy-source": "/audit/j"}, ("s3", "CopyObject")),
    ("GET", "/audit/bench/digests/00000000000000000000.json?x-id=GetObject", SIGNED_S3, ("s3", "GetObject")),
    ("HEAD", "/audit/k", SIGNED_S3, ("s3", "HeadObject")),
    ("DELETE", "/audit/k", SIGNED_S3, ("s3", "DeleteObject")),
    ("GET", "/audit?list-type=2&prefix=bench%2Fsegments%2F&delimiter=%2F", SIGNED_S3, ("s3", "ListObjectsV2")),
    ("GET", "/audit?prefix=x", SIGNED_S3, ("s3", "ListObjects")),
    ("PUT", "/audit", SIGNED_S3, ("s3", "CreateBucket")),
    ("PUT", "/audit?versioning", SIGNED_S3, ("s3", "PutBucketVersioning")),
    ("GET", "/audit?object-lock", SIGNED_S3, ("s3", "GetObjectLockConfiguration")),
    ("HEAD", "/audit", SIGNED_S3, ("s3", "HeadBucket")),
    ("POST", "/audit?delete", SIGNED_S3, ("s3", "DeleteObjects")),
    ("GET", "/audit/k?retention", SIGNED_S3, ("s3", "GetObjectRetention")),
    ("POST", "/audit/k?uploads", SIGNED_S3, ("s3", "CreateMultipartUpload")),
    ("PUT", "/audit/k?partNumber=1&uploadId=u", SIGNED_S3, ("s3", "UploadPart")),
    ("GET", "/", SIGNED_S3, ("s3", "ListBuckets")),
    # unsigned and without a target: taken to be S3, the one REST service the function uses
    ("GET", "/audit/k", {}, ("s3", "GetObject")),
]


@pytest.mark.parametrize(("method", "target", "headers", "expected"), CLASSIFY_CASES,
                         ids=[f"{c[0]} {c[1][:40]}" for c in CLASSIFY_CASES])
def test_names_each_request_by_service_and_operation(method, target, headers, expected):
    assert classify(method, target, headers) == expected


# ---- the latency model --------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(MODEL), ids=[f"{s}:{o}" for s, o in sorted(MODEL)])
def test_model_draws_have_their_declared_p50_and_p99(key):
    latency = MODEL[key]
    rng = random.Random(7)
    draws = [latency.sample_ms(rng) for _ in range(40_000)]
    assert percentile(draws, 50) == pytest.approx(latency.p50_ms, rel=0.05)
    assert percentile(draws, 99) == pytest.approx(latency.p99_ms, rel=0.10)
    assert min(draws) > 0


def test_model_refuses_figures_that_are_not_a_latency():
    for p50, p99 in [(10.0, 5.0), (0.0, 5.0), (-1.0, 5.0)]:
        with pytest.raises(ValueError, match="0 < p50 <= p99"):
            Latency(p50, p99)


def test_proxy_forwards_only_to_loopback():
    with pytest.raises(ValueError, match="only to http://127.0.0.1"):
        AwsProxy("http://example.com:80")


# ---- against moto -------------------------------------------------------------------


def test_counts_names_and_delays_real_requests(moto):
    bucket, table = f"proxy-{uuid.uuid4().hex[:12]}", f"proxy-{uuid.uuid4().hex[:12]}"
    with AwsProxy(moto, seed=1, model=FIXED) as proxy:
        s3, ddb = clients(proxy.url)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="segments/c/1.json", Body=b'{"n":1}', IfNoneMatch="*")
        with pytest.raises(s3.exceptions.ClientError, match="PreconditionFailed"):
            s3.put_object(Bucket=bucket, Key="segments/c/1.json", Body=b'{"n":2}', IfNoneMatch="*")
        assert s3.get_object(Bucket=bucket, Key="segments/c/1.json")["Body"].read() == b'{"n":1}'
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="segments/c/", Delimiter="/")
        assert [o["Key"] for o in listed["Contents"]] == ["segments/c/1.json"]
        ddb.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
        ddb.update_item(TableName=table, Key={"pk": {"S": "rate#k"}}, UpdateExpression="ADD #c :one",
                        ExpressionAttributeNames={"#c": "count"}, ExpressionAttributeValues={":one": {"N": "1"}})
        item = ddb.get_item(TableName=table, Key={"pk": {"S": "rate#k"}}, ConsistentRead=True)["Item"]
        assert item["count"] == {"N": "1"}
        seen = proxy.exchanges()

    assert [(x.service, x.operation, x.status) for x in seen] == [
        ("s3", "CreateBucket", 200),
        ("s3", "PutObject", 200),
        ("s3", "PutObject", 412),
        ("s3", "GetObject", 200),
        ("s3", "ListObjectsV2", 200),
        ("dynamodb", "CreateTable", 200),
        ("dynamodb", "UpdateItem", 200),
        ("dynamodb", "GetItem", 200),
    ]
    assert [x.delay_ms for x in seen] == [10.0, 40.0, 40.0, 10.0, 10.0, 20.0, 20.0, 20.0]
    # The delay was really waited for, on top of moto's own time.
    for x in seen:
        assert (x.end - x.start) * 1000 >= x.delay_ms, x
    assert [x.consistent_read for x in seen][-1] is True
    assert all(x.attempt == 1 and x.invocation_id for x in seen)
    assert seen[1].request_bytes == len(b'{"n":1}')


def test_without_latency_it_only_counts(moto):
    with AwsProxy(moto, latency=False) as proxy:
        s3, _ = clients(proxy.url)
        s3.list_buckets()
        # moto's own control API is forwarded but not counted
        assert httpx2.get(f"{proxy.url}/moto-api/", timeout=5).status_code == 200
        seen = proxy.exchanges()
        control = httpx2.get(f"{proxy.url}/__aws_proxy/exchanges", timeout=5).json()
    assert [(x.operation, x.delay_ms) for x in seen] == [("ListBuckets", 0.0)]
    assert [x["operation"] for x in control] == ["ListBuckets"]


def test_adds_no_delay_of_its_own(moto):
    """Without the model a request costs moto's time, not a TCP stall: the response's two
    writes (headers, body) once waited for the client's delayed ACK, 40 ms a response."""
    with AwsProxy(moto, latency=False) as proxy:
        s3, _ = clients(proxy.url)
        s3.list_buckets()  # connection set up
        times = []
        for _ in range(9):
            start = time.perf_counter()
            s3.list_buckets()
            times.append((time.perf_counter() - start) * 1000)
    assert percentile(times, 50) < 30, times


def test_concurrent_requests_are_one_round_trip_and_cost_what_the_table_says(moto):
    """Two rate-limit updates at once, then a segment put: the bench's read-call shape."""
    bucket, table = f"proxy-{uuid.uuid4().hex[:12]}", f"proxy-{uuid.uuid4().hex[:12]}"
    s3_direct, ddb_direct = clients(moto)
    s3_direct.create_bucket(Bucket=bucket)
    ddb_direct.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    with AwsProxy(moto, model=FIXED) as proxy:
        s3, ddb = clients(proxy.url)
        barrier = threading.Barrier(2)

        def hit(key: str) -> None:
            barrier.wait()
            ddb.update_item(TableName=table, Key={"pk": {"S": key}}, UpdateExpression="ADD #c :one",
                            ExpressionAttributeNames={"#c": "count"}, ExpressionAttributeValues={":one": {"N": "1"}})

        start = time.perf_counter()
        threads = [threading.Thread(target=hit, args=(k,)) for k in ("rate#ip", "rate#key")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s3.put_object(Bucket=bucket, Key="segments/c/00000000000000000001.json", Body=b"{}", IfNoneMatch="*")
        call = Call("read", start, time.perf_counter(), 1, proxy.exchanges())

    round_trips, added_ms, path = critical_path(call.exchanges)
    assert (round_trips, added_ms, path) == (2, 60.0, "UpdateItem ∥ UpdateItem → PutObject")
    cost = cost_per_million([call], memory_mb=256)
    # 2 write request units at $0.625 per million; one PUT at $0.005 per 1,000
    assert cost["dynamodb"] == pytest.approx(1.25)
    assert cost["s3"] == pytest.approx(5.0)
    assert cost["api_gateway_http_api"] == 1.0 and cost["lambda_requests"] == 0.2
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=1e-3)


def test_a_sequential_call_has_one_round_trip_per_request():
    def x(seq: int, op: str, start: float, end: float, delay: float) -> Exchange:
        return Exchange(seq, "dynamodb", op, "POST", "/", 200, start, end, delay, 1, "", 100, 100, True)

    exchanges = [x(1, "UpdateItem", 0.000, 0.010, 6.0), x(2, "GetItem", 0.010, 0.015, 4.0),
                 x(3, "PutItem", 0.020, 0.030, 9.0)]
    assert critical_path(exchanges) == (3, 19.0, "UpdateItem → GetItem → PutItem")


def test_a_put_items_size_is_counted_as_dynamodb_bills_it() -> None:
    # Names plus values; a binary by its decoded length (the hot log's deflated batches).
    body = json.dumps({"TableName": "t", "Item": {
        "pk": {"S": "audit#c"}, "sk": {"S": "00000000000000000001"},
        "body_z": {"B": base64.b64encode(b"x" * 900).decode()}, "ttl": {"N": "1766000000"},
    }, "ConditionExpression": "attribute_not_exists(#pk)"}).encode()
    assert item_size(body) == (2 + 7) + (2 + 20) + (6 + 900) + (3 + 6)
    assert len(body) > 1024, "the request is over 1 KB: bounding by it would count 2 units"
    assert item_size(b"not json") == 0


def test_the_auditor_phase_counts_the_objects_read_at_the_proxy() -> None:
    # `make bench-aws --verify-calls N`: segment and digest GETs as the proxy saw them,
    # beside what the verifier says it read; listings and the hot log's requests apart.
    def x(seq: int, service: str, op: str, method: str, path: str) -> Exchange:
        return Exchange(seq, service, op, method, path, 200, 0.0, 0.01, 15.0, 1, "", 100, 100, False)

    exchanges = [
        x(1, "s3", "ListObjectsV2", "GET", "/b"),
        x(2, "s3", "GetObject", "GET", "/b/p/segments/c/00000000000000000000.json"),
        x(3, "s3", "GetObject", "GET", "/b/p/segments/c/00000000000000000001.json"),
        x(4, "s3", "GetObject", "GET", "/b/p/digests/00000000000000000000.json"),
        x(5, "dynamodb", "Query", "POST", "/"),
    ]
    report = {"chains": 1, "segments": 2, "records": 5000, "events": 4998, "digests": 1,
              "segment_reads": 2, "digest_reads": 1, "newest_sealed_record_ts": None,
              "hot_log": {"records_unsealed": 0}, "findings": []}
    out = auditor_summary(exchanges, report, calls=2499, seconds=1.5)
    assert (out["segment_gets"], out["digest_gets"]) == (2, 1)
    assert out["requests_by_operation"] == {"dynamodb:Query": 1, "s3:GetObject": 3, "s3:ListObjectsV2": 1}
    assert out["report"]["records_unsealed"] == 0 and out["report"]["exit"] == "ok"
    assert out["modelled_aws_ms"] == 75.0

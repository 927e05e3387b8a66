#!/usr/bin/env python3
"""Creates the state table and the audit bucket on an AWS API emulator, as the SAM template does.

The Lambda functions never create infrastructure: on AWS the template owns the table and
the bucket, and a function started under a Lambda runtime (`cargo lambda watch`, the
cold-start bench, the end-to-end test) expects them to exist, even when `AWS_ENDPOINT_URL`
points at an emulator. This script creates them there from `infra/template.yaml` itself
(the `StateTable` key schema, billing mode and TTL attribute; the `AuditBucket` with Object
Lock enabled and versioning), so the functions meet the table and bucket shapes the template
deploys. Not applied here: the bucket's default COMPLIANCE retention, encryption, public
access block and bucket policy, and the table's PITR and SSE (AWS-side protections that
change nothing the functions do).
The local shim (`aegis-local` with `STORAGE_BACKEND=aws`) does not need it: outside a
Lambda runtime the storage adapters create what is missing on an emulator themselves.

    .venv/bin/python local/scripts/provision_emulator.py \
        --endpoint-url http://127.0.0.1:5000 --table aegis-state --bucket aegis-audit

Idempotent: an existing table or bucket is left as it is. Needs boto3 and PyYAML (both in
the project's .venv: `make venv`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# The template is read with the loader its own tests use (CloudFormation's short tags).
sys.path.insert(0, str(ROOT / "tests" / "python"))
from infra_template import load  # noqa: E402


def template_resources() -> dict[str, Any]:
    return load()["Resources"]


def _client(service: str, endpoint_url: str, region: str):
    import boto3  # comes with moto[server] in .venv

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_table(endpoint_url: str, table: str, region: str = "us-east-1") -> bool:
    """The template's `StateTable` under the name `table`; False when it already existed."""
    props = template_resources()["StateTable"]["Properties"]
    ddb = _client("dynamodb", endpoint_url, region)
    try:
        ddb.create_table(
            TableName=table,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props["BillingMode"],
        )
    except ddb.exceptions.ResourceInUseException:
        return False
    ddb.get_waiter("table_exists").wait(TableName=table)
    ttl = props["TimeToLiveSpecification"]
    ddb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
    )
    return True


def create_bucket(endpoint_url: str, bucket: str, region: str = "us-east-1") -> bool:
    """A bucket shaped like the template's `AuditBucket` (Object Lock, versioning); False when it existed."""
    props = template_resources()["AuditBucket"]["Properties"]
    s3 = _client("s3", endpoint_url, region)
    kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": bool(props.get("ObjectLockEnabled"))}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        # us-east-1 answers CreateBucket on a bucket one already owns with 200: ask first.
        s3.head_bucket(Bucket=bucket)
        return False
    except s3.exceptions.ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        s3.create_bucket(**kwargs)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        return False
    status = props.get("VersioningConfiguration", {}).get("Status")
    if status:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    return True


def provision(endpoint_url: str, table: str, bucket: str, region: str = "us-east-1") -> None:
    create_table(endpoint_url, table, region)
    create_bucket(endpoint_url, bucket, region)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-url", required=True, help="the emulator, e.g. http://127.0.0.1:5000 (AWS_ENDPOINT_URL)")
    parser.add_argument("--table", required=True, help="AEGIS_TABLE_NAME")
    parser.add_argument("--bucket", required=True, help="AUDIT_S3_BUCKET")
    parser.add_argument("--region", default="us-east-1", help="AWS_REGION (default us-east-1)")
    args = parser.parse_args()
    if not re.match(r"^https?://", args.endpoint_url):
        sys.exit("--endpoint-url must be an http(s) URL")
    made_table = create_table(args.endpoint_url, args.table, args.region)
    made_bucket = create_bucket(args.endpoint_url, args.bucket, args.region)
    print(f"table {args.table}: {'created' if made_table else 'exists'}; bucket {args.bucket}: {'created' if made_bucket else 'exists'}")


if __name__ == "__main__":
    main()

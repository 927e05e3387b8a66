"""The SAM template's promises, checked as data (no AWS account, no network).

`make lint-infra` runs cfn-lint and checkov on the real template; here: the lint can fail
(broken copies are refused), and the security invariants hold: least-privilege IAM (per-role
table key prefixes, own log group, audit reads only where the code reads), each secret only
in the function that uses it and encrypted under that function's own KMS key, the audit
bucket locked in COMPLIANCE mode with a bucket policy that enforces create-only writes,
alarms on the failures that otherwise show only in logs, cost caps, every router path routed
to the function that serves it and nothing else routed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra_template import ROOT, TEMPLATE, cfn_lint, load, strings

T = load()
RESOURCES: dict[str, Any] = T["Resources"]
PARAMETERS: dict[str, Any] = T["Parameters"]
GLOBAL_FN: dict[str, Any] = T["Globals"]["Function"]

# logical id -> (crate folder under functions/, binary name)
FUNCTIONS = {
    "McpFunction": ("mcp", "aegis-mcp"),
    "OAuthFunction": ("oauth", "aegis-oauth"),
    "WebhookFunction": ("webhook", "aegis-webhook"),
    "JobsFunction": ("jobs", "aegis-jobs"),
}

# Environment variables that carry a credential.
SECRET_VARS = {
    "GITEA_TOKEN",
    "MCP_API_KEYS",
    "GITEA_OAUTH_CLIENT_SECRET",
    "OAUTH_STATE_SECRET",
    "OAUTH_STATE_SECRET_PREVIOUS",
    "AUDIT_SIGNING_KEY",
    "WEBHOOK_SECRET",
}

# The secrets each function's code uses (shared/core/src/config.rs `FunctionRole`: the client
# credentials only where clients are authenticated; the service token where Gitea is
# called with it; the webhook secret and the signing key in the one function each).
FUNCTION_SECRETS = {
    "McpFunction": {"MCP_API_KEYS", "GITEA_TOKEN", "GITEA_OAUTH_CLIENT_SECRET",
                    "OAUTH_STATE_SECRET", "OAUTH_STATE_SECRET_PREVIOUS"},
    "OAuthFunction": {"GITEA_OAUTH_CLIENT_SECRET", "OAUTH_STATE_SECRET",
                      "OAUTH_STATE_SECRET_PREVIOUS"},
    "WebhookFunction": {"WEBHOOK_SECRET", "GITEA_TOKEN"},
    "JobsFunction": {"AUDIT_SIGNING_KEY", "GITEA_TOKEN"},
}

# Actions no function may hold: deleting or unlocking audit objects, or changing the lock.
FORBIDDEN_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "dynamodb:DeleteTable",
    "dynamodb:Scan",
]


def role_of(logical_id: str) -> dict[str, Any]:
    """The function's own role (explicit, so no SAM-added managed policy)."""
    role = RESOURCES[logical_id]["Properties"].get("Role")
    assert role == {"Fn::GetAtt": [logical_id.replace("Function", "Role"), "Arn"]}, (
        f"{logical_id}: needs its own explicit role (SAM's generated role carries "
        f"AWSLambdaBasicExecutionRole, which writes every log group): {role!r}"
    )
    return RESOURCES[role["Fn::GetAtt"][0]]


def statements(logical_id: str) -> list[dict[str, Any]]:
    role = role_of(logical_id)["Properties"]
    assert "ManagedPolicyArns" not in role, f"{logical_id}: managed policies have unseen scope"
    out = []
    for policy in role["Policies"]:
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def actions(statement: dict[str, Any]) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else list(a)


def resources(statement: dict[str, Any]) -> list[str]:
    r = statement["Resource"]
    items = r if isinstance(r, list) else [r]
    return ["".join(strings(i)) for i in items]


def env(logical_id: str) -> dict[str, Any]:
    """The function's environment: Globals merged with its own (as SAM merges them)."""
    merged = dict(GLOBAL_FN["Environment"]["Variables"])
    own = RESOURCES[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    merged.update(own)
    return merged


def prop(logical_id: str, name: str) -> Any:
    return RESOURCES[logical_id]["Properties"].get(name, GLOBAL_FN.get(name))


# ---- the functions ------------------------------------------------------------------------


def test_sam_transform_and_four_cargo_lambda_functions() -> None:
    assert T["Transform"] == "AWS::Serverless-2016-10-31"
    serverless = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    assert serverless == set(FUNCTIONS)
    for logical_id, (crate, binary) in FUNCTIONS.items():
        meta = RESOURCES[logical_id]["Metadata"]
        assert meta["BuildMethod"] == "rust-cargolambda"
        assert meta["BuildProperties"]["Binary"] == binary
        manifest = (ROOT / "functions" / crate / "Cargo.toml").read_text(encoding="utf-8")
        assert f'name = "{binary}"' in manifest, f"{binary} is not a binary of functions/{crate}"
        assert prop(logical_id, "Runtime") == "provided.al2023"
        assert prop(logical_id, "Architectures") == ["arm64"]
        assert prop(logical_id, "Handler") == "bootstrap"
        assert (TEMPLATE.parent / prop(logical_id, "CodeUri") / "Cargo.toml").is_file()
        assert "LogGroup" in RESOURCES[logical_id]["Properties"]["LoggingConfig"]


def test_the_aws_feature_reaches_sam_builds() -> None:
    # SAM's rust-cargolambda passes only `Binary` on; cargo-lambda reads the rest from
    # CargoLambda.toml in the directory it runs in (CodeUri, the workspace root).
    config = (ROOT / "CargoLambda.toml").read_text(encoding="utf-8")
    match = re.search(r"^\[build\]\s*\nfeatures\s*=\s*\[([^\]]*)\]", config, re.M)
    assert match, config
    features = set(re.findall(r'"([^"]+)"', match.group(1)))
    crates = {f"aegis-fn-{crate}/aws" for crate, _ in FUNCTIONS.values()}
    assert features == crates, features


def test_log_groups_have_retention_and_outlive_the_stack() -> None:
    groups = [v for v in RESOURCES.values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == len(FUNCTIONS) + 1  # one per function, one for API access logs
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"


def test_state_is_protected_from_deletion_and_replacement() -> None:
    table = RESOURCES["StateTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    bucket = RESOURCES["AuditBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


# ---- IAM ------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_no_function_can_delete_or_unlock_audit_objects(logical_id: str) -> None:
    for st in statements(logical_id):
        assert st["Effect"] == "Allow"
        for action in actions(st):
            assert "*" not in action, f"{logical_id}: wildcard action {action}"
            for forbidden in FORBIDDEN_ACTIONS:
                assert not fnmatch.fnmatch(forbidden, action), f"{logical_id}: {action}"
            assert not action.startswith("s3:Delete"), f"{logical_id}: {action}"
            assert not action.startswith("secretsmanager:"), (
                f"{logical_id}: secrets are resolved at deploy time, never read at run time"
            )
        for resource in resources(st):
            assert resource not in ("*", "arn:aws:s3:::*"), f"{logical_id}: {resource}"


SEGMENTS = "${AuditBucket.Arn}/${AuditPrefix}segments/*"
DIGESTS = "${AuditBucket.Arn}/${AuditPrefix}digests/*"


def s3_access(logical_id: str) -> dict[str, list[str]]:
    s3: dict[str, list[str]] = {}
    for st in statements(logical_id):
        for action in actions(st):
            if action.startswith("s3:"):
                s3.setdefault(action, []).extend(resources(st))
    return s3


@pytest.mark.parametrize("logical_id", ["McpFunction", "OAuthFunction", "WebhookFunction"])
def test_the_request_functions_never_touch_the_audit_bucket(logical_id: str) -> None:
    # Their records go to the hot log (AUDIT_HOT_LOG=dynamodb); only the sealer writes
    # segments and digests, and only it and the digest read the trail.
    assert s3_access(logical_id) == {}
    assert env(logical_id)["AUDIT_HOT_LOG"] == "dynamodb"


# The hot log's partition keys (shared/storage/src/aws/hot_log.rs): `audit#<chain>` batches,
# `auditchains` the listing, `auditseal#<chain>` the sealer's cursors.
AUDIT_CREATE_KEYS = {"audit#*", "auditchains"}


def audit_statements(logical_id: str) -> list[dict[str, Any]]:
    return [
        st for st in statements(logical_id)
        if any(a.startswith("dynamodb:") for a in actions(st))
        and any(k.startswith("audit") for k in leading_keys(st))
    ]


def leading_keys(st: dict[str, Any]) -> list[str]:
    return st.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])


@pytest.mark.parametrize("logical_id", ["McpFunction", "OAuthFunction", "WebhookFunction"])
def test_the_request_functions_may_only_create_audit_items(logical_id: str) -> None:
    (st,) = audit_statements(logical_id)
    assert actions(st) == ["dynamodb:PutItem"], "no read, update or delete of any chain"
    assert st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    assert set(leading_keys(st)) == AUDIT_CREATE_KEYS
    # ... and no other statement reaches an audit key.
    for other in statements(logical_id):
        if other is not st:
            assert not any(k.startswith("audit") for k in leading_keys(other)), other


def test_only_the_sealer_reads_the_hot_log_and_only_retires_listing_entries() -> None:
    by_actions = {tuple(sorted(actions(st))): st for st in audit_statements("JobsFunction")}
    assert set(by_actions) == {
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
        ("dynamodb:DeleteItem",),
    }
    read = by_actions[("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")]
    assert set(leading_keys(read)) == AUDIT_CREATE_KEYS | {"auditseal#*"}
    assert leading_keys(by_actions[("dynamodb:DeleteItem",)]) == ["auditchains"]
    for logical_id in ["McpFunction", "OAuthFunction", "WebhookFunction"]:
        for st in statements(logical_id):
            assert not {"dynamodb:Query", "dynamodb:GetItem"} & set(actions(st)) or not any(
                k.startswith("audit") for k in leading_keys(st)
            ), logical_id
    source = (ROOT / "shared/storage/src/aws/hot_log.rs").read_text(encoding="utf-8")
    for pk in ['format!("audit#', 'format!("auditseal#', '"auditchains"']:
        assert pk in source, f"hot_log.rs no longer uses {pk}"


def test_the_jobs_function_reads_segments_and_digests_and_writes_digests() -> None:
    s3 = s3_access("JobsFunction")
    assert set(s3) == {"s3:PutObject", "s3:GetObject", "s3:ListBucket"}
    assert sorted(s3["s3:PutObject"]) == sorted([SEGMENTS, DIGESTS])
    assert sorted(s3["s3:GetObject"]) == sorted([SEGMENTS, DIGESTS])
    (listing,) = [st for st in statements("JobsFunction") if "s3:ListBucket" in actions(st)]
    prefixes = ["".join(strings(p)) for p in listing["Condition"]["StringLike"]["s3:prefix"]]
    assert sorted(prefixes) == ["${AuditPrefix}digests/*", "${AuditPrefix}segments/*"]


# The partition-key prefixes each function's code uses (shared/storage/src/aws/dynamo.rs):
# `rate#` the edge rate limiter (every routed function), `grant#` OAuth grants (the MCP
# function authenticates with them and re-seals refreshed Gitea tokens), `authz#` the
# per-user permission cache (tool calls), `client#`, `code#`, `once#` the authorization
# server (`once#` also the webhook's delivery replay markers). The jobs function has no
# route and no table access at all.
LEADING_KEYS = {
    "McpFunction": {"rate#*", "grant#*", "authz#*"},
    "OAuthFunction": {"rate#*", "client#*", "code#*", "grant#*", "once#*"},
    "WebhookFunction": {"rate#*", "once#*"},
    "JobsFunction": set(),
}


def dynamo_prefixes_in_code() -> set[str]:
    source = (ROOT / "shared/storage/src/aws/dynamo.rs").read_text(encoding="utf-8")
    found = set(re.findall(r'format!\("([a-z]+)#', source))
    assert "rate" in found, "the dynamo.rs pattern no longer matches"
    found.discard("window")  # a sort key (the rate window), not a partition key
    return {f"{p}#*" for p in found}


def test_every_key_prefix_of_the_code_is_granted_to_someone() -> None:
    granted = set().union(*LEADING_KEYS.values())
    assert granted == dynamo_prefixes_in_code()


def test_no_delete_item_but_the_sealers_retirement_of_listing_entries() -> None:
    # The adapters never delete (expiry is TTL): granting it would be unused power. The one
    # exception is the sealer dropping a fully sealed, too-old chain from the hot log's
    # listing (hot_log.rs `retire_chain`); batches themselves expire by TTL.
    for f in (ROOT / "shared/storage/src/aws").glob("*.rs"):
        text = f.read_text(encoding="utf-8")
        assert text.count("delete_item") == (1 if f.name == "hot_log.rs" else 0), f.name
    for logical_id in FUNCTIONS:
        for st in statements(logical_id):
            if "dynamodb:DeleteItem" in actions(st):
                assert logical_id == "JobsFunction" and leading_keys(st) == ["auditchains"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_dynamodb_items_only_under_the_functions_own_key_prefixes(logical_id: str) -> None:
    allowed = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    # (the audit hot log's statements are checked by the tests above)
    dynamo_statements = [
        st for st in statements(logical_id)
        if any(a.startswith("dynamodb:") for a in actions(st)) and st not in audit_statements(logical_id)
    ]
    if not LEADING_KEYS[logical_id]:
        assert dynamo_statements == [], logical_id
        return
    (st,) = dynamo_statements
    assert set(actions(st)) == allowed
    assert st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert set(keys) == LEADING_KEYS[logical_id]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_logs_only_to_the_functions_own_log_group(logical_id: str) -> None:
    group = logical_id.replace("Function", "LogGroup")
    assert RESOURCES[logical_id]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group}}
    logs = [st for st in statements(logical_id) if any(a.startswith("logs:") for a in actions(st))]
    (st,) = logs
    assert set(actions(st)) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert st["Resource"] == {"Fn::GetAtt": [group, "Arn"]}
    assume = role_of(logical_id)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [a["Principal"] for a in assume] == [{"Service": "lambda.amazonaws.com"}]


def test_only_the_jobs_function_writes_digests() -> None:
    for logical_id in FUNCTIONS:
        puts = [
            r
            for st in statements(logical_id)
            if "s3:PutObject" in actions(st)
            for r in resources(st)
        ]
        writes_digests = any("digests/" in r for r in puts)
        assert writes_digests == (logical_id == "JobsFunction"), (logical_id, puts)


# ---- secrets -----------------------------------------------------------------------------


def test_only_the_jobs_function_gets_the_signing_key() -> None:
    assert "AUDIT_SIGNING_KEY" not in GLOBAL_FN["Environment"]["Variables"]
    holders = {f for f in FUNCTIONS if "AUDIT_SIGNING_KEY" in env(f)}
    assert holders == {"JobsFunction"}
    assert "WEBHOOK_SECRET" not in GLOBAL_FN["Environment"]["Variables"]
    assert {f for f in FUNCTIONS if "WEBHOOK_SECRET" in env(f)} == {"WebhookFunction"}


def test_no_secret_is_global() -> None:
    assert not SECRET_VARS & set(GLOBAL_FN["Environment"]["Variables"])


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_gets_only_the_secrets_it_uses(logical_id: str) -> None:
    assert SECRET_VARS & set(env(logical_id)) == FUNCTION_SECRETS[logical_id]
    # ... and says which function it is, so it checks only those at start.
    crate = FUNCTIONS[logical_id][0]
    assert env(logical_id)["AEGIS_FUNCTION"] == crate


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_environment_is_encrypted_under_a_key_only_its_role_decrypts(logical_id: str) -> None:
    props = RESOURCES[logical_id]["Properties"]
    key_id = logical_id.replace("Function", "EnvKey")
    role_id = logical_id.replace("Function", "Role")
    assert props["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = RESOURCES[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    decryptors = []
    for st in key["KeyPolicy"]["Statement"]:
        assert st["Effect"] == "Allow"
        granted = actions(st)
        assert "kms:*" not in granted and not any(a.startswith("kms:Create*") for a in granted)
        if any(a in ("kms:Decrypt", "kms:ReEncrypt*", "kms:ReEncryptFrom") for a in granted):
            decryptors.append(st["Principal"])
        if "kms:CreateGrant" in granted:  # a grant is the other way to decrypt: Lambda's only
            assert st["Condition"]["StringEquals"]["kms:ViaService"] == {
                "Fn::Sub": "lambda.${AWS::Region}.amazonaws.com"
            }
    assert decryptors == [{"AWS": {"Fn::GetAtt": [role_id, "Arn"]}}]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_secret_is_a_secrets_manager_dynamic_reference(logical_id: str) -> None:
    variables = env(logical_id)
    for name, value in variables.items():
        texts = [s for s in strings(value) if s not in ("AWS::NoValue",)]
        refs = [s for s in texts if "{{resolve:" in s]
        if name in SECRET_VARS:
            assert refs, f"{logical_id}: {name} is not a dynamic reference: {value!r}"
            for ref in refs:
                assert ref.startswith("{{resolve:secretsmanager:${"), ref
                param = re.match(r"\{\{resolve:secretsmanager:\$\{(\w+)\}", ref).group(1)
                assert PARAMETERS[param].get("NoEcho") is True, param
        else:
            assert not refs, f"{logical_id}: {name} resolves a secret but is not listed"


# Not configuration: a value whose change makes CloudFormation update every function.
DEPLOY_ONLY_VARS = {"AEGIS_CREDENTIALS_REVISION"}


def test_one_parameter_change_updates_every_function_together() -> None:
    # Rotation without drift: CredentialsRevision sits in every function's environment.
    for logical_id in FUNCTIONS:
        assert env(logical_id)["AEGIS_CREDENTIALS_REVISION"] == {"Ref": "CredentialsRevision"}


def config_vars() -> set[str]:
    source = (ROOT / "shared" / "core" / "src" / "config.rs").read_text(encoding="utf-8")
    # Every `v.<reader>("NAME", ...)` call of `Config::from_vars`, whatever the reader.
    found = re.findall(r'\bv\s*\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', source)
    assert "GITEA_URL" in found, "the config.rs pattern no longer matches"
    return set(found)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_environment_variable_is_one_the_gateway_reads(logical_id: str) -> None:
    unknown = set(env(logical_id)) - config_vars() - DEPLOY_ONLY_VARS
    assert not unknown, f"{logical_id}: not read by config.rs: {sorted(unknown)}"


def test_secret_parameters_are_names_never_values() -> None:
    for name, p in PARAMETERS.items():
        if "AllowedValues" in p:  # a switch such as UseServiceToken, not a credential
            continue
        if re.search(r"secret|token|password|key", name, re.I):
            assert p.get("NoEcho") is True, name
            assert name.endswith("SecretName"), f"{name}: pass secrets by name only"
            assert "{{resolve" not in str(p.get("Default", ""))


def test_no_plain_text_credentials_anywhere() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "ssm-secure" not in text  # not supported in Lambda environments
    for pattern in [r"gh[pousr]_[A-Za-z0-9]{20,}", r"AKIA[0-9A-Z]{16}", r"\b[0-9a-f]{40,}\b"]:
        assert not re.search(pattern, text), pattern


# ---- state and audit storage -----------------------------------------------------------------


def test_state_table_key_and_ttl() -> None:
    table = RESOURCES["StateTable"]["Properties"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_audit_bucket_is_locked_in_compliance_mode() -> None:
    bucket = RESOURCES["AuditBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    p = bucket["Properties"]
    assert p["ObjectLockEnabled"] is True
    assert p["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    retention = p["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "COMPLIANCE", "Days": {"Ref": "AuditRetentionDays"}}
    assert PARAMETERS["AuditRetentionDays"]["Type"] == "Number"
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(p["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(p["PublicAccessBlockConfiguration"]) == 4


def test_audit_bucket_policy_refuses_plain_http() -> None:
    policy = RESOURCES["AuditBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "AuditBucket"}
    tls = [
        st
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny"
        and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert tls and tls[0]["Action"] == "s3:*" and tls[0]["Principal"] == "*"


def bucket_statement(sid: str) -> dict[str, Any]:
    policy = RESOURCES["AuditBucketPolicy"]["Properties"]["PolicyDocument"]
    (st,) = [st for st in policy["Statement"] if st.get("Sid") == sid]
    assert st["Effect"] == "Deny" and st["Principal"] == "*"
    return st


def test_audit_bucket_policy_enforces_create_only_segments_and_digests() -> None:
    # A PutObject without `If-None-Match` could put a new version over a segment (readers
    # see the latest version): refused for everyone, not only by the client's discipline.
    st = bucket_statement("CreateOnlyAuditWrites")
    assert actions(st) == ["s3:PutObject"]
    assert sorted(resources(st)) == sorted([SEGMENTS, DIGESTS])
    assert st["Condition"] == {"Null": {"s3:if-none-match": "true"}}


def test_audit_bucket_policy_denies_deletes_and_lock_changes_but_to_break_glass() -> None:
    st = bucket_statement("NoDeletesNorLockChanges")
    for action in ["s3:DeleteObject", "s3:DeleteObjectVersion",
                   "s3:PutBucketObjectLockConfiguration", "s3:PutObjectRetention"]:
        assert action in actions(st), action
    assert sorted(resources(st)) == sorted(["AuditBucketArn", "${AuditBucket.Arn}/*"])
    # Only the named role is exempt; with no role named, nobody is.
    assert st["Condition"] == {"Fn::If": [
        "HasBreakGlassRole",
        {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "BreakGlassRoleArn"}}},
        {"Ref": "AWS::NoValue"},
    ]}
    assert PARAMETERS["BreakGlassRoleArn"]["Default"] == ""


def test_audit_objects_expire_after_retention_and_uploads_are_not_left_behind() -> None:
    (rule,) = RESOURCES["AuditBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "AuditRetentionDays"}
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1


def test_cloudtrail_data_events_of_the_audit_objects_on_request() -> None:
    assert PARAMETERS["AuditDataEvents"]["Default"] == "false"
    trails = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudTrail::Trail"}
    (trail,) = trails.values()
    assert trail["Condition"] == "AuditDataEventsOn"
    (selector,) = trail["Properties"]["AdvancedEventSelectors"]
    fields = {f["Field"]: f for f in selector["FieldSelectors"]}
    assert fields["eventCategory"]["Equals"] == ["Data"]
    assert fields["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert fields["resources.ARN"]["StartsWith"] == [{"Fn::Sub": "${AuditBucket.Arn}/"}]
    assert trail["Properties"]["EnableLogFileValidation"] is True
    log_bucket = trail["Properties"]["S3BucketName"]["Ref"]
    assert RESOURCES[log_bucket]["Condition"] == "AuditDataEventsOn"


# ---- schedules --------------------------------------------------------------------------------


def test_schedules_target_the_jobs_function_with_a_job_name() -> None:
    events = dict(RESOURCES["JobsFunction"]["Properties"]["Events"])
    jobs = {}
    seal = events.pop("AuditSeal")
    # The sealer runs whatever the automation switches say: records must not wait in the
    # hot log until their TTL ends them.
    assert json.loads(seal["Properties"]["Input"])["detail"] == {"seal": True}
    assert seal["Properties"]["State"] == "ENABLED"
    assert seal["Properties"]["Schedule"] == {"Ref": "AuditDigestSchedule"}
    for name, event in events.items():
        assert event["Type"] == "Schedule", name
        body = json.loads(event["Properties"]["Input"])
        # the shape functions/jobs reads: an EventBridge scheduled event naming its jobs
        assert body["source"] == "aws.events" and body["detail-type"] == "Scheduled Event"
        (job,) = body["detail"]["jobs"]
        jobs[job] = event["Properties"]
    assert set(jobs) == {"audit_digest", "stale_issue_detection", "dependency_hygiene_scan"}
    for props in jobs.values():  # AUTOMATION_ENABLED and AUTOMATION_SCHEDULER_ENABLED
        assert props["State"] == {"Fn::If": ["SchedulerOn", "ENABLED", "DISABLED"]}
    for logical_id in FUNCTIONS:
        if logical_id != "JobsFunction":
            assert "Events" not in RESOURCES[logical_id]["Properties"]


def test_a_failed_scheduled_run_lands_in_a_dead_letter_queue_that_alarms() -> None:
    dlq = RESOURCES["JobsFunction"]["Properties"]["DeadLetterQueue"]
    assert dlq == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}
    sends = [st for st in statements("JobsFunction") if "sqs:SendMessage" in actions(st)]
    assert [st["Resource"] for st in sends] == [{"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}]
    alarm = RESOURCES["JobsDeadLetterAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}


# ---- alarms ----------------------------------------------------------------------------------


def alarms() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def metrics_source() -> str:
    return (ROOT / "shared/edge/src/metrics.rs").read_text(encoding="utf-8")


def test_every_alarm_notifies_the_topic_parameter() -> None:
    assert PARAMETERS["AlarmTopicArn"]["Default"] == ""
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    assert len(alarms()) >= 2 * len(FUNCTIONS) + 4
    for name, alarm in alarms().items():
        assert alarm["Properties"]["AlarmActions"] == notify, name
        assert alarm["Properties"]["OKActions"] == notify, name


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_errors_and_throttles_alarm_per_function(logical_id: str) -> None:
    watched = {
        a["Properties"]["MetricName"]
        for a in alarms().values()
        if a["Properties"]["Namespace"] == "AWS/Lambda"
        and a["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
    }
    assert watched == {"Errors", "Throttles"}


def test_http_api_5xx_alarm() -> None:
    (alarm,) = [a for a in alarms().values() if a["Properties"]["Namespace"] == "AWS/ApiGateway"]
    assert alarm["Properties"]["MetricName"] == "5xx"
    dims = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
    assert dims == {"ApiId": {"Ref": "HttpApi"}, "Stage": "$default"}


@pytest.mark.parametrize("metric", ["aegis_audit_write_failures_total",
                                    "aegis_audit_seal_stopped_total",
                                    "aegis_rate_limiter_fail_open_total"])
def test_the_gateways_own_failures_alarm(metric: str) -> None:
    # The metric is emitted by the code (EMF, no dimensions), and an alarm watches it.
    assert f'"{metric}", 1.0, "Count"' in metrics_source(), metric
    (alarm,) = [a for a in alarms().values() if a["Properties"]["MetricName"] == metric]
    props = alarm["Properties"]
    assert props["Namespace"] == "AegisGitea" and "Dimensions" not in props
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and props["Threshold"] == 1


def test_sealing_lag_alarms_above_a_threshold_well_over_the_seal_schedule() -> None:
    # The jobs function reports the lag after every seal run (EMF, no dimensions, seconds)...
    assert '"aegis_audit_seal_lag_seconds", seconds as f64, "Seconds"' in metrics_source()
    assert "metrics.audit_seal_lag(" in (ROOT / "shared/automation/src/lib.rs").read_text(encoding="utf-8")
    # ...and an alarm fires when the oldest unsealed record is older than the parameter.
    (alarm,) = [a for a in alarms().values() if a["Properties"]["MetricName"] == "aegis_audit_seal_lag_seconds"]
    props = alarm["Properties"]
    assert props["Namespace"] == "AegisGitea" and "Dimensions" not in props
    assert props["Statistic"] == "Maximum"
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["Threshold"] == {"Ref": "AuditSealLagAlarmSeconds"}
    assert "Condition" not in alarm, "the seal schedule is always on, so is its alarm"
    param = PARAMETERS["AuditSealLagAlarmSeconds"]
    assert param["Type"] == "Number" and param["MinValue"] >= 60
    # The default leaves room for a few seal runs of the default schedule (rate(N minutes)).
    schedule = PARAMETERS["AuditDigestSchedule"]["Default"]
    minutes = int(re.fullmatch(r"rate\((\d+) minutes?\)", schedule).group(1))
    assert param["Default"] >= 3 * minutes * 60, (param["Default"], schedule)


def test_digest_freshness_alarm_breaches_on_missing_data() -> None:
    alarm = RESOURCES["AuditDigestFreshnessAlarm"]
    assert alarm["Condition"] == "SchedulerOn"
    props = alarm["Properties"]
    assert props["TreatMissingData"] == "breaching"
    assert props["MetricName"] == "aegis_job_runs_total" and props["Namespace"] == "AegisGitea"
    dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
    assert dims == {"job": "audit_digest", "outcome": "ok"}
    # those are the job's name and the EMF dimensions of job runs
    assert '"audit_digest"' in (ROOT / "shared/automation/src/lib.rs").read_text(encoding="utf-8")
    assert '&["job", "outcome"]' in metrics_source()
    assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1


# ---- cost caps --------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_a_reserved_concurrency_cap(logical_id: str) -> None:
    ref = RESOURCES[logical_id]["Properties"]["ReservedConcurrentExecutions"]
    param = PARAMETERS[ref["Ref"]]
    assert param["Type"] == "Number" and param["MinValue"] >= 1
    assert 1 <= param["Default"] <= 50


PUBLIC_ROUTE_LIMIT = {
    "ThrottlingRateLimit": {"Ref": "PublicRouteThrottleRate"},
    "ThrottlingBurstLimit": {"Ref": "PublicRouteThrottleBurst"},
}


def test_unauthenticated_routes_have_their_own_smaller_throttle() -> None:
    stage = RESOURCES["HttpApiStage"]
    settings = stage["Properties"]["RouteSettings"]
    for method, path, _ in routes():
        key = f"{method} {path}"
        if path.startswith("/mcp"):  # authenticated: the API's budget
            assert key not in settings, key
        else:
            assert settings.get(key) == PUBLIC_ROUTE_LIMIT, key
    assert set(settings) <= {f"{m} {p}" for m, p, _ in routes()}
    # the stage may name a route key only once the route exists
    route_ids = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::ApiGatewayV2::Route"}
    named = {k for k in route_ids if RESOURCES[k]["Properties"]["RouteKey"] in settings}
    assert named <= set(stage["DependsOn"])
    assert PARAMETERS["PublicRouteThrottleRate"]["Default"] < PARAMETERS["ApiThrottleRate"]["Default"]


# ---- routing: every path the routers serve reaches the function that serves it -------------

ROUTERS = {
    "McpIntegration": [ROOT / "functions/mcp/src/routes.rs"],
    "OAuthIntegration": [ROOT / "shared/oauth/src/routes/mod.rs"],
    "WebhookIntegration": [ROOT / "functions/webhook/src/lib.rs"],
}

# Paths a router serves that the HTTP API deliberately does not route (API Gateway's 404).
NOT_ROUTED = {
    # not mounted on Lambda: metrics leave as EMF log lines there
    "/metrics": ROOT / "functions/mcp/src/routes.rs",
    # the jobs function (the digest signer) has no route; jobs run on their schedules, or
    # on demand with `aws lambda invoke` (IAM-authenticated); the local shim serves these
    "/automation/jobs/run": ROOT / "functions/jobs/src/lib.rs",
    "/health/jobs": ROOT / "functions/jobs/src/lib.rs",
}

# Paths served by routers the HTTP API must reach (besides those read from the sources).
EXPECTED = [
    ("POST", "/mcp", "McpIntegration"),
    ("GET", "/mcp", "McpIntegration"),
    ("DELETE", "/mcp", "McpIntegration"),
    ("POST", "/mcp/sse", "McpIntegration"),
    ("GET", "/mcp/tools", "McpIntegration"),
    ("POST", "/mcp/tool/call", "McpIntegration"),
    ("GET", "/", "McpIntegration"),
    ("GET", "/health", "McpIntegration"),
    ("GET", "/.well-known/oauth-protected-resource", "OAuthIntegration"),
    ("GET", "/.well-known/oauth-protected-resource/mcp", "OAuthIntegration"),
    ("GET", "/.well-known/oauth-authorization-server", "OAuthIntegration"),
    ("POST", "/register", "OAuthIntegration"),
    ("GET", "/oauth/authorize", "OAuthIntegration"),
    ("POST", "/oauth/authorize", "OAuthIntegration"),
    ("GET", "/oauth/callback", "OAuthIntegration"),
    ("POST", "/oauth/token", "OAuthIntegration"),
    ("POST", "/oauth/revoke", "OAuthIntegration"),
    ("POST", "/automation/webhook", "WebhookIntegration"),
    ("GET", "/health/webhook", "WebhookIntegration"),
]


def routes() -> list[tuple[str, str, str]]:
    out = []
    for v in RESOURCES.values():
        if v["Type"] == "AWS::ApiGatewayV2::Route":
            method, path = v["Properties"]["RouteKey"].split(" ", 1)
            target = v["Properties"]["Target"]["Fn::Sub"]
            out.append((method, path, target.removeprefix("integrations/${").removesuffix("}")))
    return out


def _matches(pattern: str, path: str) -> bool:
    """API Gateway HTTP API path matching: `{name}` one segment, `{name+}` the rest."""
    regex = re.sub(r"\\\{[^}/]+\\\+\\\}", ".+", re.escape(pattern))
    regex = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", regex)
    return re.fullmatch(regex, path) is not None


def route_for(method: str, path: str) -> str | None:
    """The integration API Gateway picks: the most specific (longest literal) match."""
    candidates = [
        (len(p.split("{")[0]), target)
        for m, p, target in routes()
        if m in (method, "ANY") and _matches(p, path)
    ]
    return max(candidates)[1] if candidates else None


def router_paths(source: Path) -> list[str]:
    text = source.read_text(encoding="utf-8")
    return re.findall(r'\.route(?:_service)?\(\s*"(/[^"]*)"', text)


@pytest.mark.parametrize(("method", "path", "integration"), EXPECTED)
def test_route(method: str, path: str, integration: str) -> None:
    assert route_for(method, path) == integration


@pytest.mark.parametrize("integration", sorted(ROUTERS))
def test_every_router_path_is_routed(integration: str) -> None:
    for source in ROUTERS[integration]:
        paths = router_paths(source)
        assert paths, f"no routes found in {source}"
        for path in paths:
            if path in NOT_ROUTED:
                continue
            assert route_for("POST", path) == integration or route_for("GET", path) == integration, (
                f"{path} (served by {source.relative_to(ROOT)}) is not routed to {integration}"
            )


def test_unknown_paths_are_not_routed() -> None:
    for path in ["/admin", "/mcpx", "/oauth", "/automation/jobs", "/.env"]:
        assert route_for("GET", path) is None and route_for("POST", path) is None, path


@pytest.mark.parametrize("path", sorted(NOT_ROUTED))
def test_what_lambda_does_not_serve_is_not_routed(path: str) -> None:
    assert path in router_paths(NOT_ROUTED[path]), f"{path} is no longer served: drop it here"
    for method in ["GET", "POST", "DELETE"]:
        assert route_for(method, path) is None, (method, path)


def test_the_signer_is_off_the_internet() -> None:
    # Nothing of the API reaches the jobs function: no integration, no invoke permission
    # for API Gateway; only its schedules invoke it.
    for v in RESOURCES.values():
        if v["Type"] == "AWS::ApiGatewayV2::Integration":
            assert v["Properties"]["IntegrationUri"] != {"Fn::GetAtt": ["JobsFunction", "Arn"]}
        if v["Type"] == "AWS::Lambda::Permission":
            assert v["Properties"]["FunctionName"] != {"Ref": "JobsFunction"}


def test_integrations_are_lambda_proxies_v2_with_invoke_permissions() -> None:
    for logical_id in ["McpFunction", "OAuthFunction", "WebhookFunction"]:
        integration = RESOURCES[logical_id.replace("Function", "Integration")]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [logical_id, "Arn"]}
        permission = RESOURCES[logical_id.replace("Function", "InvokePermission")]["Properties"]
        assert permission["FunctionName"] == {"Ref": logical_id}
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert "${HttpApi}" in permission["SourceArn"]["Fn::Sub"]


def test_outputs_name_the_mcp_url() -> None:
    outputs = T["Outputs"]
    for name, suffix in [("McpUrl", "/mcp"), ("OAuthCallbackUrl", "/oauth/callback"),
                         ("WebhookUrl", "/automation/webhook")]:
        for s in strings(outputs[name]["Value"]):
            if s.startswith("https://"):
                assert s.endswith(suffix), (name, s)


# ---- checkov ----------------------------------------------------------------------------------


def test_every_checkov_skip_sits_on_its_resource_with_a_reason() -> None:
    seen = 0
    for name, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            seen += 1
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip.get("comment", "")) >= 40, f"{name}: {skip['id']} needs its reason"
    assert seen, "no skips found: the Metadata layout changed"


def test_the_sam_transform_adds_no_role_and_no_managed_policy() -> None:
    # What is deployed is the transformed template (also what checkov scans): SAM must not
    # add a role or AWSLambdaBasicExecutionRole behind the explicit ones.
    from sam_transform import transform

    deployed = transform(T)["Resources"]
    roles = {k for k, v in deployed.items() if v["Type"].startswith("AWS::IAM::")}
    assert roles == {f.replace("Function", "Role") for f in FUNCTIONS}
    for name in roles:
        assert "ManagedPolicyArns" not in deployed[name]["Properties"], name


# ---- the lint can fail ---------------------------------------------------------------------

BROKEN = [
    # (what to replace, with what, a rule cfn-lint must report)
    ("Runtime: provided.al2023", "Runtime: provided.al2099", "E3030"),
    ("Mode: COMPLIANCE", "Mode: COMPLIANT", "E3030"),
    ("        AttributeName: ttl\n        Enabled: true", "        AttributeName: ttl\n        Enabled: yes please", "E3012"),
    ("          Type: Schedule\n          Properties:\n            Description: Sign",
     "          Type: Shedule\n          Properties:\n            Description: Sign", "E0001"),
    ("      Target: !Sub \"integrations/${WebhookIntegration}\"",
     "      Target: !Sub \"integrations/${WebhookIntegrationTypo}\"", "E1019"),
]


@pytest.mark.parametrize(("old", "new", "rule"), BROKEN, ids=[b[2] + "-" + str(i) for i, b in enumerate(BROKEN)])
def test_cfn_lint_refuses_a_broken_template(tmp_path: Path, old: str, new: str, rule: str) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"mutation target not found: {old!r}"
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = cfn_lint(broken)
    assert result.returncode != 0, result.stdout
    assert rule in result.stdout, result.stdout + result.stderr

"""The SAM template's promises, checked as data (no AWS account, no network).

`make lint-infra` runs cfn-lint on the real template; here: the lint can fail (broken
copies are refused), and the security invariants hold: least-privilege IAM, secrets only by
dynamic reference, the audit bucket locked in COMPLIANCE mode, every router path routed to
the function that serves it.
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
    "AUDIT_SIGNING_KEY",
    "WEBHOOK_SECRET",
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


def statements(logical_id: str) -> list[dict[str, Any]]:
    out = []
    for policy in RESOURCES[logical_id]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and "Statement" in policy, (
            f"{logical_id}: only inline statements (no SAM policy templates or managed "
            f"policies, whose scope this test cannot see): {policy!r}"
        )
        out.extend(policy["Statement"])
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


def test_log_groups_have_retention() -> None:
    groups = [v for v in RESOURCES.values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == len(FUNCTIONS) + 1  # one per function, one for API access logs
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


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


def test_mcp_function_audit_access_is_put_get_list_on_the_prefix() -> None:
    s3 = {}
    for st in statements("McpFunction"):
        for action in actions(st):
            if action.startswith("s3:"):
                s3.setdefault(action, []).extend(resources(st))
    assert set(s3) == {"s3:PutObject", "s3:GetObject", "s3:ListBucket"}
    assert s3["s3:PutObject"] == ["${AuditBucket.Arn}/${AuditPrefix}segments/*"]
    assert s3["s3:GetObject"] == ["${AuditBucket.Arn}/${AuditPrefix}*"]
    assert s3["s3:ListBucket"] == ["AuditBucketArn"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_dynamodb_item_operations_on_the_state_table_only(logical_id: str) -> None:
    allowed = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    seen = False
    for st in statements(logical_id):
        dynamo = [a for a in actions(st) if a.startswith("dynamodb:")]
        if dynamo:
            seen = True
            assert set(dynamo) <= allowed, dynamo
            assert st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    assert seen


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


def config_vars() -> set[str]:
    source = (ROOT / "shared" / "src" / "config.rs").read_text(encoding="utf-8")
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


# ---- schedules --------------------------------------------------------------------------------


def test_schedules_target_the_jobs_function_with_a_job_name() -> None:
    events = RESOURCES["JobsFunction"]["Properties"]["Events"]
    jobs = {}
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


# ---- routing: every path the routers serve reaches the function that serves it -------------

ROUTERS = {
    "McpIntegration": [ROOT / "shared/src/routes.rs"],
    "OAuthIntegration": [ROOT / "shared/src/oauth/routes.rs"],
    "WebhookIntegration": [ROOT / "functions/webhook/src/lib.rs"],
    "JobsIntegration": [ROOT / "functions/jobs/src/lib.rs"],
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
    ("GET", "/metrics", "McpIntegration"),
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
    ("POST", "/automation/jobs/run", "JobsIntegration"),
    ("GET", "/health/webhook", "WebhookIntegration"),
    ("GET", "/health/jobs", "JobsIntegration"),
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
            assert route_for("POST", path) == integration or route_for("GET", path) == integration, (
                f"{path} (served by {source.relative_to(ROOT)}) is not routed to {integration}"
            )


def test_unknown_paths_are_not_routed() -> None:
    for path in ["/admin", "/mcpx", "/oauth", "/automation/jobs", "/.env"]:
        assert route_for("GET", path) is None and route_for("POST", path) is None, path


def test_integrations_are_lambda_proxies_v2_with_invoke_permissions() -> None:
    for logical_id in FUNCTIONS:
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


# ---- the lint can fail ---------------------------------------------------------------------

BROKEN = [
    # (what to replace, with what, a rule cfn-lint must report)
    ("Runtime: provided.al2023", "Runtime: provided.al2099", "E3030"),
    ("Mode: COMPLIANCE", "Mode: COMPLIANT", "E3030"),
    ("        AttributeName: ttl\n        Enabled: true", "        AttributeName: ttl\n        Enabled: yes please", "E3012"),
    ("          Type: Schedule\n          Properties:\n            Description: Sign",
     "          Type: Shedule\n          Properties:\n            Description: Sign", "E0001"),
    ("      Target: !Sub \"integrations/${JobsIntegration}\"",
     "      Target: !Sub \"integrations/${JobsIntegrationTypo}\"", "E1019"),
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

"""Resources, completion and prompts through the official Python SDK 2.x (issue 20).

`resources/templates/list`, `resources/read`, `resources/list`, `completion/complete`,
`prompts/list` and `prompts/get` against the demo data: a file and an issue read with their
exact seed content, `repo` completed for owner `acme`, a path completed by prefix, each prompt
fetched with its embedded resources. A second shim runs a policy that denies a path of
acme/app: that path is neither readable nor offered as a completion, and the refused read is an
`access_denied` record in the audit trail (read from the shim's audit directory).

The session-wide shim acts with bob's token (conftest): bob sees acme/app, acme/secrets-vault and
acme/new-service in `acme`, never alice's private alice/notes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
import yaml
from mcp.shared.exceptions import MCPError

from conftest import SERVICE_USER, start_shim
from support import INVALID_PARAMS, handshake_session, sdk_client

pytestmark = pytest.mark.anyio

RESOURCE_NOT_FOUND = -32002
ACCESS_DENIED = -32003

FILE_TEMPLATE = "gitea://{owner}/{repo}/contents/{+path}{?ref}"
ISSUE_TEMPLATE = "gitea://{owner}/{repo}/issues/{number}"
TEMPLATES = {
    FILE_TEMPLATE,
    ISSUE_TEMPLATE,
    "gitea://{owner}/{repo}/issues{?state}",
    "gitea://{owner}/{repo}/pulls/{number}",
    "gitea://{owner}/{repo}/pulls/{number}/files",
    "gitea://{owner}/{repo}/releases/{release_id}",
    "gitea://{owner}/{repo}/commits/{sha}",
    "gitea://{owner}/{repo}/compare/{base}...{head}",
}
PROMPTS = {"review_pull_request", "triage_open_issues", "summarize_changes", "draft_release_notes"}

# The policy of the denying shim: one file and one directory of acme/app are hidden.
DENY_PATHS_POLICY = {
    "defaults": {"read": "allow", "write": "deny"},
    "repositories": {"acme/app": {"paths": {"deny": ["src/auth.rs", "assets/**"]}}},
}


@pytest.fixture
async def session(shim):
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        yield session


@pytest.fixture(scope="module")
def deny_shim(sim, seed, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aegis-local-deny-paths")
    policy = tmp / "policy.yaml"
    policy.write_text(yaml.safe_dump(DENY_PATHS_POLICY, sort_keys=False), encoding="utf-8")
    handle = start_shim("aegis-local-deny-paths", sim, seed, tmp, POLICY_FILE_PATH=str(policy))
    try:
        yield handle
    finally:
        handle.process.stop()


def issue_seed(seed, owner: str, repo: str, number: int) -> dict[str, Any]:
    return seed.repo(owner, repo)["issues"][number - 1]


def audit_records(data_dir: Path) -> list[dict[str, Any]]:
    """Every record of every segment under the shim's audit directory."""
    records: list[dict[str, Any]] = []
    for segment in sorted((data_dir / "audit").rglob("*.json")):
        doc = json.loads(segment.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            records.extend(doc.get("records", []))
    return records


def only_text(result: types.ReadResourceResult) -> types.TextResourceContents:
    assert len(result.contents) == 1, result
    contents = result.contents[0]
    assert isinstance(contents, types.TextResourceContents), contents
    return contents


# ---- capabilities and templates --------------------------------------------------------


async def test_capabilities_declare_what_is_implemented(shim):
    async with handshake_session(shim.mcp_url, shim.api_key) as (_, init):
        caps = init.capabilities
        assert caps.resources is not None and caps.prompts is not None and caps.completions is not None
        # Stateless: no subscriptions, no list-changed notifications.
        assert not caps.resources.subscribe and not caps.resources.list_changed
        assert not caps.prompts.list_changed


async def test_templates_are_listed_with_mime_types(session):
    listed = (await session.list_resource_templates()).resource_templates
    assert {t.uri_template for t in listed} == TEMPLATES
    by_uri = {t.uri_template: t for t in listed}
    assert by_uri[ISSUE_TEMPLATE].mime_type == "text/markdown"
    assert all(t.name and t.description and t.mime_type for t in listed)


# ---- reads -----------------------------------------------------------------------------


async def test_file_resource_is_the_exact_file(session, seed):
    uri = "gitea://acme/app/contents/README.md"
    contents = only_text(await session.read_resource(uri))
    assert contents.uri == uri
    assert contents.mime_type == "text/markdown"
    # main has the first commit's README (the later ones live on branches)
    assert contents.text == seed.file_text("acme", "app", "c1", "README.md")
    assert contents.meta and contents.meta["aegis/untrusted"] is True
    assert contents.meta["aegis/tools"] == ["get_file_contents"]


async def test_file_resource_at_a_ref_and_by_extension(session, seed):
    uri = "gitea://acme/app/contents/README.md?ref=fix%2Freadme-typo"
    contents = only_text(await session.read_resource(uri))
    assert contents.text == seed.file_text("acme", "app", "t1", "README.md")
    rust = only_text(await session.read_resource("gitea://acme/app/contents/src/config.rs"))
    assert rust.mime_type == "text/x-rust"
    assert rust.text == seed.file_text("acme", "app", "c8", "src/config.rs")


async def test_issue_resource_carries_the_issue_and_its_comments(session, seed):
    issue = issue_seed(seed, "acme", "app", 4)
    contents = only_text(await session.read_resource("gitea://acme/app/issues/4"))
    assert contents.mime_type == "text/markdown"
    text = contents.text
    assert text.startswith(f"# Issue #4: {issue['title']}\n")
    assert issue["body"].rstrip("\n") in text
    assert "## Comments (3)" in text
    positions = []
    for comment in issue["comments"]:
        assert f"### @{comment['author']} on" in text
        assert comment["body"] in text
        positions.append(text.index(comment["body"]))
    assert positions == sorted(positions), "comments are oldest first"
    assert contents.meta["aegis/tools"] == ["get_issue", "list_issue_comments"]


async def test_other_templates_read(session, seed):
    pull = only_text(await session.read_resource("gitea://acme/app/pulls/6"))
    assert pull.text.startswith("# Pull request #6: Add search endpoint")
    assert "feature/search into main" in pull.text
    files = json.loads(only_text(await session.read_resource("gitea://acme/app/pulls/6/files")).text)
    assert "src/search.rs" in {f["filename"] for f in files["items"]}
    release = only_text(await session.read_resource("gitea://acme/app/releases/latest"))
    assert release.text.startswith("# v0.3.0 (v0.3.0)")
    assert "Health handlers and hardening." in release.text
    compare = only_text(await session.read_resource("gitea://acme/app/compare/v0.3.0...main"))
    assert "Harden config parsing" in compare.text
    issues = json.loads(only_text(await session.read_resource("gitea://acme/app/issues?state=open")).text)
    assert all(i["state"] == "open" for i in issues["items"]) and issues["items"]


async def test_unknown_missing_and_binary_resources_are_errors(session):
    cases = [
        ("gitea://acme/app/wiki/Home", RESOURCE_NOT_FOUND, "not a resource of this server"),
        ("gitea://acme/app/contents/no/such/file.txt", RESOURCE_NOT_FOUND, "not found"),
        ("gitea://acme/app/issues/999", RESOURCE_NOT_FOUND, "not found"),
        ("gitea://acme/app/issues/abc", INVALID_PARAMS, "positive number"),
        ("gitea://acme/app/contents/../secrets", INVALID_PARAMS, "invalid arguments"),
        ("gitea://acme/app/contents/assets/logo.png", INVALID_PARAMS, "binary file"),
        # alice's private repository: bob's token cannot see it
        ("gitea://alice/notes/contents/README.md", RESOURCE_NOT_FOUND, "not found"),
    ]
    for uri, code, fragment in cases:
        with pytest.raises(MCPError) as caught:
            await session.read_resource(uri)
        assert caught.value.error.code == code, (uri, caught.value.error)
        assert fragment in caught.value.error.message, (uri, caught.value.error.message)
    # The session keeps working after every refusal.
    assert (await session.list_resource_templates()).resource_templates


async def test_resource_list_is_bounded_readmes_with_a_cursor(session):
    first = await session.list_resources()
    assert 0 < len(first.resources) <= 10
    for resource in first.resources:
        assert resource.uri.startswith("gitea://") and resource.uri.endswith("/contents/README.md")
        assert resource.mime_type == "text/markdown"
    names = [r.name for r in first.resources]
    assert "acme/app/README.md" in names
    assert not any(n.startswith("alice/notes") for n in names)
    assert "acme/new-service/README.md" not in names  # empty repository: nothing to read
    readme = only_text(await session.read_resource(first.resources[names.index("acme/app/README.md")].uri))
    assert readme.text.startswith("# ACME App")
    with pytest.raises(MCPError) as caught:
        await session.list_resources(params=types.PaginatedRequestParams(cursor="not-a-cursor"))
    assert caught.value.error.code == INVALID_PARAMS


async def test_stateless_client_reads_completes_and_gets_prompts(shim, seed):
    """`mcp.Client` in auto mode: `server/discover`, protocol 2026-07-28, `Mcp-Method` and
    `Mcp-Name` headers on every request (a URI with a query and `%2F` among them)."""
    async with sdk_client(shim.mcp_url, shim.api_key) as client:
        read = await client.read_resource("gitea://acme/app/contents/README.md?ref=fix%2Freadme-typo")
        assert only_text(read).text == seed.file_text("acme", "app", "t1", "README.md")
        done = await client.complete(
            types.ResourceTemplateReference(uri=FILE_TEMPLATE), {"name": "path", "value": "docs/g"},
            {"owner": "acme", "repo": "app"},
        )
        assert done.completion.values == ["docs/guides/"]
        prompt = await client.get_prompt("triage_open_issues", {"owner": "acme", "repo": "app"})
        assert isinstance(prompt.messages[1].content, types.EmbeddedResource)
        # 2026-07-28 answers "resource not found" with -32602 (older versions: -32002)
        with pytest.raises(MCPError) as caught:
            await client.read_resource("gitea://acme/app/issues/999")
        assert caught.value.error.code == INVALID_PARAMS
        assert "not found" in caught.value.error.message


# ---- completion ------------------------------------------------------------------------


async def test_repo_completes_for_owner_acme(session, sim, seed):
    ref = types.ResourceTemplateReference(uri=FILE_TEMPLATE)
    result = await session.complete(ref, {"name": "repo", "value": ""}, {"owner": "acme"})
    truth: set[str] = set()
    for page in range(1, 10):
        repos = sim.api("/user/repos", seed.token(SERVICE_USER), page=page, limit=50)
        truth |= {r["name"] for r in repos if r["owner"]["login"] == "acme"}
        if len(repos) < 50:
            break
    # acme/app, the private acme/secrets-vault, the empty acme/new-service and the seed's
    # generated acme/svc-* repositories: every acme repository bob can read, nothing else
    assert {"app", "secrets-vault", "new-service"} <= truth
    assert set(result.completion.values) == truth
    assert result.completion.total == len(truth) and not result.completion.has_more
    narrowed = await session.complete(ref, {"name": "repo", "value": "se"}, {"owner": "acme"})
    assert narrowed.completion.values == ["secrets-vault"]
    owners = await session.complete(ref, {"name": "owner", "value": "a"})
    assert "acme" in owners.completion.values and "alice" not in owners.completion.values


async def test_path_completes_by_directory_and_prefix(session, sim, seed):
    ref = types.ResourceTemplateReference(uri=FILE_TEMPLATE)
    context = {"owner": "acme", "repo": "app"}
    src = sim.api("/repos/acme/app/contents/src", seed.token(SERVICE_USER))
    truth = sorted(e["path"] + ("/" if e["type"] == "dir" else "") for e in src)
    listed = await session.complete(ref, {"name": "path", "value": "src/"}, context)
    assert listed.completion.values == truth
    narrowed = await session.complete(ref, {"name": "path", "value": "src/ha"}, context)
    assert narrowed.completion.values == ["src/handlers/"]
    deeper = await session.complete(ref, {"name": "path", "value": "src/handlers/h"}, context)
    assert deeper.completion.values == ["src/handlers/health.rs"]
    top = await session.complete(ref, {"name": "path", "value": "REA"}, context)
    assert top.completion.values == ["README.md"]


async def test_refs_and_numbers_complete(session, seed):
    context = {"owner": "acme", "repo": "app"}
    refs = await session.complete(
        types.ResourceTemplateReference(uri=FILE_TEMPLATE), {"name": "ref", "value": "feature/"}, context
    )
    assert set(refs.completion.values) == {"feature/login", "feature/search"}
    tags = await session.complete(
        types.ResourceTemplateReference(uri=FILE_TEMPLATE), {"name": "ref", "value": "v0.3"}, context
    )
    assert set(tags.completion.values) == {"v0.3.0", "v0.3.1-rc.1"}
    issues = await session.complete(
        types.ResourceTemplateReference(uri=ISSUE_TEMPLATE), {"name": "number", "value": "1"}, context
    )
    # issues only: #11 is a pull request (list_issues leaves those out)
    assert set(issues.completion.values) == {"1", "10"}
    assert issues.meta and issues.meta["aegis/titles"]["1"] == issue_seed(seed, "acme", "app", 1)["title"]
    pulls = await session.complete(types.PromptReference(name="review_pull_request"), {"name": "pull_number", "value": ""}, context)
    assert set(pulls.completion.values) == {"3", "6", "7", "11"}
    assert len(pulls.completion.values) <= 100


async def test_completion_of_unknown_references_is_invalid_params(session):
    for ref, arg in [
        (types.ResourceTemplateReference(uri="gitea://{owner}/nope"), "owner"),
        (types.PromptReference(name="no_such_prompt"), "owner"),
        (types.ResourceTemplateReference(uri=FILE_TEMPLATE), "colour"),
    ]:
        with pytest.raises(MCPError) as caught:
            await session.complete(ref, {"name": arg, "value": ""})
        assert caught.value.error.code == INVALID_PARAMS


# ---- prompts ---------------------------------------------------------------------------


def embedded(result: types.GetPromptResult) -> dict[str, types.TextResourceContents]:
    """The instruction is the first message; every other message embeds one resource."""
    first = result.messages[0]
    assert first.role == "user" and isinstance(first.content, types.TextContent)
    assert "untrusted data" in first.content.text
    out = {}
    for message in result.messages[1:]:
        assert message.role == "user"
        assert isinstance(message.content, types.EmbeddedResource), message
        resource = message.content.resource
        assert isinstance(resource, types.TextResourceContents)
        assert resource.meta["aegis/untrusted"] is True
        assert len(resource.text) <= 5 * 20000
        out[resource.uri] = resource
    return out


async def test_prompts_are_listed_with_typed_arguments(session):
    prompts = {p.name: p for p in (await session.list_prompts()).prompts}
    assert set(prompts) == PROMPTS
    for prompt in prompts.values():
        args = {a.name: a for a in prompt.arguments}
        assert args["owner"].required and args["repo"].required
    assert prompts["review_pull_request"].arguments[2].name == "pull_number"
    assert not {a.name: a for a in prompts["draft_release_notes"].arguments}["since"].required


async def test_review_pull_request_embeds_the_pull_request_and_its_files(session, seed):
    result = await session.get_prompt("review_pull_request", {"owner": "acme", "repo": "app", "pull_number": "6"})
    assert "pull request #6 of acme/app" in result.messages[0].content.text
    resources = embedded(result)
    assert list(resources) == ["gitea://acme/app/pulls/6", "gitea://acme/app/pulls/6/files"]
    pull = resources["gitea://acme/app/pulls/6"].text
    for comment in issue_seed(seed, "acme", "app", 6)["comments"]:
        assert comment["body"] in pull


async def test_triage_summarize_and_release_notes_prompts(session):
    triage = embedded(await session.get_prompt("triage_open_issues", {"owner": "acme", "repo": "app"}))
    issues = json.loads(triage["gitea://acme/app/issues?state=open"].text)
    assert {i["number"] for i in issues["items"]} >= {2, 4, 5, 8}
    summary = embedded(
        await session.get_prompt(
            "summarize_changes", {"owner": "acme", "repo": "app", "base": "main", "head": "feature/search"}
        )
    )
    assert "Add search endpoint skeleton" in summary["gitea://acme/app/compare/main...feature%2Fsearch"].text
    notes = embedded(await session.get_prompt("draft_release_notes", {"owner": "acme", "repo": "app"}))
    assert list(notes) == ["gitea://acme/app/releases/latest", "gitea://acme/app/compare/v0.3.0...main"]
    assert "Harden config parsing" in notes["gitea://acme/app/compare/v0.3.0...main"].text
    with pytest.raises(MCPError) as caught:
        await session.get_prompt("summarize_changes", {"owner": "acme", "repo": "app", "base": "main"})
    assert caught.value.error.code == INVALID_PARAMS


# ---- the policy applies: a denied path ----------------------------------------------


async def test_denied_path_is_not_readable_and_its_refusal_is_audited(deny_shim):
    uri = "gitea://acme/app/contents/src/auth.rs"
    async with handshake_session(deny_shim.mcp_url, deny_shim.api_key) as (session, _):
        with pytest.raises(MCPError) as caught:
            await session.read_resource(uri)
        error = caught.value.error
        assert error.code == ACCESS_DENIED, error
        assert "denied by policy" in error.message and "POLICY_FILE_PATH" in error.message
        # an allowed file of the same repository still reads
        assert only_text(await session.read_resource("gitea://acme/app/contents/src/main.rs")).text
    denials = [
        r for r in audit_records(deny_shim.data_dir)
        if r.get("type") == "access_denied" and r.get("context", {}).get("tool") == "get_file_contents"
    ]
    assert denials, "the refused read is not on the audit trail"
    assert denials[-1]["repository"] == "acme/app"
    assert "src/auth.rs" in denials[-1]["outcome"]


async def test_denied_path_is_never_offered_as_a_completion(deny_shim, shim):
    ref = types.ResourceTemplateReference(uri=FILE_TEMPLATE)
    context = {"owner": "acme", "repo": "app"}
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        open_src = (await session.complete(ref, {"name": "path", "value": "src/"}, context)).completion.values
        open_top = (await session.complete(ref, {"name": "path", "value": "a"}, context)).completion.values
    assert "src/auth.rs" in open_src and "assets/" in open_top  # the test can fail
    async with handshake_session(deny_shim.mcp_url, deny_shim.api_key) as (session, _):
        src = (await session.complete(ref, {"name": "path", "value": "src/"}, context)).completion.values
        assert "src/auth.rs" not in src and "src/main.rs" in src
        top = (await session.complete(ref, {"name": "path", "value": "a"}, context)).completion.values
        assert "assets/" not in top
        inside = (await session.complete(ref, {"name": "path", "value": "assets/"}, context)).completion.values
        assert inside == []
        files = json.loads(only_text(await session.read_resource("gitea://acme/app/pulls/3/files")).text)
        assert "src/auth.rs" not in {f["filename"] for f in files["items"]}

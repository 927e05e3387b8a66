"""The 15 write tools through the official SDK: issue 5's interop acceptance.

"With write mode off the write tools are absent; with it on and a whitelist, each of the 15
tools succeeds on a whitelisted repository and the simulator state shows the change; the same
call on another repository is refused and changes nothing. A denied call never reaches
the simulator (asserted from the simulator's request log)."

`CALLS` is the table: one realistic call per write tool on the whitelisted acme/app. The same
table drives every part: with write mode off each call is an unknown tool (-32602); in write mode
each succeeds and its `check_<tool>` reads the change back from the simulator; with `owner`/`repo`
swapped for another repository each is refused before any Gitea request, as the call's result
with `isError: true` in an HTTP 200 naming the write whitelist (docs/adr/0007-mcp-error-model.md;
the status is checked on the httpx2 exchange log), so the session survives.
A second write shim's policy denies `create_release` on acme/app: refused the same way.

Ground truth is the simulator's REST API read directly with alice's token (a site admin: she sees
drafts and private repositories), never the gateway's own answer. Every test starts from the
seeded world (`POST /_sim/reset`) with an empty request log, and leaves the world as seeded.

The write shims use alice's token as the service token: Gitea would accept every write refused
here, so each refusal is the gateway's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
import yaml
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from conftest import Shim, Sim, start_shim
from support import (
    INVALID_PARAMS,
    READ_TOOL_ARGS,
    ExchangeLog,
    check_success,
    handshake_session,
    text_of,
)

pytestmark = pytest.mark.anyio

ALICE_TOKEN = "alice-token-0001a4519d63df9568768119d218"
# bob/playground: the policy would allow writes there, only the write whitelist refuses them.
# acme/secrets-vault: private, and neither the whitelist nor the policy admits writes.
OTHER_REPOS = [("bob", "playground"), ("acme", "secrets-vault")]


@dataclass(frozen=True)
class WriteTool:
    required: frozenset[str]
    optional: frozenset[str]
    destructive: bool
    idempotent: bool


def _tool(required: str, optional: str, *, destructive: bool, idempotent: bool) -> WriteTool:
    return WriteTool(frozenset(required.split()), frozenset(optional.split()), destructive, idempotent)


# As declared in shared/mcp/src/tools/write.rs: argument structs and `write_meta(..., idempotent,
# destructive)`.
WRITE_TOOLS: dict[str, WriteTool] = {
    "create_issue": _tool("owner repo title", "body labels assignees milestone", destructive=False, idempotent=False),
    "update_issue": _tool("owner repo issue_number", "title body state milestone", destructive=True, idempotent=True),
    "create_issue_comment": _tool("owner repo issue_number body", "", destructive=False, idempotent=False),
    "create_pr_comment": _tool("owner repo pull_number body", "", destructive=False, idempotent=False),
    "edit_issue_comment": _tool("owner repo comment_id body", "", destructive=True, idempotent=True),
    "add_labels": _tool("owner repo issue_number labels", "", destructive=False, idempotent=True),
    "remove_labels": _tool("owner repo issue_number labels", "", destructive=True, idempotent=True),
    "assign_issue": _tool("owner repo issue_number assignees", "", destructive=True, idempotent=True),
    "create_label": _tool("owner repo name color", "description exclusive", destructive=False, idempotent=False),
    "update_label": _tool("owner repo name", "new_name color description", destructive=True, idempotent=True),
    "create_pull_request": _tool("owner repo title head base", "body", destructive=False, idempotent=False),
    "create_release": _tool("owner repo tag_name", "name body draft prerelease target", destructive=False, idempotent=False),
    "edit_release": _tool("owner repo release_id", "name body draft prerelease", destructive=True, idempotent=True),
    "create_branch": _tool("owner repo new_branch_name", "old_branch_name", destructive=False, idempotent=False),
    "create_milestone": _tool("owner repo title", "description due_on", destructive=False, idempotent=False),
}
assert len(WRITE_TOOLS) == 15

APP = {"owner": "acme", "repo": "app"}

# One call per write tool on acme/app, against the demo seed (local/gitea-sim/seed/demo.yaml).
CALLS: dict[str, dict[str, Any]] = {
    "create_issue": {
        **APP, "title": "Add an audit log", "body": "Every write should leave a trace.",
        # names and titles in another case than the seed's: resolution ignores case
        "labels": ["enhancement", "Security"], "assignees": ["bob"], "milestone": "V0.4.0",
    },
    "update_issue": {
        **APP, "issue_number": 2, "title": "Document the deployment runbook",
        "body": "Runbook: docs/deploy.md.", "state": "closed", "milestone": "v0.4.0",
    },
    "create_issue_comment": {**APP, "issue_number": 2, "body": "A first runbook draft is up for review."},
    "create_pr_comment": {**APP, "pull_number": 6, "body": "Ranking by term count looks good to me."},
    # comment 6: alice's "Sounds good. Let's make the limits configurable." on issue 4
    "edit_issue_comment": {**APP, "comment_id": 6, "body": "Sounds good. Limits are configurable per token."},
    "add_labels": {**APP, "issue_number": 5, "labels": ["bug", "Priority/Low"]},
    "remove_labels": {**APP, "issue_number": 4, "labels": ["priority/high"]},
    "assign_issue": {**APP, "issue_number": 5, "assignees": ["alice", "bob"]},
    "create_label": {**APP, "name": "needs-triage", "color": "#00AABB", "description": "Nobody has looked at it yet"},
    "update_label": {**APP, "name": "wontfix", "new_name": "declined", "color": "#CCCCCC", "description": "Will not be done"},
    "create_pull_request": {
        **APP, "title": "Bring the README fix to the search branch", "head": "fix/readme-typo",
        "base": "feature/search", "body": "Same typo fix as #7.",
    },
    "create_release": {
        **APP, "tag_name": "v0.4.0-rc.1", "name": "v0.4.0 RC 1", "body": "Search preview.",
        "draft": False, "prerelease": True, "target": "feature/search",
    },
    # release 5: the draft "v0.4.0 (draft)" targeting feature/search; publishing it creates the tag
    "edit_release": {**APP, "release_id": 5, "name": "v0.4.0", "body": "Search and rate limiting.", "draft": False},
    "create_branch": {**APP, "new_branch_name": "release/0.4", "old_branch_name": "feature/search"},
    "create_milestone": {**APP, "title": "v0.5.0", "description": "Audit log and exports", "due_on": "2027-03-31"},
}
assert set(CALLS) == set(WRITE_TOOLS)

READ_TOOLS = sorted(READ_TOOL_ARGS)
ALL_TOOLS = READ_TOOLS + sorted(WRITE_TOOLS)

# The write shim's policy: writes (and every read) allowed on acme/app, as in
# policies/write-one-repo.yaml, and on bob/playground too, so that a refusal there can only come
# from the write whitelist. Nothing for acme/secrets-vault: `defaults.write: deny` applies.
WRITE_POLICY = {
    "defaults": {"read": "allow", "write": "deny"},
    "repositories": {
        "acme/app": {"tools": {"allow": ALL_TOOLS}},
        "bob/playground": {"tools": {"allow": ALL_TOOLS}},
    },
}

# The same, but one write tool denied on the whitelisted repository: deny wins over the allow list.
DENY_ONE_POLICY = {
    "defaults": {"read": "allow", "write": "deny"},
    "repositories": {"acme/app": {"tools": {"allow": ALL_TOOLS, "deny": ["create_release"]}}},
}


# ---- the simulator, read directly ----------------------------------------------------


class Truth:
    """The simulator's own REST API with alice's token, and its control endpoints."""

    def __init__(self, sim: Sim):
        self.sim = sim

    def get(self, path: str, **params: Any) -> Any:
        return self.sim.api(path, ALICE_TOKEN, **params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = httpx2.post(
            f"{self.sim.url}/api/v1{path}", json=body, headers={"Authorization": f"token {ALICE_TOKEN}"}, timeout=10
        )
        r.raise_for_status()
        return r.json()

    def status(self, path: str) -> int:
        return self.sim.get(f"/api/v1{path}", headers={"Authorization": f"token {ALICE_TOKEN}"}).status_code

    def pages(self, path: str, **params: Any) -> list[Any]:
        items, page = [], 1
        while True:
            batch = self.get(path, page=page, limit=50, **params)
            items.extend(batch)
            if len(batch) < 50:
                return items
            page += 1

    def issue(self, number: int) -> dict[str, Any]:
        return self.get(f"/repos/acme/app/issues/{number}")

    def labels(self) -> dict[str, dict[str, Any]]:
        return {label["name"]: label for label in self.pages("/repos/acme/app/labels")}

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.get(f"/repos/acme/app/issues/{number}/comments")

    def repo_state(self, owner: str, repo: str) -> dict[str, Any]:
        """Everything a write tool could change in a repository."""
        base = f"/repos/{owner}/{repo}"
        issues = self.pages(f"{base}/issues", state="all")
        return {
            "repository": self.get(base),
            "issues": issues,
            "comments": {i["number"]: self.get(f"{base}/issues/{i['number']}/comments") for i in issues},
            "pulls": self.pages(f"{base}/pulls", state="all"),
            "labels": self.pages(f"{base}/labels"),
            "milestones": self.pages(f"{base}/milestones", state="all"),
            "releases": self.pages(f"{base}/releases"),
            "branches": self.pages(f"{base}/branches"),
            "tags": self.pages(f"{base}/tags"),
        }

    def requests(self) -> list[dict[str, Any]]:
        r = self.sim.get("/_sim/requests")
        r.raise_for_status()
        return r.json()

    def clear_requests(self) -> None:
        r = httpx2.delete(f"{self.sim.url}/_sim/requests", timeout=10)
        assert r.status_code == 204, r.status_code

    def reset(self) -> None:
        r = httpx2.post(f"{self.sim.url}/_sim/reset", timeout=10)
        assert r.status_code == 204, r.status_code

    def violations(self) -> list[Any]:
        r = self.sim.get("/_sim/violations")
        r.raise_for_status()
        return r.json()


@pytest.fixture(autouse=True)
def truth(sim: Sim) -> Iterator[Truth]:
    """The seeded world and an empty request log before each test; the seeded world after it."""
    t = Truth(sim)
    t.reset()
    t.clear_requests()
    violations_before = len(t.violations())
    yield t
    new_violations = t.violations()[violations_before:]
    t.reset()
    assert new_violations == [], f"Gitea API contract violations:\n{new_violations}"


def writes(log: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The requests of a simulator log that could change something."""
    return [(r["method"], r["path"]) for r in log if r["method"] != "GET"]


def assert_wrote(truth: Truth, method: str, path: str) -> None:
    """The gateway reached Gitea with exactly this one write, as alice, and it succeeded."""
    log = truth.requests()
    done = [r for r in log if r["method"] != "GET"]
    assert [(r["method"], r["path"]) for r in done] == [(method, f"/api/v1/repos/acme/app{path}")], log
    assert all(r["user"] == "alice" and 200 <= r["status"] < 300 for r in done), done


# ---- shims ---------------------------------------------------------------------------


def _write_shim(name: str, policy: dict[str, Any], sim: Sim, seed, tmp: Path) -> Shim:
    policy_path = tmp / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return start_shim(
        name,
        sim,
        seed,
        tmp,
        GITEA_TOKEN=ALICE_TOKEN,
        WRITE_MODE="true",
        WRITE_REPOSITORY_WHITELIST="acme/app",
        POLICY_FILE_PATH=str(policy_path),
    )


@pytest.fixture(scope="module")
def write_shim(sim: Sim, seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shim]:
    handle = _write_shim("aegis-local-write", WRITE_POLICY, sim, seed, tmp_path_factory.mktemp("aegis-local-write"))
    try:
        yield handle
    finally:
        handle.process.stop()


@pytest.fixture(scope="module")
def deny_one_shim(sim: Sim, seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shim]:
    handle = _write_shim(
        "aegis-local-write-deny-one", DENY_ONE_POLICY, sim, seed, tmp_path_factory.mktemp("aegis-local-write-deny-one")
    )
    try:
        yield handle
    finally:
        handle.process.stop()


@dataclass
class Conn:
    """An initialized SDK session, its tools, and the HTTP exchanges it made."""

    session: ClientSession
    tools: dict[str, types.Tool]
    log: ExchangeLog

    async def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A successful call whose structuredContent validates against the tool's outputSchema."""
        return check_success(await self.session.call_tool(name, arguments), self.tools[name])

    async def _refused(self, name: str, arguments: dict[str, Any], prefix: str) -> Refusal:
        """A refusal is the call's result with `isError` in an HTTP 200 (ADR 0007), whose
        text starts with `prefix`; the session goes on."""
        start = len(self.log)
        result = await self.session.call_tool(name, arguments)
        calls = [e for e in self.log[start:] if e.rpc_method == "tools/call"]
        assert [e.status for e in calls] == [200], [(e.rpc_method, e.status) for e in self.log[start:]]
        assert result.is_error is True, result
        text = text_of(result)
        assert text.startswith(prefix), text
        return Refusal(text)

    async def denied(self, name: str, arguments: dict[str, Any]) -> Refusal:
        """A call the gate refuses: `access denied: <which gate> ... <what would allow it>`."""
        return await self._refused(name, arguments, "access denied: ")

    async def unknown(self, name: str, arguments: dict[str, Any]) -> MCPError:
        """A tool not offered here: the protocol error -32602 (MCP's unknown tool)."""
        with pytest.raises(MCPError) as info:
            await self.session.call_tool(name, arguments)
        assert info.value.code == INVALID_PARAMS, (info.value.code, info.value.message)
        return info.value

    async def invalid(self, name: str, arguments: dict[str, Any]) -> Refusal:
        """Arguments the tool refuses: `invalid arguments: <which field>`."""
        return await self._refused(name, arguments, "invalid arguments: ")


@dataclass
class Refusal:
    """The text of a refused call's `isError` result."""

    message: str


@asynccontextmanager
async def _connect(shim: Shim) -> AsyncIterator[Conn]:
    log = ExchangeLog()
    async with handshake_session(shim.mcp_url, shim.api_key, log) as (session, _):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        yield Conn(session, tools, log)


@pytest.fixture
async def off(shim: Shim) -> AsyncIterator[Conn]:
    """The suite's default shim: write mode off."""
    async with _connect(shim) as c:
        yield c


@pytest.fixture
async def conn(write_shim: Shim) -> AsyncIterator[Conn]:
    async with _connect(write_shim) as c:
        yield c


@pytest.fixture
async def deny_one(deny_one_shim: Shim) -> AsyncIterator[Conn]:
    async with _connect(deny_one_shim) as c:
        yield c


# ---- 1. write mode off ---------------------------------------------------------------


async def test_write_mode_off_lists_no_write_tool(off):
    assert set(off.tools) & set(WRITE_TOOLS) == set()
    assert set(READ_TOOL_ARGS) <= set(off.tools)


@pytest.mark.parametrize("name", sorted(WRITE_TOOLS))
async def test_write_mode_off_write_tool_is_unknown_and_never_reaches_gitea(off, truth, name):
    error = await off.unknown(name, CALLS[name])
    assert f"unknown tool `{name}`" in error.message, error.message
    assert truth.requests() == []


# ---- 2. write mode on: tools/list ----------------------------------------------------


async def test_write_mode_lists_the_15_write_tools_with_their_annotations(conn):
    assert set(WRITE_TOOLS) <= set(conn.tools)
    assert set(conn.tools) == set(READ_TOOL_ARGS) | set(WRITE_TOOLS)
    for name, spec in WRITE_TOOLS.items():
        tool = conn.tools[name]
        ann = tool.annotations
        assert ann is not None, name
        assert ann.read_only_hint is False, name
        assert ann.destructive_hint is spec.destructive, name
        assert ann.idempotent_hint is spec.idempotent, name
        assert ann.open_world_hint is True, name
        assert tool.output_schema is not None, name
        properties = set(tool.input_schema.get("properties", {}))
        required = set(tool.input_schema.get("required", []))
        assert required == spec.required, (name, required)
        assert properties == spec.required | spec.optional, (name, properties)
    for name in READ_TOOL_ARGS:
        assert conn.tools[name].annotations.read_only_hint is True, name


# ---- 2. write mode on: each tool succeeds on acme/app --------------------------------
#
# One check per tool: it gets the structuredContent of `CALLS[name]` and the repository's state
# read just before the call, asserts that exactly the expected write reached Gitea (as alice,
# successfully), and reads the change back from the simulator.

State = dict[str, Any]


def _names(items: list[dict[str, Any]] | None) -> list[str]:
    return sorted(i["name"] if "name" in i else i["login"] for i in items or [])


def _issue(state: State, number: int) -> dict[str, Any]:
    return next(i for i in state["issues"] if i["number"] == number)


def _label_id(state: State, name: str) -> int:
    return next(label["id"] for label in state["labels"] if label["name"] == name)


def check_create_issue(truth: Truth, before: State, data: dict[str, Any]) -> None:
    number = data["issue"]["number"]
    assert number == len(before["issues"]) + 1 == 12  # issues and pulls share numbers
    assert_wrote(truth, "POST", "/issues")
    issue = truth.issue(number)
    assert issue["title"] == "Add an audit log"
    assert issue["body"] == "Every write should leave a trace."
    assert issue["state"] == "open" and issue["pull_request"] is None
    assert issue["user"]["login"] == "alice"
    # label names, an assignee login and a milestone title, resolved to what Gitea stores
    assert _names(issue["labels"]) == ["enhancement", "security"]
    assert _names(issue["assignees"]) == ["bob"]
    v040 = next(m for m in before["milestones"] if m["title"] == "v0.4.0")
    assert issue["milestone"]["id"] == v040["id"]
    # the tool's answer is what Gitea stored
    assert data["issue"]["labels"] == ["enhancement", "security"]
    assert data["issue"]["assignees"] == ["bob"]
    assert data["issue"]["milestone"]["title"] == "v0.4.0"


def check_update_issue(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert data["issue"]["number"] == 2
    assert_wrote(truth, "PATCH", "/issues/2")
    issue = truth.issue(2)
    assert issue["title"] == "Document the deployment runbook"
    assert issue["body"] == "Runbook: docs/deploy.md."
    assert issue["state"] == "closed" and issue["closed_at"] is not None
    assert _issue(before, 2)["milestone"]["title"] == "v1.0"
    assert issue["milestone"]["title"] == "v0.4.0"
    # what the call did not name stays
    assert _names(issue["labels"]) == _names(_issue(before, 2)["labels"]) == ["documentation"]


def check_create_issue_comment(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/issues/2/comments")
    after = truth.comments(2)
    assert after[:-1] == before["comments"][2]
    assert after[-1]["id"] == data["comment"]["id"]
    assert after[-1]["body"] == "A first runbook draft is up for review."
    assert after[-1]["user"]["login"] == "alice"
    assert truth.issue(2)["comments"] == len(before["comments"][2]) + 1


def check_create_pr_comment(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/issues/6/comments")
    after = truth.comments(6)
    assert after[:-1] == before["comments"][6]
    assert after[-1]["id"] == data["comment"]["id"]
    assert after[-1]["body"] == "Ranking by term count looks good to me."


def check_edit_issue_comment(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert data["comment"]["id"] == 6
    assert_wrote(truth, "PATCH", "/issues/comments/6")
    old = {c["id"]: c for c in before["comments"][4]}
    new = {c["id"]: c for c in truth.comments(4)}
    assert old[6]["body"] == "Sounds good. Let's make the limits configurable."
    assert new[6]["body"] == "Sounds good. Limits are configurable per token."
    assert new[6]["user"]["login"] == "alice"
    assert {k: v for k, v in new.items() if k != 6} == {k: v for k, v in old.items() if k != 6}


def check_add_labels(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/issues/5/labels")
    assert _names(_issue(before, 5)["labels"]) == ["documentation", "good first issue"]
    expected = ["bug", "documentation", "good first issue", "priority/low"]
    assert _names(truth.issue(5)["labels"]) == expected
    assert sorted(data["labels"]) == expected


def check_remove_labels(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "DELETE", f"/issues/4/labels/{_label_id(before, 'priority/high')}")
    assert _names(_issue(before, 4)["labels"]) == ["enhancement", "priority/high"]
    assert _names(truth.issue(4)["labels"]) == ["enhancement"]
    assert data["labels"] == ["enhancement"]


def check_assign_issue(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "PATCH", "/issues/5")
    assert not _issue(before, 5)["assignees"]
    assert _names(truth.issue(5)["assignees"]) == ["alice", "bob"]
    assert sorted(data["issue"]["assignees"]) == ["alice", "bob"]


def check_create_label(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/labels")
    assert "needs-triage" not in _names(before["labels"])
    label = truth.labels()["needs-triage"]
    assert label["id"] == data["label"]["id"]
    assert label["color"] == "00aabb"
    assert label["description"] == "Nobody has looked at it yet"
    assert label["exclusive"] is False


def check_update_label(truth: Truth, before: State, data: dict[str, Any]) -> None:
    wontfix = _label_id(before, "wontfix")
    assert_wrote(truth, "PATCH", f"/labels/{wontfix}")
    labels = truth.labels()
    assert "wontfix" not in labels
    assert labels["declined"]["id"] == wontfix == data["label"]["id"]
    assert labels["declined"]["color"] == "cccccc"
    assert labels["declined"]["description"] == "Will not be done"
    assert len(labels) == len(before["labels"])
    # an issue that carried the label shows the new name
    assert _names(truth.issue(9)["labels"]) == ["declined", "enhancement", "priority/low"]


def check_create_pull_request(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/pulls")
    number = data["pull_request"]["number"]
    assert number == len(before["issues"]) + 1
    pull = truth.get(f"/repos/acme/app/pulls/{number}")
    assert pull["title"] == "Bring the README fix to the search branch"
    assert pull["body"] == "Same typo fix as #7."
    assert pull["head"]["ref"] == "fix/readme-typo"
    assert pull["base"]["ref"] == "feature/search"
    assert pull["state"] == "open" and pull["merged"] is False
    assert pull["user"]["login"] == "alice"
    heads = {b["name"]: b["commit"]["id"] for b in before["branches"]}
    assert pull["head"]["sha"] == heads["fix/readme-typo"]


def check_create_release(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/releases")
    release = next(r for r in truth.pages("/repos/acme/app/releases") if r["tag_name"] == "v0.4.0-rc.1")
    assert release["id"] == data["release"]["id"]
    assert release["name"] == "v0.4.0 RC 1"
    assert release["body"] == "Search preview."
    assert release["draft"] is False and release["prerelease"] is True
    assert release["target_commitish"] == "feature/search"
    # a published release creates its missing tag at the target
    assert "v0.4.0-rc.1" not in _names(before["tags"])
    tags = {t["name"]: t["commit"]["sha"] for t in truth.pages("/repos/acme/app/tags")}
    heads = {b["name"]: b["commit"]["id"] for b in before["branches"]}
    assert tags["v0.4.0-rc.1"] == heads["feature/search"]


def check_edit_release(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert data["release"]["id"] == 5
    assert_wrote(truth, "PATCH", "/releases/5")
    draft = next(r for r in before["releases"] if r["id"] == 5)
    assert draft["tag_name"] == "v0.4.0" and draft["draft"] is True
    release = truth.get("/repos/acme/app/releases/5")
    assert release["draft"] is False
    assert release["name"] == "v0.4.0"
    assert release["body"] == "Search and rate limiting."
    assert release["prerelease"] is False
    # publishing the draft created its tag at the draft's target
    assert "v0.4.0" not in _names(before["tags"])
    tags = {t["name"]: t["commit"]["sha"] for t in truth.pages("/repos/acme/app/tags")}
    heads = {b["name"]: b["commit"]["id"] for b in before["branches"]}
    assert tags["v0.4.0"] == heads["feature/search"]


def check_create_branch(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert data["branch"]["name"] == "release/0.4"
    assert_wrote(truth, "POST", "/branches")
    heads = {b["name"]: b["commit"]["id"] for b in before["branches"]}
    assert "release/0.4" not in heads
    assert truth.get("/repos/acme/app/branches/release/0.4")["commit"]["id"] == heads["feature/search"]
    assert len(truth.pages("/repos/acme/app/branches")) == len(heads) + 1


def check_create_milestone(truth: Truth, before: State, data: dict[str, Any]) -> None:
    assert_wrote(truth, "POST", "/milestones")
    assert "v0.5.0" not in {m["title"] for m in before["milestones"]}
    milestone = next(m for m in truth.pages("/repos/acme/app/milestones", state="all") if m["title"] == "v0.5.0")
    assert milestone["id"] == data["milestone"]["id"]
    assert milestone["description"] == "Audit log and exports"
    assert milestone["due_on"] == "2027-03-31T00:00:00Z"
    assert milestone["state"] == "open"


CHECKS: dict[str, Callable[[Truth, State, dict[str, Any]], None]] = {
    name: globals()[f"check_{name}"] for name in WRITE_TOOLS
}


@pytest.mark.parametrize("name", sorted(WRITE_TOOLS))
async def test_each_write_tool_succeeds_on_the_whitelisted_repository(conn, truth, name):
    before = truth.repo_state("acme", "app")
    truth.clear_requests()
    data = await conn.ok(name, CALLS[name])
    CHECKS[name](truth, before, data)


# ---- 2. write mode on: edge cases ----------------------------------------------------


async def test_create_issue_takes_a_milestone_id(conn, truth):
    v1 = next(m for m in truth.pages("/repos/acme/app/milestones", state="all") if m["title"] == "v1.0")
    data = await conn.ok("create_issue", {**APP, "title": "GA checklist", "milestone": v1["id"]})
    issue = truth.issue(data["issue"]["number"])
    assert issue["milestone"]["id"] == v1["id"]
    assert issue["labels"] == [] and not issue["assignees"]


async def test_create_issue_with_an_unknown_label_lists_the_known_ones_and_creates_nothing(conn, truth):
    before = truth.repo_state("acme", "app")
    truth.clear_requests()
    result = await conn.session.call_tool("create_issue", {**APP, "title": "Flaky", "labels": ["bug", "flaky"]})
    assert result.is_error is True, result
    text = text_of(result)
    assert "unknown label `flaky`" in text, text
    for known in _names(before["labels"]):
        assert known in text, (known, text)
    assert writes(truth.requests()) == []
    assert truth.repo_state("acme", "app") == before


async def test_create_issue_with_an_unknown_milestone_lists_the_known_ones_and_creates_nothing(conn, truth):
    before = truth.repo_state("acme", "app")
    truth.clear_requests()
    result = await conn.session.call_tool("create_issue", {**APP, "title": "Later", "milestone": "v9"})
    assert result.is_error is True, result
    text = text_of(result)
    assert "unknown milestone `v9`" in text, text
    for known in ("v0.3.0", "v0.4.0", "v1.0"):
        assert known in text, (known, text)
    assert writes(truth.requests()) == []
    assert truth.repo_state("acme", "app") == before


async def test_update_issue_milestone_0_clears_the_milestone(conn, truth):
    assert truth.issue(4)["milestone"]["title"] == "v0.4.0"
    data = await conn.ok("update_issue", {**APP, "issue_number": 4, "milestone": 0})
    issue = truth.issue(4)
    assert issue["milestone"] is None, issue["milestone"]
    assert "milestone" not in data["issue"]
    assert issue["title"] == "Add rate limiting to the API" and issue["state"] == "open"


async def test_update_issue_reopens(conn, truth):
    assert truth.issue(1)["state"] == "closed"
    await conn.ok("update_issue", {**APP, "issue_number": 1, "state": "open"})
    assert truth.issue(1)["state"] == "open"


async def test_create_pr_comment_on_an_issue_number_is_an_error_and_comments_nothing(conn, truth):
    before = truth.comments(2)
    truth.clear_requests()
    result = await conn.session.call_tool("create_pr_comment", {**APP, "pull_number": 2, "body": "wrong place"})
    assert result.is_error is True, result
    assert writes(truth.requests()) == []
    assert truth.comments(2) == before


async def test_add_an_exclusive_label_replaces_its_scope(conn, truth):
    assert _names(truth.issue(8)["labels"]) == ["bug", "priority/high"]
    data = await conn.ok("add_labels", {**APP, "issue_number": 8, "labels": ["priority/low"]})
    assert _names(truth.issue(8)["labels"]) == ["bug", "priority/low"]
    assert sorted(data["labels"]) == ["bug", "priority/low"]


async def test_remove_a_label_the_issue_does_not_carry_is_a_no_op(conn, truth):
    truth.clear_requests()
    data = await conn.ok("remove_labels", {**APP, "issue_number": 4, "labels": ["bug"]})
    assert sorted(data["labels"]) == ["enhancement", "priority/high"]
    assert writes(truth.requests()) == []
    assert _names(truth.issue(4)["labels"]) == ["enhancement", "priority/high"]


async def test_assign_issue_with_no_logins_unassigns_everyone(conn, truth):
    assert _names(truth.issue(4)["assignees"]) == ["alice", "bob"]
    await conn.ok("assign_issue", {**APP, "issue_number": 4, "assignees": []})
    assert not truth.issue(4)["assignees"]


@pytest.mark.parametrize("colour", ["red", "#00aab", "#00aabbcc", "#gg0000", ""])
async def test_an_invalid_colour_is_refused_and_never_reaches_gitea(conn, truth, colour):
    await conn.invalid("create_label", {**APP, "name": "needs-triage", "color": colour})
    await conn.invalid("update_label", {**APP, "name": "bug", "color": colour})
    assert truth.requests() == []


async def test_create_draft_release_creates_no_tag(conn, truth):
    await conn.ok("create_release", {**APP, "tag_name": "v0.5.0", "name": "v0.5.0", "draft": True})
    release = next(r for r in truth.pages("/repos/acme/app/releases") if r["tag_name"] == "v0.5.0")
    assert release["draft"] is True
    assert "v0.5.0" not in _names(truth.pages("/repos/acme/app/tags"))


async def test_create_branch_without_old_branch_starts_at_the_default_branch(conn, truth):
    assert truth.status("/repos/acme/app/branches/hotfix/0.3.2") == 404
    await conn.ok("create_branch", {**APP, "new_branch_name": "hotfix/0.3.2"})
    main = truth.get("/repos/acme/app/branches/main")["commit"]["id"]
    assert truth.get("/repos/acme/app/branches/hotfix/0.3.2")["commit"]["id"] == main


async def test_a_new_milestone_resolves_by_title_at_once(conn, truth):
    created = await conn.ok("create_milestone", {**APP, "title": "v0.5.0", "due_on": "2027-03-31"})
    data = await conn.ok("create_issue", {**APP, "title": "Export issues as CSV", "milestone": "v0.5.0"})
    assert truth.issue(data["issue"]["number"])["milestone"]["id"] == created["milestone"]["id"]


# ---- 3. the same call on another repository: refused, nothing reaches Gitea ---------------


@pytest.mark.parametrize("owner, repo", OTHER_REPOS, ids=[f"{o}/{r}" for o, r in OTHER_REPOS])
@pytest.mark.parametrize("name", sorted(WRITE_TOOLS))
async def test_the_same_call_on_another_repository_is_refused_before_gitea(conn, truth, name, owner, repo):
    before = truth.repo_state(owner, repo)
    truth.clear_requests()
    error = await conn.denied(name, {**CALLS[name], "owner": owner, "repo": repo})
    assert f"`{owner}/{repo}` is not on the write whitelist" in error.message, error.message
    assert "WRITE_REPOSITORY_WHITELIST" in error.message, error.message
    assert truth.requests() == []
    assert truth.repo_state(owner, repo) == before


@pytest.mark.parametrize(
    "owner, repo",
    [("ACME", "app-evil"), ("evil", "acme-app"), ("acme", "app.git")],
    ids=["suffix", "prefix", "dot-git"],
)
async def test_lookalike_repository_names_are_not_whitelisted(conn, truth, owner, repo):
    error = await conn.denied("create_issue", {**CALLS["create_issue"], "owner": owner, "repo": repo})
    assert "write whitelist" in error.message, error.message
    assert truth.requests() == []


async def test_the_whitelisted_repository_in_another_case_is_the_same_repository(conn, truth):
    data = await conn.ok("create_issue", {"owner": "ACME", "repo": "App", "title": "Case does not matter"})
    assert truth.issue(data["issue"]["number"])["title"] == "Case does not matter"


# Comment and release ids are global in Gitea: an id of another repository's object, sent
# through the whitelisted repository, must not reach that object.


async def test_a_comment_of_another_repository_cannot_be_edited_through_the_whitelisted_one(conn, truth):
    foreign = truth.post("/repos/acme/secrets-vault/issues/1/comments", {"body": "Rotation is scheduled."})
    before = truth.repo_state("acme", "secrets-vault")
    truth.clear_requests()
    result = await conn.session.call_tool("edit_issue_comment", {**APP, "comment_id": foreign["id"], "body": "pwned"})
    assert result.is_error is True, result
    assert [r["path"] for r in truth.requests() if r["method"] != "GET"] == [
        f"/api/v1/repos/acme/app/issues/comments/{foreign['id']}"
    ]
    assert truth.repo_state("acme", "secrets-vault") == before
    assert truth.get("/repos/acme/secrets-vault/issues/1/comments")[-1]["body"] == "Rotation is scheduled."


async def test_a_release_of_another_repository_cannot_be_edited_through_the_whitelisted_one(conn, truth):
    foreign = truth.post("/repos/bob/playground/releases", {"tag_name": "v0.0.1", "name": "first", "draft": True})
    before = truth.repo_state("bob", "playground")
    truth.clear_requests()
    result = await conn.session.call_tool(
        "edit_release", {**APP, "release_id": foreign["id"], "name": "pwned", "draft": False}
    )
    assert result.is_error is True, result
    assert truth.repo_state("bob", "playground") == before
    assert truth.get(f"/repos/bob/playground/releases/{foreign['id']}")["name"] == "first"


# ---- 4. a policy that denies one write tool on the whitelisted repository ------------


async def test_policy_denying_create_release_refuses_it_before_gitea(deny_one, truth):
    assert "create_release" in deny_one.tools  # offered in write mode; the policy decides per call
    before = truth.repo_state("acme", "app")
    truth.clear_requests()
    error = await deny_one.denied("create_release", CALLS["create_release"])
    assert "denied by policy" in error.message, error.message
    assert "create_release" in error.message, error.message
    assert truth.requests() == []
    assert truth.repo_state("acme", "app") == before


async def test_policy_denying_one_tool_leaves_the_others_allowed(deny_one, truth):
    await deny_one.ok("create_label", CALLS["create_label"])
    assert truth.labels()["needs-triage"]["color"] == "00aabb"
    data = await deny_one.ok("get_issue", {**APP, "issue_number": 4})
    assert data["issue"]["title"] == "Add rate limiting to the API"

"""Every read tool through the official SDK's `ClientSession.call_tool`, checked against the seed.

Issue 3, point 7. `CASES` is the table of calls: each of the gateway's read tools is called at
least once against the demo data (`local/gitea-sim/seed/demo.yaml`), and every answer must have
`structuredContent` that validates against the `outputSchema` the tool declares in `tools/list`
(strictly: no field the schema does not declare), a non-empty text block (the same document as
JSON, for tools without their own rendering), and the seed's real content: titles, bodies, names,
numbers, paths and labels, read from the seed (`seed_model`), git ids from the simulator.
`test_every_listed_tool_has_a_case` fails when `tools/list` offers a tool without a case, so a
new tool cannot ship without an interop test. `WALKS` pages through every paginated tool to its
last page.

Tokens: the session-wide shim uses bob's token (conftest's service token), which suits nearly
every case: bob is a non-admin `acme` member (read role) and a write collaborator on acme/app
and the private acme/secrets-vault, so his answers include a private organization repository and
the draft release (write access) while alice's private alice/notes stays invisible: both sides of
Gitea's visibility rules show. Carol's token (no organization, no private access) gives the
outsider's view, for the tools whose answer depends on who asks.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import jsonschema
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from conftest import SERVICE_USER, start_shim
from seed_model import World, first_line, iso
from support import (
    INVALID_PARAMS,
    READ_TOOL_ARGS,
    check_success,
    handshake_session,
    text_of,
    untable,
    without_empty,
)

pytestmark = pytest.mark.anyio

# The write tools of the API Reference: offered only in write mode.
WRITE_TOOLS = {
    "create_issue", "update_issue", "create_issue_comment", "create_pr_comment", "add_labels",
    "remove_labels", "assign_issue", "create_label", "update_label", "create_pull_request",
    "create_release", "edit_release", "create_branch", "create_milestone", "edit_issue_comment",
}

# Tools whose text block is their own rendering rather than the JSON document.
CUSTOM_TEXT = {"get_file_contents", "get_commit_diff", "search_code"}

MAX_CHARS = 20000  # MAX_TOOL_RESPONSE_CHARS, default
MAX_MATCHES = 1000  # search_code's match bound


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
async def session(shim):
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        yield session


@pytest.fixture
async def tools(session):
    return {t.name: t for t in (await session.list_tools()).tools}


@pytest.fixture(scope="module")
def world(seed, sim) -> World:
    return World(seed, sim, SERVICE_USER)


@pytest.fixture(scope="module")
def outsider_shim(sim, seed, tmp_path_factory):
    """The gateway with carol's token: no organization, no private repository."""
    handle = start_shim(
        "aegis-local-carol", sim, seed, tmp_path_factory.mktemp("aegis-local-carol"),
        GITEA_TOKEN=seed.token("carol"),
    )
    try:
        yield handle
    finally:
        handle.process.stop()


ITEMS_BOUND = 10


@pytest.fixture(scope="module")
def items_shim(sim, seed, tmp_path_factory):
    """Bob's gateway with MAX_TOOL_RESPONSE_ITEMS below Gitea's page size of 50."""
    handle = start_shim(
        "aegis-local-items", sim, seed, tmp_path_factory.mktemp("aegis-local-items"),
        MAX_TOOL_RESPONSE_ITEMS=str(ITEMS_BOUND),
    )
    try:
        yield handle
    finally:
        handle.process.stop()


@pytest.fixture(scope="module")
def write_shim(sim, seed, tmp_path_factory):
    handle = start_shim(
        "aegis-local-write", sim, seed, tmp_path_factory.mktemp("aegis-local-write"),
        WRITE_MODE="true", WRITE_REPOSITORY_WHITELIST="bob/playground",
    )
    try:
        yield handle
    finally:
        handle.process.stop()


# ---- the checks every answer passes --------------------------------------------------


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `additionalProperties: false` on every object that lists its properties."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                node.setdefault("additionalProperties", False)
                for sub in node["properties"].values():
                    visit(sub)
            for key, sub in node.items():
                if key != "properties":
                    visit(sub)
        elif isinstance(node, list):
            for sub in node:
                visit(sub)

    visit(schema)
    return schema


def check_result(result: types.CallToolResult, tool: types.Tool) -> dict[str, Any]:
    """A successful answer: structuredContent valid per outputSchema, a non-empty text block."""
    data = check_success(result, tool)
    jsonschema.validate(data, strict(tool.output_schema))
    text = text_of(result)
    assert text.strip(), f"{tool.name}: empty text block"
    if tool.name not in CUSTOM_TEXT:
        assert untable(json.loads(text)) == without_empty(data), (
            f"{tool.name}: the text block is not the structured document"
        )
    return data


# ---- the table of calls --------------------------------------------------------------


@dataclass
class Answer:
    data: dict[str, Any]
    text: str


@dataclass
class Case:
    id: str
    tool: str
    arguments: dict[str, Any] | Callable[[World], dict[str, Any]]
    check: Callable[[Answer, World], None]

    def args(self, w: World) -> dict[str, Any]:
        return self.arguments(w) if callable(self.arguments) else self.arguments


APP = {"owner": "acme", "repo": "app"}


def by(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    out = {item[key]: item for item in items}
    assert len(out) == len(items), f"duplicate {key} values"
    return out


def check_list_repositories(a: Answer, w: World) -> None:
    repos = by(a.data["repositories"], "full_name")
    # bob: owner of bob/playground, member of acme (every acme repository, the private one
    # included); not alice/notes (private) nor carol/dotfiles (public, but not his).
    expected = set(w.org_repo_names["acme"]) | {"bob/playground"}
    assert set(repos) == expected
    assert a.data["total_count"] == len(expected) == 39
    assert a.data["truncated"] is False
    assert repos["acme/secrets-vault"]["private"] is True
    assert repos["acme/new-service"]["empty"] is True
    assert repos["acme/svc-07"]["description"] == "Microservice 07 of the ACME platform"
    assert repos["acme/svc-07"]["topics"] == ["microservice"]
    app = w.repo("acme", "app")
    assert repos["acme/app"]["description"] == app["description"]
    assert repos["acme/app"]["stars_count"] == app["stars"]


def check_get_repository_info(a: Answer, w: World) -> None:
    repo, spec = a.data["repository"], w.repo("bob", "playground")
    assert (repo["full_name"], repo["owner"], repo["name"]) == ("bob/playground", "bob", "playground")
    assert repo["description"] == spec["description"] == "Bob's experiments"
    assert repo["topics"] == spec["topics"] == ["sandbox"]
    assert repo["default_branch"] == "main"
    assert repo["private"] is False and repo["empty"] is False and repo["fork"] is False
    assert repo["created_at"] == iso(spec["created"])
    assert repo["html_url"].endswith("/bob/playground")
    assert repo["clone_url"].endswith("/bob/playground.git")
    assert repo["permissions"] == {"admin": True, "push": True, "pull": True}  # his own


def check_get_repository_info_empty(a: Answer, w: World) -> None:
    repo = a.data["repository"]
    assert repo["full_name"] == "acme/new-service"
    assert repo["description"] == w.repo("acme", "new-service")["description"] == "Not pushed yet"
    assert repo["empty"] is True and repo["size"] == 0


def check_get_file_tree(a: Answer, w: World) -> None:
    files = w.repo("bob", "playground").snapshot("p3")  # the `experiment` branch
    assert a.data["ref"] == "experiment" and a.data["recursive"] is False
    entries = by(a.data["entries"], "path")
    assert set(entries) == set(files) == {"README.md", "hello.py", "run.sh"}
    for path, blob in files.items():
        e = entries[path]
        assert (e["type"], e["mode"], e["size"]) == ("blob", blob.mode, len(blob.data)), path
        assert len(e["sha"]) == 40
    assert entries["run.sh"]["mode"] == "100755"  # executable in the seed
    assert a.data["total_count"] == 3 and a.data["truncated"] is False
    assert len(a.data["sha"]) == 40


def check_get_file_tree_recursive(a: Answer, w: World) -> None:
    files = w.repo("acme", "app").snapshot("s2")  # feature/search
    blobs = {e["path"]: e for e in a.data["entries"] if e["type"] == "blob"}
    assert set(blobs) == set(files)
    for path, blob in files.items():
        assert (blobs[path]["size"], blobs[path]["mode"]) == (len(blob.data), blob.mode), path
    dirs = {e["path"] for e in a.data["entries"] if e["type"] == "tree"}
    assert dirs == {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}
    assert a.data["total_count"] == len(a.data["entries"]) and a.data["truncated"] is False


def check_get_file_contents(a: Answer, w: World) -> None:
    script = w.repo("bob", "playground").snapshot("p2")["run.sh"].text
    assert script == "#!/bin/sh\npython3 hello.py\n"
    assert (a.data["kind"], a.data["path"], a.data["content"]) == ("text", "run.sh", script)
    assert a.data["size"] == len(script.encode()) and a.data["truncated"] is False
    assert a.text.startswith("File: run.sh (27 bytes, sha ") and a.text.endswith(script)


def check_get_file_contents_at_ref(a: Answer, w: World) -> None:
    text = w.repo("bob", "playground").snapshot("p3")["hello.py"].text
    assert a.data["content"] == text == "print('hello again from bob')\n"


def check_search_code(a: Answer, w: World) -> None:
    auth = w.repo("acme", "app").snapshot("c8")["src/auth.rs"].text.splitlines()
    assert a.data["query"] == "CHECK_PASSWORD" and a.data["ref"] == "main"
    assert a.data["matches"] == [
        {"path": "src/auth.rs", "line_number": 3, "line": auth[2], "before": auth[1], "after": auth[3]}
    ]
    assert auth[2].startswith("pub fn check_password(")
    assert a.data["total_matches"] == 1 and a.data["has_more"] is False
    files = w.repo("acme", "app").snapshot("c8")
    stats = a.data["stats"]
    assert stats["files_skipped_binary"] == 1  # assets/logo.png
    assert stats["files_scanned"] == len(files) - 1
    assert stats["bytes_scanned"] == sum(len(b.data) for p, b in files.items() if p != "assets/logo.png")
    assert "1 match(es) for `CHECK_PASSWORD` at main" in a.text
    assert f"src/auth.rs:3: {auth[2]}" in a.text


def check_search_code_bound(a: Answer, w: World) -> None:
    # 1500 fixture lines contain "record" (and one test name): the search stops at 1000.
    assert a.data["total_matches"] == MAX_MATCHES
    assert a.data["truncated"] is True and "stopped at 1000 matches" in a.data["notice"]
    assert (a.data["page"], a.data["limit"], a.data["has_more"], a.data["next_page"]) == (1, 50, True, 2)
    first = a.data["matches"][0]
    assert (first["path"], first["line_number"]) == ("tests/data/large-fixture.txt", 1)
    assert first["line"] == "record 1: the quick brown fox jumps over the lazy dog; status=ok; checksum=0xC0FFEE1"
    assert "[stopped at 1000 matches; narrow the query]" in a.text


def check_list_commits(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    history = ["b1", "c4", "c3", "c2", "c1"]  # feature/login, newest first
    assert [c["message"] for c in a.data["items"]] == [app.commits[c]["message"].strip() + "\n" for c in history]
    assert [c["sha"] for c in a.data["items"]] == [w.sha("acme", "app", c) for c in history]
    assert [c["author_login"] for c in a.data["items"]] == [app.commits[c]["author"] for c in history]
    assert [c["date"] for c in a.data["items"]] == [iso(app.commits[c]["date"]) for c in history]
    assert a.data["items"][0]["author_name"] == "Bob Brown"
    assert a.data["items"][-1]["parents"] == []
    assert a.data["total_count"] == 5 and a.data["has_more"] is False


def check_get_commit_diff(a: Answer, w: World) -> None:
    commit, t1 = a.data["commit"], w.repo("acme", "app").commits["t1"]  # fix/readme-typo
    assert commit["sha"] == w.branch_sha("acme", "app", "fix/readme-typo")
    assert commit["parents"] == [w.branch_sha("acme", "app", "main")]
    assert commit["message"].strip() == t1["message"].strip()
    assert (commit["author_login"], commit["author_name"], commit["author_email"]) == (
        "bob", "Bob Brown", "bob@acme.example"
    )
    assert commit["files"] == [{"filename": "README.md", "status": "modified"}]
    assert commit["stats"] == {"additions": 1, "deletions": 1, "total": 2}
    diff = a.data["diff"]
    assert diff.startswith("diff --git a/README.md b/README.md\n")
    assert "\n-cargo install --path .\n+cargo install --locked --path .\n" in diff
    assert a.data["truncated"] is False
    assert a.text.startswith(f"commit {commit['sha']}\nAuthor: Bob Brown <bob@acme.example>\n")
    assert a.text.endswith(diff)


def check_get_commit_diff_bound(a: Answer, w: World) -> None:
    # c4 adds the 1500-line fixture: its diff is far over MAX_TOOL_RESPONSE_CHARS.
    sha = w.sha("acme", "app", "c4")
    full = w.raw(f"/repos/acme/app/git/commits/{sha}.diff")
    assert len(full) > MAX_CHARS
    diff = a.data["diff"]
    assert a.data["truncated"] is True and "MAX_TOOL_RESPONSE_CHARS" in a.data["notice"]
    assert 0 < len(diff) <= MAX_CHARS and full.startswith(diff) and diff.endswith("\n")
    assert len(full) - len(diff) < len(full) - MAX_CHARS + 200  # cut near the limit, not early
    assert {f["filename"] for f in a.data["commit"]["files"]} == set(
        w.repo("acme", "app").commits["c4"]["files"]
    )
    assert "[truncated:" in a.text


def check_compare_refs(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    ahead = app.ancestors("c6") - app.ancestors("c3")  # v0.2.0 vs v0.1.0
    assert ahead == {"c4", "b1", "c5", "c6"}
    assert (a.data["base"], a.data["head"]) == ("v0.1.0", "v0.2.0")
    assert a.data["total_commits"] == len(a.data["commits"]) == 4
    assert {c["sha"] for c in a.data["commits"]} == {w.sha("acme", "app", c) for c in ahead}
    assert {first_line(c["message"]) for c in a.data["commits"]} == {
        first_line(app.commits[c]["message"]) for c in ahead
    }
    assert a.data["truncated"] is False


def _issue_matches(item: dict[str, Any], spec: dict[str, Any], number: int) -> None:
    assert item["number"] == number
    assert item["title"] == spec["title"]
    assert item["body"] == spec.get("body", "")
    assert item["author"] == spec["author"]
    assert item["state"] == spec.get("state", "open")
    assert item["labels"] == spec.get("labels", [])
    assert item["assignees"] == spec.get("assignees", [])
    assert item["created_at"] == iso(spec["created"])
    assert (item.get("milestone") or {}).get("title") == spec.get("milestone")
    assert item["comments"] == len(spec.get("comments", []))
    if "closed" in spec:
        assert item["closed_at"] == iso(spec["closed"])


def check_list_issues(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    closed = {n: i for n, i in app.numbered() if i.get("state") == "closed" and "pull" not in i}
    assert set(closed) == {1, 9}
    items = by(a.data["items"], "number")
    assert set(items) == set(closed)
    for n, spec in closed.items():
        _issue_matches(items[n], spec, n)
        assert items[n]["is_pull_request"] is False
    assert items[9]["labels"] == ["enhancement", "priority/low", "wontfix"]
    assert a.data["total_count"] == 2 and a.data["has_more"] is False


def check_list_issues_by_label(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    expected = {n for n, i in app.numbered() if "documentation" in i.get("labels", []) and "pull" not in i}
    assert expected == {2, 5}  # #7 carries it too, but is a pull request
    assert {i["number"] for i in a.data["items"]} == expected
    assert all("documentation" in i["labels"] for i in a.data["items"])


def check_get_issue(a: Answer, w: World) -> None:
    issue = a.data["issue"]
    _issue_matches(issue, w.repo("acme", "app").issue(1), 1)
    assert issue["title"] == "Server crashes when the config file is missing"
    assert issue["milestone"] == {"id": issue["milestone"]["id"], "title": "v0.3.0", "state": "closed"}
    assert issue["html_url"].endswith("/acme/app/issues/1")
    assert a.data["truncated"] is False


def check_list_pull_requests(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    pulls = {n: i for n, i in app.numbered() if "pull" in i}
    assert set(pulls) == {3, 6, 7, 11}
    items = by(a.data["items"], "number")
    assert set(items) == set(pulls)
    for n, spec in pulls.items():
        pr = items[n]
        assert pr["title"] == spec["title"] and pr["body"] == spec.get("body", "")
        assert (pr["head"]["ref"], pr["base"]["ref"]) == (spec["pull"]["head"], spec["pull"]["base"])
        assert pr["head"]["sha"] == w.branch_sha("acme", "app", spec["pull"]["head"])
        assert pr["draft"] is spec["pull"].get("draft", False)
        assert pr["merged"] is ("merged" in spec["pull"])
        assert pr["labels"] == spec.get("labels", [])
        assert pr["state"] == spec.get("state", "open")
    assert items[3]["merged_at"] == iso(app.issue(3)["pull"]["merged"]["at"])
    assert a.data["total_count"] == 4


def pr6_changes(w: World) -> dict[str, tuple[str, int, int]]:
    """filename -> (status, additions, deletions) of PR #6 (feature/search onto main), from the seed."""
    app = w.repo("acme", "app")
    base, head = app.snapshot("c8"), app.snapshot("s2")
    changes = {}
    for path in sorted(set(base) | set(head)):
        if base.get(path) == head.get(path):
            continue
        old = base[path].text.splitlines() if path in base else []
        new = head[path].text.splitlines() if path in head else []
        if old == new:
            continue
        # Every change of this PR appends lines, so the counts need no diff algorithm.
        assert new[: len(old)] == old, path
        changes[path] = ("added" if path not in base else "changed", len(new) - len(old), 0)
    return changes


def check_get_pull_request(a: Answer, w: World) -> None:
    pr, spec = a.data["pull_request"], w.repo("acme", "app").issue(6)
    assert (pr["number"], pr["title"], pr["body"], pr["author"]) == (6, spec["title"], spec["body"], "alice")
    assert (pr["head"]["ref"], pr["base"]["ref"]) == ("feature/search", "main")
    assert pr["head"]["sha"] == w.branch_sha("acme", "app", "feature/search")
    assert pr["base"]["repository"] == pr["head"]["repository"] == "acme/app"
    assert (pr["state"], pr["merged"], pr["draft"]) == ("open", False, False)
    assert pr["labels"] == ["enhancement"] and pr["assignees"] == ["bob"]
    assert pr["milestone"]["title"] == "v0.4.0" and pr["comments"] == 2
    changes = pr6_changes(w)
    assert pr["changed_files"] == len(changes) == 5
    assert pr["additions"] == sum(c[1] for c in changes.values()) == 39
    assert pr["deletions"] == 0
    assert pr["html_url"].endswith("/acme/app/pulls/6")


def check_list_labels(a: Answer, w: World) -> None:
    got = {(l["name"], l["color"], l["description"], l["exclusive"]) for l in a.data["items"]}
    want = {
        (l["name"], l["color"], l.get("description", ""), l.get("exclusive", False))
        for l in w.repo("acme", "app")["labels"]
    }
    assert got == want and len(a.data["items"]) == 8 == a.data["total_count"]


def check_list_tags(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    tags = by(a.data["items"], "name")
    assert set(tags) == {t["name"] for t in app["tags"]}
    for t in app["tags"]:
        assert tags[t["name"]]["commit_sha"] == w.sha("acme", "app", t["commit"]), t["name"]
        # annotated tags carry their message; a lightweight one shows its commit's
        want = t.get("message") or first_line(app.commits[t["commit"]]["message"])
        assert tags[t["name"]]["message"].strip() == want, t["name"]
    assert tags["v0.3.1-rc.1"]["commit_sha"] == w.branch_sha("acme", "app", "main")


def check_list_releases(a: Answer, w: World) -> None:
    specs = sorted(w.repo("acme", "app")["releases"], key=lambda r: r["created"], reverse=True)
    assert [r["tag_name"] for r in a.data["items"]] == [s["tag"] for s in specs]
    for r, s in zip(a.data["items"], specs):
        assert (r["name"], r["body"], r["author"]) == (s["name"], s["body"], s["author"])
        assert (r["draft"], r["prerelease"]) == (s.get("draft", False), s.get("prerelease", False))
        assert r["created_at"] == iso(s["created"])
    assert a.data["items"][0]["draft"] is True  # bob has write access: he sees the draft
    assert a.data["items"][0]["target_commitish"] == "feature/search"


def check_list_pull_request_files(a: Answer, w: World) -> None:
    got = {f["filename"]: (f["status"], f["additions"], f["deletions"]) for f in a.data["items"]}
    assert got == pr6_changes(w)
    assert {f["filename"] for f in a.data["items"]} >= {"src/search.rs", "tests/search.rs"}
    assert all(f["changes"] == f["additions"] + f["deletions"] for f in a.data["items"])


def check_list_pull_request_commits(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    assert [c["sha"] for c in a.data["items"]] == [w.sha("acme", "app", c) for c in ("s2", "s1")]
    assert [c["message"].strip() for c in a.data["items"]] == [
        app.commits[c]["message"].strip() for c in ("s2", "s1")
    ]
    assert a.data["items"][0]["sha"] == w.branch_sha("acme", "app", "feature/search")
    assert {c["author_login"] for c in a.data["items"]} == {"alice"}
    assert a.data["total_count"] == 2


def check_list_issue_comments(a: Answer, w: World) -> None:
    spec = w.repo("acme", "app").issue(4)["comments"]
    assert [(c["author"], c["body"], c["created_at"]) for c in a.data["items"]] == [
        (c["author"], c["body"], iso(c["created"])) for c in spec
    ]
    assert a.data["items"][2]["body"] == "Please return Retry-After on 429."
    assert a.data["total_count"] == 3 and a.data["has_more"] is False


def check_list_branches(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    branches = by(a.data["items"], "name")
    assert set(branches) == set(app["branches"])
    for name, cid in app["branches"].items():
        assert branches[name]["commit_sha"] == w.sha("acme", "app", cid), name
        assert branches[name]["commit_message"].strip() == app.commits[cid]["message"].strip(), name
        assert branches[name]["protected"] is False


def check_get_branch(a: Answer, w: World) -> None:
    b = a.data["branch"]
    assert b["name"] == "feature/login"
    assert b["commit_sha"] == w.branch_sha("acme", "app", "feature/login")
    assert b["commit_message"] == "Add login handler\n" and b["protected"] is False


def check_get_release(a: Answer, w: World) -> None:
    r = a.data["release"]
    spec = next(s for s in w.repo("acme", "app")["releases"] if s["tag"] == "v0.3.1-rc.1")
    assert (r["tag_name"], r["name"], r["body"]) == ("v0.3.1-rc.1", spec["name"], spec["body"])
    assert (r["prerelease"], r["draft"], r["author"]) == (True, False, "bob")
    assert r["id"] == w.release_id("acme", "app", "v0.3.1-rc.1")
    assert a.data["truncated"] is False


def check_get_latest_release(a: Answer, w: World) -> None:
    # the newest release that is neither a draft nor a pre-release
    published = [s for s in w.repo("acme", "app")["releases"] if not s.get("draft") and not s.get("prerelease")]
    newest = max(published, key=lambda s: s["created"])
    r = a.data["release"]
    assert (r["tag_name"], r["name"], r["body"]) == ("v0.3.0", newest["name"], newest["body"])
    assert newest["tag"] == "v0.3.0"
    assert (r["draft"], r["prerelease"]) == (False, False)


def check_list_milestones(a: Answer, w: World) -> None:
    app = w.repo("acme", "app")
    got = by(a.data["items"], "title")
    assert set(got) == {m["title"] for m in app["milestones"]}
    for m in app["milestones"]:
        g = got[m["title"]]
        mine = [i for _, i in app.numbered() if i.get("milestone") == m["title"]]
        assert g["description"] == m["description"]
        assert g["state"] == m.get("state", "open")
        assert g.get("due_on") == (iso(m["due_on"]) if "due_on" in m else None)
        assert g["open_issues"] == sum(i.get("state", "open") == "open" for i in mine), m["title"]
        assert g["closed_issues"] == sum(i.get("state") == "closed" for i in mine), m["title"]
    assert (got["v0.4.0"]["open_issues"], got["v0.3.0"]["closed_issues"]) == (3, 2)


def check_get_commit_status(a: Answer, w: World) -> None:
    status = a.data["status"]
    assert status["sha"] == w.branch_sha("acme", "app", "main")
    # the newest status per context of c8: ci/test went pending -> success
    latest: dict[str, dict[str, Any]] = {}
    for s in sorted(w.repo("acme", "app")["statuses"], key=lambda s: s["created"]):
        if s["commit"] == "c8":
            latest[s["context"]] = s
    got = {s["context"]: s for s in status["statuses"]}
    assert set(got) == set(latest) == {"ci/build", "ci/test"}
    for ctx, s in latest.items():
        assert (got[ctx]["status"], got[ctx]["description"], got[ctx]["target_url"]) == (
            s["state"], s["description"], s["target_url"]
        )
    assert got["ci/test"]["description"] == "142 tests passed"
    assert status["state"] == "success" and status["total_count"] == 2


def check_get_commit_status_failure(a: Answer, w: World) -> None:
    status = a.data["status"]
    assert status["sha"] == w.branch_sha("acme", "app", "feature/search")
    assert status["state"] == "failure"
    assert {s["context"]: s["status"] for s in status["statuses"]} == {"ci/build": "success", "ci/test": "failure"}


def check_list_org_repositories(a: Answer, w: World) -> None:
    repos = by(a.data["items"], "full_name")
    assert set(repos) == set(w.org_repo_names["acme"])
    assert len(repos) == a.data["total_count"] == 38 and a.data["has_more"] is False
    assert repos["acme/secrets-vault"]["private"] is True
    assert repos["acme/secrets-vault"]["description"] == "Encrypted deployment secrets (SOPS)"


def check_list_organizations(a: Answer, w: World) -> None:
    org = next(o for o in w.seed.doc["orgs"] if o["name"] == "acme")
    assert [o["name"] for o in a.data["items"]] == ["acme"]
    got = a.data["items"][0]
    assert (got["full_name"], got["description"], got["website"]) == (
        org["full_name"], org["description"], org["website"]
    )
    assert a.data["total_count"] == 1


def check_get_repo_languages(a: Answer, w: World) -> None:
    files = w.repo("acme", "app").snapshot("c8")
    rust = sum(len(b.data) for p, b in files.items() if p.endswith(".rs"))
    shell = sum(len(b.data) for p, b in files.items() if p.endswith(".sh"))
    assert [(l["name"], l["bytes"]) for l in a.data["languages"]] == [("Rust", rust), ("Shell", shell)]
    assert a.data["total_bytes"] == rust + shell
    assert [l["percent"] for l in a.data["languages"]] == [
        round(rust * 100 / (rust + shell), 1), round(shell * 100 / (rust + shell), 1)
    ]
    assert {l["name"]: l["bytes"] for l in a.data["languages"]} == w.api("/repos/acme/app/languages")


def check_list_repo_topics(a: Answer, w: World) -> None:
    assert a.data["topics"] == w.repo("acme", "app")["topics"] == ["rust", "web", "api", "gitea"]


def check_list_repo_topics_private(a: Answer, w: World) -> None:
    assert a.data["topics"] == w.repo("acme", "secrets-vault")["topics"] == ["secrets", "sops"]


CASES = [
    Case("list_repositories", "list_repositories", {}, check_list_repositories),
    Case("get_repository_info", "get_repository_info", {"owner": "bob", "repo": "playground"}, check_get_repository_info),
    Case("get_repository_info-empty", "get_repository_info", {"owner": "acme", "repo": "new-service"}, check_get_repository_info_empty),
    Case("get_file_tree", "get_file_tree", {"owner": "bob", "repo": "playground", "ref": "experiment"}, check_get_file_tree),
    Case("get_file_tree-recursive", "get_file_tree", {**APP, "ref": "feature/search", "recursive": True}, check_get_file_tree_recursive),
    Case("get_file_contents", "get_file_contents", {"owner": "bob", "repo": "playground", "filepath": "run.sh"}, check_get_file_contents),
    Case("get_file_contents-ref", "get_file_contents", {"owner": "bob", "repo": "playground", "filepath": "hello.py", "ref": "experiment"}, check_get_file_contents_at_ref),
    Case("search_code", "search_code", {**APP, "query": "CHECK_PASSWORD"}, check_search_code),
    Case("search_code-bound", "search_code", {**APP, "query": "record", "limit": 50}, check_search_code_bound),
    Case("list_commits", "list_commits", {**APP, "ref": "feature/login"}, check_list_commits),
    Case("get_commit_diff", "get_commit_diff", {**APP, "sha": "fix/readme-typo"}, check_get_commit_diff),
    Case("get_commit_diff-bound", "get_commit_diff", lambda w: {**APP, "sha": w.sha("acme", "app", "c4")}, check_get_commit_diff_bound),
    Case("compare_refs", "compare_refs", {**APP, "base": "v0.1.0", "head": "v0.2.0"}, check_compare_refs),
    Case("list_issues", "list_issues", {**APP, "state": "closed"}, check_list_issues),
    Case("list_issues-label", "list_issues", {**APP, "state": "all", "labels": ["documentation"]}, check_list_issues_by_label),
    Case("get_issue", "get_issue", {**APP, "issue_number": 1}, check_get_issue),
    Case("list_pull_requests", "list_pull_requests", {**APP, "state": "all"}, check_list_pull_requests),
    Case("get_pull_request", "get_pull_request", {**APP, "pull_number": 6}, check_get_pull_request),
    Case("list_labels", "list_labels", APP, check_list_labels),
    Case("list_tags", "list_tags", APP, check_list_tags),
    Case("list_releases", "list_releases", APP, check_list_releases),
    Case("list_pull_request_files", "list_pull_request_files", {**APP, "pull_number": 6}, check_list_pull_request_files),
    Case("list_pull_request_commits", "list_pull_request_commits", {**APP, "pull_number": 6}, check_list_pull_request_commits),
    Case("list_issue_comments", "list_issue_comments", {**APP, "issue_number": 4}, check_list_issue_comments),
    Case("list_branches", "list_branches", APP, check_list_branches),
    Case("get_branch", "get_branch", {**APP, "branch": "feature/login"}, check_get_branch),
    Case("get_release", "get_release", lambda w: {**APP, "release_id": w.release_id("acme", "app", "v0.3.1-rc.1")}, check_get_release),
    Case("get_latest_release", "get_latest_release", APP, check_get_latest_release),
    Case("list_milestones", "list_milestones", {**APP, "state": "all"}, check_list_milestones),
    Case("get_commit_status", "get_commit_status", {**APP, "sha": "main"}, check_get_commit_status),
    Case("get_commit_status-failure", "get_commit_status", {**APP, "sha": "feature/search"}, check_get_commit_status_failure),
    Case("list_org_repositories", "list_org_repositories", {"org": "acme", "limit": 50}, check_list_org_repositories),
    Case("list_organizations", "list_organizations", {}, check_list_organizations),
    Case("get_repo_languages", "get_repo_languages", APP, check_get_repo_languages),
    Case("list_repo_topics", "list_repo_topics", APP, check_list_repo_topics),
    Case("list_repo_topics-private", "list_repo_topics", {"owner": "acme", "repo": "secrets-vault"}, check_list_repo_topics_private),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_read_tool(case, session, tools, world):
    result = await session.call_tool(case.tool, case.args(world))
    data = check_result(result, tools[case.tool])
    case.check(Answer(data, text_of(result)), world)


# ---- tools/list ----------------------------------------------------------------------


async def test_every_listed_tool_has_a_case(tools):
    covered = {c.tool for c in CASES} | {w.tool for w in WALKS}
    missing = sorted(set(tools) - covered)
    assert not missing, f"tools without an interop case in {__name__}: {missing}"
    assert covered <= set(tools), f"cases for tools the gateway does not offer: {sorted(covered - set(tools))}"


async def test_tools_list_offers_exactly_the_read_tools_without_write_mode(shim, session):
    assert shim.env.get("WRITE_MODE", "false") == "false"
    listed = await session.list_tools()
    assert listed.next_cursor is None
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == set(READ_TOOL_ARGS), sorted(set(tools) ^ set(READ_TOOL_ARGS))
    assert not WRITE_TOOLS & set(tools)
    for name, tool in tools.items():
        schema = tool.input_schema
        assert schema.get("type") == "object", name
        assert schema.get("additionalProperties") is False, f"{name} accepts unknown arguments"
        required, optional = READ_TOOL_ARGS[name]
        assert set(schema.get("properties", {})) == required | optional, name
        assert set(schema.get("required", [])) == required, name
        assert tool.output_schema is not None and tool.output_schema.get("type") == "object", name
        jsonschema.validators.validator_for(tool.output_schema).check_schema(tool.output_schema)
        ann = tool.annotations
        assert ann is not None, f"{name} has no annotations"
        assert ann.read_only_hint is True, name
        assert ann.open_world_hint is True, name
        assert ann.destructive_hint is not True, name
        assert tool.description and (getattr(tool, "title", None) or ann.title), name
    # The public listing describes the same tools.
    public = httpx2.get(f"{shim.url}/mcp/tools", timeout=10).json()["tools"]
    assert sorted(t["name"] for t in public) == sorted(tools)


async def test_write_tools_are_neither_listed_nor_callable_without_write_mode(session):
    with pytest.raises(MCPError) as info:
        await session.call_tool("create_issue", {"owner": "bob", "repo": "playground", "title": "x"})
    assert info.value.code == INVALID_PARAMS


async def test_write_mode_adds_exactly_the_write_tools(write_shim):
    async with handshake_session(write_shim.mcp_url, write_shim.api_key) as (session, _):
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == set(READ_TOOL_ARGS) | WRITE_TOOLS
    for name in WRITE_TOOLS:
        assert tools[name].annotations.read_only_hint is False, name


# ---- pagination: every paginated tool, walked to its last page -----------------------


@dataclass
class Walk:
    id: str
    tool: str
    arguments: dict[str, Any]
    limit: int
    key: Callable[[dict[str, Any]], Any]
    expected: Callable[[World], list[Any]]
    items: str = "items"
    total: str = "total_count"


def _app(w: World):
    return w.repo("acme", "app")


def _search_fn(w: World) -> list[Any]:
    """(path, line) of every line on main containing `fn`, as search_code must order them."""
    files = _app(w).snapshot("c8")
    return [
        (path, n)
        for path in sorted(files)
        if not path.endswith(".png")
        for n, line in enumerate(files[path].text.splitlines(), start=1)
        if "fn" in line.lower()
    ]


WALKS = [
    Walk("list_org_repositories", "list_org_repositories", {"org": "acme"}, 10,
         lambda r: r["full_name"], lambda w: w.org_repo_names["acme"]),
    Walk("list_commits", "list_commits", APP, 2, lambda c: c["message"].strip(),
         lambda w: [_app(w).commits[c]["message"].strip() for c in _app(w).ancestors("c8")]),
    Walk("list_issues", "list_issues", {**APP, "state": "all"}, 3, lambda i: i["number"],
         lambda w: [n for n, i in _app(w).numbered() if "pull" not in i]),
    Walk("list_pull_requests", "list_pull_requests", {**APP, "state": "all"}, 3, lambda p: p["number"],
         lambda w: [n for n, i in _app(w).numbered() if "pull" in i]),
    Walk("list_issue_comments", "list_issue_comments", {**APP, "issue_number": 4}, 2, lambda c: c["body"],
         lambda w: [c["body"] for c in _app(w).issue(4)["comments"]]),
    Walk("list_labels", "list_labels", APP, 3, lambda l: l["name"],
         lambda w: [l["name"] for l in _app(w)["labels"]]),
    Walk("list_tags", "list_tags", APP, 3, lambda t: t["name"], lambda w: [t["name"] for t in _app(w)["tags"]]),
    Walk("list_branches", "list_branches", APP, 2, lambda b: b["name"], lambda w: list(_app(w)["branches"])),
    Walk("list_releases", "list_releases", APP, 2, lambda r: r["tag_name"],
         lambda w: [r["tag"] for r in _app(w)["releases"]]),
    Walk("list_milestones", "list_milestones", {**APP, "state": "all"}, 2, lambda m: m["title"],
         lambda w: [m["title"] for m in _app(w)["milestones"]]),
    Walk("list_pull_request_files", "list_pull_request_files", {**APP, "pull_number": 6}, 2,
         lambda f: f["filename"], lambda w: list(pr6_changes(w))),
    Walk("list_pull_request_commits", "list_pull_request_commits", {**APP, "pull_number": 6}, 1,
         lambda c: c["message"].strip(), lambda w: [_app(w).commits[c]["message"].strip() for c in ("s1", "s2")]),
    Walk("list_organizations", "list_organizations", {}, 1, lambda o: o["name"], lambda w: ["acme"]),
    Walk("search_code", "search_code", {**APP, "query": "fn"}, 4, lambda m: (m["path"], m["line_number"]),
         _search_fn, items="matches", total="total_matches"),
]


async def walk(session, tool: types.Tool, arguments: dict[str, Any], limit: int,
               items: str = "items", total: str = "total_count", full_pages: bool = True):
    """Pages through `tool` from page 1, following `next_page` until `has_more` is false."""
    pages, page = [], 1
    while True:
        result = await session.call_tool(tool.name, {**arguments, "page": page, "limit": limit})
        data = check_result(result, tool)
        pages.append(data)
        assert data["page"] == page, data
        assert len(data[items]) <= limit
        if not data["has_more"]:
            assert data.get("next_page") is None, data
            break
        if full_pages:
            assert len(data[items]) == limit, f"page {page} is short but has_more is true"
        assert data["next_page"] > page, data
        page = data["next_page"]
        assert len(pages) <= 200, "the walk does not end"
    assert len({p[total] for p in pages}) == 1, "the total changed between pages"
    return pages, [item for p in pages for item in p[items]]


@pytest.mark.parametrize("spec", WALKS, ids=[w.id for w in WALKS])
async def test_paginated_walk_reaches_every_item_once(spec, session, tools, world):
    pages, items = await walk(session, tools[spec.tool], spec.arguments, spec.limit, spec.items, spec.total)
    keys = [spec.key(i) for i in items]
    expected = spec.expected(world)
    assert len(keys) == len(set(keys)), f"duplicates across pages: {keys}"
    assert set(keys) == set(expected)
    assert len(keys) == pages[-1][spec.total] == len(expected)
    assert len(pages) == -(-len(expected) // spec.limit)  # ceil: no empty trailing page
    assert all(p["limit"] == spec.limit for p in pages)
    if spec.tool == "search_code":
        assert keys == expected  # path order, then line order


async def test_org_repositories_walk_to_the_last_page(session, tools, world):
    """The walk of issue 3: acme's 38 repositories, 10 a page, following `next_page`."""
    pages, items = await walk(session, tools["list_org_repositories"], {"org": "acme"}, 10)
    assert [len(p["items"]) for p in pages] == [10, 10, 10, 8]
    assert [(p["page"], p["has_more"], p.get("next_page")) for p in pages] == [
        (1, True, 2), (2, True, 3), (3, True, 4), (4, False, None)
    ]
    names = [r["full_name"] for r in items]
    assert len(names) == len(set(names)) == 38
    assert set(names) == set(world.org_repo_names["acme"])
    assert all(p["total_count"] == 38 and p["truncated"] is False for p in pages)
    # the same repositories as one page of 50 (Gitea's maximum), in the same order
    one = check_result(
        await session.call_tool("list_org_repositories", {"org": "acme", "limit": 50}),
        tools["list_org_repositories"],
    )
    assert [r["full_name"] for r in one["items"]] == names


async def test_next_page_reaches_every_item_when_the_item_bound_cuts_a_page(items_shim, world):
    """MAX_TOOL_RESPONSE_ITEMS below the page size must not make items unreachable.

    A page cut to the item bound says so, and following `next_page` with the same arguments
    must still reach every repository exactly once.
    """
    # Collect inside the session, assert outside it: a failed assertion inside would reach
    # pytest wrapped in the SDK's task-group exception group.
    async with handshake_session(items_shim.mcp_url, items_shim.api_key) as (session, _):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        pages, items = await walk(
            session, tools["list_org_repositories"], {"org": "acme"}, 50, full_pages=False
        )
        repos = check_result(await session.call_tool("list_repositories", {}), tools["list_repositories"])
    for p in pages:
        assert len(p["items"]) <= ITEMS_BOUND
        if p["has_more"]:
            assert p["truncated"] is True and "MAX_TOOL_RESPONSE_ITEMS" in p["notice"], p
    names = [r["full_name"] for r in items]
    assert len(names) == len(set(names)), "duplicates across pages"
    assert set(names) == set(world.org_repo_names["acme"]), (
        f"{len(set(names))} of 38 repositories reached; (page, items, next_page): "
        f"{[(p['page'], len(p['items']), p.get('next_page')) for p in pages]}"
    )

    # list_repositories is not paginated: it is cut with a notice naming the bound
    assert len(repos["repositories"]) == ITEMS_BOUND and repos["total_count"] == 39
    assert repos["truncated"] is True and "MAX_TOOL_RESPONSE_ITEMS" in repos["notice"]


# ---- filters and who asks -------------------------------------------------------------


@pytest.mark.parametrize(
    "labels", [["bug", "priority/high"], ["bug", "no-such-label"], ["no-such-label"]],
    ids=["known", "known-and-unknown", "unknown"],
)
async def test_list_issues_lists_only_issues_with_every_label(labels, session, tools, world):
    """The tool's contract: "an issue must carry all of them". An unknown label cannot be
    carried by any issue, so the answer is no issue, or a tool error naming that label."""
    result = await session.call_tool("list_issues", {**APP, "state": "all", "labels": labels})
    unknown = [l for l in labels if l == "no-such-label"]
    if result.is_error:
        assert unknown and "no-such-label" in text_of(result), text_of(result)
        return
    data = check_result(result, tools["list_issues"])
    wrong = [(i["number"], i["labels"]) for i in data["items"] if not set(labels) <= set(i["labels"])]
    assert not wrong, f"labels={labels} listed issues without every label: {wrong}"
    expected = {
        n for n, i in world.repo("acme", "app").numbered()
        if "pull" not in i and set(labels) <= set(i.get("labels", []))
    }
    assert {i["number"] for i in data["items"]} == expected
    if not unknown:
        assert expected == {8}


async def test_outsider_token_sees_only_what_gitea_shows_an_outsider(outsider_shim, seed, sim):
    """Carol's token: no organization, no private repository, no draft release."""
    w = World(seed, sim, "carol")
    async with handshake_session(outsider_shim.mcp_url, outsider_shim.api_key) as (session, _):
        tools = {t.name: t for t in (await session.list_tools()).tools}

        async def call(name, args):
            return check_result(await session.call_tool(name, args), tools[name])

        orgs = await call("list_organizations", {})
        repos = await call("list_repositories", {})
        _, org_repos = await walk(session, tools["list_org_repositories"], {"org": "acme"}, 20)
        releases = await call("list_releases", APP)
        hidden = await session.call_tool("get_repository_info", {"owner": "acme", "repo": "secrets-vault"})
    assert orgs["items"] == [] and orgs["total_count"] == 0
    assert [r["full_name"] for r in repos["repositories"]] == ["carol/dotfiles"]
    assert {r["full_name"] for r in org_repos} == set(w.org_repo_names["acme"]) - {"acme/secrets-vault"}
    assert [r["tag_name"] for r in releases["items"]] == [
        r["tag"] for r in sorted(w.repo("acme", "app")["releases"], key=lambda r: r["created"], reverse=True)
        if not r.get("draft")
    ]
    assert hidden.is_error is True and "not found" in text_of(hidden)


# ---- answers that must say what is wrong ----------------------------------------------


async def test_an_empty_repository_reads_as_empty(session, tools):
    """acme/new-service has no commit: listing or searching it is an empty answer, or an error
    that says the repository is empty (not an upstream message about a missing sha)."""
    calls = [
        ("get_file_tree", {"owner": "acme", "repo": "new-service"}, "entries"),
        ("search_code", {"owner": "acme", "repo": "new-service", "query": "readme"}, "matches"),
        ("list_commits", {"owner": "acme", "repo": "new-service"}, "items"),
    ]
    answers = [(name, args, key, await session.call_tool(name, args)) for name, args, key in calls]
    wrong = []
    for name, args, key, result in answers:
        if result.is_error:
            if "empty" not in text_of(result).lower():
                wrong.append(f"{name}({json.dumps(args)}) -> error {text_of(result)!r}")
        elif check_result(result, tools[name])[key]:
            wrong.append(f"{name}({json.dumps(args)}) -> items in an empty repository")
    assert not wrong, "\n".join(wrong)


async def test_commit_status_of_an_unknown_ref_is_an_error(session):
    """An unknown ref must not read as "a commit without CI statuses": the swagger documents 404
    for this route, and whichever side answers an empty status, the tool must tell the two apart."""
    result = await session.call_tool("get_commit_status", {**APP, "sha": "no-such-ref"})
    assert result.is_error is True, f"answered as a status: {result.structured_content}"
    assert "no-such-ref" in text_of(result)

"""`tools/call` of every read tool through the SDK, checked against the simulator's data.

Expected values come from two independent sources: the demo seed file itself (texts written
by named seed commits) and the simulator's Gitea API answered for the same service token.
"""

from __future__ import annotations

import base64
import json

import pytest

from conftest import SERVICE_USER, SMALL_MAX_CHARS
from support import check_success, handshake_session, text_data, text_of, without_empty

pytestmark = pytest.mark.anyio


@pytest.fixture
async def session(shim):
    async with handshake_session(shim.mcp_url, shim.api_key) as (session, _):
        yield session


@pytest.fixture
async def tools(session):
    return {t.name: t for t in (await session.list_tools()).tools}


async def call(session, tools, name, arguments):
    result = await session.call_tool(name, arguments)
    return result, check_success(result, tools[name])


def all_pages(sim, path, token, per_page=50):
    items, page = [], 1
    while True:
        batch = sim.api(path, token, page=page, limit=per_page)
        items.extend(batch)
        if len(batch) < per_page:
            return items
        page += 1


# ---- list_repositories ---------------------------------------------------------------


async def test_list_repositories_matches_gitea(session, tools, sim, seed):
    result, data = await call(session, tools, "list_repositories", {})
    names = [r["full_name"] for r in data["repositories"]]
    truth = [r["full_name"] for r in all_pages(sim, "/user/repos", seed.token(SERVICE_USER))]
    assert names == truth
    assert data["total_count"] == len(truth)
    assert data["truncated"] is False
    # bob: owner of bob/playground, member of acme, collaborator on the private acme/secrets-vault
    for expected in ("acme/app", "acme/secrets-vault", "bob/playground", "acme/svc-01"):
        assert expected in names
    assert "alice/notes" not in names
    vault = next(r for r in data["repositories"] if r["full_name"] == "acme/secrets-vault")
    assert vault["private"] is True
    # The text block is the same document.
    assert text_data(result) == without_empty(data)


# ---- get_repository_info -------------------------------------------------------------


async def test_get_repository_info_matches_seed_and_gitea(session, tools, sim, seed):
    result, data = await call(session, tools, "get_repository_info", {"owner": "acme", "repo": "app"})
    repo = data["repository"]
    spec = seed.repo("acme", "app")
    assert repo["full_name"] == "acme/app"
    assert repo["owner"] == "acme" and repo["name"] == "app"
    assert repo["description"] == spec["description"]
    assert repo["topics"] == spec["topics"]
    assert repo["stars_count"] == spec["stars"]
    assert repo["default_branch"] == "main"
    assert repo["private"] is False
    truth = sim.api("/repos/acme/app", seed.token(SERVICE_USER))
    for key in (
        "description", "private", "fork", "archived", "empty", "default_branch", "html_url",
        "clone_url", "stars_count", "forks_count", "open_issues_count", "open_pr_counter",
        "release_counter", "size",
    ):
        assert repo[key] == truth[key], key
    assert text_data(result) == without_empty(data)


async def test_get_repository_info_of_a_private_repository_the_token_can_see(session, tools):
    _, data = await call(session, tools, "get_repository_info", {"owner": "acme", "repo": "secrets-vault"})
    assert data["repository"]["private"] is True
    assert data["repository"]["description"] == "Encrypted deployment secrets (SOPS)"


async def test_the_service_token_is_used_upstream_never_the_api_key(shim, session, tools, sim):
    sim_requests_before = len(sim.get("/_sim/requests").json())
    await call(session, tools, "get_repository_info", {"owner": "bob", "repo": "playground"})
    new = sim.get("/_sim/requests").json()[sim_requests_before:]
    mine = [r for r in new if r["path"] == "/api/v1/repos/bob/playground"]
    assert mine, new
    assert all(r["user"] == SERVICE_USER and r["status"] == 200 for r in mine), mine


# ---- get_file_tree -------------------------------------------------------------------


async def test_get_file_tree_top_level(session, tools, sim, seed):
    result, data = await call(session, tools, "get_file_tree", {"owner": "acme", "repo": "app"})
    assert data["ref"] == "main"
    assert data["recursive"] is False
    entries = {e["path"]: e["type"] for e in data["entries"]}
    assert entries == {
        ".gitea": "tree", ".gitignore": "blob", "Cargo.toml": "blob", "LICENSE": "blob",
        "README.md": "blob", "assets": "tree", "docs": "tree", "scripts": "tree", "src": "tree",
        "tests": "tree",
    }
    truth = sim.api("/repos/acme/app/git/trees/main", seed.token(SERVICE_USER))
    assert data["sha"] == truth["sha"]
    assert sorted(entries) == sorted(e["path"] for e in truth["tree"])
    assert data["total_count"] == len(entries)
    assert data["truncated"] is False
    assert text_data(result) == without_empty(data)


async def test_get_file_tree_recursive(session, tools):
    _, data = await call(
        session, tools, "get_file_tree", {"owner": "acme", "repo": "app", "recursive": True}
    )
    paths = {e["path"] for e in data["entries"]}
    for expected in (
        "src/main.rs", "src/handlers/health.rs", "docs/guides/setup.md", "assets/logo.png",
        "tests/data/large-fixture.txt", ".gitea/workflows/ci.yml", "scripts/dev.sh",
    ):
        assert expected in paths, expected
    # Only what main holds: the search branch and the unmerged experiment are elsewhere.
    assert "src/search.rs" not in paths and "src/reload.rs" not in paths
    assert data["recursive"] is True
    assert data["total_count"] == len(data["entries"])
    blob = next(e for e in data["entries"] if e["path"] == "src/main.rs")
    assert blob["type"] == "blob" and blob["size"] > 0 and len(blob["sha"]) == 40


async def test_get_file_tree_at_a_branch(session, tools):
    _, data = await call(
        session,
        tools,
        "get_file_tree",
        {"owner": "acme", "repo": "app", "ref": "feature/search", "recursive": True},
    )
    assert data["ref"] == "feature/search"
    paths = {e["path"] for e in data["entries"]}
    assert {"src/search.rs", "src/handlers/search.rs", "tests/search.rs"} <= paths


# ---- get_file_contents ---------------------------------------------------------------


async def test_get_file_contents_text_file(session, tools, seed):
    result, data = await call(
        session, tools, "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "README.md"}
    )
    readme = seed.file_text("acme", "app", "c1", "README.md")
    assert data["kind"] == "text"
    assert data["path"] == "README.md"
    assert data["content"] == readme
    assert data["size"] == len(readme.encode())
    assert data["truncated"] is False
    text = text_of(result)
    assert "README.md" in text and text.endswith(readme)


async def test_get_file_contents_at_a_ref(session, tools, seed):
    _, data = await call(
        session,
        tools,
        "get_file_contents",
        {"owner": "acme", "repo": "app", "filepath": "README.md", "ref": "fix/readme-typo"},
    )
    assert data["content"] == seed.file_text("acme", "app", "t1", "README.md")
    assert "cargo install --locked --path ." in data["content"]


async def test_get_file_contents_nested_path_in_a_private_repository(session, tools, seed):
    _, data = await call(
        session,
        tools,
        "get_file_contents",
        {"owner": "acme", "repo": "secrets-vault", "filepath": "secrets/staging.env.enc"},
    )
    assert data["kind"] == "text"
    assert data["content"] == seed.file_text("acme", "secrets-vault", "v2", "secrets/staging.env.enc")


async def test_get_file_contents_binary_file_is_reported_not_dumped(session, tools, seed):
    result, data = await call(
        session, tools, "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "assets/logo.png"}
    )
    spec = next(c for c in seed.repo("acme", "app")["commits"] if c["id"] == "c3")["files"]["assets/logo.png"]
    png = base64.b64decode(spec["base64"])
    assert data["kind"] == "binary"
    assert data["size"] == len(png)
    assert "content" not in data or data["content"] is None
    text = text_of(result)
    assert spec["base64"] not in text and "PNG" not in text


async def test_get_file_contents_directory_lists_it(session, tools):
    _, data = await call(
        session, tools, "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "docs"}
    )
    assert data["kind"] == "directory"
    assert {(e["name"], e["type"]) for e in data["entries"]} == {
        ("architecture.md", "file"),
        ("guides", "dir"),
        ("index.md", "symlink"),
    }


async def test_get_file_contents_symlink(session, tools):
    _, data = await call(
        session, tools, "get_file_contents", {"owner": "acme", "repo": "app", "filepath": "docs/index.md"}
    )
    assert data["kind"] == "other"


async def test_get_file_contents_large_file_is_cut_visibly(session, tools, sim, seed):
    result, data = await call(
        session,
        tools,
        "get_file_contents",
        {"owner": "acme", "repo": "app", "filepath": "tests/data/large-fixture.txt"},
    )
    raw = sim.api("/repos/acme/app/contents/tests/data/large-fixture.txt", seed.token(SERVICE_USER))
    full = base64.b64decode(raw["content"]).decode()
    assert len(full.splitlines()) == 1500
    assert data["kind"] == "text"
    assert data["size"] == len(full.encode())
    assert data["truncated"] is True
    assert "MAX_TOOL_RESPONSE_CHARS" in data["notice"]
    content = data["content"]
    assert 0 < len(content) <= 20000
    assert full.startswith(content) and content.endswith("\n")
    assert "[truncated:" in text_of(result)


async def test_small_response_limit_cuts_at_a_line_boundary(small_shim, shim, seed):
    config_rs = seed.file_text("acme", "app", "c8", "src/config.rs")
    readme = seed.file_text("acme", "app", "c1", "README.md")
    assert len(readme) < SMALL_MAX_CHARS < len(config_rs)
    args = {"owner": "acme", "repo": "app", "filepath": "src/config.rs"}

    async with handshake_session(small_shim.mcp_url, small_shim.api_key) as (small, _):
        tools = {t.name: t for t in (await small.list_tools()).tools}
        result, cut = await call(small, tools, "get_file_contents", args)
        assert cut["truncated"] is True
        assert "MAX_TOOL_RESPONSE_CHARS" in cut["notice"]
        content = cut["content"]
        assert len(content) <= SMALL_MAX_CHARS
        assert config_rs.startswith(content) and content.endswith("\n")
        # cut at the last line boundary before the limit, not earlier
        next_line_end = config_rs.index("\n", len(content)) + 1
        assert next_line_end > SMALL_MAX_CHARS
        assert "[truncated:" in text_of(result)

        _, whole = await call(small, tools, "get_file_contents", {**args, "filepath": "README.md"})
        assert whole["truncated"] is False and whole["content"] == readme

    # the default limit returns the same file whole
    async with handshake_session(shim.mcp_url, shim.api_key) as (default, _):
        tools = {t.name: t for t in (await default.list_tools()).tools}
        _, full = await call(default, tools, "get_file_contents", args)
        assert full["truncated"] is False and full["content"] == config_rs

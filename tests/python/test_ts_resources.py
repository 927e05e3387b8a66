"""Resources, completion and prompts through the official TypeScript SDK (issue 20).

`tests/clients/resources.mjs` drives `@modelcontextprotocol/sdk` (1.32.2, the client matrix's
package, pinned in tests/clients/package-lock.json and installed by `make client-deps`) under the
Node 22 of tests/clients/node_modules/node against the session's shim and a shim
whose policy denies `src/auth.rs` of acme/app, and prints what the SDK returned; the checks here
compare that with the demo seed: templates listed, a file and an issue with their exact content,
`repo` completed for owner `acme`, a path completed by prefix, every prompt with its embedded
resources, refusals as JSON-RPC errors the SDK raises (and the client still working after one),
the denied path neither readable nor offered.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from test_sdk_resources import ACCESS_DENIED, RESOURCE_NOT_FOUND, TEMPLATES, deny_shim  # noqa: F401
from test_sdk_resources import PROMPTS, issue_seed

TS_DIR = ROOT / "tests" / "clients"
NODE = TS_DIR / "node_modules" / "node" / "bin" / "node"


@pytest.fixture(scope="module")
def ts_run(shim, deny_shim):  # noqa: F811 (the imported fixture)
    if not NODE.is_file() or not (TS_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail("tests/clients/node_modules is missing: run `make client-deps`", pytrace=False)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "MCP_URL": shim.mcp_url,
        "MCP_API_KEY": shim.api_key,
        "DENY_MCP_URL": deny_shim.mcp_url,
        "DENY_MCP_API_KEY": deny_shim.api_key,
    }
    done = subprocess.run(
        [str(NODE), str(TS_DIR / "resources.mjs")], cwd=TS_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"resources.mjs failed ({done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout)


def test_ts_sdk_sees_the_capabilities_and_templates(ts_run):
    caps = ts_run["capabilities"]
    assert "resources" in caps and "prompts" in caps and "completions" in caps
    assert not caps["resources"].get("subscribe") and not caps["resources"].get("listChanged")
    assert {t["uriTemplate"] for t in ts_run["templates"]} == TEMPLATES


def test_ts_sdk_reads_a_file_and_an_issue_exactly(ts_run, seed):
    [file] = ts_run["file"]
    assert file["mimeType"] == "text/markdown"
    assert file["text"] == seed.file_text("acme", "app", "c1", "README.md")
    [issue] = ts_run["issue"]
    expected = issue_seed(seed, "acme", "app", 4)
    assert issue["text"].startswith(f"# Issue #4: {expected['title']}\n")
    assert expected["body"].rstrip("\n") in issue["text"]
    for comment in expected["comments"]:
        assert comment["body"] in issue["text"]


def test_ts_sdk_completes_repo_and_path(ts_run):
    assert {"app", "secrets-vault", "new-service"} <= set(ts_run["repoCompletion"]["values"])
    assert len(ts_run["repoCompletion"]["values"]) <= 100
    assert ts_run["pathCompletion"]["values"] == ["src/handlers/"]


def test_ts_sdk_gets_every_prompt(ts_run):
    assert {p["name"] for p in ts_run["prompts"]} == PROMPTS
    expected_uris = {
        "review_pull_request": ["gitea://acme/app/pulls/6", "gitea://acme/app/pulls/6/files"],
        "triage_open_issues": ["gitea://acme/app/issues?state=open"],
        "summarize_changes": ["gitea://acme/app/compare/main...feature%2Fsearch"],
        "draft_release_notes": ["gitea://acme/app/releases/latest", "gitea://acme/app/compare/v0.3.0...main"],
    }
    for name, result in ts_run["promptResults"].items():
        first, *rest = result["messages"]
        assert first["role"] == "user" and first["content"]["type"] == "text"
        assert "untrusted data" in first["content"]["text"]
        assert [m["content"]["resource"]["uri"] for m in rest] == expected_uris[name], name
        assert all(m["content"]["type"] == "resource" for m in rest)


def test_ts_sdk_refusals_and_the_denied_path(ts_run):
    assert ts_run["unknown"]["error"]["code"] == RESOURCE_NOT_FOUND
    assert ts_run["afterRefusal"] == len(TEMPLATES)
    denied = ts_run["denied"]["error"]
    assert denied["code"] == ACCESS_DENIED and "denied by policy" in denied["message"]
    values = ts_run["deniedCompletion"]["values"]
    assert "src/main.rs" in values and "src/auth.rs" not in values

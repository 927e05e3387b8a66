"""What the model reads: characters of each read tool's text content on the demo data.

Not a test (tests/python/test_model_output.py checks the bounds): the data behind the
"Model-visible output" table of `docs/tools.md`, and the before/after figures of issue 18.

    .venv/bin/python tests/python/model_chars.py --json after.json
    AEGIS_LOCAL_BIN=/path/to/old/aegis-local .venv/bin/python tests/python/model_chars.py --json before.json
    .venv/bin/python tests/python/model_chars.py --compare before.json after.json [--update docs/tools.md]

The "before" of docs/tools.md (indented JSON, commit 4306bfd) is kept in
tests/data/model-chars/before-indented-json.json, the "after" next to it.

It starts `gitea-sim` (demo seed) and `aegis-local` as the interop suite does, with the
default response bounds and alice's token (the one `make dev` uses), calls every read tool
once through the official SDK with one representative argument set on `acme/app` (derived
from the simulator: its first issue, pull request, release, the default branch's head, ...),
and records the text content's characters. For the same call it fetches again every Gitea
request the simulator logged and sums the raw JSON bodies' characters: the ratio says how
much of Gitea's own answer the model is made to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2  # noqa: E402
import yaml  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from conftest import GITEA_SIM_BIN, ROOT, SEED_PATH, Process, Seed, Sim, _base_env, start_shim  # noqa: E402
from support import READ_TOOL_ARGS, text_of  # noqa: E402
import mcp_types as types  # noqa: E402


def model_visible(result: types.CallToolResult) -> str:
    """Every text block as the model reads it: framing and notices included."""
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))

TOKEN_USER = "alice"
BEGIN, END = "<!-- model-chars:begin -->", "<!-- model-chars:end -->"


def representative_calls(sim: Sim, token: str) -> dict[str, dict[str, Any]]:
    """One argument set per read tool, on acme/app, from what the simulator holds."""
    base = {"owner": "acme", "repo": "app"}

    def api(path: str, **params: Any) -> Any:
        return sim.api(path, token, **params)

    repo = api("/repos/acme/app")
    issues = api("/repos/acme/app/issues", state="all", type="issues", limit=50)
    pulls = api("/repos/acme/app/pulls", state="all", limit=50)
    releases = api("/repos/acme/app/releases", limit=50)
    tags = api("/repos/acme/app/tags", limit=50)
    head = api(f"/repos/acme/app/branches/{repo['default_branch']}")["commit"]["id"]
    issue = next(i["number"] for i in issues if not i.get("pull_request"))
    commented = max(issues, key=lambda i: i.get("comments") or 0)["number"]
    return {
        "list_repositories": {},
        "get_repository_info": base,
        "get_file_tree": {**base, "recursive": True},
        "get_file_contents": {**base, "filepath": "README.md"},
        "search_code": {**base, "query": "config"},
        "list_commits": base,
        "get_commit_diff": {**base, "sha": head},
        "compare_refs": {**base, "base": tags[-1]["name"], "head": repo["default_branch"]},
        "list_issues": {**base, "state": "all"},
        "get_issue": {**base, "issue_number": issue},
        "list_pull_requests": {**base, "state": "all"},
        "get_pull_request": {**base, "pull_number": pulls[0]["number"]},
        "list_labels": base,
        "list_tags": base,
        "list_releases": base,
        "list_pull_request_files": {**base, "pull_number": pulls[0]["number"]},
        "list_pull_request_commits": {**base, "pull_number": pulls[0]["number"]},
        "list_issue_comments": {**base, "issue_number": commented},
        "list_branches": base,
        "get_branch": {**base, "branch": repo["default_branch"]},
        "get_release": {**base, "release_id": releases[0]["id"]},
        "get_latest_release": base,
        "list_milestones": {**base, "state": "all"},
        "get_commit_status": {**base, "sha": head},
        "list_org_repositories": {"org": "acme"},
        "list_organizations": {},
        "get_repo_languages": base,
        "list_repo_topics": base,
    }


def raw_gitea_chars(sim: Sim, token: str, requests: list[dict[str, Any]]) -> int:
    """Characters of the JSON bodies Gitea answered to the logged GET requests."""
    total = 0
    for r in requests:
        if r["method"] != "GET":
            continue
        url = f"{sim.url}{r['path']}" + (f"?{r['query']}" if r.get("query") else "")
        resp = httpx2.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
        total += len(resp.text)
    return total


async def measure() -> dict[str, dict[str, Any]]:
    seed = Seed(yaml.safe_load(SEED_PATH.read_text(encoding="utf-8")))
    tmp = Path(tempfile.mkdtemp(prefix="model-chars-"))
    (tmp / "sim").mkdir()
    (tmp / "shim").mkdir()
    sim_process = Process(
        "gitea-sim",
        [str(GITEA_SIM_BIN), "--seed", str(SEED_PATH), "--host", "127.0.0.1", "--port", "0"],
        env=_base_env(), cwd=tmp / "sim", log_dir=tmp / "sim",
    )
    sim = Sim(url=sim_process.wait_listening(), process=sim_process)
    token = seed.token(TOKEN_USER)
    shim = None
    out: dict[str, dict[str, Any]] = {}
    try:
        shim = start_shim("aegis-local", sim, seed, tmp / "shim", GITEA_TOKEN=token)
        calls = representative_calls(sim, token)
        headers = {"Authorization": f"Bearer {shim.api_key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http:
            async with streamable_http_client(shim.mcp_url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    for tool, arguments in calls.items():
                        httpx2.delete(f"{sim.url}/_sim/requests", timeout=10).raise_for_status()
                        result = await session.call_tool(tool, arguments)
                        requests = sim.get("/_sim/requests").json()
                        if result.is_error:
                            raise SystemExit(f"{tool} {arguments}: {text_of(result)}")
                        out[tool] = {
                            "arguments": arguments,
                            "text_chars": len(model_visible(result)),
                            "structured_chars": len(json.dumps(result.structured_content, separators=(",", ":"),
                                                               ensure_ascii=False)),
                            "gitea_chars": raw_gitea_chars(sim, token, requests),
                        }
    finally:
        if shim is not None:
            shim.process.stop()
        sim_process.stop()
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [
        "| tool | before (chars) | after (chars) | change | raw Gitea JSON (chars) | after / Gitea |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    changes = []
    for tool in READ_TOOL_ARGS:
        b, a = before[tool], after[tool]
        change = (a["text_chars"] - b["text_chars"]) / b["text_chars"] * 100
        changes.append(change)
        ratio = a["text_chars"] / a["gitea_chars"] if a["gitea_chars"] else float("nan")
        lines.append(
            f"| `{tool}` | {b['text_chars']:,} | {a['text_chars']:,} | {change:+.0f} % | "
            f"{a['gitea_chars']:,} | {ratio:.2f} |"
        )
    lines.append(
        f"| **median change** | | | **{statistics.median(changes):+.0f} %** | | |"
    )
    return "\n".join(lines)


def update(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="print the before/after table of two measurement files")
    parser.add_argument("--update", type=Path, metavar="MARKDOWN",
                        help=f"with --compare: replace the text between {BEGIN} and {END}")
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        block = compare(before, after)
        print(block)
        if args.update:
            update(args.update if args.update.is_absolute() else ROOT / args.update, block)
        return
    result = asyncio.run(measure())
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    for tool, m in result.items():
        print(f"{tool:28} text {m['text_chars']:>7,}  structured {m['structured_chars']:>7,}  gitea {m['gitea_chars']:>7,}")


if __name__ == "__main__":
    main()

"""Per read tool: the Gitea endpoints it calls and the largest answer the demo seed produces.

Not a test: the data behind the per-tool note of issue 3 and the table of `docs/tools.md`.

    .venv/bin/python tests/python/tool_sizes.py                     # print the Markdown table
    .venv/bin/python tests/python/tool_sizes.py --update docs/tools.md   # and rewrite it there

It starts `gitea-sim` (contract mode, demo seed) and `aegis-local` as the interop suite does
(conftest's helpers, binaries from `make build-bins`), with the default response bounds
(MAX_TOOL_RESPONSE_CHARS 20000, MAX_TOOL_RESPONSE_ITEMS 200) and alice's token, the one
`make dev` uses: alice owns `acme` and is a site admin, so she sees every repository of the seed,
the private ones included. Through the official SDK it calls every read tool over argument
variations that cover the seed: every repository, every branch, tag and commit, every issue,
pull request and release, every file and directory, recursive trees, comparisons of every pair
of refs and a set of searches. For each tool it records

- the Gitea endpoints the calls hit, from the simulator's request log (`GET /_sim/requests`),
  as method and swagger path template;
- the largest answer: bytes of the JSON-RPC `result` (compact JSON, as the gateway sends it) and
  characters of its text block, with the arguments that produced it.

Every successful answer is also checked against the tool's `outputSchema`; a mismatch is
reported and makes the script exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2  # noqa: E402
import jsonschema  # noqa: E402
import yaml  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from conftest import (  # noqa: E402
    AEGIS_LOCAL_BIN,
    CONTRACT_PATH,
    GITEA_SIM_BIN,
    ROOT,
    SEED_PATH,
    Process,
    Seed,
    Sim,
    _base_env,
    start_shim,
)
from support import READ_TOOL_ARGS, text_of  # noqa: E402

TOKEN_USER = "alice"
LIMITS = {"MAX_TOOL_RESPONSE_CHARS": "20000", "MAX_TOOL_RESPONSE_ITEMS": "200"}
SEARCHES = ("fn", "record", "the", "config", "search", "re")
BEGIN, END = "<!-- tool-sizes:begin -->", "<!-- tool-sizes:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- Gitea path templates ----------------------------------------------------------------


class Templates:
    """Maps a concrete request path to its swagger path template (the most literal match)."""

    def __init__(self, swagger: dict[str, Any]):
        self.base = swagger.get("basePath", "/api/v1")
        self.rules = []
        for template, ops in swagger["paths"].items():
            parts = re.split(r"(\{[^}]+\})", template)
            regex, literal = "", 0
            for i, part in enumerate(parts):
                if part.startswith("{"):
                    last = all(not p for p in parts[i + 1 :])
                    regex += ".+" if last else "[^/]+"
                else:
                    regex += re.escape(part)
                    literal += len(part)
            for method in ops:
                self.rules.append((method.upper(), re.compile(f"^{regex}$"), literal, template))

    def of(self, method: str, path: str) -> str:
        rel = path[len(self.base) :] if path.startswith(self.base) else path
        found = [(lit, t) for m, rx, lit, t in self.rules if m == method and rx.match(rel)]
        if not found:
            return f"{method} {path} (not in the swagger)"
        return f"{method} {self.base}{max(found)[1]}"


# ---- one measured call ---------------------------------------------------------------------


@dataclass
class Largest:
    bytes: int = -1
    chars: int = 0
    arguments: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False


@dataclass
class ToolStats:
    calls: int = 0
    errors: int = 0
    endpoints: set[str] = field(default_factory=set)
    largest: Largest = field(default_factory=Largest)
    error_examples: list[str] = field(default_factory=list)


class Meter:
    """Calls tools through an SDK session and measures each answer."""

    def __init__(self, session: ClientSession, sim: Sim, templates: Templates, tools: dict[str, Any]):
        self.session = session
        self.sim = sim
        self.templates = templates
        self.tools = tools
        self.stats: dict[str, ToolStats] = defaultdict(ToolStats)
        self.schema_failures: list[str] = []
        self.last_body: bytes | None = None
        self.seen: set[str] = set()

    async def on_response(self, response: httpx2.Response) -> None:
        if response.request.method == "POST" and response.request.url.path.endswith("/mcp"):
            await response.aread()
            self.last_body = response.content

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        key = json.dumps([tool, arguments], sort_keys=True)
        if key in self.seen:
            return None
        self.seen.add(key)
        httpx2.delete(f"{self.sim.url}/_sim/requests", timeout=10).raise_for_status()
        self.last_body = None
        result = await self.session.call_tool(tool, arguments)
        requests = self.sim.get("/_sim/requests").json()
        st = self.stats[tool]
        st.calls += 1
        st.endpoints.update(self.templates.of(r["method"], r["path"]) for r in requests)
        if result.is_error:
            st.errors += 1
            if len(st.error_examples) < 3:
                st.error_examples.append(f"{json.dumps(arguments)} -> {text_of(result)}")
            return None
        assert self.last_body is not None, "no JSON-RPC body captured"
        message = json.loads(self.last_body)
        size = len(json.dumps(message["result"], separators=(",", ":"), ensure_ascii=False).encode())
        chars = len(text_of(result))
        data = result.structured_content
        try:
            jsonschema.validate(data, self.tools[tool].output_schema)
        except jsonschema.ValidationError as e:
            self.schema_failures.append(f"{tool} {json.dumps(arguments)}: {e.message}")
        if size > st.largest.bytes:
            st.largest = Largest(size, chars, arguments, bool((data or {}).get("truncated")))
        return data


# ---- the argument variations ---------------------------------------------------------------


class Gitea:
    """What exists, asked of the simulator directly (not through the gateway)."""

    def __init__(self, sim: Sim, token: str):
        self.sim, self.token = sim, token

    def get(self, path: str, **params: Any) -> Any:
        return self.sim.api(path, self.token, **params)

    def all(self, path: str, **params: Any) -> list[Any]:
        out, page = [], 1
        while True:
            batch = self.get(path, page=page, limit=50, **params)
            out.extend(batch)
            if len(batch) < 50:
                return out
            page += 1


def seed_repositories(seed: Seed) -> list[str]:
    names = [f"{r['owner']}/{r['name']}" for r in seed.doc["repos"]]
    for g in seed.doc.get("generate", []):
        width = len(str(g["count"]))
        names += [f"{g['owner']}/{g['prefix']}{n:0{width}d}" for n in range(1, g["count"] + 1)]
    return names


async def cover_repository(m: Meter, g: Gitea, full_name: str) -> None:
    owner, name = full_name.split("/")
    base = {"owner": owner, "repo": name}
    info = g.get(f"/repos/{full_name}")
    for tool in ("get_repository_info", "list_repo_topics", "get_repo_languages", "get_latest_release"):
        await m.call(tool, base)
    for tool in ("list_branches", "list_tags", "list_labels", "list_releases"):
        await m.call(tool, base)
        await m.call(tool, {**base, "limit": 50})
    for tool in ("list_issues", "list_pull_requests", "list_milestones"):
        for state in ("open", "closed", "all"):
            await m.call(tool, {**base, "state": state, "limit": 50})
    for label in g.all(f"/repos/{full_name}/labels"):
        await m.call("list_issues", {**base, "state": "all", "labels": [label["name"]], "limit": 50})
    for issue in g.all(f"/repos/{full_name}/issues", state="all"):
        n = issue["number"]
        await m.call("list_issue_comments", {**base, "issue_number": n, "limit": 50})
        if issue.get("pull_request"):
            await m.call("get_pull_request", {**base, "pull_number": n})
            await m.call("list_pull_request_files", {**base, "pull_number": n, "limit": 50})
            await m.call("list_pull_request_commits", {**base, "pull_number": n, "limit": 50})
        else:
            await m.call("get_issue", {**base, "issue_number": n})
    for release in g.all(f"/repos/{full_name}/releases"):
        await m.call("get_release", {**base, "release_id": release["id"]})

    if info["empty"]:
        # an empty repository: the calls that need a commit, once each
        await m.call("get_file_tree", base)
        await m.call("list_commits", base)
        await m.call("search_code", {**base, "query": "readme"})
        return
    # the default branch first, so a file or commit is measured where a reader would look
    branches = sorted((b["name"] for b in g.all(f"/repos/{full_name}/branches")),
                      key=lambda b: b != info["default_branch"])
    tags = [t["name"] for t in g.all(f"/repos/{full_name}/tags")]
    refs = branches + tags
    await m.call("get_file_tree", base)
    await m.call("list_commits", base)
    shas: dict[str, None] = {}
    blobs_seen: set[tuple[str, str]] = set()
    for ref in refs:
        if ref in branches:
            await m.call("get_branch", {**base, "branch": ref})
        await m.call("get_file_tree", {**base, "ref": ref})
        await m.call("get_file_tree", {**base, "ref": ref, "recursive": True})
        await m.call("list_commits", {**base, "ref": ref, "limit": 50})
        await m.call("get_commit_status", {**base, "sha": ref})
        for c in g.all(f"/repos/{full_name}/commits", sha=ref):
            shas[c["sha"]] = None
        tree = g.get(f"/repos/{full_name}/git/trees/{quote(ref, safe='')}", recursive="true", per_page=1000)
        for entry in tree["tree"]:
            if entry["type"] == "blob" and (entry["path"], entry["sha"]) not in blobs_seen:
                blobs_seen.add((entry["path"], entry["sha"]))
                await m.call("get_file_contents", {**base, "filepath": entry["path"], "ref": ref})
            elif entry["type"] == "tree" and ref == info["default_branch"]:
                await m.call("get_file_contents", {**base, "filepath": entry["path"]})
    searched_refs = branches if len(shas) > 1 else [info["default_branch"]]
    for ref in searched_refs:
        for query in SEARCHES:
            await m.call("search_code", {**base, "query": query, "ref": ref, "limit": 50})
    for sha in shas:
        await m.call("get_commit_diff", {**base, "sha": sha})
        await m.call("get_commit_status", {**base, "sha": sha})
    for a in refs:
        for b in refs:
            if a != b:
                await m.call("compare_refs", {**base, "base": a, "head": b})


async def cover_everything(m: Meter, g: Gitea, seed: Seed) -> None:
    await m.call("list_repositories", {})
    await m.call("list_organizations", {})
    await m.call("list_organizations", {"limit": 50})
    for org in seed.doc.get("orgs", []):
        total = len(g.all(f"/orgs/{org['name']}/repos"))
        for limit in (10, 30, 50):
            for page in range(1, -(-total // limit) + 1):
                await m.call("list_org_repositories", {"org": org["name"], "page": page, "limit": limit})
    repos = seed_repositories(seed)
    for i, full_name in enumerate(repos, start=1):
        t0 = time.monotonic()
        await cover_repository(m, g, full_name)
        log(f"[{i}/{len(repos)}] {full_name}: {time.monotonic() - t0:.1f}s, {sum(s.calls for s in m.stats.values())} calls")
    # the deep pages of the largest search
    for page in (2, 10, 20, 21):
        await m.call("search_code", {"owner": "acme", "repo": "app", "query": "record", "page": page, "limit": 50})


# ---- output -------------------------------------------------------------------------------


def table(stats: dict[str, ToolStats], order: list[str]) -> str:
    lines = [
        "| tool | Gitea endpoints | largest output (bytes, chars) | arguments |",
        "|---|---|---|---|",
    ]
    for tool in order:
        st = stats.get(tool)
        if st is None:
            lines.append(f"| `{tool}` | (not called) | | |")
            continue
        endpoints = "<br>".join(f"`{e}`" for e in sorted(st.endpoints, key=lambda e: e.split(" ", 1)[1]))
        big = st.largest
        size = f"{big.bytes:,} B, {big.chars:,} chars" if big.bytes >= 0 else "(no successful call)"
        if big.truncated:
            size += " (cut)"
        lines.append(f"| `{tool}` | {endpoints} | {size} | `{json.dumps(big.arguments)}` |")
    return "\n".join(lines)


def summary(stats: dict[str, ToolStats]) -> str:
    calls = sum(s.calls for s in stats.values())
    errors = sum(s.errors for s in stats.values())
    out = [f"{calls} calls, {errors} answered with a tool error:"]
    for tool, st in sorted(stats.items()):
        if st.errors:
            out.append(f"- `{tool}`: {st.errors} of {st.calls}, e.g. {st.error_examples[0]}")
    return "\n".join(out)


def update(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf-8")


async def measure() -> tuple[dict[str, ToolStats], list[str], list[str]]:
    for binary in (GITEA_SIM_BIN, AEGIS_LOCAL_BIN):
        if not binary.is_file():
            sys.exit(f"{binary} is missing: build it first with `make build-bins`")
    seed = Seed(yaml.safe_load(SEED_PATH.read_text(encoding="utf-8")))
    swagger = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix="tool-sizes-"))
    (tmp / "sim").mkdir()
    (tmp / "shim").mkdir()
    sim_process = Process(
        "gitea-sim",
        [str(GITEA_SIM_BIN), "--seed", str(SEED_PATH), "--host", "127.0.0.1", "--port", "0",
         "--contract", str(CONTRACT_PATH)],
        env=_base_env(), cwd=tmp / "sim", log_dir=tmp / "sim",
    )
    sim = Sim(url=sim_process.wait_listening(), process=sim_process)
    shim = None
    try:
        shim = start_shim("aegis-local", sim, seed, tmp / "shim", GITEA_TOKEN=seed.token(TOKEN_USER), **LIMITS)
        headers = {"Authorization": f"Bearer {shim.api_key}"}
        meter_box: list[Meter] = []

        async def hook(response: httpx2.Response) -> None:
            if meter_box:
                await meter_box[0].on_response(response)

        async with httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(30, read=120), event_hooks={"response": [hook]}
        ) as http:
            async with streamable_http_client(shim.mcp_url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    listed = (await session.list_tools()).tools
                    tools = {t.name: t for t in listed if t.annotations and t.annotations.read_only_hint}
                    meter = Meter(session, sim, Templates(swagger), tools)
                    meter_box.append(meter)
                    await cover_everything(meter, Gitea(sim, seed.token(TOKEN_USER)), seed)
        violations = sim.get("/_sim/violations").json()
    finally:
        if shim is not None:
            shim.process.stop()
        sim_process.stop()
    problems = list(meter.schema_failures)
    problems += [f"gitea-sim contract violation: {v}" for v in violations]
    order = [t for t in READ_TOOL_ARGS if t in tools] + sorted(set(tools) - set(READ_TOOL_ARGS))
    return meter.stats, order, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, metavar="MARKDOWN",
                        help=f"also replace the text between {BEGIN} and {END} in this file")
    args = parser.parse_args()
    t0 = time.monotonic()
    stats, order, problems = asyncio.run(measure())
    missing = [t for t in order if t not in stats]
    block = table(stats, order)
    print(block)
    print()
    print(summary(stats))
    log(f"done in {time.monotonic() - t0:.0f}s")
    if args.update:
        update(args.update if args.update.is_absolute() else ROOT / args.update, block)
        log(f"updated {args.update}")
    for p in problems:
        log(f"PROBLEM: {p}")
    if missing:
        log(f"PROBLEM: tools never called: {missing}")
    if problems or missing:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The demo seed as data the interop checks can ask questions of: issues, commits, snapshots.

The simulator computes its git objects from the seed; this module replays the same seed in
plain Python (commits apply their `files` on top of their first parent) so the tests can say
what a tool must return without asking the gateway, and ask the simulator only for what the
seed does not spell out (git object ids).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote

from conftest import Seed, Sim


@dataclass(frozen=True)
class Blob:
    data: bytes
    mode: str  # git's file mode: 100644, 100755 or 120000 (symlink)

    @property
    def text(self) -> str:
        return self.data.decode()


def iso(value: Any) -> str:
    """A seed timestamp as Gitea writes it (PyYAML reads unquoted ones as datetimes)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def first_line(message: str) -> str:
    return message.strip().splitlines()[0]


def _blob(spec: Any) -> Blob:
    if isinstance(spec, str):
        return Blob(spec.encode(), "100644")
    if "text" in spec:
        return Blob(spec["text"].encode(), "100755" if spec.get("executable") else "100644")
    if "base64" in spec:
        return Blob(base64.b64decode(spec["base64"]), "100644")
    if "pattern" in spec:
        text = "".join(spec["pattern"].replace("{n}", str(n)) for n in range(1, spec["lines"] + 1))
        return Blob(text.encode(), "100644")
    if "symlink" in spec:
        return Blob(spec["symlink"].encode(), "120000")
    raise ValueError(f"unknown file spec {spec!r}")


class SeedRepo:
    """One seeded repository: its issues, commits and the files at any commit."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.full_name = f"{spec['owner']}/{spec['name']}"
        self.commits: dict[str, dict[str, Any]] = {}
        previous = None
        for commit in spec.get("commits", []):
            parents = commit.get("parents", [previous] if previous else [])
            self.commits[commit["id"]] = {**commit, "parents": parents}
            previous = commit["id"]
        self._snapshots: dict[str, dict[str, Blob]] = {}

    def __getitem__(self, key: str) -> Any:
        return self.spec[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)

    def snapshot(self, commit_id: str) -> dict[str, Blob]:
        """Every file (path -> blob) of the tree at `commit_id`."""
        if commit_id not in self._snapshots:
            commit = self.commits[commit_id]
            files = dict(self.snapshot(commit["parents"][0])) if commit["parents"] else {}
            for path, spec in (commit.get("files") or {}).items():
                if spec is None:
                    files.pop(path, None)
                    for p in [p for p in files if p.startswith(path.rstrip("/") + "/")]:
                        del files[p]
                else:
                    files[path] = _blob(spec)
            self._snapshots[commit_id] = files
        return self._snapshots[commit_id]

    def ancestors(self, commit_id: str) -> set[str]:
        seen, stack = set(), [commit_id]
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                stack.extend(self.commits[c]["parents"])
        return seen

    def issue(self, number: int) -> dict[str, Any]:
        """Issue or pull request `#number` (they share numbers, in list order)."""
        return self.spec["issues"][number - 1]

    def numbered(self) -> list[tuple[int, dict[str, Any]]]:
        return list(enumerate(self.spec.get("issues", []), start=1))

    def label(self, name: str) -> dict[str, Any]:
        return next(label for label in self.spec.get("labels", []) if label["name"] == name)


class World:
    """The seed plus the simulator's answers for one token: what the tools must match."""

    def __init__(self, seed: Seed, sim: Sim, login: str):
        self.seed = seed
        self.sim = sim
        self.login = login
        self.token = seed.token(login)
        self._repos = {f"{r['owner']}/{r['name']}": SeedRepo(r) for r in seed.doc["repos"]}
        self._shas: dict[str, dict[str, str]] = {}

    def repo(self, owner: str, name: str) -> SeedRepo:
        return self._repos[f"{owner}/{name}"]

    def api(self, path: str, **params: Any) -> Any:
        return self.sim.api(path, self.token, **params)

    def raw(self, path: str) -> str:
        r = self.sim.get(f"/api/v1{path}", headers={"Authorization": f"token {self.token}"})
        r.raise_for_status()
        return r.text

    @cached_property
    def org_repo_names(self) -> dict[str, list[str]]:
        """Full names of every repository an org owns, generated ones included."""
        out: dict[str, list[str]] = {}
        for r in self.seed.doc["repos"]:
            out.setdefault(r["owner"], []).append(f"{r['owner']}/{r['name']}")
        for g in self.seed.doc.get("generate", []):
            width = len(str(g["count"]))
            out.setdefault(g["owner"], []).extend(
                f"{g['owner']}/{g['prefix']}{n:0{width}d}" for n in range(1, g["count"] + 1)
            )
        return out

    def sha(self, owner: str, name: str, commit_id: str) -> str:
        """The git id the simulator gave seed commit `commit_id` (found by its message)."""
        key = f"{owner}/{name}"
        if key not in self._shas:
            by_message: dict[str, str] = {}
            for branch in self.repo(owner, name)["branches"]:
                for c in self.api(f"/repos/{key}/commits", sha=branch, limit=50):
                    by_message[c["commit"]["message"].strip()] = c["sha"]
            commits = self.repo(owner, name).commits
            messages = [c["message"].strip() for c in commits.values()]
            assert len(set(messages)) == len(messages), f"{key}: seed commit messages repeat"
            self._shas[key] = {cid: by_message[c["message"].strip()] for cid, c in commits.items()}
        return self._shas[key][commit_id]

    def branch_sha(self, owner: str, name: str, branch: str) -> str:
        return self.sha(owner, name, self.repo(owner, name)["branches"][branch])

    def release_id(self, owner: str, name: str, tag: str) -> int:
        return self.api(f"/repos/{owner}/{name}/releases/tags/{quote(tag, safe='')}")["id"]

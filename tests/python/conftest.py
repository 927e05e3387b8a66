"""Session fixtures for the interop suite: real processes, real sockets, the official MCP SDK.

`gitea-sim` runs in contract mode (every request it answers is checked against Gitea's
swagger) and must have recorded zero contract violations when the session ends.
`aegis-local` runs from the built binary, configured only through its environment, with a
temporary DATA_DIR and a working directory without a `.env`.

The binaries come from `make build-bins` (`$CARGO_TARGET_DIR/debug`, default `./target/debug`);
override with AEGIS_LOCAL_BIN / GITEA_SIM_BIN. A missing binary fails the run: nothing here
is skipped.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
AEGIS_LOCAL_BIN = Path(os.environ.get("AEGIS_LOCAL_BIN") or TARGET_DIR / "debug" / "aegis-local")
GITEA_SIM_BIN = Path(os.environ.get("GITEA_SIM_BIN") or TARGET_DIR / "debug" / "gitea-sim")
SEED_PATH = ROOT / "local" / "gitea-sim" / "seed" / "demo.yaml"
CONTRACT_PATH = ROOT / "tests" / "data" / "gitea" / "gitea-1.27.0-swagger.json"
STARTUP_TIMEOUT = float(os.environ.get("INTEROP_STARTUP_TIMEOUT", "30"))

LISTENING = re.compile(r"listening on (http://\S+)")

# The service token's owner: bob is an `acme` member and a collaborator on the private
# acme/secrets-vault, but cannot see alice's private alice/notes.
SERVICE_USER = "bob"
FOREIGN_PRIVATE_REPO = ("alice", "notes")

# Generous request limits: the suite sends many requests from one address, and a rate limit
# tripping midway would make unrelated tests fail. Limits get their own fixtures.
RELAXED_LIMITS = {
    "RATE_LIMIT_PER_MINUTE": "100000",
    "TOKEN_RATE_LIMIT_PER_MINUTE": "100000",
    "MAX_AUTH_FAILURES": "100000",
}


# ---- pytest plumbing -----------------------------------------------------------------

_executed = 0

# Text a test wants in the run's final summary (e.g. the conformance result tables).
TERMINAL_REPORTS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _executed
    if report.when == "call" and not report.skipped:
        _executed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # pytest already exits 5 when nothing is collected; also fail when everything collected
    # was skipped or deselected, so a green run always means tests actually ran.
    if exitstatus == pytest.ExitCode.OK and _executed == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for text in TERMINAL_REPORTS:
        terminalreporter.write_sep("=", "report")
        terminalreporter.write_line(text)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- processes -----------------------------------------------------------------------


class Process:
    """A child process whose stdout announces `... listening on http://HOST:PORT`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.stderr.log"
        self._stderr = open(self.log_path, "wb")
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stdout_lines: list[str] = []
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        threading.Thread(target=self._pump, name=f"{name}-stdout", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_listening(self, timeout: float = STARTUP_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(f"{self.name} did not print 'listening on' within {timeout}s\n{self.log_tail()}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise RuntimeError(f"{self.name} exited with status {code} before listening\n{self.log_tail()}")
            if m := LISTENING.search(line):
                return m.group(1).rstrip("/")

    def log_tail(self, lines: int = 40) -> str:
        self._stderr.flush()
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return f"--- {self.name} stderr (last {lines} lines, {self.log_path}) ---\n" + "\n".join(text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # both binaries shut down gracefully on ctrl-c
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


def _require_binary(path: Path) -> None:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: build it first with `make build-bins`", pytrace=False)


def _base_env() -> dict[str, str]:
    # Only what a process needs to run: the developer's own configuration must not leak in.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "RUST_BACKTRACE")
    return {k: os.environ[k] for k in keep if k in os.environ}


# ---- seed facts ----------------------------------------------------------------------


@dataclass
class Seed:
    """The demo seed, read with PyYAML: users, tokens and repositories the simulator serves."""

    doc: dict[str, Any]

    def token(self, login: str) -> str:
        for user in self.doc["users"]:
            if user["login"] == login:
                return user["tokens"][0]["token"]
        raise KeyError(login)

    def repo(self, owner: str, name: str) -> dict[str, Any]:
        for repo in self.doc["repos"]:
            if repo["owner"] == owner and repo["name"] == name:
                return repo
        raise KeyError(f"{owner}/{name}")

    def file_text(self, owner: str, name: str, commit_id: str, path: str) -> str:
        """The text of `path` as written by the seed commit `commit_id`."""
        for commit in self.repo(owner, name)["commits"]:
            if commit["id"] == commit_id:
                spec = commit["files"][path]
                return spec if isinstance(spec, str) else spec["text"]
        raise KeyError(f"{owner}/{name}@{commit_id}:{path}")


@pytest.fixture(scope="session")
def seed() -> Seed:
    return Seed(yaml.safe_load(SEED_PATH.read_text(encoding="utf-8")))


# ---- gitea-sim -----------------------------------------------------------------------


@dataclass
class Sim:
    url: str
    process: Process

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.get(f"{self.url}{path}", timeout=10, **kwargs)

    def api(self, path: str, token: str, **params: Any) -> Any:
        """A Gitea API call with a personal access token: the ground truth tools must match."""
        r = self.get(f"/api/v1{path}", params=params, headers={"Authorization": f"token {token}"})
        r.raise_for_status()
        return r.json()


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    _require_binary(GITEA_SIM_BIN)
    if not CONTRACT_PATH.is_file():
        pytest.fail(f"{CONTRACT_PATH} is missing: contract mode needs the vendored swagger", pytrace=False)
    work = tmp_path_factory.mktemp("gitea-sim")
    process = Process(
        "gitea-sim",
        [
            str(GITEA_SIM_BIN),
            "--seed", str(SEED_PATH),
            "--host", "127.0.0.1",
            "--port", "0",
            "--contract", str(CONTRACT_PATH),
        ],
        env=_base_env(),
        cwd=work,
        log_dir=work,
    )
    url = process.wait_listening()
    handle = Sim(url=url, process=process)
    try:
        yield handle
        violations = handle.get("/_sim/violations")
        violations.raise_for_status()
        found = violations.json()
    finally:
        process.stop()
    assert found == [], f"gitea-sim recorded Gitea API contract violations:\n{found}"


# ---- aegis-local ---------------------------------------------------------------------


@dataclass
class Shim:
    url: str
    api_key: str
    process: Process
    data_dir: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def start_shim(name: str, sim: Sim, seed: Seed, tmp: Path, limits: dict[str, str] | None = None, **extra: str) -> Shim:
    """`aegis-local` on `sim`, with RELAXED_LIMITS unless `limits` names the limit variables to
    set (`{}`: the gateway's defaults, as a user runs it)."""
    _require_binary(AEGIS_LOCAL_BIN)
    api_key = secrets.token_hex(32)
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = _base_env() | {
        "GITEA_URL": sim.url,
        "GITEA_TOKEN": seed.token(SERVICE_USER),
        "MCP_API_KEYS": api_key,
        "MCP_HOST": "127.0.0.1",
        "MCP_PORT": "0",
        "DATA_DIR": str(data_dir),
        "DCR_STORAGE_PATH": str(data_dir / "dcr_clients.json"),
        "AUDIT_LOG_PATH": str(data_dir / "audit"),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "INFO",
        **(RELAXED_LIMITS if limits is None else limits),
        **extra,
    }
    process = Process(name, [str(AEGIS_LOCAL_BIN)], env=env, cwd=tmp, log_dir=tmp)
    url = process.wait_listening()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"{name} never answered /health\n{process.log_tail()}")
        time.sleep(0.1)
    return Shim(url=url, api_key=api_key, process=process, data_dir=data_dir, env=env)


@pytest.fixture(scope="session")
def shim(sim: Sim, seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shim]:
    handle = start_shim("aegis-local", sim, seed, tmp_path_factory.mktemp("aegis-local"))
    try:
        yield handle
    finally:
        handle.process.stop()


# Small enough to cut `src/config.rs` of acme/app (about 1 KB), large enough for its README.
SMALL_MAX_CHARS = 400


@pytest.fixture(scope="session")
def small_shim(sim: Sim, seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shim]:
    handle = start_shim(
        "aegis-local-small",
        sim,
        seed,
        tmp_path_factory.mktemp("aegis-local-small"),
        MAX_TOOL_RESPONSE_CHARS=str(SMALL_MAX_CHARS),
    )
    try:
        yield handle
    finally:
        handle.process.stop()


# ---- OAuth mode (test_oauth_e2e.py, test_consent_browser.py) ---------------------------

# The seed's confidential app: the gateway's own client at Gitea (any loopback port).
OAUTH_CLIENT_ID = "aegis-demo-client"
OAUTH_CLIENT_SECRET = "aegis-demo-secret-5f0c1d7e9b2a4c68"


@dataclass
class OAuthStack:
    """A simulator that signs `login` in automatically, and a gateway in OAuth mode on it."""

    login: str
    sim: Sim
    shim: Shim
    state_secret: str


def start_oauth_sim(name: str, login: str, tmp: Path, access_ttl: int | None = None) -> Sim:
    _require_binary(GITEA_SIM_BIN)
    argv = [
        str(GITEA_SIM_BIN),
        "--seed", str(SEED_PATH),
        "--host", "127.0.0.1",
        "--port", "0",
        "--contract", str(CONTRACT_PATH),
        "--oauth-auto-login", login,
    ]
    if access_ttl is not None:
        argv += ["--oauth-access-ttl", str(access_ttl)]
    process = Process(name, argv, env=_base_env(), cwd=tmp, log_dir=tmp)
    return Sim(url=process.wait_listening(), process=process)


def start_oauth_stack(
    suffix: str, login: str, sim: Sim, seed: Seed, tmp: Path, limits: dict[str, str] | None = None, **extra: str
) -> OAuthStack:
    """A gateway in OAuth mode on the OAuth simulator `sim` (stopped if the gateway fails)."""
    state_secret = secrets.token_hex(32)
    try:
        shim = start_shim(
            f"aegis-local-oauth-{suffix}",
            sim,
            seed,
            tmp,
            limits,
            OAUTH_MODE="true",
            GITEA_OAUTH_CLIENT_ID=OAUTH_CLIENT_ID,
            GITEA_OAUTH_CLIENT_SECRET=OAUTH_CLIENT_SECRET,
            OAUTH_STATE_SECRET=state_secret,
            # OAuth mode alone: no API keys, and Gitea calls use each user's own token
            MCP_API_KEYS="",
            GITEA_TOKEN="",
            **extra,
        )
    except BaseException:
        sim.process.stop()
        raise
    return OAuthStack(login=login, sim=sim, shim=shim, state_secret=state_secret)


class OAuthStacks:
    """Starts OAuth stacks on demand, one per (login, Gitea access-token TTL), for the session."""

    def __init__(self, seed: Seed, tmp_path_factory: pytest.TempPathFactory):
        self._seed = seed
        self._tmp = tmp_path_factory
        self._stacks: dict[tuple[str, int | None, tuple[tuple[str, str], ...]], OAuthStack] = {}

    def get(self, login: str, access_ttl: int | None = None, **extra: str) -> OAuthStack:
        """The stack for `login` (Gitea access tokens living `access_ttl` seconds, gateway
        variables `extra`), started on first use."""
        key = (login, access_ttl, tuple(sorted(extra.items())))
        if key not in self._stacks:
            suffix = login if access_ttl is None else f"{login}-ttl{access_ttl}"
            if extra:
                suffix += f"-{len(self._stacks)}"
            sim_proc = start_oauth_sim(f"gitea-sim-oauth-{suffix}", login, self._tmp.mktemp(f"sim-oauth-{suffix}"), access_ttl)
            self._stacks[key] = start_oauth_stack(
                suffix, login, sim_proc, self._seed, self._tmp.mktemp(f"aegis-local-oauth-{suffix}"), **extra
            )
        return self._stacks[key]

    def close(self) -> dict[str, Any]:
        """Stops everything; returns each simulator's contract violations (none expected)."""
        found: dict[str, Any] = {}
        for key, stack in self._stacks.items():
            try:
                stack.shim.process.stop()
                r = stack.sim.get("/_sim/violations")
                r.raise_for_status()
                if r.json():
                    found[f"{key}"] = r.json()
            finally:
                stack.sim.process.stop()
        return found


@pytest.fixture(scope="session")
def oauth_stacks(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthStacks]:
    stacks = OAuthStacks(seed, tmp_path_factory)
    try:
        yield stacks
    finally:
        found = stacks.close()
    assert found == {}, f"gitea-sim (OAuth) recorded Gitea API contract violations:\n{found}"

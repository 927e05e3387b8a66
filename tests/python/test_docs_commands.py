"""Every command of README.md and docs/ that can run offline runs here, as a reader runs it.

Fenced ```sh blocks are commands; ```console blocks are transcripts: each `$ ` line runs, and
the lines under it are what it must print (`...` stands for any lines). A page's blocks run in
the page's order, each in its own `bash -eu` that starts with the variables the blocks before
it left (a reader's shell session), in a scratch checkout: the repository's files, its own
`.data/` with a `make dev` API key in `.data/dev-api-key`.

`make dev` is not run as such (it would not return): the line runs with `make dev` standing
for "remember these variables and arguments", and the test starts what local/dev.sh would
start with them (gitea-sim with the demo seed, and aegis-local configured as dev.sh does,
OAuth mode for `OAUTH=1`). A page whose commands need a gateway before any `make dev` line
gets a plain `make dev` one. `127.0.0.1:8080` and `127.0.0.1:3000` in the page's commands
then mean that gateway and simulator (and so does mcp_first_call.py's default URL, through
AEGIS_MCP_URL). Other `make` targets run in the repository
(`make cli` builds and links `aegis`).

A block is skipped only if SKIPPED lists it, with the reason; EXPECT holds what a block's
output must show (a `curl -s` that got a 401 still exits 0). A SKIPPED or EXPECT entry that
matches no block fails, so neither list outlives the docs.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    ROOT,
    Seed,
    Shim,
    Sim,
    _base_env,
    start_oauth_sim,
    start_shim,
)

PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]

# (page, text the block contains) -> why it does not run here.
SKIPPED: dict[tuple[str, str], str] = {
    ("README.md", "make test   # run every test"): "`make dev` is the stack this test starts; `make test` runs this test",
    ("README.md", "claude mcp add"): "needs Claude Code",
    ("README.md", "make build"): "cross-compiles the Lambda functions for arm64 (minutes; needs the zig toolchain)",
    ("docs/getting-started.md", "git clone"): "clones the repository this test runs in; its `make dev` is the stack started here",
    ("docs/getting-started.md", "claude mcp add"): "needs Claude Code",
    ("docs/getting-started.md", "make test"): "runs this test",
    ("docs/policy.md", "aegis policy validate --policy policy.yaml"): "shows the error of a misspelt policy.yaml the page describes, not a file of the repository",
    ("docs/resources.md", "claude mcp add"): "needs Claude Code",
    ("docs/PERFORMANCE.md", "secrets_bench"): "a release build and a benchmark (minutes)",
    ("docs/audit.md", "--public-key <hex>"): "a server's trail and the auditors' pinned key; the block before runs the same verifier on make dev's trail",
    ("docs/security.md", "make fuzz-smoke"): "fuzzing: nightly instrumentation build, minutes per target",
    ("docs/tools.md", "tool_sizes.py --update"): "rewrites docs/tools.md with fresh measurements",
    ("docs/deployment.md", "export AWS_REGION"): "needs AWS",
    ("docs/deployment.md", "make build      # four arm64"): "cross-compiles the Lambda functions for arm64 (minutes)",
    ("docs/deployment.md", "aws secretsmanager create-secret --name aegis-mcp/gateway"): "needs AWS (Secrets Manager)",
    ("docs/deployment.md", "aws secretsmanager put-secret-value"): "needs AWS (Secrets Manager)",
    ("docs/deployment.md", "aws secretsmanager create-secret --name aegis-mcp/audit-signing-key"): "needs AWS (Secrets Manager)",
    ("docs/deployment.md", "make deploy"): "needs AWS (SAM deploy)",
    ("docs/deployment.md", "sam list stack-outputs"): "needs a deployed stack",
    ("docs/deployment.md", "claude mcp add"): "needs Claude Code and a deployed stack",
    ("docs/deployment.md", "aws s3 sync"): "needs AWS (S3)",
    ("docs/deployment.md", "aws lambda invoke"): "needs a deployed stack (IAM-authenticated invoke, AWS CLI v2)",
    ("docs/deployment.md", "sam delete"): "needs AWS",
    ("docs/deployment.md", "aws secretsmanager delete-secret"): "needs AWS",
}

# (page, text the block contains) -> what its output must match (a regular expression).
EXPECT: dict[tuple[str, str], str] = {
    ("README.md", "/mcp/tool/call"): r'"success":\s*true',
    ("README.md", "mcp_first_call.py"): r"list_repositories: \d+ repositories",
    ("README.md", "make cli"): r"allow: `create_issue` on `acme/app`[\s\S]*OK: no tampering found",
    ("docs/getting-started.md", "/health"): r'"status":\s*"healthy"[\s\S]*"tools"',
    ("docs/getting-started.md", "/mcp/tool/call"): r'"success":\s*true',
    ("docs/getting-started.md", "mcp_first_call.py"): r"  acme/app\n",
    ("docs/audit.md", "make cli"): r'OK: no tampering found[\s\S]*\{"records":\d+,"events":\d+,"findings":0\}',
    ("docs/automation.md", "/automation/jobs/run"): r'"job":\s*"dependency_hygiene_scan"[\s\S]*"status":\s*"ok"',
    ("docs/automation.md", "X-Gitea-Signature"): r'"outcome":\s*"accepted"',
    ("docs/automation.md", "hmac.new"): r"^[0-9a-f]{64}$",
    ("docs/oauth.md", "/register"): r"client_id: \S+",
    ("docs/oauth.md", "VERIFIER=$(openssl"): r"/oauth/authorize\?.*code_challenge_method=S256",
    ("docs/oauth.md", "decision=approve"): r"127\.0\.0\.1:9999/callback\?code=",
    ("docs/oauth.md", "grant_type=authorization_code"): r'"token_type":\s*"Bearer"',
    ("docs/oauth.md", '"method": "tools/call"'): r"acme/app",
    ("docs/write-mode.md", "make cli"): r"allow: `create_issue` on `acme/app`",
}

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*$")
MAKE_DEV = re.compile(r"(^|[\s;&|])make dev\b")
DEV_GATEWAY = "127.0.0.1:8080"
DEV_SIM = "127.0.0.1:3000"


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str

    def key(self, table: dict[tuple[str, str], str]) -> tuple[str, str] | None:
        found = [k for k in table if k[0] == self.page and k[1] in self.text]
        assert len(found) <= 1, f"{self.page}:{self.line} matches several entries: {found}"
        return found[0] if found else None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(page: str) -> list[Block]:
    """The page's ```sh and ```console blocks, indentation removed, in order."""
    out: list[Block] = []
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m["indent"], m["lang"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang in ("sh", "console"):
            out.append(Block(page, start + 1, lang, "\n".join(body) + "\n"))
    return out


# ---- a reader's shell session --------------------------------------------------------

# `make dev` records what it was given; any other target runs in the repository.
PRELUDE = r"""
make() {
    if [ "${1:-}" = dev ]; then
        shift
        env -0 > "$DOCS_STATE/make-dev.env"
        printf '%s\0' "$@" > "$DOCS_STATE/make-dev.args"
        return 0
    fi
    command make --no-print-directory -C "$AEGIS_ROOT" "$@"
}
if [ -f "$DOCS_STATE/vars.sh" ]; then source "$DOCS_STATE/vars.sh"; fi
"""

# Keeps the session's variables for the next block (bash's own are left out).
EPILOGUE = r"""
for __v in $(compgen -v); do
    case $__v in
        BASH* | FUNCNAME | GROUPS | PIPESTATUS | RANDOM | SRANDOM | SECONDS | LINENO | EPOCH* \
        | HISTCMD | OPTIND | OPTERR | PPID | PWD | OLDPWD | SHLVL | DIRSTACK | COLUMNS | LINES \
        | EUID | UID | SHELLOPTS | _ | __v | DOCS_STATE | AEGIS_ROOT) continue ;;
    esac
    case ${!__v@a} in *r*) continue ;; esac
    declare -p "$__v"
done > "$DOCS_STATE/vars.sh.new" 2>/dev/null
mv "$DOCS_STATE/vars.sh.new" "$DOCS_STATE/vars.sh"
"""


def scratch_checkout(tmp: Path) -> Path:
    """The repository's top-level entries, linked, with a `.data/` of its own (no `.env`)."""
    checkout = tmp / "checkout"
    checkout.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".data", ".env", ".git"):
            (checkout / entry.name).symlink_to(entry)
    data = checkout / ".data"
    data.mkdir(mode=0o700)
    key = data / "dev-api-key"
    key.write_text(secrets.token_hex(32))
    key.chmod(0o600)
    return checkout


class Session:
    """One page's shell session and the stack its `make dev` lines started."""

    def __init__(self, page: str, tmp: Path, sim: Sim, seed: Seed):
        self.page = page
        self.tmp = tmp
        self.default_sim = sim
        self.seed = seed
        self.checkout = scratch_checkout(tmp)
        self.state = tmp / "state"
        self.state.mkdir()
        self.env = _base_env() | {
            "DOCS_STATE": str(self.state),
            "AEGIS_ROOT": str(ROOT),
            "CARGO_TARGET_DIR": os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target"),
            "HOME": os.environ.get("HOME", str(tmp)),
        }
        self.shim: Shim | None = None
        self.own_sim: Sim | None = None
        self.stacks = 0

    # -- the stack ---------------------------------------------------------------------

    def start_stack(self, env: dict[str, str], args: list[str]) -> None:
        """What local/dev.sh starts for `VARS make dev ARGS`."""
        self.stop()
        make_vars = dict(a.split("=", 1) for a in args if "=" in a)
        given = {k: v for k, v in env.items() if self.env.get(k) != v and k not in ("_", "SHLVL", "PWD", "OLDPWD")}
        oauth = make_vars.get("OAUTH", given.get("OAUTH")) == "1" or given.get("OAUTH_MODE") == "true"
        data = self.checkout / ".data"
        gateway = {
            "DATA_DIR": str(data),
            "DCR_STORAGE_PATH": str(data / "dcr_clients.json"),
            "AUDIT_LOG_PATH": str(data / "audit"),
        }
        for name, value in given.items():
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and name != "OAUTH":
                if (name.endswith("_PATH") or name == "DATA_DIR") and not os.path.isabs(value):
                    value = str(self.checkout / value)
                gateway[name] = value
        self.stacks += 1
        name = f"docs-{Path(self.page).stem}-{self.stacks}"
        tmp = self.tmp / name
        tmp.mkdir()
        if oauth:
            sim = self.own_sim = start_oauth_sim(f"{name}-sim", "alice", tmp)
            gateway |= {
                "OAUTH_MODE": "true",
                "GITEA_OAUTH_CLIENT_ID": OAUTH_CLIENT_ID,
                "GITEA_OAUTH_CLIENT_SECRET": OAUTH_CLIENT_SECRET,
                "OAUTH_STATE_SECRET": secrets.token_hex(32),
                "MCP_API_KEYS": "",
                "GITEA_TOKEN": "",
            }
        else:
            sim = self.default_sim
            # dev.sh: the demo key, and the first seeded user's token as the service token.
            gateway |= {
                "MCP_API_KEYS": (data / "dev-api-key").read_text().strip(),
                "GITEA_TOKEN": self.seed.doc["users"][0]["tokens"][0]["token"],
            }
        self.shim = start_shim(name, sim, self.seed, tmp, **gateway)

    def stop(self) -> None:
        if self.shim is not None:
            self.shim.process.stop()
            self.shim = None
        if self.own_sim is not None:
            self.own_sim.process.stop()
            self.own_sim = None

    def with_addresses(self, text: str) -> str:
        needs_gateway = DEV_GATEWAY in text or ".data/" in text
        if needs_gateway and self.shim is None:
            self.start_stack(dict(self.env), [])
        if self.shim is None:
            return text
        sim_url = self.own_sim.url if self.own_sim else self.default_sim.url
        return text.replace(DEV_GATEWAY, self.shim.url.removeprefix("http://")).replace(
            DEV_SIM, sim_url.removeprefix("http://")
        )

    # -- running -----------------------------------------------------------------------

    def run(self, script: str, where: str) -> subprocess.CompletedProcess[str]:
        dev_env = self.state / "make-dev.env"
        dev_env.unlink(missing_ok=True)
        script = self.with_addresses(script)
        env = dict(self.env)
        if self.shim is not None:
            # mcp_first_call.py's built-in default, http://127.0.0.1:8080/mcp, means this gateway.
            env["AEGIS_MCP_URL"] = self.shim.mcp_url
        result = subprocess.run(
            ["bash", "-eu", "-c", PRELUDE + script + EPILOGUE],
            cwd=self.checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if dev_env.exists():
            env = dict(kv.split("=", 1) for kv in dev_env.read_text().split("\0") if "=" in kv)
            args = [a for a in (self.state / "make-dev.args").read_text().split("\0") if a]
            self.start_stack(env, args)
        return result


def console_steps(block: Block) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) per `$ ` line of a transcript."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise AssertionError(f"{block.where}: a transcript starts with its `$ ` command")
    return [(cmd, _trim(expected)) for cmd, expected in steps]


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Line for line; a `...` line stands for any number of lines."""
    pattern = "".join(".*?" if e.strip() in ("...", "…") else re.escape(e.rstrip()) + "\n" for e in expected)
    return re.fullmatch(pattern, "".join(a.rstrip() + "\n" for a in actual), flags=re.DOTALL) is not None


# ---- the tests -----------------------------------------------------------------------


def test_skip_and_expect_entries_name_existing_blocks():
    every = [b for page in PAGES for b in blocks_of(page)]
    for table in (SKIPPED, EXPECT):
        for page, fragment in table:
            assert any(b.page == page and fragment in b.text for b in every), f"no block of {page} holds {fragment!r}"
    for key in EXPECT:
        assert key not in SKIPPED, key


# Pages whose commands may sit in unlabelled fences, and why they are not run.
UNLABELLED_COMMANDS: dict[str, str] = {
    "docs/PERFORMANCE.md": "release builds and benchmarks of several minutes each (make bench runs them)",
}
COMMAND_START = re.compile(r"^(make|cargo|curl|aegis|python3?|\.venv/|\./target/|git|openssl|sudo|export) ")


def fenced_lines(page: str):
    """(line number, fence language, line) of every line inside a fenced block of `page`."""
    inside, lang = False, ""
    for n, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(line)
        if m:
            inside, lang = (not inside), m["lang"]
        elif inside:
            yield n, lang, line.strip()


def test_commands_are_in_sh_or_console_blocks():
    # A command under another fence would escape the test below: transcripts (`$ ` lines)
    # are ```console, commands ```sh.
    for page in PAGES:
        for n, lang, line in fenced_lines(page):
            if lang in ("", "text", "shell", "bash") and line.startswith("$ "):
                pytest.fail(f"{page}:{n}: a `$ ` transcript line outside a ```console block")
            if lang == "" and COMMAND_START.match(line) and page not in UNLABELLED_COMMANDS:
                pytest.fail(f"{page}:{n}: a command in an unlabelled block (make it ```sh): {line}")


@pytest.mark.parametrize("page", [p for p in PAGES if blocks_of(p)])
def test_documented_commands_run(page: str, sim: Sim, seed: Seed, tmp_path: Path):
    session = Session(page, tmp_path, sim, seed)
    ran = 0
    try:
        for block in blocks_of(page):
            if block.key(SKIPPED):
                continue
            ran += 1
            if block.lang == "console":
                for command, expected in console_steps(block):
                    result = session.run(command + "\n", block.where)
                    actual = (result.stdout + result.stderr).splitlines()
                    assert output_matches(expected, actual), (
                        f"{block.where}: `$ {command}` printed\n" + "\n".join(actual)
                        + "\n\nbut the page shows\n" + "\n".join(expected)
                    )
                continue
            result = session.run(block.text, block.where)
            shown = f"{block.where} ({shlex.quote(block.text.strip().splitlines()[0])})\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            if session.shim is not None:
                shown += "\n" + session.shim.process.log_tail(15)
            assert result.returncode == 0, f"exit {result.returncode}: {shown}"
            key = block.key(EXPECT)
            if key:
                assert re.search(EXPECT[key], result.stdout, flags=re.MULTILINE), f"expected /{EXPECT[key]}/: {shown}"
    finally:
        session.stop()
    assert ran or all(b.key(SKIPPED) for b in blocks_of(page))


def make_targets() -> list[str]:
    """The Makefile's documented targets (`name: ... ## what it does`)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^([a-zA-Z_-]+):.*## ", text, flags=re.MULTILINE)


def test_make_help_lists_every_target_aligned():
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert [row.split()[0] for row in rows] == make_targets()
    # Every description starts in the same column, whatever the longest target name.
    columns = {len(row) - len(row[2:].split(None, 1)[1]) for row in rows}
    assert len(columns) == 1, result.stdout


def test_readme_lists_every_make_target():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed: set[str] = set()
    for row in re.findall(r"^\| (`make [^|]+)\|", readme, flags=re.MULTILINE):
        listed |= set(re.findall(r"`make ([a-zA-Z_-]+)", row))
    assert sorted(set(make_targets()) - listed) == [], "Make targets missing from the README's table"

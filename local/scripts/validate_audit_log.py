#!/usr/bin/env python3
"""Validate AegisGitea MCP audit logs from Python or a script: runs `aegis audit verify`.

    python3 local/scripts/validate_audit_log.py --path /var/log/aegis-mcp/audit.log
    python3 local/scripts/validate_audit_log.py --path audit.log.1 --path audit.log
    python3 local/scripts/validate_audit_log.py --dir /var/lib/aegis-mcp/audit --public-key HEX

Exit code 0: the chain is intact; 10-18: tampering or corruption, by class (see
docs/audit.md); 2: the verifier could not run. The `aegis` binary is found through
`AEGIS_BIN`, then `PATH`, then this checkout's `target/release` and `target/debug`.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def find_aegis() -> str:
    explicit = os.environ.get("AEGIS_BIN")
    if explicit:
        return explicit
    on_path = shutil.which("aegis")
    if on_path:
        return on_path
    root = Path(__file__).resolve().parent.parent.parent
    for profile in ("release", "debug"):
        candidate = root / "target" / profile / "aegis"
        if candidate.is_file():
            return str(candidate)
    sys.exit("validate_audit_log: `aegis` not found (build it with `make cli`, or set AEGIS_BIN)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--path", action="append", help="a JSON-lines audit file; repeat, oldest first")
    source.add_argument("--dir", help="a directory of audit segments and digests")
    parser.add_argument("--public-key", help="the digest public key to trust")
    parser.add_argument("--allow-rotated-head", action="store_true",
                        help="accept a first line linking to a rotated-away record")
    parser.add_argument("--max-digest-age", type=int, help="seconds; fail on older newest digest")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    cmd = [find_aegis(), "audit", "verify"]
    if args.dir:
        cmd += ["--dir", args.dir]
    for path in args.path or []:
        cmd += ["--path", path]
    if args.public_key:
        cmd += ["--public-key", args.public_key]
    if args.allow_rotated_head:
        cmd.append("--allow-rotated-head")
    if args.max_digest_age is not None:
        cmd += ["--max-digest-age", str(args.max_digest_age)]
    if args.json:
        cmd.append("--json")
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())

""".env.example documents every variable `Config::from_vars` reads, and nothing else."""

from __future__ import annotations

import re

from conftest import ROOT

# Set by the platform, never by an operator (documented in prose in .env.example).
PLATFORM_VARS = {"AWS_LAMBDA_RUNTIME_API"}


def config_vars() -> set[str]:
    source = (ROOT / "shared" / "core" / "src" / "config.rs").read_text(encoding="utf-8")
    return set(re.findall(r'\bv\s*\.(?:get|text|text_or|secret|bool|parse|positive|list|url)\(\s*"([A-Z][A-Z0-9_]*)"', source))


def example_vars() -> list[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


def test_every_config_variable_is_documented():
    read = config_vars()
    assert "GITEA_URL" in read and len(read) > 30, "the config.rs pattern no longer matches"
    documented = example_vars()
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert sorted(read - PLATFORM_VARS - set(documented)) == [], "missing from .env.example"
    assert sorted(set(documented) - read) == [], "listed in .env.example but not read by config.rs"


def test_each_variable_has_a_comment_with_its_default():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^#?\s*[A-Z][A-Z0-9_]*=", line):
            comment = lines[i - 1]
            assert comment.startswith("# ") and "default" in comment, f"line {i + 1}: {line}"

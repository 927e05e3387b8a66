"""docs/README.md, the manual's index, lists every page of docs/ (a new page must be findable)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_page_is_in_the_index():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#\s]+)", index))
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert sorted(pages - linked) == [], "pages missing from docs/README.md"
    assert "adr/" in linked


def test_the_spec_topics_each_have_a_page():
    # The manual's topics (Getting Started ... Roadmap), each linked from the index.
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for topic in [
        "Getting Started", "Configuration", "Write Mode", "Architecture", "Security",
        "Hardening", "Policy", "Audit", "Observability", "Automation", "Deployment",
        "Governance", "Troubleshooting", "API Reference", "Roadmap",
    ]:
        assert re.search(rf"\[{re.escape(topic)}\]\([^)]+\.md\)", index), topic

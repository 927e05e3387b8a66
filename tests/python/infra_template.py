"""Reading infra/template.yaml as data: a YAML loader for CloudFormation's short tags.

`!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B` {"Fn::GetAtt": ["A", "B"]}, `!Sub s`
{"Fn::Sub": s}, and so on: the long form CloudFormation itself uses, so the tests can walk
the template as plain dicts and lists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's `!Tag` shorthand."""


def _construct(long_name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


for _short, _long in _TAGS.items():
    CfnLoader.add_constructor(f"!{_short}", _construct(_long))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)


def strings(value: Any) -> Iterator[str]:
    """Every string leaf of a value, intrinsic functions included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint (the Makefile venv's, with the SAM transform) on one template file."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cfnlint.runner; sys.exit(cfnlint.runner.main())",
            "--include-checks",
            "I",
            "--",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

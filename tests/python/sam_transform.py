"""infra/template.yaml through the SAM transform, offline, as plain CloudFormation JSON.

    python tests/python/sam_transform.py [TEMPLATE] OUT.json

What CloudFormation deploys is the transformed template: the functions' roles, the
EventBridge rules and their permissions exist only there, so checkov scans it too
(`make lint-infra-checkov`). samtranslator comes with cfn-lint 1.53.3. It refuses local
paths, so `CodeUri`/`ContentUri` become a placeholder S3 location (as cfn-lint does); the
resources' `Metadata` (checkov skips) is kept.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.parser import parser
from samtranslator.translator.translator import Translator

from infra_template import TEMPLATE, load

PLACEHOLDER = {"Bucket": "placeholder-bucket", "Key": "placeholder.zip"}

# The template names no managed policy (every role is explicit); an empty map makes the
# translator fail loudly if one appears rather than look it up in an AWS account.
MANAGED_POLICIES: dict[str, str] = {}


def transform(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        if resource.get("Type") == "AWS::Serverless::Function":
            props["CodeUri"] = dict(PLACEHOLDER)
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = dict(PLACEHOLDER)
    # Globals may carry the local CodeUri too.
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = dict(PLACEHOLDER)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translator = Translator(managed_policy_map=MANAGED_POLICIES, sam_parser=parser.Parser())
    return translator.translate(sam_template=template, parameter_values={}, passthrough_metadata=True)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(argv[0]) if len(argv) == 2 else TEMPLATE
    out = Path(argv[-1])
    out.write_text(json.dumps(transform(load(source)), indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

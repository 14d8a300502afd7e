"""The JSON Schema of rubric files, generated from the models and every check type's parameters.

Editors (the YAML language server, for one) complete and check rubrics with it; a rubric
points at it with a first-line comment:

    # yaml-language-server: $schema=rubric.schema.json

`rubrics/rubric.schema.json` is this function's output, committed; a test keeps it equal
(`grader rubric schema > rubrics/rubric.schema.json` regenerates it). A check's `params` is
described per check type through `if type is X then params is X's model`, which gives
editors a precise message where a `oneOf` would list every alternative's.
"""

from __future__ import annotations

import json
from typing import Any

from grader.checks.registry import Registry
from grader.rubric.document import RubricDoc
from grader.rubric.overrides_doc import OverridesDoc

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def rubric_schema(registry: Registry | None = None) -> dict[str, Any]:
    if registry is None:
        from grader.rubric.load import default_registry

        registry = default_registry()
    schema = RubricDoc.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    check = defs["CheckDoc"]
    check["properties"]["type"] = {
        "type": "string",
        "enum": registry.names(),
        "description": check["properties"]["type"].get("description", ""),
    }
    rules = []
    for check_type in registry:
        params = check_type.params.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        for name, sub in params.pop("$defs", {}).items():
            if name in defs and defs[name] != sub:
                raise ValueError(f"two parameter models define {name!r} differently")
            defs[name] = sub
        key = f"params.{check_type.name}"
        note = "" if check_type.implemented else " (declared; not implemented yet)"
        params["description"] = f"parameters of {check_type.name}{note}: {check_type.summary}"
        defs[key] = params
        rules.append({
            "if": {"properties": {"type": {"const": check_type.name}}, "required": ["type"]},
            "then": {"properties": {"params": {"$ref": f"#/$defs/{key}"}}},
        })
    check["allOf"] = rules
    return {"$schema": DRAFT, "title": "grader rubric, version 1", **schema}


def overrides_schema() -> dict[str, Any]:
    schema = OverridesDoc.model_json_schema(by_alias=True)
    return {"$schema": DRAFT, "title": "grader overrides, version 1", **schema}


def dumps(schema: dict[str, Any]) -> str:
    """The schema as committed: stable key order from the models, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

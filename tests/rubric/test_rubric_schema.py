"""The published JSON Schema: committed equal to the generated one, and it checks what we check."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from grader.rubric.schema import dumps, overrides_schema, rubric_schema
from tests.conftest import ROOT, RUBRIC

SCHEMA_FILE = ROOT / "rubrics" / "rubric.schema.json"
OVERRIDES_SCHEMA_FILE = ROOT / "rubrics" / "overrides.schema.json"
REGENERATE = "grader rubric schema > rubrics/rubric.schema.json"


def test_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == dumps(rubric_schema()), f"regenerate it: {REGENERATE}"


def test_committed_overrides_schema_is_the_generated_one() -> None:
    assert OVERRIDES_SCHEMA_FILE.read_text(encoding="utf-8") == dumps(overrides_schema()), \
        "regenerate it: grader rubric schema --overrides > rubrics/overrides.schema.json"


def test_rubric_points_at_the_schema() -> None:
    assert RUBRIC.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=rubric.schema.json\n")


def _validator() -> jsonschema.Draft202012Validator:
    schema = rubric_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(data: Any) -> list[str]:
    return sorted(f"{e.json_path}: {e.validator}" for e in _validator().iter_errors(data))


def test_the_multiprocessing_rubric_is_valid_against_the_schema() -> None:
    assert _errors(yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["questions"][0]["checks"][1]["params"].update(full_credit=1), "$.questions[0].checks[1].params"),
    (lambda d: d["questions"][5]["checks"][1]["params"].update(n="four"), "$.questions[5].checks[1].params.n"),
    (lambda d: d["questions"][2]["checks"][0].update(type="process_creatd"), "$.questions[2].checks[0].type"),
    (lambda d: d["questions"][2].update(timout=3), "$.questions[2]"),
    (lambda d: d.update(limits={"memory": "lots"}), "$.limits"),
    (lambda d: d["questions"][0].pop("text"), "$.questions[0]"),
])
def test_the_schema_rejects_what_the_loader_rejects(change: Any, path: str) -> None:
    data = copy.deepcopy(yaml.safe_load(RUBRIC.read_text(encoding="utf-8")))
    change(data)
    errors = _errors(data)
    assert any(e.startswith(path) for e in errors), errors


def test_every_check_type_has_its_params_in_the_schema() -> None:
    from grader.checks import REGISTRY

    schema = rubric_schema()
    assert schema["$defs"]["CheckDoc"]["properties"]["type"]["enum"] == REGISTRY.names()
    for name in REGISTRY.names():
        assert f"params.{name}" in schema["$defs"]
    json.dumps(schema)

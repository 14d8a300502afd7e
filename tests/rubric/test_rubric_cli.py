"""`grader rubric check|schema` and `grader checks`, through their own argument parsers.

(They join `grader --help` once grader/cli/__init__.py lists them; until then they are
driven here exactly as the top-level parser will drive them.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from grader.cli import checks as checks_cli
from grader.cli import rubric as rubric_cli
from grader.rubric.schema import dumps, rubric_schema
from tests.conftest import ROOT, RUBRIC


def grader(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="grader")
    sub = parser.add_subparsers(dest="command")
    rubric_cli.add_parser(sub)
    checks_cli.add_parser(sub)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


GOOD = ("version: 1\nid: d\ntitle: D\nquestions:\n  - id: Q1\n    text: T\n    type: code\n"
        "    checks: [{id: g, type: main_guard, points: 5}, {id: i, type: imports, points: 5, "
        "params: {modules: [multiprocessing]}}]\n")


def test_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "good.yaml", GOOD)
    assert grader("rubric", "check", path) == 0
    assert capsys.readouterr().out == f"{path}: ok, 1 questions, 2 checks, 10 points\n"


def test_check_lists_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", GOOD.replace("type: code", "type: cod").replace("points: 5}", "pionts: 5}"))
    good = write(tmp_path, "good.yaml", GOOD)
    assert grader("rubric", "check", bad, good) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"{bad}:7: questions[0].type: must be 'written' or 'code'; got a string ('cod'); "
                      "did you mean code?")
    assert f"{bad}:8: questions[0].checks[0].pionts: unknown key; did you mean points?" in out
    assert out[-2] == f"{bad}: 3 problems"
    assert out[-1] == f"{good}: ok, 1 questions, 2 checks, 10 points"


def test_the_default_rubric_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert grader("rubric", "check", str(RUBRIC)) == 0
    assert capsys.readouterr().out.splitlines() == [f"{RUBRIC}: ok, 6 questions, 18 checks, 100 points"]


def test_check_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rubric = write(tmp_path, "good.yaml", GOOD)
    ok = write(tmp_path, "o.yaml", "version: 1\nsubmissions:\n  a.py:\n    Q1: {score: 2, comment: fine}\n")
    assert grader("rubric", "check", rubric, "--overrides", ok) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{ok}: ok, 1 overrides for 1 submissions"
    bad = write(tmp_path, "b.yaml", "version: 1\nsubmissions:\n  a.py:\n    Q2: {score: 2, comment: fine}\n")
    assert grader("rubric", "check", rubric, "--overrides", bad) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"{bad}:4: submissions.a.py.Q2: no question 'Q2' in rubric 'd'"


def test_schema_prints_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert grader("rubric", "schema") == 0
    out = capsys.readouterr().out
    assert out == dumps(rubric_schema()) == (ROOT / "rubrics" / "rubric.schema.json").read_text(encoding="utf-8")


def test_checks_lists_every_type_with_params(capsys: pytest.CaptureFixture[str]) -> None:
    from grader.checks import REGISTRY

    assert grader("checks") == 0
    text = capsys.readouterr().out
    for t in REGISTRY:
        assert f"\n{t.name}" in "\n" + text
    assert "    - min_words: int (default 5)" in text
    assert "        - phrases: list[str] (default [])" in text
    assert "concurrent\n" in text and "not implemented" not in text

    assert grader("checks", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data] == REGISTRY.names()
    concepts = next(c for c in data if c["name"] == "concepts")
    assert concepts["runs"] == [] and concepts["implemented"]
    assert {p["name"] for p in concepts["params"]} >= {"concepts", "full_credit_at", "review_below"}


def test_docs_list_the_checks_as_generated(capsys: pytest.CaptureFixture[str]) -> None:
    assert grader("checks", "--markdown") == 0
    generated = capsys.readouterr().out
    docs = (ROOT / "docs" / "rubrics.md").read_text(encoding="utf-8")
    begin, end = "<!-- checks:begin (grader checks --markdown) -->\n", "<!-- checks:end -->"
    assert begin in docs and end in docs, "docs/rubrics.md lost its generated check list markers"
    assert docs.split(begin, 1)[1].split(end, 1)[0] == generated, \
        "docs/rubrics.md is out of date: paste `grader checks --markdown` between the markers"

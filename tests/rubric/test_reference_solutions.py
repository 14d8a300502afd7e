"""The reference solution and the known-wrong variants beside the rubric.

`grader rubric test` (which needs the sandbox) will run all their checks. Until then this
keeps the material honest: expected.yaml names real files and real checks, each variant
changes only the answers whose checks it expects to lose, and the checks that need no run
(answered, concepts, main_guard) already give exactly the expected verdicts.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.answers import Answer, AnswerPart, PartKind
from grader.checks import REGISTRY, CheckContext, Status, run_checks
from grader.rubric import Rubric, load_rubric
from tests.conftest import ROOT, RUBRIC

FOLDER = ROOT / "rubrics" / "multiprocessing"
EXPECTED = yaml.safe_load((FOLDER / "expected.yaml").read_text(encoding="utf-8"))
STATUS_KEYS = {"failed": Status.FAILED, "skipped": Status.SKIPPED, "timeout": Status.TIMEOUT}


def cells_by_question(path: Path) -> dict[str, str]:
    """`# %%` cells of a reference-style file, keyed by the question they are marked with."""
    out: dict[str, str] = {}
    for cell in re.split(r"^# %%.*\n", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        m = re.search(r"^#\s*(?:#\s*)?(Q\d)\b", cell, re.M)
        assert m, f"{path.name}: a cell without a question marker"
        out[m.group(1)] = cell
    return out


def answer(qid: str, cell: str | None) -> Answer:
    if cell is None:
        return Answer(qid)
    lines = cell.strip("\n").splitlines()
    if all(ln.startswith("#") for ln in lines):  # a markdown cell: drop the heading, un-comment
        prose = "\n".join(ln.lstrip("#").strip() for ln in lines[1:])
        return Answer(qid, [AnswerPart(0, PartKind.PROSE, prose)])
    return Answer(qid, [AnswerPart(0, PartKind.CODE, cell)])


def static_verdicts(rubric: Rubric, path: Path) -> dict[str, Any]:
    """Verdicts of the checks that need no run (and those whose requirements need none)."""
    cells = cells_by_question(path)
    verdicts = {}
    for q in rubric.questions:
        implemented = {c.id for c in q.checks
                       if (t := REGISTRY.get(c.type)) is not None and t.implemented and not t.variants_for(c.params)}
        kept = tuple(c for c in q.checks if c.id in implemented and set(c.requires) <= implemented)
        a = answer(q.id, cells.get(q.id))
        code = cells.get(q.id) if a.code_parts() else None
        for v in run_checks(dataclasses.replace(q, checks=kept), CheckContext(q, a, code)):
            verdicts[f"{q.id}.{v.check}"] = v
    return verdicts


def all_check_names(rubric: Rubric) -> set[str]:
    return {f"{q.id}.{c.id}" for q in rubric.questions for c in q.checks}


def test_expected_names_real_files_and_checks() -> None:
    rubric = load_rubric(RUBRIC)
    assert (FOLDER / EXPECTED["rubric"]).resolve() == RUBRIC.resolve()
    assert (FOLDER / EXPECTED["reference"]).is_file()
    listed = {v["file"] for v in EXPECTED["variants"]}
    assert listed == {f"wrong/{p.name}" for p in (FOLDER / "wrong").glob("*.py")}
    for variant in EXPECTED["variants"]:
        assert set(variant) <= {"file", *STATUS_KEYS, "review"}, variant
        named = [c for key in (*STATUS_KEYS, "review") for c in variant.get(key, [])]
        assert named, f"{variant['file']} expects nothing to go wrong"
        assert set(named) <= all_check_names(rubric), variant["file"]


@pytest.mark.parametrize("variant", EXPECTED["variants"], ids=lambda v: v["file"])
def test_variant_changes_only_the_answers_it_expects_to_lose(variant: dict[str, Any]) -> None:
    reference = cells_by_question(FOLDER / EXPECTED["reference"])
    wrong = cells_by_question(FOLDER / variant["file"])
    touched = {c.split(".")[0] for key in (*STATUS_KEYS, "review") for c in variant.get(key, [])}
    changed = {q for q in reference.keys() | wrong.keys() if reference.get(q) != wrong.get(q)}
    assert changed == touched


def test_reference_passes_every_static_check() -> None:
    rubric = load_rubric(RUBRIC)
    verdicts = static_verdicts(rubric, FOLDER / EXPECTED["reference"])
    assert len(verdicts) >= 9
    failing = {name: v.message for name, v in verdicts.items() if v.status is not Status.PASSED or v.fraction < 1}
    assert failing == {}


@pytest.mark.parametrize("variant", EXPECTED["variants"], ids=lambda v: v["file"])
def test_variant_gets_its_expected_static_verdicts(variant: dict[str, Any]) -> None:
    rubric = load_rubric(RUBRIC)
    verdicts = static_verdicts(rubric, FOLDER / variant["file"])
    expected = {name: status for key, status in STATUS_KEYS.items() for name in variant.get(key, [])}
    for name, v in verdicts.items():
        assert v.status is expected.get(name, Status.PASSED), f"{name}: {v.status.value}: {v.message}"
        assert v.needs_review == (name in variant.get("review", [])), f"{name}: review {v.review_reason}"

"""How well `concepts` tracks the TA's quality labels on real written answers.

The prose is read straight from the files at the labelled locations (the locator is not
used, so this measures the check alone). An answer whose text is real code (it parses and is
more than string literals) is given to the check as code, as the locator would.
Prints the correlation, the per-quality mean credit and the clearest disagreements; fails if coverage stops tracking
quality, or if any answer the TA found good is zeroed without a review flag.
"""

from __future__ import annotations

import ast
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest

from grader.answers import Answer, AnswerPart, PartKind
from grader.checks import CheckContext
from grader.checks.concepts import concepts
from grader.checks.params import ConceptsParams
from grader.rubric import load_rubric
from tests.conftest import LABELS, RUBRIC, labelled_file

WRITTEN = ("Q1", "Q2", "Q4")


def _source(name: str) -> Path:
    return labelled_file(name)


def _raw_text(name: str, location: dict[str, Any], path: Path | None = None) -> str:
    path = path or _source(name)
    if "files" in location:  # a folder of per-question files
        return "\n".join(_raw_text(name, entry, path / entry["file"]) for entry in location["files"])
    if "cells" in location:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cells[i]["source"]) for i in location["cells"])
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join("\n".join(lines[a - 1:b]) for a, b in location["lines"])


def _is_real_code(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, (ast.Constant, ast.Name)))
               and not (isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)) for s in tree.body)


def _answer(qid: str, text: str) -> Answer:
    text = re.sub(r"^\s*In \[[^\]]*\]:\s?", "", text, flags=re.M)
    if _is_real_code(text):
        return Answer(qid, [AnswerPart(0, PartKind.CODE, text)])
    prose = text.replace("#", " ").replace("'''", " ").replace('"""', " ")
    return Answer(qid, [AnswerPart(0, PartKind.PROSE, prose)])


def _pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    var = (sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)) ** 0.5
    return cov / var if var else 0.0


def test_concepts_credit_tracks_ta_quality(capsys: pytest.CaptureFixture[str]) -> None:
    rubric = load_rubric(RUBRIC)
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    credit: list[float] = []
    quality: list[float] = []
    silently_zeroed = []
    rows = []
    for name, label in sorted(labels.items()):
        for qid in WRITTEN:
            ql = label["questions"].get(qid)
            if not ql or not ql.get("answered") or "quality" not in ql:
                continue
            question = rubric.question(qid)
            spec = question.check("concepts")
            assert isinstance(spec.params, ConceptsParams)
            verdict = concepts(CheckContext(question, _answer(qid, _raw_text(name, ql["location"]))), spec.params)
            credit.append(verdict.fraction)
            quality.append(ql["quality"])
            if (ql["quality"] == 2 and verdict.fraction < 0.6) or (ql["quality"] == 1 and verdict.fraction > 0.9):
                rows.append(f"  {name} {qid}: quality {ql['quality']}, credit {verdict.fraction:.2f}"
                            f"{' (flagged for review)' if verdict.needs_review else ''}")
            if ql["quality"] == 2 and verdict.fraction == 0 and not verdict.needs_review:
                silently_zeroed.append(f"{name} {qid}")
    r = _pearson(credit, quality)
    by_quality = {q: statistics.fmean(c for c, qq in zip(credit, quality, strict=True) if qq == q)
                  for q in sorted(set(quality))}
    with capsys.disabled():
        print(f"\nconcepts vs TA quality on {len(credit)} written answers: Pearson r = {r:.2f}; "
              + ", ".join(f"mean credit at quality {q:g} = {m:.2f}" for q, m in by_quality.items()))
        print("clear disagreements (quality 2 with credit below 0.6, quality 1 with full credit):")
        print("\n".join(rows))
    assert len(credit) >= 50, "fewer labelled written answers than expected: is the corpus complete?"
    assert not silently_zeroed, f"good answers zeroed without a review flag: {silently_zeroed}"
    assert by_quality[2] > by_quality[1] + 0.2
    assert r >= 0.4

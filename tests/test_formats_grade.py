"""A Markdown notebook and a plain-text answer sheet, graded end to end with real runs."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from grader.grade import grade_submission
from grader.rubric import load_rubric
from tests.conftest import RUBRIC

pytestmark = pytest.mark.slow
FILES = Path(__file__).resolve().parent / "load" / "files"


def statuses(path: Path) -> dict[str, dict[str, str]]:
    rubric = load_rubric(RUBRIC)
    rubric = replace(rubric, questions=tuple(replace(q, limits=replace(q.limits, wall_time=5))
                                             for q in rubric.questions))
    result = grade_submission(str(path), rubric)
    assert result.error is None
    return {q.question.id: {v.check: v.status.value for v in q.score.verdicts} for q in result.questions}


def test_a_markdown_notebook_is_graded_from_its_fenced_code() -> None:
    got = statuses(FILES / "answer_labels_export.md")
    assert got["Q3"]["process_created"] == "passed"
    assert got["Q6"]["four_processes"] == "passed" and got["Q6"]["one_number_per_process"] == "passed"
    assert got["Q5"]["pool_used"] == "failed"  # Q5 is prose only


def test_a_text_answer_sheet_is_graded_from_the_code_between_its_prose() -> None:
    got = statuses(FILES / "answer_sheet.txt")
    assert got["Q3"]["process_created"] == "passed"
    assert got["Q5"]["pool_used"] == "failed"  # its indentation error stops it, as it would stop a script
    assert got["Q6"]["four_processes"] == "passed"  # the code after the fused label `6.`


@pytest.mark.parametrize("name", ["answer_labels_export.md", "answer_sheet.txt", "quarto.qmd"])
def test_inspect_names_the_format(name: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "inspect", str(FILES / name)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert ("Markdown notebook" if name.endswith(("md", "qmd")) else "answer sheet") in proc.stdout.split("\n")[0]

"""Locating answers with the default rubric's questions, for tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from grader.answers import Answer
from grader.load import load
from grader.locate import QuestionRef, locate, questions_from_rubric
from grader.rubric.load import load_rubric
from grader.submission import Submission
from tests.conftest import RUBRIC


@cache
def questions() -> tuple[QuestionRef, ...]:
    return tuple(questions_from_rubric(load_rubric(RUBRIC)))


def located(path: Path) -> tuple[Submission, dict[str, Answer]]:
    sub = load(path)
    return sub, {a.question: a for a in locate(sub, questions())}


def notebook(tmp_path: Path, *cells: tuple[str, str], name: str = "sheet.ipynb") -> Path:
    """A notebook of (kind, source) cells, written to tmp_path/name."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": source,
         **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, source in cells]}
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path

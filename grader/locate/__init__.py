"""Finding each question's answer in a submission, and recording why.

    locate(submission, questions, overrides=None) -> list[Answer]   one Answer per question, in order

`questions` are `QuestionRef`s (id, number, text, kind, aliases, code_patterns); the rubric
provides them. See `assign` for how the decision is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grader.answers import Answer
from grader.locate.assign import assign
from grader.locate.numbering import pieces_of
from grader.locate.pieces import QuestionRef
from grader.rubric.model import Rubric
from grader.submission import Submission

__all__ = ["QuestionRef", "cells_named", "locate", "pieces_of", "questions_from_rubric"]


def locate(submission: Submission, questions: Sequence[QuestionRef],
           overrides: Mapping[str, Sequence[int]] | None = None) -> list[Answer]:
    """One Answer per question, in the questions' order.

    `overrides` maps a question id to Submission cell indices a TA chose for it.
    """
    return assign(submission, pieces_of(submission, questions), questions, overrides)


def questions_from_rubric(rubric: Rubric) -> list[QuestionRef]:
    """The locator's view of a rubric's questions."""
    refs = []
    for k, q in enumerate(rubric.questions, start=1):
        digits = "".join(ch for ch in q.id if ch.isdigit())
        number = q.number if q.number is not None else (int(digits) if digits else k)
        refs.append(QuestionRef(id=q.id, number=number, text=q.text, kind=q.type.value, aliases=q.aliases,
                                code_patterns=q.code_patterns, patterns=q.patterns))
    return refs


def cells_named(submission: Submission, cells: Sequence[int] = (), lines: Sequence[int] = (),
                file: str | None = None) -> list[int]:
    """The submission's cells a TA names: notebook cell indices, or lines inside cells; in a folder of
    per-question files, of the file named (a file named alone: all its cells). In a folder of several
    files read whole, no file named means its main file; a folder graded as its main file alone takes
    that file's name too."""
    if file is None and submission.files:
        file = next((f.path for f in submission.files if f.main), None)
    elif file is not None and not submission.files and submission.chosen and submission.chosen.graded == file:
        file = None
    if file is not None and not cells and not lines:
        return [c.index for c in submission.cells if c.origin.file == file]
    if cells:
        return [c.index for c in submission.cells if c.origin.cell in cells and c.origin.file == file]
    return [c.index for c in submission.cells if c.origin.file == file
            and c.origin.lines and any(c.origin.lines[0] <= n <= c.origin.lines[1] for n in lines)]

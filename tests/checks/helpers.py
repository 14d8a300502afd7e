"""Hand-made inputs for check tests: questions, answers and contexts, no files, no runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.answers import Answer, AnswerPart, Method, PartKind, WrittenIn
from grader.checks import CheckContext
from grader.rubric.model import CheckSpec, Question, QuestionType


def question(qid: str = "Q1", text: str = "What is multiprocessing in python? Why is it useful?",
             kind: QuestionType = QuestionType.WRITTEN, checks: tuple[CheckSpec, ...] = ()) -> Question:
    return Question(id=qid, text=text, type=kind, points=sum(c.points for c in checks), checks=checks)


def answer(qid: str = "Q1", prose: tuple[str, ...] = (), code: tuple[str, ...] = ()) -> Answer:
    parts = [AnswerPart(i, PartKind.PROSE, t, written_in=WrittenIn.MARKDOWN) for i, t in enumerate(prose)]
    parts += [AnswerPart(len(prose) + i, PartKind.CODE, t) for i, t in enumerate(code)]
    return Answer(qid, parts, method=Method.MARKER if parts else None,
                  reason="made by hand" if parts else "no answer found")


def context(q: Question | None = None, *, prose: tuple[str, ...] = (), code: tuple[str, ...] = (),
            source: str | None = None, traces: Mapping[str, Any] | None = None) -> CheckContext:
    q = q or question()
    return CheckContext(q, answer(q.id, prose, code), source, dict(traces or {}))


def code_context(code: str) -> CheckContext:
    """A code question whose answer is `code` (and the program is that code)."""
    q = question("Q3", "Write a python code to create a process using the multiprocessing module.",
                 QuestionType.CODE)
    return context(q, code=(code,))

"""The `answered` check: is there an answer at all?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grader.checks.context import CheckContext
from grader.checks.registry import register
from grader.checks.text import without_question, words
from grader.checks.verdict import Verdict

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import AnsweredParams


def prose_words(ctx: CheckContext) -> list[str]:
    """The answer's prose words, without a copy of the question."""
    return without_question(words(ctx.answer.prose_text()), ctx.question.text)


@register("answered", params="AnsweredParams")
def answered(ctx: CheckContext, params: AnsweredParams) -> Verdict:
    """The question has an answer: prose (markdown, comments or string literals) of at least
    `min_words` words, or code."""
    n_words = len(prose_words(ctx))
    n_code = len(ctx.answer.code_parts())
    evidence = {"words": n_words, "code_parts": n_code, "cells": ctx.answer.cells,
                "located_by": ctx.answer.method.value if ctx.answer.method else None,
                "reason": ctx.answer.reason}
    if "prose" in params.accept and n_words >= params.min_words:
        return Verdict.passed(f"Answered ({n_words} words).", evidence)
    if "code" in params.accept and n_code:
        return Verdict.passed("Answered with code.", evidence)
    if n_words and "prose" in params.accept:
        return Verdict.failed(f"Your answer is very short ({n_words} words); "
                              f"explain it in at least {params.min_words} words.", evidence)
    if n_code and "prose" in params.accept:
        return Verdict.failed("This question asks for a written explanation, but only code was found.",
                              evidence)
    if n_words and "code" in params.accept:
        return Verdict.failed("This question asks for code, but only text was found.", evidence)
    return Verdict.failed(f"No answer to {ctx.question.id} was found.", evidence)

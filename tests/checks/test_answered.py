"""`answered`: prose of a minimum length, or code; a copied question is not an answer."""

from __future__ import annotations

from grader.checks import Status
from grader.checks.answered import answered
from grader.checks.params import AnsweredParams
from tests.checks.helpers import context, question


def test_prose_long_enough_passes() -> None:
    v = answered(context(prose=("It runs several processes at once on many cores.",)), AnsweredParams())
    assert v.status is Status.PASSED
    assert v.evidence["words"] == 9


def test_short_prose_fails_with_its_length() -> None:
    v = answered(context(prose=("Runs processes.",)), AnsweredParams(min_words=5))
    assert v.status is Status.FAILED
    assert "2 words" in v.message


def test_copied_question_alone_is_not_an_answer() -> None:
    q = question()
    v = answered(context(q, prose=(q.text,)), AnsweredParams(min_words=1))
    assert v.status is Status.FAILED
    assert v.evidence["words"] == 0


def test_code_counts_unless_only_prose_is_accepted() -> None:
    ctx = context(code=("import multiprocessing",))
    assert answered(ctx, AnsweredParams()).status is Status.PASSED
    v = answered(ctx, AnsweredParams(accept=["prose"]))
    assert v.status is Status.FAILED and "only code" in v.message


def test_prose_for_a_code_question() -> None:
    v = answered(context(prose=("I would create a pool with four workers.",)), AnsweredParams(accept=["code"]))
    assert v.status is Status.FAILED and "only text" in v.message


def test_nothing_found() -> None:
    v = answered(context(), AnsweredParams())
    assert v.status is Status.FAILED and "No answer to Q1" in v.message

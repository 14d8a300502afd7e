"""`run_checks`: requires → skipped with the reason, missing runs, crashing checks, messages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from grader.checks import CheckContext, NoParams, Registry, Status, Verdict, run_checks
from grader.checks.context import DEFAULT_VARIANT
from grader.errors import RubricError
from grader.rubric.model import CheckSpec, Messages, QuestionType
from grader.trace import Trace
from tests.checks.helpers import context, question

REG = Registry()


@REG.register("pass", params=NoParams)
def _pass(ctx: CheckContext, params: NoParams) -> Verdict:
    """Always passes."""
    return Verdict.passed("fine")


@REG.register("fail", params=NoParams)
def _fail(ctx: CheckContext, params: NoParams) -> Verdict:
    """Always fails."""
    return Verdict.failed("detail of the failure")


@REG.register("half", params=NoParams)
def _half(ctx: CheckContext, params: NoParams) -> Verdict:
    """Half credit."""
    return Verdict.partial(0.5, "half of it", passed=True)


@REG.register("boom", params=NoParams)
def _boom(ctx: CheckContext, params: NoParams) -> Verdict:
    """Raises."""
    raise ZeroDivisionError("oops")


@REG.register("needs_run", params=NoParams, variants=frozenset({DEFAULT_VARIANT}))
def _needs_run(ctx: CheckContext, params: NoParams) -> Verdict:
    """Reads the default run."""
    return Verdict.passed("ran")


REG.declare("later", params=NoParams, variants=frozenset(), doc="Not written yet.")


NO_MESSAGES = Messages()


def spec(cid: str, kind: str, points: float = 1, requires: tuple[str, ...] = (),
         messages: Messages = NO_MESSAGES, params: BaseModel | None = None) -> CheckSpec:
    return CheckSpec(cid, kind, points, params or NoParams(), messages, requires=requires)


def run(*specs: CheckSpec, code: tuple[str, ...] = ("x = 1",), traces: dict[str, object] | None = None
        ) -> list[Verdict]:
    q = question("Q3", "Write code.", QuestionType.CODE, checks=specs)
    return run_checks(q, context(q, code=code, traces=traces), REG)


def test_verdicts_are_stamped_in_rubric_order() -> None:
    a, b = run(spec("b", "fail", 3), spec("a", "pass", 2))
    assert (a.check, a.status, a.points, a.max_points) == ("b", Status.FAILED, 0, 3)
    assert (b.check, b.status, b.points, b.max_points) == ("a", Status.PASSED, 2, 2)


def test_requires_skips_with_the_reason_even_when_declared_later() -> None:
    first, dep = run(spec("uses", "pass", requires=("base",)), spec("base", "fail"))
    assert first.status is Status.SKIPPED and first.points == 0
    assert "requires base failed" in first.message
    assert dep.status is Status.FAILED


def test_requires_met_runs_the_check() -> None:
    _, second = run(spec("base", "pass"), spec("uses", "pass", requires=("base",)))
    assert second.status is Status.PASSED


def test_skips_cascade() -> None:
    _, b, c = run(spec("a", "fail"), spec("b", "pass", requires=("a",)), spec("c", "pass", requires=("b",)))
    assert b.status is Status.SKIPPED and c.status is Status.SKIPPED and "b skipped" in c.message


def test_a_crashing_check_is_an_error_for_review_not_an_exception() -> None:
    (v,) = run(spec("x", "boom"))
    assert v.status is Status.ERROR and v.needs_review
    assert "ZeroDivisionError" in v.evidence["exception"]


def test_missing_run_is_error_unless_there_is_no_code() -> None:
    (v,) = run(spec("x", "needs_run"))
    assert v.status is Status.ERROR and "default" in v.message
    (v,) = run(spec("x", "needs_run"), code=())
    assert v.status is Status.FAILED and "No code" in v.message
    (v,) = run(spec("x", "needs_run"), traces={"default": Trace(exit_code=0)})
    assert v.status is Status.PASSED


@pytest.mark.parametrize("image", ["![image.png](attachment:image.png)", "![code](q5.png)",
                                   '<img src="screenshot.jpg" width=400>'])
def test_a_code_answer_that_is_an_image_asks_a_ta_to_read_it(image: str) -> None:
    # A real notebook answered Q5 with a pasted screenshot of its program: no code to run, but not
    # "no answer" either; a TA reads the image.
    q = question("Q5", "Write code.", QuestionType.CODE, checks=(spec("x", "needs_run"),))
    (v,) = run_checks(q, context(q, prose=(image,)), REG)
    assert v.status is Status.FAILED and v.points == 0 and v.needs_review
    assert "No code was found to run" in v.message and "is an image" in v.message and "a TA will read it" in v.message
    assert v.review_reason is not None and "image" in v.review_reason
    (v,) = run_checks(q, context(q, prose=("I could not do this one.",)), REG)
    assert v.status is Status.FAILED and not v.needs_review and "image" not in v.message


def test_main_guard_of_an_image_answer_asks_a_ta_too() -> None:
    from grader.checks.registry import REGISTRY

    q = question("Q5", "Write code.", QuestionType.CODE, checks=(spec("g", "main_guard"),))
    (v,) = run_checks(q, context(q, prose=("![image.png](attachment:image.png)",)), REGISTRY)
    assert v.status is Status.FAILED and v.needs_review and "is an image" in v.message


def test_rubric_messages_lead_and_the_detail_follows_on_failure() -> None:
    m = Messages(passed="Well done.", failed="Not yet.")
    ok, bad, half = run(spec("a", "pass", messages=m), spec("b", "fail", messages=m), spec("c", "half", messages=m))
    assert ok.message == "Well done."
    assert bad.message == "Not yet. detail of the failure"
    assert half.message == "Well done. half of it" and half.points == 0.5


def test_a_declared_type_cannot_grade() -> None:
    with pytest.raises(RubricError, match="not an implemented check type"):
        run(spec("x", "later"))

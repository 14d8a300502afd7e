"""Verdict: points from fractions, the invariants, and JSON for both readers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from grader.checks import Status, Verdict
from grader.checks.verdict import json_safe


def test_points_are_the_fraction_of_the_rubric_points() -> None:
    v = Verdict.partial(0.5, "half", passed=True).stamped("concepts", 7)
    assert v.points == 3.5
    assert v.status is Status.PASSED
    assert Verdict.failed("no").stamped("x", 7).points == 0


@pytest.mark.parametrize("make", [Verdict.error, Verdict.timeout, Verdict.skipped])
def test_only_passed_or_failed_can_earn_points(make: Callable[[str], Verdict]) -> None:
    with pytest.raises(ValueError, match="earns nothing"):
        Verdict(make("m").status, 0.5, "m")


def test_fraction_outside_0_1_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        Verdict(Status.PASSED, 1.5, "too much")


def test_partial_clamps_and_review_needs_a_reason() -> None:
    assert Verdict.partial(1.7, "m", passed=True).fraction == 1.0
    with pytest.raises(ValueError, match="must say why"):
        Verdict(Status.FAILED, 0.0, "m", needs_review=True)
    flagged = Verdict.failed("m", review="other words")
    assert flagged.needs_review and flagged.review_reason == "other words"


def test_to_json_is_json_safe_and_student_view_hides_evidence() -> None:
    v = Verdict.failed("msg", {"pids": {3, 1, 2}, "t": (1, 2), "inf": math.inf, "status": Status.FAILED,
                               "obj": object}).stamped("c", 2)
    ta = v.to_json()
    json.dumps(ta, allow_nan=False)
    assert ta["evidence"]["pids"] == [1, 2, 3]
    assert ta["evidence"]["inf"] == "inf"
    assert ta["evidence"]["status"] == "failed"
    student = v.to_json(student=True)
    assert set(student) == {"id", "status", "score", "max_score", "message"}
    assert student == {"id": "c", "status": "failed", "score": 0, "max_score": 2, "message": "msg"}


def test_json_safe_nested() -> None:
    assert json_safe({1: [(1, {2})], "n": None}) == {"1": [[1, [2]]], "n": None}

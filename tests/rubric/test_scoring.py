"""Scores: sums of verdict points, hidden checks, review flags, and TA overrides (no re-run)."""

from __future__ import annotations

import json
import textwrap

import pytest

from grader.checks import Verdict
from grader.rubric import (
    Override,
    Overrides,
    apply_overrides,
    parse_rubric,
    score_question,
    score_submission,
)

RUBRIC = parse_rubric(textwrap.dedent("""
    version: 1
    id: demo
    title: Demo
    questions:
      - id: Q1
        text: Explain it.
        type: written
        checks:
          - {id: answered, type: answered, points: 2}
          - {id: concepts, type: concepts, points: 8, hidden: true,
             params: {concepts: [{name: a, phrases: [a]}]}}
      - id: Q2
        text: Write it.
        type: code
        checks: [{id: guard, type: main_guard, points: 5}]
    """))


def q1(concepts: Verdict) -> list[Verdict]:
    return [Verdict.passed("ok").stamped("answered", 2), concepts.stamped("concepts", 8)]


def test_question_score_is_the_sum_of_points_earned() -> None:
    s = score_question(RUBRIC.question("Q1"), q1(Verdict.partial(0.25, "some", passed=False)), answered=True)
    assert (s.score, s.graded_score, s.max_score) == (4.0, 4.0, 10)


def test_verdicts_must_match_the_checks() -> None:
    with pytest.raises(ValueError, match="expected"):
        score_question(RUBRIC.question("Q1"), [Verdict.passed("ok").stamped("answered", 2)], answered=True)


def test_hidden_checks_count_but_students_do_not_see_them() -> None:
    s = score_question(RUBRIC.question("Q1"), q1(Verdict.passed("all")), answered=True)
    assert s.score == 10
    assert [c["id"] for c in s.to_json()["checks"]] == ["answered", "concepts"]
    student = s.to_json(student=True)
    assert [c["id"] for c in student["checks"]] == ["answered"]
    assert student["score"] == 10 and "needs_review" not in student


def test_review_flags_reach_the_question_until_overridden() -> None:
    flagged = Verdict.failed("other words", review="covers 0 of 1 ideas")
    s = score_question(RUBRIC.question("Q1"), q1(flagged), answered=True)
    assert s.needs_review and s.to_json()["needs_review"]
    overridden = apply_overrides(score_submission(RUBRIC, "alice", [s]),
                                 Overrides(submissions={"alice": {"Q1": Override(9, "Right, in other words.")}}))
    assert not overridden.questions[0].needs_review


def test_submission_totals_fill_missing_questions_and_apply_overrides() -> None:
    s1 = score_question(RUBRIC.question("Q1"), q1(Verdict.failed("none")), answered=True)
    result = score_submission(RUBRIC, "alice", [s1])
    assert [q.question for q in result.questions] == ["Q1", "Q2"]
    assert (result.score, result.max_score) == (2.0, 15)
    assert not result.questions[1].answered and result.questions[1].verdicts == ()

    overrides = Overrides(submissions={"alice": {"Q2": Override(3, "Guard is in a helper module.", "ta")},
                                       "bob": {"Q1": Override(0, "no")}})
    after = score_submission(RUBRIC, "alice", [s1], overrides)
    assert after.score == 5.0
    q2 = after.to_json()["questions"][1]
    assert q2["score"] == 3 and q2["graded_score"] == 0
    assert q2["override"] == {"score": 3, "comment": "Guard is in a helper module.", "by": "ta", "answer": None}
    assert apply_overrides(result, overrides) == after
    json.dumps(after.to_json(), allow_nan=False)


def test_results_json_shape() -> None:
    s1 = score_question(RUBRIC.question("Q1"), q1(Verdict.passed("ok")), answered=True)
    data = score_submission(RUBRIC, "alice", [s1], error=None).to_json()
    assert set(data) == {"submission", "score", "max_score", "error", "questions"}
    assert {"id", "score", "max_score", "answered", "checks"} <= set(data["questions"][0])
    assert {"id", "status", "score", "max_score", "message"} <= set(data["questions"][0]["checks"][0])


def test_scores_for_unknown_questions_are_refused() -> None:
    other = parse_rubric("version: 1\nid: o\ntitle: O\nquestions:\n  - id: Q9\n    text: T\n    type: code\n"
                         "    checks: [{id: g, type: main_guard, points: 1}]\n")
    s = score_question(other.questions[0], [Verdict.passed("ok").stamped("g", 1)], answered=True)
    with pytest.raises(ValueError, match="Q9"):
        score_submission(RUBRIC, "alice", [s])

"""The results model: one JSON form, the student view, re-scoring through the scoring code."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from grader.checks.verdict import Verdict
from grader.outcome import SCHEMA, AttemptOutcome, CheckOutcome, QuestionOutcome, SubmissionOutcome
from grader.rubric.overrides import Override
from grader.trace import Capture, Line, Trace


def check(id: str, verdict: Verdict, points: float, *, hidden: bool = False) -> CheckOutcome:
    return CheckOutcome.of(verdict.stamped(id, points), type="runs", hidden=hidden)


def trace(text: str) -> Trace:
    return Trace(exit_code=0, stdout=Capture(text + "\n", len(text) + 1),
                 lines=(Line(pid=10, stream="stdout", text=text, t=0.01),))


@pytest.fixture()
def outcome() -> SubmissionOutcome:
    visible = check("four_processes", Verdict.passed("Four processes.", {"line": 7, "children": [{"line": 9}]}), 6)
    secret = check("secret_probe", Verdict.failed("The hidden probe failed."), 4, hidden=True)
    review = check("concepts", Verdict.failed("Other words.", review="uses other words"), 5)
    attempt = AttemptOutcome(1, 3, "code cell 3", "import os\nprint(1)\n", 2, 6.0,
                             {"default": trace("visible run"), "spawn": trace("hidden run")},
                             (visible, secret), {"default": ("four_processes",), "spawn": ("secret_probe",)})
    q6 = QuestionOutcome("Q6", "Four processes", "code", 10, True, (visible, secret), "marker",
                         "follows '# Q6'", (3,), {"cells": [3]}, (attempt,), 0, 1)
    q1 = QuestionOutcome("Q1", "What is it?", "written", 5, True, (review,))
    return SubmissionOutcome("sec1/hw.ipynb", "/x/sec1/hw.ipynb", "mp", 15, (q1, q6), format="ipynb",
                             digest="d1", limits_hit=("wall",))


def test_the_json_form_round_trips_exactly(outcome: SubmissionOutcome) -> None:
    data = json.loads(json.dumps(outcome.to_json(), allow_nan=False))
    assert data["schema"] == SCHEMA
    again = SubmissionOutcome.from_json(data)
    assert again.to_json() == data
    assert again.question("Q6").attempts[0].runs["default"] == outcome.question("Q6").attempts[0].runs["default"]


def test_a_record_of_another_format_is_refused(outcome: SubmissionOutcome) -> None:
    data = outcome.to_json() | {"schema": "grader.outcome/0"}
    with pytest.raises(ValueError, match=r"not a grader\.outcome/1 record"):
        SubmissionOutcome.from_json(data)


def test_scores_come_from_the_checks_and_review_flags(outcome: SubmissionOutcome) -> None:
    assert outcome.question("Q6").score == 6 and outcome.question("Q1").score == 0
    assert outcome.score == 6 and outcome.needs_review
    assert outcome.question("Q6").checks[0].lines == ()  # a passed check marks no line


def test_a_failed_check_marks_the_lines_that_went_wrong_only() -> None:
    evidence = {"creations": [{"line": 7, "status": "unguarded"}, {"line": 9, "status": "guarded"}]}
    assert check("main_guard", Verdict.failed("Not guarded.", evidence), 3).lines == (7,)


def test_an_override_rescores_without_running_and_settles_the_review(outcome: SubmissionOutcome) -> None:
    rescored = outcome.with_overrides({"Q1": Override(score=4, comment="fine, other words")})
    assert rescored.question("Q1").score == 4 and rescored.question("Q1").graded_score == 0
    assert rescored.score == 10 and not rescored.needs_review
    back = rescored.with_overrides({})
    assert back.score == outcome.score and back.needs_review


def test_a_questions_score_is_computed_once_and_a_replaced_one_afresh(outcome: SubmissionOutcome,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages, class outputs and the terminal table read each score many times: the verdicts are rebuilt
    once per question outcome, and an outcome made with `replace` (an override) is scored again."""
    rebuilt: list[str] = []
    verdict = CheckOutcome.verdict

    def counted(self: CheckOutcome) -> Verdict:
        rebuilt.append(self.id)
        return verdict(self)

    monkeypatch.setattr(CheckOutcome, "verdict", counted)
    q6 = outcome.question("Q6")
    assert q6 is not None
    for _ in range(3):
        assert (q6.score, q6.graded_score, q6.needs_review) == (6, 6, False)
    assert sorted(rebuilt) == ["four_processes", "secret_probe"]
    overridden = replace(q6, override=Override(score=2.5, comment="partial"))
    assert overridden.score == 2.5 and overridden.graded_score == 6 and q6.score == 6


def test_the_student_view_has_no_trace_of_a_hidden_check(outcome: SubmissionOutcome) -> None:
    student = outcome.student_view()
    text = json.dumps(student.to_json())
    assert "secret_probe" not in text and "hidden probe" not in text and "hidden run" not in text
    assert "visible run" in text
    assert student.score == outcome.score  # hidden checks still count
    q6 = student.question("Q6")
    assert q6.graded_score == outcome.question("Q6").graded_score
    assert all(not c.evidence for c in q6.checks) and not student.needs_review
    assert "uses other words" not in text  # review notes are for the TA


def test_the_summary_keeps_scores_but_no_runs_or_cells(outcome: SubmissionOutcome) -> None:
    summary = outcome.summary()
    assert summary.score == outcome.score and summary.limits_hit == ("wall",)
    assert not summary.cells and not summary.question("Q6").attempts[0].runs
    assert "visible run" not in json.dumps(summary.to_json())


def test_a_visible_check_skipped_for_a_hidden_one_does_not_name_it(outcome: SubmissionOutcome) -> None:
    skipped = check("concurrent", Verdict.skipped("Not checked, because it requires secret_probe failed."), 2)
    q6 = outcome.question("Q6")
    assert q6 is not None
    full = replace(outcome, questions=(outcome.questions[0], replace(q6, checks=(*q6.checks, skipped))))
    text = json.dumps(full.student_view().to_json())
    assert "secret_probe" not in text and "requires a hidden check failed" in text


def test_which_file_of_a_folder_was_graded_round_trips_and_older_records_still_read(
        outcome: SubmissionOutcome) -> None:
    chosen = replace(outcome, graded_file="hw.ipynb", not_graded=("draft.ipynb",))
    data = json.loads(json.dumps(chosen.to_json()))
    assert (data["graded_file"], data["not_graded"]) == ("hw.ipynb", ["draft.ipynb"])
    again = SubmissionOutcome.from_json(data)
    assert (again.graded_file, again.not_graded) == ("hw.ipynb", ("draft.ipynb",))
    assert again.summary().graded_file == again.student_view().graded_file == "hw.ipynb"
    older = {k: v for k, v in outcome.to_json().items() if k not in ("graded_file", "not_graded")}
    read = SubmissionOutcome.from_json(older)  # a details file written before these fields existed
    assert (read.graded_file, read.not_graded) == (None, ()) and read.score == outcome.score

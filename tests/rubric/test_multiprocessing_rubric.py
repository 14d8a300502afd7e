"""rubrics/multiprocessing.yaml: the six questions of the homework, 100 points, the agreed check ids."""

from __future__ import annotations

import re

from grader.checks.params import (
    ConcurrentParams,
    DistinctNumbersParams,
    OneNumberPerProcessParams,
    ProcessCreatedParams,
)
from grader.rubric import QuestionType, load_rubric, unimplemented
from tests.conftest import HOMEWORK, RUBRIC

CHECKS = {
    "Q1": [("answered", "answered"), ("concepts", "concepts")],
    "Q2": [("answered", "answered"), ("concepts", "concepts")],
    "Q3": [("process_created", "process_created"), ("main_guard", "main_guard"), ("spawn_safe", "spawn_safe")],
    "Q4": [("answered", "answered"), ("concepts", "concepts")],
    "Q5": [("pool_used", "pool_used"), ("main_guard", "main_guard"), ("spawn_safe", "spawn_safe")],
    "Q6": [("runs", "runs"), ("four_processes", "process_created"), ("four_distinct_numbers", "distinct_numbers"),
           ("one_number_per_process", "one_number_per_process"), ("concurrent", "concurrent"),
           ("main_guard", "main_guard")],
}


def test_questions_checks_and_points() -> None:
    r = load_rubric(RUBRIC)
    assert r.id == "multiprocessing" and r.max_score == 100
    assert {q.id: [(c.id, c.type) for c in q.checks] for q in r.questions} == CHECKS
    kinds = {q.id: q.type for q in r.questions}
    assert [k for k, v in kinds.items() if v is QuestionType.WRITTEN] == ["Q1", "Q2", "Q4"]
    for q in r.questions:
        assert q.points == sum(c.points for c in q.checks)
        assert all(c.points > 0 for c in q.checks)


def test_q6_asks_for_four() -> None:
    q6 = load_rubric(RUBRIC).question("Q6")
    assert q6.check("four_processes").params == ProcessCreatedParams(n=4)
    assert q6.check("four_distinct_numbers").params == DistinctNumbersParams(n=4)
    assert q6.check("one_number_per_process").params == OneNumberPerProcessParams(n=4)
    assert q6.check("concurrent").params == ConcurrentParams(n=4)


def test_spawn_safe_is_skipped_when_nothing_to_re_run() -> None:
    r = load_rubric(RUBRIC)
    assert r.question("Q3").check("spawn_safe").requires == ("process_created",)
    assert r.question("Q5").check("spawn_safe").requires == ("pool_used",)


def test_question_texts_are_the_homework() -> None:
    section = HOMEWORK.read_text(encoding="utf-8").split("## The homework", 1)[1].split("##", 1)[0]
    given = [re.sub(r"\s*\((written|code)\)\s*$", "", m) for m in re.findall(r"^\d+\. (.+)$", section, re.M)]
    assert [q.text for q in load_rubric(RUBRIC).questions] == given


def test_every_check_has_student_messages() -> None:
    for q in load_rubric(RUBRIC).questions:
        for c in q.checks:
            assert c.messages.failed, f"{q.id}.{c.id} has no fail message"


def test_every_check_of_the_rubric_can_grade() -> None:
    assert unimplemented(load_rubric(RUBRIC)) == []

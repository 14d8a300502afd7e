"""`concepts`: partial credit by coverage, flags for a TA, never a silent zero for a real answer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.checks import Status
from grader.checks.concepts import concepts
from grader.checks.params import ConceptsParams
from tests.checks.helpers import context

PARAMS = ConceptsParams.model_validate({
    "concepts": [
        {"name": "separate processes", "phrases": ["separate process", "own memory"]},
        {"name": "several cores", "phrases": ["multiple ... core", "multicore"]},
        {"name": "bypasses the GIL", "phrases": ["gil", "global interpreter lock"]},
        {"name": "CPU-bound work", "phrases": ["cpu bound"], "patterns": [r"number[- ]crunch"]},
    ],
    "full_credit_at": 0.75,
})


def test_full_coverage_earns_everything() -> None:
    v = concepts(context(prose=("Separate processes on multi-core CPUs avoid the GIL for CPU-bound work.",)), PARAMS)
    assert v.status is Status.PASSED and v.fraction == 1.0 and not v.needs_review
    assert v.evidence["missing"] == []
    assert "all 4" in v.message


def test_partial_credit_is_proportional_to_coverage_up_to_full_credit_at() -> None:
    v = concepts(context(prose=("Processes each have their own memory and use multiple CPU cores.",)), PARAMS)
    assert v.evidence["coverage"] == 0.5
    assert v.fraction == pytest.approx(0.5 / 0.75)
    assert v.status is Status.PASSED  # at or above pass_at (0.5)
    assert "Consider also: bypasses the GIL, CPU-bound work" in v.message


def test_three_of_four_is_full_credit_at_075() -> None:
    v = concepts(context(prose=("Own memory, multicore, and no GIL.",)), PARAMS)
    assert v.fraction == 1.0


def test_patterns_are_regular_expressions_over_the_text() -> None:
    v = concepts(context(prose=("Good for number-crunching.",)), PARAMS)
    assert v.evidence["covered"] == {"CPU-bound work": "number-crunch"}


def test_weights_shift_credit() -> None:
    weighted = PARAMS.model_copy(update={"concepts": [
        PARAMS.concepts[0].model_copy(update={"weight": 3.0}), *PARAMS.concepts[1:]]})
    v = concepts(context(prose=("Each process has its own memory.",)), weighted)
    assert v.evidence["coverage"] == 0.5


def test_real_answer_in_other_words_is_flagged_not_silently_zeroed() -> None:
    prose = ("Python can start another copy of itself to do work next to the first one; the two copies "
             "then finish sooner together, because the computer has more than one brain for arithmetic.")
    v = concepts(context(prose=(prose,)), PARAMS)
    assert v.fraction == 0.0
    assert v.needs_review and v.review_reason is not None and "0 of 4" in v.review_reason


def test_short_off_answer_is_not_flagged() -> None:
    v = concepts(context(prose=("It is fast.",)), PARAMS)
    assert v.fraction == 0.0 and not v.needs_review


def test_code_only_answer_is_flagged() -> None:
    v = concepts(context(code=("with Pool(4) as p:\n    p.map(f, xs)",)), PARAMS)
    assert v.status is Status.FAILED and v.needs_review
    assert "code only" in (v.review_reason or "")


def test_code_comments_count_when_asked() -> None:
    ctx = context(code=("# each worker is a separate process on a multicore CPU, free of the GIL\nx = 1",))
    assert concepts(ctx, PARAMS).fraction == 0.0
    asked = PARAMS.model_copy(update={"read_code_comments": True})
    assert concepts(ctx, asked).fraction == 1.0


def test_no_answer_is_not_flagged() -> None:
    v = concepts(context(), PARAMS)
    assert v.status is Status.FAILED and not v.needs_review


def test_words_of_a_copied_question_do_not_count() -> None:
    params = ConceptsParams.model_validate({"concepts": [{"name": "useful", "phrases": ["useful"]}]})
    q_text = "What is multiprocessing in python? Why is it useful?"
    v = concepts(context(prose=(q_text + " It runs processes.",)), params)
    assert v.fraction == 0.0


@pytest.mark.parametrize("bad", [
    {"concepts": []},
    {"concepts": [{"name": "x"}]},
    {"concepts": [{"name": "x", "patterns": ["("]}]},
    {"concepts": [{"name": "x", "phrases": ["a"]}], "full_credit_at": 0},
    {"concepts": [{"name": "x", "phrases": ["a"], "synonyms": ["b"]}]},
])
def test_bad_params_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ConceptsParams.model_validate(bad)

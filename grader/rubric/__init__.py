"""Rubrics: the YAML file describing an assignment's questions and how each is graded.

Public API:

    load_rubric(path) -> Rubric           validate a rubric file (RubricError lists every problem)
    parse_rubric(text, file) -> Rubric    the same for text in hand
    unimplemented(rubric) -> [str]        checks whose type is declared but cannot grade yet
    ensure_gradable(rubric)               RubricError unless every check can grade
    variants_needed(question) -> {str}    the runs ("default", "spawn") the question's checks read
    Rubric, Question, CheckSpec, Limits, Messages, QuestionType
    load_overrides(path, rubric) -> Overrides
    score_question, score_submission, apply_overrides, QuestionScore, SubmissionScore
    rubric_schema() -> dict               the JSON Schema of rubric files

The format is described in docs/rubrics.md.
"""

from __future__ import annotations

from grader.rubric.load import ensure_gradable, load_rubric, parse_rubric, unimplemented, variants_needed
from grader.rubric.model import CheckSpec, Limits, Messages, Question, QuestionType, Rubric
from grader.rubric.overrides import Override, Overrides, load_overrides, parse_overrides
from grader.rubric.schema import overrides_schema, rubric_schema
from grader.rubric.scoring import (
    QuestionScore,
    SubmissionScore,
    apply_overrides,
    score_question,
    score_submission,
)

__all__ = [
    "CheckSpec",
    "Limits",
    "Messages",
    "Override",
    "Overrides",
    "Question",
    "QuestionScore",
    "QuestionType",
    "Rubric",
    "SubmissionScore",
    "apply_overrides",
    "ensure_gradable",
    "load_overrides",
    "load_rubric",
    "overrides_schema",
    "parse_overrides",
    "parse_rubric",
    "rubric_schema",
    "score_question",
    "score_submission",
    "unimplemented",
    "variants_needed",
]

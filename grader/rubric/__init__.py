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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): `import grader.rubric.cache` (a self-check's start) must not
# pull in the YAML reader, the documents' pydantic models and the JSON schema.
_WHERE = {
    "ensure_gradable": "load", "load_rubric": "load", "parse_rubric": "load", "unimplemented": "load",
    "variants_needed": "load",
    "CheckSpec": "model", "Limits": "model", "Messages": "model", "Question": "model", "QuestionType": "model",
    "Rubric": "model",
    "Override": "overrides", "Overrides": "overrides", "load_overrides": "overrides", "parse_overrides": "overrides",
    "overrides_schema": "schema", "rubric_schema": "schema",
    "QuestionScore": "scoring", "SubmissionScore": "scoring", "apply_overrides": "scoring",
    "score_question": "scoring", "score_submission": "scoring",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


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

"""A Gradebook built from a rubric and outcomes, as the batch builds it."""

from __future__ import annotations

from collections.abc import Iterable

from grader.outcome import Gradebook, QuestionInfo, SubmissionOutcome
from grader.rubric.model import Rubric


def gradebook_of(rubric: Rubric, outcomes: Iterable[SubmissionOutcome]) -> Gradebook:
    questions = tuple(QuestionInfo(q.id, q.text, q.type.value, q.points, tuple((c.id, c.hidden) for c in q.checks))
                      for q in rubric.questions)
    return Gradebook(rubric.id, rubric.title, rubric.version, rubric.max_score, questions,
                     tuple(o.summary() for o in outcomes))

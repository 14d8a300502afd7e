"""Scores from verdicts: per question, per submission, with TA overrides. Pure functions.

- A check earns `verdict.points` (its fraction of the rubric's points; skipped, error and
  timeout earn nothing). A question's score is the sum over its checks; a submission's the
  sum over its questions.
- A TA override replaces a question's score (the verdicts stay, for the record) and its
  comment is shown with it. Overrides apply at scoring time: no code is re-run.
- Hidden checks count toward the score, but `to_json(student=True)` leaves them out.
- `needs_review` on a question means some verdict asked a TA to read the answer and no
  override has settled it yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from grader.checks.verdict import Verdict
from grader.rubric.model import Question, Rubric
from grader.rubric.overrides import Override, Overrides


@dataclass(frozen=True)
class QuestionScore:
    question: str
    max_score: float
    verdicts: tuple[Verdict, ...]
    answered: bool
    hidden: frozenset[str] = frozenset()  # ids of hidden checks
    override: Override | None = None

    @property
    def graded_score(self) -> float:
        return round(sum(v.points for v in self.verdicts), 2)

    @property
    def score(self) -> float:
        if self.override is not None and self.override.score is not None:
            return self.override.score
        return self.graded_score

    @property
    def needs_review(self) -> bool:
        settled = self.override is not None and self.override.score is not None
        return not settled and any(v.needs_review for v in self.verdicts)

    def to_json(self, *, student: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.question,
            "score": self.score,
            "max_score": self.max_score,
            "answered": self.answered,
            "checks": [v.to_json(student=student) for v in self.verdicts
                       if not (student and v.check in self.hidden)],
            "override": self.override.to_json() if self.override else None,
        }
        if not student:
            data["graded_score"] = self.graded_score
            data["needs_review"] = self.needs_review
        return data


@dataclass(frozen=True)
class SubmissionScore:
    submission: str
    max_score: float
    questions: tuple[QuestionScore, ...]
    error: str | None = None  # why it could not be graded (its questions then score 0)

    @property
    def score(self) -> float:
        return round(sum(q.score for q in self.questions), 2)

    def to_json(self, *, student: bool = False) -> dict[str, Any]:
        return {"submission": self.submission, "score": self.score, "max_score": self.max_score,
                "error": self.error, "questions": [q.to_json(student=student) for q in self.questions]}


def score_question(question: Question, verdicts: list[Verdict], *, answered: bool) -> QuestionScore:
    """The question's score from its checks' verdicts (one per check, in rubric order)."""
    expected = [c.id for c in question.checks]
    got = [v.check for v in verdicts]
    if got != expected:
        raise ValueError(f"verdicts for {question.id} are for checks {got}, expected {expected}")
    return QuestionScore(question.id, question.points, tuple(verdicts), answered,
                         frozenset(c.id for c in question.checks if c.hidden))


def score_submission(rubric: Rubric, submission: str, questions: list[QuestionScore],
                     overrides: Overrides | None = None, error: str | None = None) -> SubmissionScore:
    """The submission's score; `overrides` (if any) replace question scores."""
    by_id = {q.question: q for q in questions}
    unknown = set(by_id) - {q.id for q in rubric.questions}
    if unknown:
        raise ValueError(f"scores for questions not in rubric {rubric.id}: {sorted(unknown)}")
    ordered = []
    for q in rubric.questions:
        scored = by_id.get(q.id) or QuestionScore(q.id, q.points, (), answered=False)
        ordered.append(scored)
    result = SubmissionScore(submission, rubric.max_score, tuple(ordered), error)
    return apply_overrides(result, overrides) if overrides is not None else result


def apply_overrides(result: SubmissionScore, overrides: Overrides) -> SubmissionScore:
    """`result` with the TA's overrides for its submission applied (nothing is re-run)."""
    questions = tuple(replace(q, override=overrides.get(result.submission, q.question) or q.override)
                      for q in result.questions)
    return replace(result, questions=questions)

"""What one check concluded: a `Verdict`.

Scoring convention: a check function reports a *fraction* of its points (`fraction`, 0..1)
and never needs to know how many points the rubric gives it. The runner stamps the check's
id and `max_points` from the rubric, so `points` (= fraction × max_points, rounded to 0.01)
is what the student earns. Every status except `passed` may still carry partial credit only
where the check says so (`concepts` gives partial credit; a skipped, error or timeout
verdict earns nothing).

Two readers: `message` is for the student (what went wrong, a hint); `evidence` is for the TA
(what the check looked at, as JSON-safe values). `needs_review` asks a TA to read the answer
because the automatic judgement may be unfair (for instance a written answer that uses none
of the expected words), with `review_reason` saying why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.answers import Answer


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the check could not judge (its input is missing, or the check itself broke)
    TIMEOUT = "timeout"  # the run it judges hit its time limit
    SKIPPED = "skipped"  # not evaluated: a check it requires did not pass


def json_safe(value: Any) -> Any:
    """`value` turned into plain JSON types (dict/list/str/int/float/bool/None), recursively.

    Sets become sorted lists, tuples lists, enums their value, other objects their `str`;
    non-finite floats become strings so `json.dumps(..., allow_nan=False)` never fails.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Verdict:
    """One check's outcome. Build it with `Verdict.passed/failed/partial/error/...`."""

    status: Status
    fraction: float  # share of the check's points earned, 0..1
    message: str  # student-facing
    evidence: Mapping[str, Any] = field(default_factory=dict)  # for the TA
    needs_review: bool = False
    review_reason: str | None = None
    check: str = ""  # the check's id in the rubric, stamped by the runner
    max_points: float = 0.0  # stamped by the runner from the rubric

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"Verdict fraction must be within 0..1, got {self.fraction}")
        if self.status is not Status.PASSED and self.status is not Status.FAILED and self.fraction:
            raise ValueError(f"a {self.status.value} verdict earns nothing, got fraction {self.fraction}")
        if self.needs_review and not self.review_reason:
            raise ValueError("a verdict that needs review must say why (review_reason)")

    @property
    def points(self) -> float:
        return round(self.fraction * self.max_points, 2)

    @classmethod
    def passed(cls, message: str, evidence: Mapping[str, Any] | None = None) -> Verdict:
        return cls(Status.PASSED, 1.0, message, dict(evidence or {}))

    @classmethod
    def failed(cls, message: str, evidence: Mapping[str, Any] | None = None, *,
               review: str | None = None) -> Verdict:
        return cls(Status.FAILED, 0.0, message, dict(evidence or {}),
                   needs_review=review is not None, review_reason=review)

    @classmethod
    def partial(cls, fraction: float, message: str, evidence: Mapping[str, Any] | None = None, *,
                passed: bool, review: str | None = None) -> Verdict:
        """Partial credit: `fraction` of the points, with `passed` deciding the status."""
        return cls(Status.PASSED if passed else Status.FAILED, min(1.0, max(0.0, fraction)), message,
                   dict(evidence or {}), needs_review=review is not None, review_reason=review)

    @classmethod
    def error(cls, message: str, evidence: Mapping[str, Any] | None = None) -> Verdict:
        return cls(Status.ERROR, 0.0, message, dict(evidence or {}))

    @classmethod
    def timeout(cls, message: str, evidence: Mapping[str, Any] | None = None) -> Verdict:
        return cls(Status.TIMEOUT, 0.0, message, dict(evidence or {}))

    @classmethod
    def skipped(cls, message: str, evidence: Mapping[str, Any] | None = None) -> Verdict:
        return cls(Status.SKIPPED, 0.0, message, dict(evidence or {}))

    def stamped(self, check: str, max_points: float) -> Verdict:
        """This verdict for the rubric check `check` worth `max_points`."""
        return replace(self, check=check, max_points=max_points)

    def to_json(self, *, student: bool = False) -> dict[str, Any]:
        """As results.json stores it; `student=True` leaves out the TA-only evidence."""
        data: dict[str, Any] = {
            "id": self.check,
            "status": self.status.value,
            "score": self.points,
            "max_score": self.max_points,
            "message": self.message,
        }
        if not student:
            data["fraction"] = round(self.fraction, 4)
            data["needs_review"] = self.needs_review
            data["review_reason"] = self.review_reason
            data["evidence"] = json_safe(self.evidence)
        return data


def no_code(answer: Answer, message: str, evidence: Mapping[str, Any] | None = None) -> Verdict:
    """A code question's answer with no code: failed; when the answer is an image (a screenshot of
    the program), a TA is asked to read it, as the grader can neither read nor run it."""
    images = answer.images()
    if not images:
        return Verdict.failed(message, evidence)
    shown = ", ".join(images[:3]) + (f" and {len(images) - 3} more" if len(images) > 3 else "")
    return Verdict.failed(f"{message} The answer is an image ({shown}): the grader cannot read or run code in an "
                          "image, so a TA will read it.", {**(evidence or {}), "images": images},
                          review="the answer to this code question is an image (a screenshot of code?)")

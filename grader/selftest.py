"""`grader rubric test`: grade a rubric's reference solution and its known-wrong variants.

Beside `rubrics/NAME.yaml` lives `rubrics/NAME/expected.yaml`: the reference solution must get
full marks (every check passes), and each wrong variant must end its listed checks with the
listed status (`failed`, `skipped`, `timeout`; `review`: flagged for a TA) while every other
check passes, so it loses exactly the points of the checks it names. This runs the real
pipeline (locator, sandbox, checks), so it proves the rubric grades what it means to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from grader import reftimes
from grader.errors import RubricError
from grader.grade import Result, grade_submission
from grader.reftimes import ReferenceTimes, expected_file
from grader.rubric.model import Rubric

STATUSES = ("failed", "skipped", "timeout")


@dataclass
class Outcome:
    file: str
    result: Result
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.result.error is None


def _read_expected(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RubricError([f"{path}: no expected.yaml beside the rubric (its reference and wrong variants)"])
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "reference" not in data:
        raise RubricError([f"{path}: expected a mapping with 'reference' and 'variants'"])
    return data


def compare(result: Result, expected: dict[str, list[str]]) -> list[str]:
    """Every check's status against what the variant expects (passed unless listed)."""
    want: dict[str, str] = {}
    for status in STATUSES:
        for name in expected.get(status, []):
            want[name] = status
    review = set(expected.get("review", []))
    problems = []
    seen = set()
    for q in result.score.questions:
        for v in q.verdicts:
            name = f"{q.question}.{v.check}"
            seen.add(name)
            wanted = want.get(name, "passed")
            if v.status.value != wanted:
                problems.append(f"{name}: {v.status.value}, expected {wanted} ({v.message})")
            if name in review and not v.needs_review:
                problems.append(f"{name}: not flagged for review")
    problems += [f"{name}: no such check" for name in sorted((set(want) | review) - seen)]
    return problems


def run_selftest(rubric: Rubric, *, wall_time: float | None = None,
                 progress: Callable[[Outcome], None] | None = None,
                 measured: Callable[[ReferenceTimes, Path | None], None] | None = None) -> list[Outcome]:
    """Grade the reference and every wrong variant. With `wall_time: auto` in the rubric, the
    reference's grading (at the ceilings) is also its measurement: the times are stored
    (grader.reftimes; `measured` is told where) and the wrong variants are graded with the limits
    they give."""
    path = expected_file(rubric)
    data = _read_expected(path)
    folder = path.parent
    if wall_time is not None:
        rubric = replace(rubric, questions=tuple(
            replace(q, limits=replace(q.limits, wall_time=wall_time, wall_time_auto=None)) for q in rubric.questions))
    cases: list[tuple[str, dict[str, list[str]]]] = [(data["reference"], {})]
    cases += [(v["file"], v) for v in data.get("variants", [])]
    outcomes = []
    first: Result | None = None
    if rubric.auto_limits:
        measurement = reftimes.measure(rubric)
        if measurement is not None:
            times, first = measurement
            where = reftimes.store(rubric, times)
            reftimes.forget()
            if measured is not None:
                measured(times, where)
        rubric = reftimes.apply(rubric, measurement[0] if measurement is not None else None)
    for file, expected in cases:
        result = first if first is not None and file == data["reference"] else \
            grade_submission(str(folder / file), rubric)
        outcome = Outcome(file, result, compare(result, expected) if result.error is None else [result.error])
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes

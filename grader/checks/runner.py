"""Run a question's checks: `run_checks(question, ctx) -> [Verdict]`, in rubric order.

Pure, like the checks: no I/O, the runs already happened (their traces are in `ctx`).
- A check whose `requires` did not all pass is skipped, and its message says which and why.
- A check that needs a run which did not happen fails when the answer has no code to run,
  and is an `error` otherwise (the grader, not the student, is missing something).
- A check that raises is an `error` verdict carrying the traceback for the TA and flagged for
  review, so one broken check never stops a batch.
- Each verdict is stamped with the check's id and points, and its message is the rubric's
  `messages.pass`/`messages.fail` followed by the check's own detail.
"""

from __future__ import annotations

import traceback
from dataclasses import replace

from grader.checks.context import CheckContext
from grader.checks.registry import REGISTRY, Registry
from grader.checks.verdict import Status, Verdict
from grader.errors import RubricError
from grader.rubric.model import CheckSpec, Question


def run_checks(question: Question, ctx: CheckContext, registry: Registry = REGISTRY) -> list[Verdict]:
    done: dict[str, Verdict] = {}
    for spec in _in_dependency_order(question.checks):
        done[spec.id] = _run_one(spec, ctx, done, registry)
    return [done[spec.id] for spec in question.checks]


def _in_dependency_order(checks: tuple[CheckSpec, ...]) -> list[CheckSpec]:
    """Rubric order, except that a check comes after those it requires (the rubric has no cycles)."""
    by_id = {c.id: c for c in checks}
    ordered: list[CheckSpec] = []
    placed: set[str] = set()

    def place(spec: CheckSpec) -> None:
        if spec.id in placed:
            return
        placed.add(spec.id)
        for dep in spec.requires:
            if dep in by_id:
                place(by_id[dep])
        ordered.append(spec)

    for spec in checks:
        place(spec)
    return ordered


def _run_one(spec: CheckSpec, ctx: CheckContext, done: dict[str, Verdict], registry: Registry) -> Verdict:
    not_passed = [(dep, done[dep].status) for dep in spec.requires if done[dep].status is not Status.PASSED]
    if not_passed:
        why = ", ".join(f"{dep} {status.value}" for dep, status in not_passed)
        verdict = Verdict.skipped(f"Not checked, because it requires {why}.",
                                  {"requires": {dep: s.value for dep, s in not_passed}})
        return verdict.stamped(spec.id, spec.points)
    check_type = registry.get(spec.type)
    if check_type is None or check_type.function is None:
        raise RubricError([f"{spec.type!r} (check {ctx.question.id}.{spec.id}) is not an implemented "
                           "check type; "
                           "call grader.rubric.ensure_gradable before grading"])
    missing = sorted(check_type.variants_for(spec.params) - set(ctx.traces))
    if missing and not ctx.answer.code_parts():
        verdict = Verdict.failed("No code was found to run.", {"missing_runs": missing})
    elif missing:
        verdict = Verdict.error(f"Not checked: the {', '.join(missing)} run of this answer did not happen.",
                                {"missing_runs": missing})
    else:
        try:
            verdict = check_type.function(ctx, spec.params)
        except Exception as exc:  # a grader bug must not stop the batch; the TA sees the traceback
            verdict = Verdict(Status.ERROR, 0.0, "This check could not be completed; a TA will look at it.",
                              {"exception": "".join(traceback.format_exception(exc))},
                              needs_review=True,
                              review_reason=f"check {spec.type} raised {type(exc).__name__}")
    return _with_messages(verdict, spec).stamped(spec.id, spec.points)


def _with_messages(verdict: Verdict, spec: CheckSpec) -> Verdict:
    detail = verdict.message
    if verdict.status is Status.PASSED and spec.messages.passed:
        message = spec.messages.passed if verdict.fraction >= 1.0 else f"{spec.messages.passed} {detail}"
    elif verdict.status is Status.FAILED and spec.messages.failed:
        message = f"{spec.messages.failed} {detail}"
    else:
        message = detail
    return replace(verdict, message=message.strip())

"""Run a question's checks: `run_checks(question, ctx) -> [Verdict]`, in rubric order.

Pure, like the checks: no I/O, the runs already happened (their traces are in `ctx`).
- A check whose `requires` did not all pass is skipped, and its message says which and why.
- A check that needs a run which did not happen fails when the answer has no code to run,
  and is an `error` otherwise (the grader, not the student, is missing something).
- A check that raises is an `error` verdict carrying the traceback for the TA and flagged for
  review, so one broken check never stops a batch.
- Each verdict is stamped with the check's id and points, and its message is the rubric's
  `messages.pass`/`messages.fail` followed by the check's own detail.
- A run that never finished (its wall-time limit stopped it) is said first, in plain words, by
  every check reading it, and such a check earns at most the rubric's `scoring.hang_credit` of
  its points: it judged a partial run. Its status stays what it observed (a check that saw the
  processes start still passed, in part), so `requires` and the TA's view of facts are unchanged.
  A check that fails on a run that raised an uncaught exception says the exception first.
  `runs` and `spawn_safe` judge both themselves.
- Partial credit is rounded to a multiple of the rubric's `scoring.round_to` points (halves up;
  a check that did not pass never rounds up to all its points).
"""

from __future__ import annotations

import math
import traceback
from dataclasses import replace

from grader.checks.context import CheckContext
from grader.checks.failure import (
    FAILS_BY_DEFAULT_TOO,
    SYNTAX,
    WHERE,
    hang_sentence,
    line_of,
    reason,
    sentence,
    uncaught,
)
from grader.checks.registry import REGISTRY, CheckType, Registry
from grader.checks.verdict import Status, Verdict, no_code
from grader.errors import RubricError
from grader.rubric.model import CheckSpec, Question, Scoring


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
        hung = any(done[dep].evidence.get("hung") for dep, _ in not_passed)
        verdict = Verdict.skipped(f"Not checked, because {'the program never finished (' if hung else ''}"
                                  f"it requires {why}{')' if hung else ''}.",
                                  {"requires": {dep: s.value for dep, s in not_passed}})
        return verdict.stamped(spec.id, spec.points)
    check_type = registry.get(spec.type)
    if check_type is None or check_type.function is None:
        raise RubricError([f"{spec.type!r} (check {ctx.question.id}.{spec.id}) is not an implemented "
                           "check type; "
                           "call grader.rubric.ensure_gradable before grading"])
    missing = sorted(check_type.variants_for(spec.params) - set(ctx.traces))
    if missing and not ctx.answer.code_parts():
        verdict = no_code(ctx.answer, "No code was found to run.", {"missing_runs": missing})
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
    verdict = _with_messages(verdict, spec)
    if not check_type.judges_stop and verdict.status in (Status.PASSED, Status.FAILED):
        verdict = _stopped_early(verdict, spec, check_type, ctx)
    return _rounded(verdict.stamped(spec.id, spec.points), ctx.question.scoring)


def _stopped_early(verdict: Verdict, spec: CheckSpec, check_type: CheckType, ctx: CheckContext) -> Verdict:
    """The verdict of a check reading runs, when a run it read never finished or raised: said first,
    and a hang caps the credit (the check judged only what happened before the run was stopped)."""
    traces = [ctx.traces[v] for v in sorted(check_type.variants_for(spec.params)) if v in ctx.traces]
    hung = next((t for t in traces if t.timed_out), None)
    if hung is not None:
        credit = ctx.question.scoring.hang_credit
        fraction = min(verdict.fraction, credit)
        if verdict.status is not Status.PASSED:
            note = ""
        elif credit == 0:
            note = ", so this check earns nothing"
        else:
            note = f", so this check earns {'half' if credit == 0.5 else f'{credit:.0%}'} of its points at most"
        # The status stays what the check observed (a process was started, numbers were printed):
        # the points say that the program never finished.
        evidence = {**verdict.evidence, "hung": True, "fraction_before_hang": round(verdict.fraction, 4)}
        return replace(verdict, fraction=fraction, evidence=evidence,
                       message=f"{hang_sentence(hung).rstrip('.')}{note}. Before it was stopped: {verdict.message}")
    if verdict.status is Status.PASSED:
        return verdict
    for trace in traces:
        exc = uncaught(trace)
        if exc is None:
            continue
        why = reason(trace, exc)
        line = line_of(trace, exc)
        at = f" (line {line})" if line is not None else ""
        first = sentence(f"The code does not compile{at}: {why}" if why.type in SYNTAX else
                         f"An uncaught exception in {WHERE.get(exc.where, exc.where)}{at}: {why}")
        evidence = {**verdict.evidence, "exception_first": str(why)}
        if line is not None:
            evidence["line"] = line
        return replace(verdict, message=f"{first} {verdict.message}", evidence=evidence)
    return verdict


def _rounded(verdict: Verdict, scoring: Scoring) -> Verdict:
    """Partial credit rounded to a multiple of `scoring.round_to` points, halves up; a verdict that did not
    pass keeps less than all the points."""
    step, most = scoring.round_to, verdict.max_points
    if step <= 0 or most <= 0 or not 0 < verdict.fraction < 1:
        return verdict
    points = math.floor(verdict.fraction * most / step + 0.5 + 1e-9) * step
    if verdict.status is not Status.PASSED and points >= most:
        points = max(0.0, most - step)
    return replace(verdict, fraction=min(1.0, max(0.0, points / most)))


def _with_messages(verdict: Verdict, spec: CheckSpec) -> Verdict:
    detail = verdict.message
    if verdict.status is Status.PASSED and spec.messages.passed:
        message = spec.messages.passed if verdict.fraction >= 1.0 else f"{spec.messages.passed} {detail}"
    elif verdict.status is Status.FAILED and spec.messages.failed and not verdict.evidence.get(FAILS_BY_DEFAULT_TOO):
        message = f"{spec.messages.failed} {detail}"
    else:
        message = detail
    return replace(verdict, message=message.strip())

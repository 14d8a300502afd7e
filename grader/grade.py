"""Grading one submission: the whole pipeline, in one place.

    path --load--> Submission --locate--> Answers --build--> Programs --run--> Traces
         --check--> Verdicts --score--> Result

Only `grader.sandbox` starts processes; this module decides which runs are needed (the run
variants a question's checks declare: "default", "spawn"...), asks for them, and hands the
Traces to the checks. Every failure of the student's work is a value in the Result; a file
that cannot be read becomes a Result with `error` set, so a batch always finishes.

Attempts: a code answer may hold several attempts (a student's tries at Q6, the working one
sometimes the fifth). They are run in file order while the answer misses points, every one of
them, within a time budget per question: a further attempt starts only while the wall time
the question's runs have taken is under ATTEMPT_BUDGET times the question's wall-time limit
(and at most `max_attempts`, a safety bound). The best counts; the report shows every attempt
run. Cells that only define things (`import multiprocessing` alone) are not attempts: their
definitions reach the real attempt through its prelude. Attempts are numbered by the answer's
code parts (`Program.attempt`), as `grader run --attempt` counts them.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from grader.answers import Answer
from grader.checks import CheckContext, Verdict, run_checks
from grader.checks.context import DEFAULT_VARIANT, RESEED_VARIANT, variant_run
from grader.checks.verdict import Status
from grader.errors import SubmissionError
from grader.load import load
from grader.locate import cells_named, locate, questions_from_rubric
from grader.outcome import AttemptOutcome, CellView, CheckOutcome, QuestionOutcome, SubmissionOutcome
from grader.program import Program, build_program
from grader.rubric.load import variants_needed
from grader.rubric.model import CheckSpec, Question, QuestionType, Rubric
from grader.rubric.overrides import AnswerRef, Overrides
from grader.rubric.scoring import QuestionScore, SubmissionScore, score_question, score_submission
from grader.sandbox.cancel import Cancelled
from grader.submission import Submission
from grader.trace import Issue, Trace
from grader.waits import expected_sleep

if TYPE_CHECKING:
    from grader.runslots import RunSlots
    from grader.sandbox.decide import Live, Stop, StopRule

Runner = Callable[..., Trace]  # grader.sandbox.run_program's signature
MAX_ATTEMPTS = 50  # a safety bound only: the time budget decides how many attempts run
ATTEMPT_BUDGET = 3.0  # a question's runs may take this many times its wall-time limit in all
RUN_SEED = 0  # every run of every submission is seeded alike, so re-grading gives the same record
SPECULATE_AFTER = 0.5  # seconds of a default run after which the question's other runs start beside it


@dataclass
class Attempt:
    program: Program
    traces: dict[str, Trace]
    verdicts: list[Verdict]

    @property
    def points(self) -> float:
        return round(sum(v.points for v in self.verdicts), 2)


@dataclass
class QuestionResult:
    question: Question
    answer: Answer
    score: QuestionScore
    attempts: list[Attempt] = field(default_factory=list)  # code attempts that were run
    graded: int | None = None  # index of the attempt whose verdicts count


@dataclass
class Result:
    """One submission, graded (or the reason it could not be)."""

    name: str
    path: str
    score: SubmissionScore
    submission: Submission | None = None
    questions: list[QuestionResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def question(self, qid: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question.id == qid), None)


def is_attempt(answer_code: str) -> bool:
    """A code part that does something when run, not only definitions or imports."""
    try:
        tree = ast.parse(answer_code)
    except (SyntaxError, ValueError, RecursionError):
        return True
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
             ast.AnnAssign, ast.Pass)
    return any(not isinstance(node, quiet) and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
               for node in tree.body)


def programs_for(submission: Submission, answer: Answer, max_attempts: int = MAX_ATTEMPTS) -> list[Program]:
    parts = answer.code_parts()
    # Only the programs that may run are built: each reads every earlier cell for its prelude, so building
    # one per part made a notebook of 10,000 code cells cost 50 million cell parses.
    chosen = [k for k, part in enumerate(parts) if is_attempt(part.text)] or list(range(len(parts)))
    return [p for k in chosen[:max_attempts] if (p := build_program(submission, answer, k)) is not None]


# Checks whose verdict a child's failure to start decides: spawn_safe fails on it (and on a child's
# crash), runs fails on any uncaught exception. A run read by these only may stop at that failure.
DECIDED_BY_FAILED_START = frozenset({"spawn_safe", "runs"})


def readers(question: Question) -> dict[str, list[CheckSpec]]:
    """Run variant -> the question's checks that read it."""
    from grader.rubric.load import check_variants

    out: dict[str, list[CheckSpec]] = {}
    for spec in question.checks:
        for variant in check_variants(spec):
            out.setdefault(variant, []).append(spec)
    return out


def stop_rule(variant_readers: Iterable[CheckSpec]) -> StopRule:
    """When a run may end early: past its output limit and when nothing can happen in it any more
    (always: every check then judges what it did until then, as at a limit), and at a child's
    failure to start when that decides every check reading the run."""
    from grader.sandbox.decide import ChildFailedToStart, Deadlocked, PastOutputCap, StopWhen

    rules: list[StopRule] = [PastOutputCap(), Deadlocked()]
    if all(spec.type in DECIDED_BY_FAILED_START for spec in variant_readers):
        rules.append(ChildFailedToStart())
    return StopWhen(rules)


def run_order(variants: Iterable[str]) -> list[str]:
    """The default run first: whether the others are needed depends on it."""
    return sorted(variants, key=lambda v: (v != DEFAULT_VARIANT, v))


def unneeded(variant: str, question: Question, answer: Answer, source: str,
             traces: Mapping[str, Trace]) -> bool:
    """Whether the checks reading `variant` are decided without it, from the runs made so far:
    - every one of them is skipped, because a check it requires did not pass on those runs (a
      skipped spawn_safe needs no spawn run);
    - `reseed` (the default run again with another seed) can only turn a pass into a failure: when
      none of its readers passes even if the reseed run showed exactly what the default run did,
      it cannot change a verdict."""
    checks = readers(question).get(variant, [])
    if not checks:
        return True
    default = traces.get(DEFAULT_VARIANT)
    assumed = dict(traces)
    if variant == RESEED_VARIANT and default is not None:
        assumed[variant] = default  # the most favourable reseed run: nothing changed
    verdicts = {v.check: v for v in run_checks(question, CheckContext(question, answer, source, assumed))}
    if variant == RESEED_VARIANT and default is not None:
        return all(verdicts[spec.id].status is not Status.PASSED for spec in checks)
    specs = {c.id: c for c in question.checks}

    def waits_for_a_run(check_id: str, seen: frozenset[str] = frozenset()) -> bool:
        """Not judged, or skipped because of a check not judged, for want of a run still to come."""
        v = verdicts.get(check_id)
        if v is None or check_id in seen:
            return False
        if v.evidence.get("missing_runs"):
            return True
        return v.status is Status.SKIPPED and any(waits_for_a_run(dep, seen | {check_id})
                                                 for dep in specs[check_id].requires)

    return all(verdicts[spec.id].status is Status.SKIPPED and not waits_for_a_run(spec.id) for spec in checks)


class _Unwanted:
    """A stop rule that fires once the grader no longer needs the run (its event is set)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, live: Live) -> Stop | None:
        from grader.sandbox.decide import Stop

        return Stop("not needed: the default run decided the checks that read it") if self.event.is_set() else None


def run_variants(program: Program, question: Question, variants: frozenset[str], runner: Runner,
                 answer: Answer | None = None, slots: RunSlots | None = None) -> dict[str, Trace]:
    """The runs the question's checks read, the default run first. With `answer` given, a run
    whose readers the default run decides is not made (a skipped spawn_safe costs nothing). A
    default run still going after SPECULATE_AFTER seconds (a program that sleeps or waits) has the
    other runs start beside it; one of them found unneeded when the default run ends is stopped
    and dropped, so it costs no more than what it ran until then (one that ended with a gap in its
    observation is made again only once it is known to be needed). With `slots` (a batch), every run
    first waits for a slot; the other runs start beside the default run at once when a core is
    idle (grader.runslots: never on one of the batch's `jobs`), and any of them still waiting when
    the default run ends gives up (whether it is needed is then known before it starts); once the
    default run has gone on for SPECULATE_AFTER (counted from when it got its slot, not from when
    it began to wait for one) they wait for a slot before the batch's other waiting runs (a
    sleeping default run leaves a core idle, which the gate gives at once), still giving up when
    the default run ends first."""
    from grader.sandbox import Limits
    from grader.sandbox.decide import StopWhen

    limits = Limits(**question.limits.as_dict())
    why = question.limits.reasons()
    by_variant = readers(question)
    order = run_order(variants)
    # a batch starts the runs expected to sleep longest first (grader.waits): their sleeps overlap the other runs
    expect = expected_sleep(program.source) if slots is not None else 0.0

    def run(variant: str, unwanted: threading.Event | None = None, abandon: Callable[[], bool] | None = None,
            idle_only: bool = False, gated: bool = True, again: bool = True, urgent: bool = False,
            on_start: Callable[[], None] | None = None) -> Trace | None:
        """The run of `variant`; None only when `abandon()` became true while it waited for a slot."""
        method, offset = variant_run(variant)
        stop = stop_rule(by_variant.get(variant, []))
        gate = slots if gated else None

        def started(abandon: Callable[[], bool] | None = None) -> Trace | None:
            if gate is not None and not gate.acquire(abandon, idle_only, urgent, expect):
                return None
            if on_start is not None:
                on_start()
            try:
                return runner(program.source, limits=limits, start_method=method, seed=RUN_SEED + offset,
                              stop=StopWhen([_Unwanted(unwanted), stop]) if unwanted is not None else stop)
            finally:
                if gate is not None:
                    gate.release()

        def once() -> Trace:
            trace = started()
            assert trace is not None  # never abandoned
            return trace

        trace = started(abandon)
        if trace is None:
            return None
        # a run beside the default one is made again only once the default run says it is needed
        if not trace.observed and again and unwanted is None:
            trace = observed_again(trace, once)
        return replace(trace, limits_why=why) if why else trace

    def made(variant: str, again: bool = True, on_start: Callable[[], None] | None = None) -> Trace:
        trace = run(variant, again=again, on_start=on_start)
        assert trace is not None  # never abandoned
        return trace

    if answer is None or len(order) < 2 or order[0] != DEFAULT_VARIANT:
        return {variant: made(variant) for variant in order}
    default_done = threading.Event()
    # when the default run began (its slot given, not when it started waiting for one): how long it has run
    # is what says it sleeps or is stuck; set also when the question ends before (an error, Ctrl-C)
    began = threading.Event()
    began_at = [0.0]

    def begin() -> None:
        if not began.is_set():
            began_at[0] = time.monotonic()
            began.set()

    def ran_long() -> bool:
        return began.is_set() and time.monotonic() - began_at[0] >= SPECULATE_AFTER
    unwanted = {variant: threading.Event() for variant in order[1:]}

    def beside(variant: str) -> Trace | None:
        if slots is not None:  # a batch: at once on a core left idle (it costs the batch nothing there)
            early = run(variant, unwanted[variant], idle_only=True,
                        abandon=lambda: default_done.is_set() or ran_long())
            if early is not None:
                return early
        began.wait()
        if default_done.wait(max(0.0, SPECULATE_AFTER - (time.monotonic() - began_at[0]))):
            return None  # the default run ended first: whether this one is needed is known before it starts
        if slots is None:
            # The default run waits (it sleeps, it is stuck): its core is the one this run uses.
            return run(variant, unwanted[variant], gated=False)
        # A batch: through the gate like any needed run. A default run that sleeps leaves a core idle, and
        # the gate lets a further run onto an idle core at once; one that is slow because the cores are busy
        # (its own work, or the batch's) leaves none, and a run started beside it would only slow both down.
        # It goes before the batch's other waiting runs: started late, it would make the default run's wait and
        # its own one after the other, at the end of the question (a program that sleeps 2 s would cost 4).
        return run(variant, unwanted[variant], abandon=default_done.is_set, urgent=True)

    with ThreadPoolExecutor(max_workers=len(order) - 1, thread_name_prefix="variant") as pool:
        others = {variant: pool.submit(beside, variant) for variant in order[1:]}
        try:
            traces = {DEFAULT_VARIANT: made(DEFAULT_VARIANT, on_start=begin)}
            default_done.set()
            for variant in order[1:]:
                if unneeded(variant, question, answer, program.source, traces):
                    unwanted[variant].set()
                    continue
                early = others[variant].result()
                if early is not None and not early.observed:
                    early = observed_again(early, functools.partial(made, variant, again=False))
                traces[variant] = early if early is not None else made(variant)
        finally:
            begin()
            default_done.set()
            for event in unwanted.values():  # an error, Ctrl-C: nothing keeps running
                event.set()
            for future in others.values():
                with contextlib.suppress(Exception):
                    future.result()
    return traces


def observed_again(first: Trace, run: Callable[[], Trace]) -> Trace:
    """A run the grader could not observe whole (a gap in strace's record) is made once more: a gap
    never turns into trust, nor into a failure the student did not cause when a second look is
    whole. At most one more run, so a program that makes gaps on purpose costs two runs, and its
    checks then fail and say why (grader.checks.behaviour.gap)."""
    gaps = "; ".join(i.detail for i in first.issues if i.kind == "observation_gap") or "unknown"
    second = run()
    note = Issue("observation_gap_rerun", f"the first run was not observed whole ({gaps}), so it was run again"
                 + ("" if second.observed else ", and the second run was not observed whole either"))
    return replace(second, issues=(*second.issues, note))


def judge(question: Question, answer: Answer, source: str, traces: Mapping[str, Trace]) -> list[Verdict]:
    """The question's verdicts over the runs made. A reseed run left out because it could not change
    a verdict is judged as the most favourable one (the default run again): its readers' failures do
    not depend on it. A verdict that read a run stopped early because it could never finish says
    so, and why. A run stopped because its verdicts were already decided (a child that failed to
    start, output past the cap) may also end by itself a moment before the rule fires: its
    verdicts, drawn from the same facts, carry no note, so results.json does not depend on that
    race; the run's line in the report says it was stopped."""
    assumed = dict(traces)
    if RESEED_VARIANT not in assumed and DEFAULT_VARIANT in assumed:
        assumed[RESEED_VARIANT] = assumed[DEFAULT_VARIANT]
    verdicts = run_checks(question, CheckContext(question, answer, source, assumed))
    by_variant = readers(question)
    notes: dict[str, str] = {}
    for variant, trace in traces.items():
        why = trace.limits_why.get("wall_time")
        if why and trace.limits_why.get("wall_time_max"):  # (whether the run went past it or not: see hang_sentence)
            why += "; " + trace.limits_why["wall_time_max"]
        for spec in by_variant.get(variant, []):
            if trace.stopped and trace.timed_out:
                notes[spec.id] = f" (The {variant} run was stopped early: {trace.stopped}.)"
            elif trace.timed_out and why:
                notes[spec.id] = f" (Its time limit: {why}.)"
    return [replace(v, message=v.message + notes[v.check])
            if v.check in notes and v.status is not Status.SKIPPED and notes[v.check] not in v.message
            else v for v in verdicts]


def grade_question(submission: Submission, question: Question, answer: Answer, runner: Runner,
                   max_attempts: int = MAX_ATTEMPTS, slots: RunSlots | None = None) -> QuestionResult:
    variants = variants_needed(question)
    programs = programs_for(submission, answer, max_attempts) if question.type is QuestionType.CODE or \
        answer.code_parts() else []
    if not variants or not programs:
        source = programs[0].source if programs else None
        verdicts = run_checks(question, CheckContext(question, answer, source, {}))
        return QuestionResult(question, answer, score_question(question, verdicts, answered=answer.answered))
    attempts: list[Attempt] = []
    from grader.sandbox import Limits

    budget = ATTEMPT_BUDGET * Limits(**question.limits.as_dict()).wall_time
    spent = 0.0
    for program in programs:
        if attempts and spent >= budget:
            break  # the question's time budget is used: the attempts not run are shown as such
        traces = run_variants(program, question, variants, runner, answer, slots)
        spent += sum(t.wall_time for t in traces.values())
        verdicts = judge(question, answer, program.source, traces)
        attempts.append(Attempt(program, traces, verdicts))
        if attempts[-1].points >= question.points:
            break
    best = max(range(len(attempts)), key=lambda k: (attempts[k].points, -k))
    score = score_question(question, attempts[best].verdicts, answered=answer.answered)
    return QuestionResult(question, answer, score, attempts, best)


def grade_questions(submission: Submission, pairs: list[tuple[Question, Answer]], runner: Runner, max_attempts: int,
                    parallel: int = 1, slots: RunSlots | None = None) -> list[QuestionResult]:
    """Every question graded, in rubric order; up to `parallel` at a time (and each run waits for
    one of the batch's `slots`). Each question's runs are sandboxed on their own, so grading them
    side by side changes when they run, not what they show (verdicts do not depend on load:
    docs/sandbox.md)."""
    busy = [k for k, (q, a) in enumerate(pairs) if variants_needed(q) and a.code_parts()]
    if parallel <= 1 or len(busy) < 2:
        return [grade_question(submission, q, a, runner, max_attempts, slots) for q, a in pairs]
    with ThreadPoolExecutor(max_workers=min(parallel, len(busy)), thread_name_prefix="grader-question") as pool:
        futures = [pool.submit(grade_question, submission, q, a, runner, max_attempts, slots) for q, a in pairs]
        return [f.result() for f in futures]


def grade_submission(path: str, rubric: Rubric, *, overrides: Overrides | None = None, runner: Runner | None = None,
                     encoding: str | None = None, max_attempts: int = MAX_ATTEMPTS,
                     mapping: Mapping[str, AnswerRef] | None = None, name: str | None = None,
                     parallel: int = 1, slots: RunSlots | None = None) -> Result:
    """Grade one submission file or folder. Never raises for a bad submission.

    `mapping` is a TA's answer locations for this submission (from the overrides file); `name`
    its id in the batch (default: the file or folder name); `parallel` how many of its questions
    may be graded at once; `slots` the batch's gate on runs at once (grader.runslots: a batch
    grades questions side by side, its runs going at once only as far as the cores allow).
    """
    if runner is None:
        from grader.sandbox import run_program

        runner = run_program
    start = time.monotonic()
    if rubric.auto_limits:  # `wall_time: auto` not resolved by the caller: stored times, else measured once
        from grader.reftimes import resolve

        rubric = resolve(rubric, runner=runner)
    name = name or path.rstrip("/").rsplit("/", 1)[-1]
    try:
        # A file an answer override names is read even when the folder's main file answers everything.
        named = [ref.file for ref in (mapping or {}).values() if ref.file is not None]
        submission = load(path, encoding=encoding, questions=questions_from_rubric(rubric), named=named)
    except SubmissionError as exc:
        score = score_submission(rubric, name, [], overrides, error=exc.reason)
        return Result(name, path, score, error=exc.reason, seconds=time.monotonic() - start)
    try:
        chosen = {qid: cells_named(submission, ref.cells, ref.lines, ref.file) for qid, ref in (mapping or {}).items()}
        answers = locate(submission, questions_from_rubric(rubric), chosen)
        results = grade_questions(submission, list(zip(rubric.questions, answers, strict=True)), runner,
                                  max_attempts, parallel, slots)
    except Cancelled:
        raise  # the batch is stopping (Ctrl-C): not this submission's error
    except Exception as exc:  # a grader bug (or a sandbox failure) on one submission must not stop the batch
        reason = f"grading failed: {type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
        score = score_submission(rubric, name, [], overrides, error=reason)
        return Result(name, path, score, submission, error=reason, seconds=time.monotonic() - start)
    score = score_submission(rubric, name, [r.score for r in results], overrides)
    return Result(name, path, score, submission, results, seconds=time.monotonic() - start)


def outcome_of(result: Result, rubric: Rubric, *, submission_id: str | None = None,
               digest: str = "") -> SubmissionOutcome:
    """The results model of a graded submission: what every output reads."""
    from grader.rubric.load import check_variants

    sub = result.submission
    cells = tuple(CellView(c.index, c.kind.value, c.source, c.output, sub.describe_cell(c.index), c.origin.to_json())
                  for c in sub.cells) if sub is not None else ()
    questions: list[QuestionOutcome] = []
    limits: set[str] = set()
    for question, qscore in zip(rubric.questions, result.score.questions, strict=True):
        qr = result.question(question.id)
        specs = {c.id: c for c in question.checks}

        def checks(verdicts: Iterable[Verdict], specs: Mapping[str, CheckSpec] = specs) -> tuple[CheckOutcome, ...]:
            return tuple(CheckOutcome.of(v, type=specs[v.check].type, hidden=specs[v.check].hidden)
                         for v in verdicts)

        readers: dict[str, list[str]] = {}
        for spec in question.checks:
            for variant in check_variants(spec):
                readers.setdefault(variant, []).append(spec.id)
        attempts = []
        for a in (qr.attempts if qr is not None else []):
            label = sub.describe_cell(a.program.cell) if sub is not None else ""
            attempts.append(AttemptOutcome(a.program.attempt + 1, a.program.cell, label, a.program.source,
                                           a.program.answer_first_line, a.points, dict(a.traces),
                                           checks(a.verdicts), {v: tuple(ids) for v, ids in readers.items()},
                                           tuple(a.program.notes)))
        if qr is not None and qr.attempts:
            for trace in qr.attempts[qr.graded or 0].traces.values():
                limits.update(trace.limits_hit)
                if trace.limit:
                    limits.add(trace.limit)
        answer = qr.answer if qr is not None else None
        questions.append(QuestionOutcome(
            question.id, question.text, question.type.value, question.points, qscore.answered,
            checks(qscore.verdicts),
            found_by=answer.method.value if answer is not None and answer.method else None,
            reason=answer.reason if answer is not None else "",
            cells=tuple(answer.cells) if answer is not None and answer.answered else (),
            location=answer.location(sub) if answer is not None and sub is not None and answer.answered else None,
            attempts=tuple(attempts), graded=(qr.graded or 0) if qr is not None and qr.attempts else None,
            code_parts=len(answer.code_parts()) if answer is not None else 0, override=qscore.override))
    return SubmissionOutcome(submission_id or result.name, result.path, rubric.id, rubric.max_score, tuple(questions),
                             result.error, sub.format.value if sub is not None else None,
                             tuple(sub.notes) if sub is not None else (), cells, result.seconds, digest,
                             tuple(sorted(limits)), graded_file=sub.chosen.graded if sub and sub.chosen else None,
                             not_graded=sub.chosen.not_graded if sub and sub.chosen else (),
                             graded_files=sub.chosen.files if sub and sub.chosen else ())

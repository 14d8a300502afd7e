"""Grading one submission: the whole pipeline, in one place.

    path --load--> Submission --locate--> Answers --build--> Programs --run--> Traces
         --check--> Verdicts --score--> Result

Only `grader.sandbox` starts processes; this module decides which runs are needed (the run
variants a question's checks declare: "default", "spawn"...), asks for them, and hands the
Traces to the checks. Every failure of the student's work is a value in the Result; a file
that cannot be read becomes a Result with `error` set, so a batch always finishes.

Attempts: a code answer may hold several attempts (a student's three tries at Q6). The first
is graded; while it misses points, the next ones are run too (up to `max_attempts`) and the
best counts. Cells that only define things (`import multiprocessing` alone) are not attempts:
their definitions reach the real attempt through its prelude.
"""

from __future__ import annotations

import ast
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.answers import Answer
from grader.checks import CheckContext, Verdict, run_checks
from grader.checks.context import variant_run
from grader.errors import SubmissionError
from grader.load import load
from grader.locate import cells_named, locate, questions_from_rubric
from grader.program import Program, build_program
from grader.rubric.load import variants_needed
from grader.rubric.model import Question, QuestionType, Rubric
from grader.rubric.overrides import AnswerRef, Overrides
from grader.rubric.scoring import QuestionScore, SubmissionScore, score_question, score_submission
from grader.submission import Submission
from grader.trace import Trace

Runner = Callable[..., Trace]  # grader.sandbox.run_program's signature
MAX_ATTEMPTS = 3
RUN_SEED = 0  # every run of every submission is seeded alike, so re-grading gives the same record


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
    programs = [p for k in range(len(parts)) if (p := build_program(submission, answer, k)) is not None]
    attempts = [p for p, part in zip(programs, parts, strict=True) if is_attempt(part.text)]
    return (attempts or programs)[:max_attempts]


def run_variants(program: Program, question: Question, variants: frozenset[str], runner: Runner) -> dict[str, Trace]:
    from grader.sandbox import Limits

    limits = Limits(**question.limits.as_dict())
    runs = {variant: variant_run(variant) for variant in sorted(variants)}
    return {variant: runner(program.source, limits=limits, start_method=method, seed=RUN_SEED + offset)
            for variant, (method, offset) in runs.items()}


def grade_question(submission: Submission, question: Question, answer: Answer, runner: Runner,
                   max_attempts: int = MAX_ATTEMPTS) -> QuestionResult:
    variants = variants_needed(question)
    programs = programs_for(submission, answer, max_attempts) if question.type is QuestionType.CODE or \
        answer.code_parts() else []
    if not variants or not programs:
        source = programs[0].source if programs else None
        verdicts = run_checks(question, CheckContext(question, answer, source, {}))
        return QuestionResult(question, answer, score_question(question, verdicts, answered=answer.answered))
    attempts: list[Attempt] = []
    for program in programs:
        traces = run_variants(program, question, variants, runner)
        verdicts = run_checks(question, CheckContext(question, answer, program.source, traces))
        attempts.append(Attempt(program, traces, verdicts))
        if attempts[-1].points >= question.points:
            break
    best = max(range(len(attempts)), key=lambda k: (attempts[k].points, -k))
    score = score_question(question, attempts[best].verdicts, answered=answer.answered)
    return QuestionResult(question, answer, score, attempts, best)


def grade_submission(path: str, rubric: Rubric, *, overrides: Overrides | None = None, runner: Runner | None = None,
                     encoding: str | None = None, max_attempts: int = MAX_ATTEMPTS,
                     mapping: Mapping[str, AnswerRef] | None = None) -> Result:
    """Grade one submission file or folder. Never raises for a bad submission.

    `mapping` is a TA's answer locations for this submission (from the overrides file).
    """
    if runner is None:
        from grader.sandbox import run_program

        runner = run_program
    start = time.monotonic()
    name = path.rstrip("/").rsplit("/", 1)[-1]
    try:
        submission = load(path, encoding=encoding)
    except SubmissionError as exc:
        score = score_submission(rubric, name, [], overrides, error=exc.reason)
        return Result(name, path, score, error=exc.reason, seconds=time.monotonic() - start)
    try:
        chosen = {qid: cells_named(submission, ref.cells, ref.lines) for qid, ref in (mapping or {}).items()}
        answers = locate(submission, questions_from_rubric(rubric), chosen)
        results = [grade_question(submission, q, a, runner, max_attempts)
                   for q, a in zip(rubric.questions, answers, strict=True)]
    except Exception as exc:  # a grader bug (or a sandbox failure) on one submission must not stop the batch
        reason = f"grading failed: {type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
        score = score_submission(rubric, submission.name, [], overrides, error=reason)
        return Result(submission.name, path, score, submission, error=reason, seconds=time.monotonic() - start)
    score = score_submission(rubric, submission.name, [r.score for r in results], overrides)
    return Result(submission.name, path, score, submission, results, seconds=time.monotonic() - start)


def result_json(result: Result, *, student: bool = False) -> dict[str, Any]:
    """The submission's entry in results.json: scores, verdicts, where each answer was found."""
    data = result.score.to_json(student=student)
    for qdata in data["questions"]:
        qr = result.question(qdata["id"])
        if qr is None or result.submission is None:
            qdata["location"] = None
            continue
        qdata["location"] = qr.answer.location(result.submission) if qr.answer.answered else None
        if not student:
            qdata["found_by"] = qr.answer.method.value if qr.answer.method else None
            qdata["reason"] = qr.answer.reason
            if qr.attempts:
                graded = qr.attempts[qr.graded or 0]
                qdata["attempt"] = {"graded": (qr.graded or 0) + 1, "of": len(qr.answer.code_parts()),
                                    "cell": result.submission.describe_cell(graded.program.cell)}
    for qdata in data["questions"]:
        # Evidence carries pids and times: it lives in the per-submission details, not here.
        for check in qdata["checks"]:
            check.pop("evidence", None)
    return data

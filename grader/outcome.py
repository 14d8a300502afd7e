"""The results model: one graded submission, as every output reads it.

`grader.grade.grade_submission` produces a `SubmissionOutcome`; results.json, the details files,
the HTML pages and every export (CSV, JUnit, Gradescope, Markdown, the terminal) read this model
and nothing else. It has one JSON form (`to_json` / `from_json`, versioned by `SCHEMA`), which is
what `details/<id>.json` holds, so `grader rescore` can rebuild the model from disk, re-score it
through the same scoring code as `grade` (`grader.rubric.scoring`) and re-render every output
without running anything.

Three forms of the same submission:
- the full outcome (cells, every attempt with its runs' Traces, the checks' evidence): details;
- `summary()`: no cells, no attempts' runs, no evidence: what results.json and the class-level
  outputs need, and all that a batch keeps in memory (flat memory whatever the batch size);
- `student_view()`: what a student may see: hidden checks, evidence, review notes and the runs
  read only by hidden checks left out. The score stays the real one (hidden checks count).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from grader.checks.verdict import Status, Verdict, json_safe
from grader.rubric.overrides import AnswerRef, Override
from grader.rubric.scoring import QuestionScore
from grader.trace import Trace

SCHEMA = "grader.outcome/1"

Json = dict[str, Any]


def _override_from_json(data: Mapping[str, Any] | None) -> Override | None:
    if not data:
        return None
    answer = data.get("answer")
    ref = None
    if answer:
        ref = AnswerRef(cells=tuple(answer.get("cells") or ()), lines=tuple(answer.get("lines") or ()))
    return Override(score=data.get("score"), comment=data.get("comment", ""), by=data.get("by"), answer=ref)


# Evidence records that say a line is fine (a guarded `Process(...)`, code that never runs).
_FINE = {"guarded", "never-runs", "ok", "passed"}


def _lines_in(evidence: Any, found: set[int]) -> None:
    """Line numbers a check's evidence points at (keys named `line`), recursively, except in records
    whose `status` says the line is fine: a report marks what went wrong, not every line looked at."""
    if isinstance(evidence, Mapping):
        if evidence.get("status") in _FINE:
            return
        for key, value in evidence.items():
            if key == "line" and isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
            else:
                _lines_in(value, found)
    elif isinstance(evidence, (list, tuple)):
        for item in evidence:
            _lines_in(item, found)


def redact(text: str, ids: Iterable[str]) -> str:
    """`text` with every hidden check's id replaced: a visible check that requires a hidden one is
    skipped with a message naming it ("Not checked, because it requires secret_probe failed")."""
    names = sorted(set(ids), key=len, reverse=True)
    if not names:
        return text
    pattern = r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])"
    return re.sub(pattern, "a hidden check", text)


def humanize(check_id: str) -> str:
    """`one_number_per_process` -> `One number per process`: a title for a check id."""
    words = re.sub(r"[_\-]+", " ", check_id).strip()
    return words[:1].upper() + words[1:] if words else check_id


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict, as reports show it."""

    id: str
    type: str
    status: str  # passed, failed, error, timeout, skipped
    score: float
    max_score: float
    fraction: float
    message: str  # for the student
    hidden: bool = False
    needs_review: bool = False
    review_reason: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)  # for the TA
    lines: tuple[int, ...] = ()  # lines of the attempt's program the check points at

    @property
    def title(self) -> str:
        return humanize(self.id)

    @classmethod
    def of(cls, verdict: Verdict, *, type: str = "", hidden: bool = False) -> CheckOutcome:
        evidence = json_safe(verdict.evidence)
        found: set[int] = set()
        if verdict.status is not Status.PASSED:
            _lines_in(evidence, found)
        return cls(verdict.check, type, verdict.status.value, verdict.points, verdict.max_points,
                   round(verdict.fraction, 4), verdict.message, hidden, verdict.needs_review,
                   verdict.review_reason, evidence, tuple(sorted(found)))

    def verdict(self) -> Verdict:
        """The verdict again, for re-scoring."""
        return Verdict(Status(self.status), self.fraction, self.message, dict(self.evidence), self.needs_review,
                       self.review_reason, self.id, self.max_score)

    def to_json(self) -> Json:
        return {"id": self.id, "type": self.type, "status": self.status, "score": self.score,
                "max_score": self.max_score, "fraction": self.fraction, "message": self.message,
                "hidden": self.hidden, "needs_review": self.needs_review, "review_reason": self.review_reason,
                "evidence": dict(self.evidence), "lines": list(self.lines)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckOutcome:
        return cls(data["id"], data.get("type", ""), data["status"], data["score"], data["max_score"],
                   data.get("fraction", 1.0 if data["status"] == "passed" else 0.0), data["message"],
                   data.get("hidden", False), data.get("needs_review", False), data.get("review_reason"),
                   data.get("evidence") or {}, tuple(data.get("lines") or ()))


@dataclass(frozen=True)
class CellView:
    """One cell of the submission as the student wrote it, with the output they saved."""

    index: int
    kind: str  # code, markdown, raw
    source: str
    output: str
    label: str  # how a TA finds it: "code cell 7", "In [3] (lines 23-45)"
    origin: Mapping[str, Any] = field(default_factory=dict)  # {"cell": n} or {"lines": [a, b]}

    def to_json(self) -> Json:
        return {"index": self.index, "kind": self.kind, "source": self.source, "output": self.output,
                "label": self.label, "origin": dict(self.origin)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellView:
        return cls(data["index"], data["kind"], data["source"], data.get("output", ""), data.get("label", ""),
                   data.get("origin") or {})


@dataclass(frozen=True)
class AttemptOutcome:
    """One code attempt that ran: the program, its runs (variant -> Trace) and its checks."""

    number: int  # 1-based among the answer's code parts
    cell: int | None
    label: str
    source: str  # the program that ran: the prelude the grader added, then the student's answer
    answer_start: int  # 1-based first line of `source` that is the student's own code
    points: float
    runs: Mapping[str, Trace]
    checks: tuple[CheckOutcome, ...]
    readers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # variant -> ids of checks reading it
    notes: tuple[str, ...] = ()

    def to_json(self) -> Json:
        return {"number": self.number, "cell": self.cell, "label": self.label, "source": self.source,
                "answer_start": self.answer_start, "points": self.points,
                "runs": {v: t.to_json() for v, t in self.runs.items()},
                "checks": [c.to_json() for c in self.checks],
                "readers": {v: list(ids) for v, ids in self.readers.items()}, "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttemptOutcome:
        return cls(data["number"], data.get("cell"), data.get("label", ""), data.get("source", ""),
                   data.get("answer_start", 1), data.get("points", 0.0),
                   {v: Trace.from_json(t) for v, t in (data.get("runs") or {}).items()},
                   tuple(CheckOutcome.from_json(c) for c in data.get("checks") or ()),
                   {v: tuple(ids) for v, ids in (data.get("readers") or {}).items()}, tuple(data.get("notes") or ()))


@dataclass(frozen=True)
class QuestionOutcome:
    """One rubric question for one submission: its score, where its answer was found, and why."""

    id: str
    title: str  # the question's text
    type: str  # code, written
    max_score: float
    answered: bool
    checks: tuple[CheckOutcome, ...]  # of the graded attempt
    found_by: str | None = None
    reason: str = ""
    cells: tuple[int, ...] = ()  # indices into the submission's cells
    location: Mapping[str, Any] | None = None  # in the original file: {"cells": [...]} or {"lines": [[a, b]]}
    attempts: tuple[AttemptOutcome, ...] = ()
    graded: int | None = None  # index into `attempts` of the attempt whose checks count
    code_parts: int = 0  # how many code parts the answer has (attempts that could run)
    override: Override | None = None
    hidden_points: float = 0.0  # earned by hidden checks left out of `checks` (the student view)

    # Computed once per outcome (it is frozen; `replace` makes a new one): the pages, the class outputs and the
    # terminal table read each question's score and review flag many times (4,700 recomputations, each
    # rebuilding every check's Verdict, for bench/vs_nbgrader.py's ten notebooks).
    @cached_property
    def _scored(self) -> QuestionScore:
        # The one place scores are computed: the scoring module, from the verdicts and the override.
        return QuestionScore(self.id, self.max_score, tuple(c.verdict() for c in self.checks), self.answered,
                             frozenset(c.id for c in self.checks if c.hidden), self.override)

    @cached_property
    def graded_score(self) -> float:
        """What the checks earned, hidden ones included."""
        return round(self._scored.graded_score + self.hidden_points, 2)

    @cached_property
    def score(self) -> float:
        scored = self._scored
        return scored.score if scored.override is not None and scored.override.score is not None \
            else self.graded_score

    @cached_property
    def needs_review(self) -> bool:
        return self._scored.needs_review

    @property
    def graded_attempt(self) -> AttemptOutcome | None:
        return self.attempts[self.graded] if self.graded is not None and self.graded < len(self.attempts) else None

    def to_json(self) -> Json:
        return {"id": self.id, "title": self.title, "type": self.type, "score": self.score,
                "max_score": self.max_score, "graded_score": self.graded_score, "answered": self.answered,
                "needs_review": self.needs_review, "override": self.override.to_json() if self.override else None,
                "found_by": self.found_by, "reason": self.reason, "cells": list(self.cells),
                "location": dict(self.location) if self.location is not None else None,
                "graded": self.graded, "code_parts": self.code_parts,
                "hidden_points": self.hidden_points,
                "checks": [c.to_json() for c in self.checks], "attempts": [a.to_json() for a in self.attempts]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuestionOutcome:
        return cls(data["id"], data.get("title", ""), data.get("type", "code"), data["max_score"], data["answered"],
                   tuple(CheckOutcome.from_json(c) for c in data.get("checks") or ()), data.get("found_by"),
                   data.get("reason", ""), tuple(data.get("cells") or ()), data.get("location"),
                   tuple(AttemptOutcome.from_json(a) for a in data.get("attempts") or ()), data.get("graded"),
                   data.get("code_parts", 0), _override_from_json(data.get("override")),
                   data.get("hidden_points", 0.0))


@dataclass(frozen=True)
class SubmissionOutcome:
    """One submission, graded, or the reason it could not be (`error`)."""

    id: str  # unique and stable in a batch: the path relative to what was given
    path: str
    rubric: str  # the rubric's id
    max_score: float
    questions: tuple[QuestionOutcome, ...]
    error: str | None = None
    format: str | None = None
    notes: tuple[str, ...] = ()
    cells: tuple[CellView, ...] = ()
    seconds: float = 0.0
    digest: str = ""  # hash of the submission's content and the rubric, for --resume
    limits_hit: tuple[str, ...] = ()  # every limit a graded run reached (wall, memory, processes, output...)
    view: str = "full"  # full, summary, student
    # A student's folder: the file that was graded and the others it holds (relative to the folder).
    # Records written before these fields existed read back as None and ().
    graded_file: str | None = None
    not_graded: tuple[str, ...] = ()
    # A folder of per-question files (q1.py ... q6.py): every file graded, in the order read. A folder
    # of several files whose names give no question, graded together: the files answers came from.
    graded_files: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(q.score for q in self.questions), 2)

    @property
    def needs_review(self) -> bool:
        return any(q.needs_review for q in self.questions)

    def hidden_ids(self) -> frozenset[str]:
        """The ids of the submission's hidden checks (none in a student view: they are gone)."""
        return frozenset(c.id for q in self.questions for c in q.checks if c.hidden)

    def question(self, qid: str) -> QuestionOutcome | None:
        return next((q for q in self.questions if q.id == qid), None)

    def with_overrides(self, overrides: Mapping[str, Override | None]) -> SubmissionOutcome:
        """Question id -> the TA's override (None removes one): re-scored, nothing re-run."""
        return replace(self, questions=tuple(replace(q, override=overrides.get(q.id)) for q in self.questions))

    def summary(self) -> SubmissionOutcome:
        """Without cells, runs and evidence: what results.json and the class-level outputs read."""
        questions = tuple(replace(q, checks=tuple(replace(c, evidence={}) for c in q.checks),
                                  attempts=tuple(replace(a, runs={}, checks=(), source="") for a in q.attempts))
                          for q in self.questions)
        return replace(self, questions=questions, cells=(), view="summary")

    def student_view(self) -> SubmissionOutcome:
        """What a student may see: no hidden check, no evidence or review notes, no run read only by
        hidden checks (its output and stderr could reveal what they test)."""

        secret = self.hidden_ids()

        def visible(checks: Iterable[CheckOutcome]) -> tuple[CheckOutcome, ...]:
            # A visible check skipped for a hidden one's sake must not name it.
            return tuple(replace(c, message=redact(c.message, secret), evidence={}, needs_review=False,
                                 review_reason=None) for c in checks if not c.hidden)

        def attempt(a: AttemptOutcome, hidden: set[str]) -> AttemptOutcome:
            runs = {v: t for v, t in a.runs.items() if not (a.readers.get(v) and set(a.readers[v]) <= hidden)}
            readers = {v: tuple(i for i in ids if i not in hidden) for v, ids in a.readers.items() if v in runs}
            return replace(a, runs=runs, checks=visible(a.checks), readers=readers)

        questions = []
        for q in self.questions:
            hidden = {c.id for c in q.checks if c.hidden}
            # The score stays the real one: hidden checks count, they are only not shown.
            points = round(q.hidden_points + sum(c.score for c in q.checks if c.hidden), 2)
            questions.append(replace(q, checks=visible(q.checks), hidden_points=points,
                                     attempts=tuple(attempt(a, hidden) for a in q.attempts)))
        return replace(self, questions=tuple(questions), view="student")

    def to_json(self) -> Json:
        return {"schema": SCHEMA, "id": self.id, "path": self.path, "rubric": self.rubric, "view": self.view,
                "score": self.score,
                "max_score": self.max_score, "error": self.error, "format": self.format,
                "needs_review": self.needs_review, "seconds": round(self.seconds, 2), "digest": self.digest,
                "limits_hit": list(self.limits_hit), "graded_file": self.graded_file,
                "not_graded": list(self.not_graded), "graded_files": list(self.graded_files),
                "notes": list(self.notes), "cells": [c.to_json() for c in self.cells],
                "questions": [q.to_json() for q in self.questions]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubmissionOutcome:
        schema = data.get("schema")
        if schema != SCHEMA:
            raise ValueError(f"not a {SCHEMA} record (schema: {schema!r})")
        return cls(data["id"], data.get("path", ""), data.get("rubric", ""), data["max_score"],
                   tuple(QuestionOutcome.from_json(q) for q in data.get("questions") or ()), data.get("error"),
                   data.get("format"), tuple(data.get("notes") or ()),
                   tuple(CellView.from_json(c) for c in data.get("cells") or ()), data.get("seconds", 0.0),
                   data.get("digest", ""), tuple(data.get("limits_hit") or ()), data.get("view", "full"),
                   data.get("graded_file"), tuple(data.get("not_graded") or ()),
                   tuple(data.get("graded_files") or ()))


@dataclass(frozen=True)
class QuestionInfo:
    id: str
    title: str
    type: str
    max_score: float
    checks: tuple[tuple[str, bool], ...]  # (check id, hidden)


@dataclass(frozen=True)
class Gradebook:
    """The class: the rubric's shape and every submission in summary form, in id order.

    `submissions` is any collection that can be iterated more than once: a tuple, or (for a class
    graded into a folder) `grader.results.Summaries`, which reads them from disk one at a time.
    """

    rubric_id: str
    title: str
    version: int
    max_score: float
    questions: tuple[QuestionInfo, ...]
    submissions: Collection[SubmissionOutcome]
    grader_version: str = ""

    def check_ids(self, qid: str) -> tuple[str, ...]:
        return next((tuple(c for c, _ in q.checks) for q in self.questions if q.id == qid), ())

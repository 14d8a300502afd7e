"""The output folder's JSON files, written from the results model and read back from disk.

- `details/<file>.json`: one submission's full `SubmissionOutcome` (cells, attempts, Traces, the
  checks' evidence). It is the record of truth: written once, atomically, as soon as the
  submission is graded, so a batch that stops (Ctrl-C, a crash) keeps every finished submission,
  and `--resume` and `rescore` rebuild everything else from these files.
- `results.json`: the summary a course imports, built from every details file in the folder
  (so grading into an existing folder merges by submission id). It is the same from one grading
  to the next apart from the `seconds` fields: nothing in it depends on pids or times.

Writes never follow a symlink planted in the output folder: files are written to a fresh
temporary name (O_EXCL | O_NOFOLLOW) and renamed over the target, which replaces a link
instead of writing through it, and the folders written into must be real folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from grader import __version__
from grader.errors import GraderError
from grader.outcome import SCHEMA, Gradebook, QuestionInfo, SubmissionOutcome
from grader.render.safe import write_file
from grader.rubric.model import Rubric

DETAILS = "details"


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def file_stem(submission_id: str) -> str:
    """A file name for a submission id, unique per id: ids that are not already safe names
    (`sec1/hw.ipynb`) get a short hash so that `sec1/hw.ipynb` and `sec1_hw.ipynb` never meet."""
    safe = safe_name(submission_id)
    if safe == submission_id:
        return safe
    return f"{safe}-{hashlib.sha256(submission_id.encode()).hexdigest()[:8]}"


def dump(data: Any) -> str:
    """JSON text with one line per top-level key (and per item of a top-level list), each line
    compact: json's indenting encoder is pure Python, ten times slower than its C encoder, and a
    details file of a program that printed thousands of lines is megabytes of JSON."""
    def one(value: Any) -> str:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)

    if not isinstance(data, dict) or not data:
        return one(data) + "\n"
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            text = "[\n  " + ",\n  ".join(one(v) for v in value) + "\n ]"
        else:
            text = one(value)
        parts.append(f" {one(str(key))}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# -- details: one file per submission ------------------------------------------------------------

def details_path(out: Path, submission_id: str) -> Path:
    return out / DETAILS / f"{file_stem(submission_id)}.json"


def write_details(out: Path, outcome: SubmissionOutcome) -> Path:
    return write_file(out, f"{DETAILS}/{file_stem(outcome.id)}.json", dump(outcome.to_json()))


def read_details(path: Path) -> SubmissionOutcome:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SubmissionOutcome.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderError(f"{path}: not a details file of this grader ({exc})") from None


def stored(out: Path, problems: list[str] | None = None) -> Iterator[tuple[Path, SubmissionOutcome]]:
    """Every graded submission in an output folder, one at a time (full form).

    Links are never followed and a file that is not a record of this grader is passed over
    (said in `problems`): a damaged file never stops a batch or hides the other results.
    """
    folder = out / DETAILS
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        if path.is_symlink() or not path.is_file():
            if problems is not None:
                problems.append(f"{path}: not a regular file, passed over")
            continue
        try:
            yield path, read_details(path)
        except GraderError as exc:
            if problems is not None:
                problems.append(f"{exc}; passed over")


# -- results.json ----------------------------------------------------------------------------------

def gradebook(rubric: Rubric, summaries: Iterable[SubmissionOutcome] | Summaries) -> Gradebook:
    """The class. A `Summaries` (already in id order, read from disk) is kept as it is, so a class
    of any size costs the same memory; any other iterable is sorted into a tuple."""
    questions = tuple(QuestionInfo(q.id, q.text, q.type.value, q.points, tuple((c.id, c.hidden) for c in q.checks))
                      for q in rubric.questions)
    kept = summaries if isinstance(summaries, Summaries) else tuple(sorted(summaries, key=lambda s: s.id))
    return Gradebook(rubric.id, rubric.title, rubric.version, rubric.max_score, questions, kept, __version__)


KEPT_BYTES = 1 << 20  # summaries kept in memory while their JSON totals at most this (about 2 MiB as objects:
# a hundred submissions of this homework); a larger class is read back from the spool at each pass


class Summaries(Collection[SubmissionOutcome]):
    """Submissions in summary form, in id order: kept in memory while they are few, else in a
    temporary file rather than in memory.

    A large class is read back one summary at a time at every iteration (a summary's JSON is a
    few kilobytes and parses in a fraction of a millisecond), so the class-level outputs of a
    thousand submissions cost what those of fifty do: memory holds one summary, and an id and an
    offset per submission. A small class (at most `kept` bytes of JSON) is parsed back once and
    kept: the outputs read it about a dozen times over. Either way each summary is what its JSON
    gives back, so the outputs are the same.
    """

    def __init__(self, summaries: Iterable[SubmissionOutcome], kept: int = KEPT_BYTES) -> None:
        self._spool: IO[bytes] = tempfile.TemporaryFile(prefix="grader-summaries-")  # noqa: SIM115 (lives with self; gone when closed)
        index: list[tuple[str, int, int]] = []
        for s in summaries:
            data = json.dumps(s.to_json(), allow_nan=False).encode()
            index.append((s.id, self._spool.tell(), len(data)))
            self._spool.write(data)
        self._spool.flush()
        index.sort()
        self._where = [(offset, size) for _, offset, size in index]
        self._kept: list[SubmissionOutcome] | None = None
        if self._spool.tell() <= kept:
            self._kept = list(self._read())
            self._spool.close()

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[SubmissionOutcome]:
        return iter(self._kept) if self._kept is not None else self._read()

    def _read(self) -> Iterator[SubmissionOutcome]:
        fd = self._spool.fileno()
        for offset, size in self._where:  # pread: iterations may interleave
            yield SubmissionOutcome.from_json(json.loads(os.pread(fd, size, offset)))

    def __contains__(self, item: object) -> bool:
        return any(s == item for s in self)

    def close(self) -> None:
        self._spool.close()


def stored_summaries(out: Path, rubric_id: str, problems: list[str] | None = None) -> Summaries:
    """The summaries of every submission graded in `out` with the rubric `rubric_id`, read one details
    file at a time."""
    return Summaries(o.summary() for _, o in stored(out, problems) if o.rubric == rubric_id)


def summary_json(outcome: SubmissionOutcome) -> dict[str, Any]:
    """A submission's entry in results.json."""
    questions = []
    for q in outcome.questions:
        data: dict[str, Any] = {
            "id": q.id, "score": q.score, "max_score": q.max_score, "answered": q.answered,
            "checks": [{"id": c.id, "status": c.status, "score": c.score, "max_score": c.max_score,
                        "message": c.message, "fraction": c.fraction, "needs_review": c.needs_review,
                        "review_reason": c.review_reason, "hidden": c.hidden} for c in q.checks],
            "override": q.override.to_json() if q.override else None,
            "graded_score": q.graded_score, "needs_review": q.needs_review,
            "location": dict(q.location) if q.location is not None else None,
            "found_by": q.found_by, "reason": q.reason,
        }
        graded = q.graded_attempt
        if graded is not None:
            data["attempt"] = {"graded": graded.number, "of": q.code_parts, "cell": graded.label}
        questions.append(data)
    return {"submission": outcome.id, "graded_file": outcome.graded_file, "not_graded": list(outcome.not_graded),
            "graded_files": list(outcome.graded_files),
            "score": outcome.score, "max_score": outcome.max_score, "error": outcome.error,
            "needs_review": outcome.needs_review, "limits_hit": list(outcome.limits_hit),
            "questions": questions, "seconds": round(outcome.seconds, 2)}


def results_json(book: Gradebook) -> dict[str, Any]:
    return {
        "grader": {"version": book.grader_version, "schema": SCHEMA},
        "rubric": {"id": book.rubric_id, "version": book.version, "max_score": book.max_score, "title": book.title},
        "submissions": [summary_json(s) for s in book.submissions],
    }


def write_results_json(out: Path, book: Gradebook) -> Path:
    """results.json, written a submission at a time: its size never sits in memory whole."""
    head = results_json(replace(book, submissions=()))

    def pieces() -> Iterator[str]:
        yield "{\n"
        for key in ("grader", "rubric"):
            yield f" {json.dumps(key)}: {json.dumps(head[key], allow_nan=False)},\n"
        yield ' "submissions": ['
        for k, s in enumerate(book.submissions):
            yield ("," if k else "") + "\n  " + json.dumps(summary_json(s), allow_nan=False, ensure_ascii=False)
        yield "\n ]\n}\n"

    return write_file(out, "results.json", pieces())

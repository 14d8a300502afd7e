"""Grading a batch so that nothing is lost: stable ids, incremental results, resume, Ctrl-C.

    paths --plan--> Entries (id, path) --grade each--> SubmissionOutcome --> details/<id>.json at once
          existing details/*.json ---------------------------------------^ (merged by id, resumed by digest)

- **Ids** are the submission's path relative to the common folder of what was given
  (`grader grade class/` gives `alice.ipynb`; `grader grade sec1/hw.ipynb sec2/hw.ipynb` gives
  `sec1/hw.ipynb` and `sec2/hw.ipynb`): unique within a batch and the same from run to run.
- **Before anything runs**, every path must exist and the output folder must be a folder the
  grader can write (not a file, not a link); results of another rubric in it are refused.
- **Each finished submission is on disk at once** (`details/<id>.json`, written atomically);
  results.json and the other class-level files are rebuilt from the details files.
- **Resume**: a submission whose details file has the same digest (its files' content, the
  rubric's, its overrides and the grader's version) is not graded again.
- **Ctrl-C** stops every run in progress (their process trees are killed), keeps what finished,
  and the batch says how to resume. A grader fault while grading one submission becomes that
  submission's error row; the batch goes on.
- **Memory** stays flat: a graded submission's full record is written and dropped; the batch
  keeps its summary only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader import __version__
from grader.errors import GraderError
from grader.outcome import SubmissionOutcome
from grader.render.safe import real_dir
from grader.results import details_path, read_details, write_details
from grader.rubric.model import Rubric
from grader.rubric.overrides import Overrides

MAX_HASHED_BYTES = 256 << 20  # a submission folder bigger than this is hashed by size and mtime beyond it


@dataclass(frozen=True)
class Entry:
    id: str
    path: str


@dataclass
class Plan:
    entries: list[Entry]
    skipped: list[str] = field(default_factory=list)  # data and media files, not submissions
    split: list[str] = field(default_factory=list)  # folders named that became one submission per entry
    refused: list[str] = field(default_factory=list)  # a line for each entry not graded and why (a symlink out)


def plan(paths: list[str], *, one: bool = False) -> Plan:
    """The submissions named by `paths`, each with its id (`one`: each path is one submission, a folder
    never split; grader.load.find_submissions). GraderError if a path does not exist."""
    from grader.load import find_submissions

    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise GraderError("no such file or folder: " + ", ".join(missing) + " (nothing was graded)")
    found = find_submissions(paths, one=one)
    bases = []
    for raw in paths:
        p = Path(raw)
        inside = [s for s in found.submissions if Path(s).parent == p]
        bases.append(os.path.abspath(p if inside else p.parent))
    base = os.path.commonpath(bases) if bases else os.getcwd()
    entries: list[Entry] = []
    seen: set[str] = set()
    for s in found.submissions:
        sid = Path(os.path.relpath(os.path.abspath(s), base)).as_posix()
        if sid in seen:  # the same file named twice
            continue
        seen.add(sid)
        entries.append(Entry(sid, s))
    return Plan(entries, found.skipped, found.split, found.refused)


def digest(path: str, rubric: Rubric, overrides: Overrides | None, sid: str) -> str:
    """What the grade of one submission depends on: its files, the rubric, its overrides, the grader."""
    h = hashlib.sha256()
    h.update(f"grader {__version__}\0".encode())
    h.update(Path(rubric.path).read_bytes() if Path(rubric.path).is_file() else rubric.id.encode())
    if overrides is not None:
        h.update(repr(sorted((q, o.to_json()) for q, o in overrides.submissions.get(sid, {}).items())).encode())
    from grader.errors import SubmissionError
    from grader.load.files import read_regular, walk
    from grader.load.loader import _SKIP_DIRS

    p = Path(path)
    # What the loader may read and nothing else: a folder's regular files (no symlink followed, no pipe
    # opened: it would block the batch for ever), and what it refuses, by name and reason.
    files, refused = walk(p, None, _SKIP_DIRS) if p.is_dir() else ([p], [])
    h.update(repr(refused).encode())
    budget = MAX_HASHED_BYTES
    for f in files:
        h.update(b"\0" + (f.relative_to(p).as_posix() if p.is_dir() else "").encode() + b"\0")
        try:
            size = f.stat().st_size
            if size <= budget:
                h.update(read_regular(f, budget, follow=not p.is_dir()))
                budget -= size
            else:
                h.update(f"{size} {f.stat().st_mtime_ns}".encode())
        except OSError as exc:
            h.update(f"unreadable {exc.errno}".encode())
        except SubmissionError as exc:
            h.update(f"unreadable {exc.reason}".encode())
    return h.hexdigest()[:32]


def check_output_folder(out: Path, rubric: Rubric) -> None:
    """Before anything runs: `out` can be written and holds no results of another rubric."""
    if os.path.lexists(out) and not out.is_dir():
        raise GraderError(f"--out {out}: exists and is not a folder")
    try:
        real_dir(out)
        real_dir(out / "details")
        probe = out / f".grader-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise GraderError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    from grader.results import stored

    for _path, old in stored(out):
        if old.rubric != rubric.id:
            raise GraderError(f"--out {out} holds results graded with rubric {old.rubric!r}, not {rubric.id!r}: "
                              "use another --out folder")
        break


Grade = Callable[[Entry], SubmissionOutcome]


@dataclass(frozen=True)
class Done:
    id: str
    error: str | None


@dataclass
class Outcome:
    graded: list[Done] = field(default_factory=list)  # in order of completion (not the records: memory stays flat)
    reused: list[str] = field(default_factory=list)  # ids resumed from earlier results
    interrupted: bool = False
    not_done: list[str] = field(default_factory=list)  # ids not graded because of the interruption
    why: str = ""  # what stopped the batch when it was not Ctrl-C (a cluster that went away)


def error_outcome(entry: Entry, rubric: Rubric, message: str, digest: str = "") -> SubmissionOutcome:
    """The row of a submission the grader failed on: every question scores 0, the error says why."""
    from grader.grade import Result, outcome_of
    from grader.rubric.scoring import score_submission

    result = Result(entry.id, entry.path, score_submission(rubric, entry.id, [], error=message), error=message)
    return outcome_of(result, rubric, submission_id=entry.id, digest=digest)


Write = Callable[[Path, SubmissionOutcome], object]


class Recorder:
    """Where every finished submission goes, whoever graded it (a thread here, a cluster's worker):
    its record is written to `out` at once (`write`: its details file first, then anything rendered
    from it) and dropped; only its id and error are kept."""

    def __init__(self, out: Path, write: Write = write_details,
                 on_done: Callable[[SubmissionOutcome], None] | None = None) -> None:
        self.out, self.write, self.on_done = out, write, on_done
        self.outcome = Outcome()
        self._lock = threading.Lock()

    def record(self, full: SubmissionOutcome) -> None:
        self.write(self.out, full)
        summary = full.summary()
        del full  # the full record (its runs are most of it) is on disk now
        give_back_memory()
        with self._lock:
            self.outcome.graded.append(Done(summary.id, summary.error))
        if self.on_done is not None:
            self.on_done(summary)

    def interrupted(self, todo: Iterable[Entry]) -> Outcome:
        """The outcome of a batch stopped by Ctrl-C: what finished is kept, the rest is `not_done`."""
        self.outcome.interrupted = True
        done_ids = {s.id for s in self.outcome.graded}
        self.outcome.not_done = [e.id for e in todo if e.id not in done_ids]
        return self.outcome


def run(entries: Iterable[Entry], grade: Grade, out: Path, rubric: Rubric, *, jobs: int = 1,
        on_start: Callable[[Entry], None] | None = None,
        on_done: Callable[[SubmissionOutcome], None] | None = None,
        write: Write = write_details, in_flight: int | None = None) -> Outcome:
    """Grade `entries` on `jobs` threads (`in_flight` threads when given: the runs of a local
    batch are bounded by its RunSlots, not by how many submissions are in progress); each result
    is written to `out` as soon as it is done (`write`: its details file first, then anything
    rendered from it). Only its summary is kept.

    KeyboardInterrupt (Ctrl-C) stops every run in progress and returns with `interrupted` set;
    what finished is on disk. Submissions are handed to the threads a few at a time (never the whole
    batch queued at once), so memory does not grow with the batch.
    """
    from grader.sandbox import cancel

    todo = list(entries)
    recorder = Recorder(out, write, on_done)

    def one(entry: Entry) -> None:
        if cancel.requested():
            return
        if on_start is not None:
            on_start(entry)
        try:
            full = grade(entry)
        except cancel.Cancelled:
            return
        except Exception as exc:  # a grader fault on one submission: its row says so, the batch goes on
            full = error_outcome(entry, rubric, f"the grader failed on this submission: {fault(exc)}")
        recorder.record(full)

    cancel.reset()
    workers = max(1, in_flight or jobs)
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: set[Future[None]] = set()
    waiting = iter(todo)
    interrupted = False
    try:
        while True:
            while len(pending) < max(2 * max(1, jobs), workers) and (entry := next(waiting, None)) is not None:
                pending.add(pool.submit(one, entry))
            if not pending:
                break
            # A short wait so that Ctrl-C reaches this thread promptly.
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in done:
                f.result()  # a failure here is a fault in writing the results: let it be seen
    except KeyboardInterrupt:
        interrupted = True
        cancel.cancel_all()
        for f in pending:
            f.cancel()
    finally:
        pool.shutdown(wait=True)
        cancel.reset()
    return recorder.interrupted(todo) if interrupted else recorder.outcome


def fault(exc: BaseException) -> str:
    """An exception in one line, for a submission's error row."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def give_back_memory() -> None:
    """Return the heap a finished submission freed to the system. glibc keeps freed memory in each
    thread's arena, so without this the grader's size grows with the batch although it holds
    nothing more (a no-op where there is no glibc)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def is_current(out: Path, entry: Entry, want: str) -> bool:
    """The submission was graded before with the same digest (for --resume)."""
    path = details_path(out, entry.id)
    if not path.is_file():
        return False
    try:
        old = read_details(path)
    except GraderError:
        return False
    return old.digest == want and old.id == entry.id

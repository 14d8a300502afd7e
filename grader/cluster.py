"""Grading on a Dask distributed cluster: `grader grade --cluster ADDRESS`.

    TA's machine (the client)                      scheduler            each worker (grader, bwrap, strace)
    plan, digests ─ Task: the submission's bytes ─> places it ─────────> files to a temp folder, graded in
                                                                         the worker's own sandbox
    Recorder.record <─ Reply: the outcome (grader.outcome/1) ──────────┘
      details/<id>.json, pages, exports: the same writer as a local batch

- **Each submission is one task.** What the worker needs travels with it: the files the loader
  may read (a file, or a student folder's candidate files), at most `MAX_TASK_BYTES`, and the
  rubric and overrides; nothing assumes a shared filesystem or a worker that stays up.
- **The sandbox runs on the worker**, as it would here: before anything is sent, every worker says
  which protections its runs will have, and a worker that cannot sandbox refuses (UnsafeToRun),
  exactly as a local batch does, unless the TA passed `--unsafe-no-sandbox`. Nothing falls back.
- **Results stream back** as they finish and go through `batch.Recorder`, the writer of a local
  batch, so the output folder (details, pages, results.json, class outputs) is the same.
- **A lost worker's submissions are re-run elsewhere** by the scheduler (Dask reschedules the
  tasks of a worker that dies; after `distributed.scheduler.allowed-failures` deaths a task is
  given up and its row says so). A few tasks at a time are in flight, so memory stays flat here.
- **Ctrl-C** cancels what is queued, stops the runs in progress on the workers (their process
  trees are killed), keeps what finished and exits 130; `--resume` works as for a local batch.

Both formats that cross the network are typed and versioned (`TASK_SCHEMA`, `REPLY_SCHEMA`), and a
worker with another grader version refuses the task instead of grading it differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.batch import Entry, Outcome, Recorder, Write, error_outcome, fault
from grader.errors import GraderError
from grader.outcome import SubmissionOutcome
from grader.rubric.model import Rubric
from grader.rubric.overrides import Overrides

if TYPE_CHECKING:
    from distributed import Client, Future

TASK_SCHEMA = "grader.cluster-task/1"
REPLY_SCHEMA = "grader.cluster-reply/1"
MAX_TASK_BYTES = 64 << 20  # a submission bigger than this is not sent: its row says so
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler and to wait for a first worker
RESENDS = 3  # a task stopped by another batch's Ctrl-C on a shared worker is sent again this many times


class ClusterError(GraderError):
    """The cluster cannot grade this batch (unreachable, no workers, a worker that cannot sandbox)."""


@dataclass(frozen=True)
class Setup:
    """What every task of a batch shares (sent with each task)."""

    rubric: Rubric
    overrides: Overrides | None
    encoding: str | None
    unsafe_no_sandbox: bool


@dataclass(frozen=True)
class Task:
    """One submission, with its bytes. `files` holds (path inside the submission, contents): one
    entry with the path "" for a file, the candidate files of a student folder otherwise."""

    schema: str
    grader_version: str
    id: str
    name: str  # the file or folder name: the loader reads the file's suffix
    folder: bool
    files: tuple[tuple[str, bytes], ...]
    digest: str


@dataclass(frozen=True)
class Reply:
    schema: str
    worker: str  # the worker's host name, for the TA when something goes wrong
    outcome: dict[str, Any]  # SubmissionOutcome.to_json() (grader.outcome/1)


# -- the TA's side ---------------------------------------------------------------------------------

def pack(entry: Entry, digest: str) -> Task:
    """The task for one submission. GraderError when it is too big to send."""
    from grader.errors import SubmissionError
    from grader.load.files import read_regular
    from grader.load.loader import _candidates

    path = Path(entry.path)
    folder = path.is_dir()
    # A folder: the files its loader may read (the others never reach the grade).
    found = [(p.relative_to(path).as_posix(), p) for p in _candidates(path)] if folder else [("", path)]
    files: list[tuple[str, bytes]] = []
    total = 0
    for relative, p in found:
        try:
            data = read_regular(p, MAX_TASK_BYTES - total, follow=not folder)  # a pipe or a link out is not sent
        except SubmissionError as exc:
            if "too large" in exc.reason:
                raise GraderError(f"too large to send to the cluster (more than {MAX_TASK_BYTES >> 20} MiB)") from None
            if not folder:
                raise GraderError(f"cannot read {p}: {exc.reason}") from None
            continue  # made a link or a pipe since the walk: not sent
        total += len(data)
        files.append((relative, data))
    return Task(TASK_SCHEMA, __version__, entry.id, path.name or "submission", folder, tuple(files), digest)


def connect(address: str) -> Client:
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--cluster {address}: cannot reach the scheduler ({exc})") from None
    except TypeError as exc:  # distributed's way of saying a tls:// address came without certificates
        if "TLS" not in str(exc):
            raise
        raise ClusterError(f"--cluster {address}: a TLS scheduler needs Dask's TLS settings on this machine too: "
                           "distributed.comm.tls.ca-file, .client.cert and .client.key in Dask's configuration "
                           "(or DASK_DISTRIBUTED__COMM__TLS__CA_FILE, ..._CLIENT__CERT, ..._CLIENT__KEY)") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        client.close()
        raise ClusterError(f"--cluster {address}: no worker joined within {CONNECT_TIMEOUT:g} s") from None
    return client


def threads(client: Client) -> int:
    """How many submissions the cluster grades at once (each worker's threads)."""
    return sum(client.nthreads().values())


def close(client: Client) -> None:
    with contextlib.suppress(Exception):  # the scheduler may be gone: nothing is lost by not saying goodbye
        client.close()


def check_workers(client: Client, unsafe_no_sandbox: bool) -> dict[str, dict[str, str]]:
    """Every worker's protections, asked before any submission is sent. ClusterError if a worker
    has another grader version or cannot sandbox (and `--unsafe-no-sandbox` was not given)."""
    answers = client.run(worker_protections, unsafe_no_sandbox, on_error="return")
    problems = []
    found: dict[str, dict[str, str]] = {}
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            problems.append(f"worker {worker}: {fault(answer)}")
        elif answer.get("grader") != __version__:
            problems.append(f"worker {worker}: grader {answer.get('grader')}, not {__version__} as here")
        else:
            found[worker] = answer
    if problems:
        raise ClusterError("the cluster cannot grade this batch:\n  " + "\n  ".join(problems))
    return found


def run(client: Client, todo: list[Entry], digests: dict[str, str], out: Path, rubric: Rubric, setup: Setup, *,
        write: Write, on_start: Callable[[Entry], None] | None = None,
        on_done: Callable[[SubmissionOutcome], None] | None = None) -> Outcome:
    """Grade `todo` on the cluster; each result is written to `out` as it arrives (see `batch.run`)."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    recorder = Recorder(out, write, on_done)
    waiting: Iterator[Entry] = iter(todo)
    running: dict[Future[Reply], tuple[Entry, int]] = {}  # future -> (entry, times sent)
    flow = as_completed(loop=client.loop)

    def send(entry: Entry, times: int = 1) -> None:
        try:
            task = pack(entry, digests[entry.id])
        except GraderError as exc:  # too big, unreadable: its row says so, the batch goes on
            recorder.record(error_outcome(entry, rubric, f"not graded: {exc}"))
            return
        if on_start is not None:
            on_start(entry)
        # The setup (about 10 kB) travels with each task rather than scattered once: a worker that
        # restarts, or a cluster whose every worker was replaced, still has all a task needs.
        future = client.submit(grade_task, task, setup, pure=False, key=f"grade-{entry.id}-{os.urandom(6).hex()}")
        del task  # the scheduler holds it until it is done (so that a lost worker's task can run again)
        running[future] = (entry, times)
        flow.add(future)

    def fill() -> None:
        room = max(4, 2 * threads(client))  # workers may join and leave
        while len(running) < room and (entry := next(waiting, None)) is not None:
            send(entry)

    try:
        fill()
        while running:
            future = next(flow)
            entry, times = running.pop(future)
            try:
                reply = future.result()
                full = outcome_from(reply, entry)
            except KilledWorker as exc:
                full = error_outcome(entry, rubric, f"not graded: the workers running it were lost ({exc})")
            except (FutureCancelledError, asyncio.CancelledError) as exc:  # only this client cancels its tasks,
                recorder.outcome.why = f"the cluster stopped the batch: {exc}"  # so the scheduler was lost
                raise KeyboardInterrupt from None
            except Exception as exc:
                from grader.sandbox.cancel import Cancelled

                if isinstance(exc, Cancelled) and times < RESENDS:  # another batch's Ctrl-C on a shared worker
                    send(entry, times + 1)
                    continue
                full = error_outcome(entry, rubric, f"the grader failed on this submission: {fault(exc)}")
            finally:
                future.release()
            recorder.record(full)
            fill()
    except KeyboardInterrupt:
        client.cancel(list(running))
        with contextlib.suppress(Exception):  # the workers may be gone too: what finished is kept anyway
            client.run(stop_runs, wait=True)
        return recorder.interrupted(todo)
    return recorder.outcome


def outcome_from(reply: Any, entry: Entry) -> SubmissionOutcome:
    if not isinstance(reply, Reply) or reply.schema != REPLY_SCHEMA:
        raise GraderError(f"the worker's reply is not a {REPLY_SCHEMA}")
    outcome = SubmissionOutcome.from_json(reply.outcome)
    if outcome.id != entry.id:
        raise GraderError(f"the worker graded {outcome.id!r}, not {entry.id!r}")
    return replace(outcome, path=entry.path)  # the worker's copy was in a temporary folder


# -- the worker's side -----------------------------------------------------------------------------

@lru_cache(maxsize=2)
def worker_protections(unsafe_no_sandbox: bool) -> dict[str, str]:
    """What this worker's runs will have; UnsafeToRun when it cannot sandbox (checked once a process)."""
    from grader.sandbox import preflight

    return {"grader": __version__, **preflight(unsafe_no_sandbox=unsafe_no_sandbox)}


_busy = [0]  # grade_task calls in progress in this worker process
_busy_lock = threading.Lock()
STOP_WAIT = 10.0  # seconds stop_runs waits for the tasks in progress to end


async def stop_runs() -> None:
    """Ctrl-C on the TA's machine: kill the runs in progress here (a run's supervision loop sees the
    flag within 50 ms, kills its process tree and its task fails), and once no task is left
    running, let new runs start again."""
    from grader.sandbox import cancel

    cancel.cancel_all()
    deadline = time.monotonic() + STOP_WAIT
    while _busy[0] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    cancel.reset()


def materialize(task: Task, folder: Path) -> Path:
    """Write the task's files under `folder`; the path to grade."""
    name = PurePosixPath(task.name).name
    if name in ("", ".", ".."):
        raise GraderError(f"bad submission name {task.name!r}")
    target = folder / name
    if not task.folder:
        if len(task.files) != 1 or task.files[0][0] != "":
            raise GraderError("a file submission carries one file")
        target.write_bytes(task.files[0][1])
        return target
    target.mkdir()
    for relative, data in task.files:
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
            raise GraderError(f"bad file name in the task: {relative!r}")
        path = target.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def grade_task(task: Task, setup: Setup) -> Reply:
    """Runs on a worker: grade one submission in this machine's sandbox."""
    import socket

    from grader.grade import grade_submission, outcome_of
    from grader.sandbox import run_program

    if task.schema != TASK_SCHEMA:
        raise GraderError(f"this worker reads {TASK_SCHEMA} tasks, not {task.schema}")
    if task.grader_version != __version__:
        raise GraderError(f"this worker has grader {__version__}, the task was made by {task.grader_version}")
    worker_protections(setup.unsafe_no_sandbox)  # refuses here, as a local batch would, before anything runs
    overrides = setup.overrides
    with _busy_lock:
        _busy[0] += 1
    try:
        with tempfile.TemporaryDirectory(prefix="grader-task-") as tmp:
            path = materialize(task, Path(tmp))
            result = grade_submission(str(path), setup.rubric, overrides=overrides, encoding=setup.encoding,
                                      runner=partial(run_program, unsafe_no_sandbox=setup.unsafe_no_sandbox),
                                      mapping=overrides.mapping(task.id) if overrides else None, name=task.id)
            outcome = outcome_of(result, setup.rubric, submission_id=task.id, digest=task.digest)
    finally:
        with _busy_lock:
            _busy[0] -= 1
    return Reply(REPLY_SCHEMA, socket.gethostname(), outcome.to_json())

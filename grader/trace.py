"""The Trace: everything observed during one sandboxed run, as plain JSON-safe values.

A Trace is produced by `grader.sandbox.run_program` and consumed by checks, which are pure
functions over it. `Trace.to_json()` gives a dict of JSON types and `Trace.from_json(d)` rebuilds
an equal Trace. Every sequence is a tuple so that a Trace is an immutable value.

Facts and claims
----------------
Two sources feed a Trace. The *facts* come from the kernel, observed from outside the program by
strace (`grader.sandbox.kernel`): which processes existed, their parents, what each executed,
when each was created, ended and was reaped, its exit status, and which process wrote which bytes
to stdout, stderr and the files of the working directory. Every `Process` is one the kernel saw;
every stdout/stderr `Line` is bytes the kernel saw that process write. The *claims* are written by
a small recorder inside the student's own processes (that a process is a multiprocessing Process
or a pool worker, its target, pool tasks, random draws, exception text, log records): a claim is
kept only when the kernel saw its writer write it (an event naming another process is dropped),
and is attached to kernel facts as detail. Checks may use a claim to lower a verdict, never to
raise one. When the observer could not see the whole run (`observed` False), the Trace says why
in `issues` ("observation_gap") and checks that need facts fail instead of trusting claims.
Nothing in a Trace is a grade.

Times are seconds since the run started (the moment the interpreter was launched), rounded to
microseconds. Process ids are the pids the program itself sees (inside its PID namespace, if any) and differ
between runs; a process whose own pid the observer could not learn has the negated host pid.

Fields of `Trace`
-----------------
version             schema version of this record (`SCHEMA_VERSION`).
exit_code           exit status of the main process as collected by the grader, or None if it was
                    killed by a signal.
signal              name of the signal that ended the main process ("SIGKILL", "SIGXCPU"...), or None.
timed_out           True when the wall-time limit ended the run, or would have (a run stopped early
                    because it could never finish: `stopped` says why).
stopped             why the run was ended early, before any limit, because what it could still show
                    no longer mattered ("a child process failed as it started (...)"; see
                    grader.sandbox.decide), or None. A stop that stands for a limit also sets `limit`.
limit               the limit that ended the run: "wall", "cpu", "memory", "file_size",
                    "processes", "output" (more than `limits.output` bytes written to a stream, when
                    the run was asked to stop there), or None when the program ended on its own.
limits_hit          every limit that was reached anywhere during the run, ended it or not
                    (also "output" when a stream was truncated and "events" when the recorder ran
                    out of room), sorted.
wall_time           seconds from launch until the main process ended (or was killed).
cpu_time            user+system CPU seconds of all processes of the run that the grader could
                    account for (those reaped by the grader or by a reaped ancestor).
stdout, stderr      `Capture`: the first `limits.output` bytes of each raw pipe (decoded as UTF-8,
                    invalid bytes replaced), the total byte count and whether it was truncated.
processes           `Process` records, the main process first, then by start time.
pools               `Pool` records (multiprocessing.Pool, ThreadPool, Process/ThreadPoolExecutor)
                    with their tasks.
threads             `Thread` records: threads started by any process of the run.
lines               `Line` records: every line of output, each with the pid, thread and stream that
                    wrote it, built from that process's own writes (so lines of processes printing
                    at the same time are not mixed). Log records are lines of stream "log". Bytes
                    in the raw pipes that no process claimed are lines with pid None.
exceptions          `ExceptionInfo` records: uncaught exceptions in any process or thread, and
                    exceptions raised by pool tasks, with their tracebacks.
files               `File` records: files left in the working directory (not the program itself).
inputs              `InputCall` records: reads of stdin (input()); stdin is empty, so they get EOF.
start_method        the multiprocessing start method really in effect in the main process
                    (the student's own set_start_method wins over the requested one), or None if
                    multiprocessing was never used.
start_method_requested  the start method the run asked for, None for the platform default.
seed                the run seed that derived every process's `random` seed.
issues              `Issue` records: disagreements between claims and observations, and notes
                    about the recording itself (caps reached: "capped").
observed            True when the kernel observer saw the whole run (no gap, no cap on processes
                    or writes); False means facts may be missing and claims were not trusted.
limits              the limits the run used (field name -> value).
wall_extended       True when the run reached its wall-time limit while still making progress and
                    was given more time, up to `limits.wall_time_max` (grader.sandbox.progress).
wall_note           how the wall-time limit was applied to a run that reached it and could have
                    been given more time, in words for the TA ("not extended past 5 s: no progress
                    in the last 4 s (the last sign: process 5 started at 0.3 s)"), or None.
limits_why          why a limit has its value, when the grader chose it (field name -> words, e.g.
                    "wall_time": "auto: 6 × the reference solution's 0.19 s"); set by grader.grade.
sandbox             how the run was isolated, for the TA: python, version, user, cgroup, observer.

Process.kind is one of: "main", "process" (multiprocessing.Process), "pool_worker"
(multiprocessing.Pool), "executor_worker" (ProcessPoolExecutor), "fork" (raw os.fork),
"subprocess" (any program started by exec: subprocess, os.system...), "forkserver" and
"resource_tracker" (multiprocessing's own helpers, `internal`), "spawn" (a spawn/forkserver child
that died before saying which Process it was), or "unknown" (seen from outside only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

SCHEMA_VERSION = 2

Json = dict[str, Any]
_T = TypeVar("_T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """A record class's field names (`fields()` builds them anew at each call: a run has thousands of records)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _flat_to_json(obj: object) -> Json:
    out: Json = {}
    for name in _names(type(obj)):
        value = getattr(obj, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _flat_from_json(cls: type[_T], data: Mapping[str, Any]) -> _T:
    kwargs: dict[str, Any] = {}
    for name in _names(cls):
        if name in data:
            value = data[name]
            kwargs[name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


@dataclass(frozen=True)
class Capture:
    """One raw output pipe as the grader read it."""

    text: str = ""
    total_bytes: int = 0
    truncated: bool = False

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Capture:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Process:
    """One process of the run.

    pid, ppid       process id and parent process id (the parent at start: seen from outside when
                    possible, else as the process claimed).
    started_by      the process that asked for it (Process.start(), subprocess, os.fork). Differs
                    from ppid under forkserver, where the forkserver process is the parent.
    kind            see the module docstring.
    name            multiprocessing Process name ("Process-1", "ForkPoolWorker-2"), else None.
    target          qualified name of the target function ("worker", "Worker.run"), else None.
    args            short repr of the target's arguments, else None.
    start_method    how a multiprocessing child was started: "fork", "spawn" or "forkserver".
    pool            id of the Pool / executor this process was a worker of, else None.
    start, end      seconds since the run started; from outside observation when available,
                    else from the process's own claim.
    times           where start/end came from: "observed", "claimed", or None if unknown.
    exit_code       exit code (observed wins over claimed); None if killed by a signal or unknown.
    signal          name of the signal that killed it, if any.
    cpu_time        CPU seconds the process claimed for itself at its end, else None.
    internal        True for multiprocessing's own helpers (forkserver, resource tracker).
    claimed         the process recorded itself (its bootstrap ran).
    observed        the grader saw this pid from outside with a matching parent.
    survived        still alive when the run ended, so the sandbox killed it.
    random_draws    number of draws from the `random` module (0: the process used no randomness).
    command         command line seen for exec'd programs (subprocess), else empty.
    limit           the resource limit this process hit ("cpu", "memory", "file_size"...), or None.
    joined          when its parent first waited for it (a blocking wait4/waitid on it, or the
                    wait that reaped it), as the kernel saw it; None if nobody waited.
    created         when the parent's clone/fork returned it (kernel; program order in the parent).
    awaited         when the parent started waiting for it to end before doing anything else: a
                    blocking wait that reaped it, or polling it (WNOHANG, e.g. is_alive()) until it
                    ended without creating another process meanwhile. None: never awaited so.
    reaped          when its parent's wait collected it (kernel), else None.
    """

    pid: int
    ppid: int | None = None
    started_by: int | None = None
    kind: str = "unknown"
    name: str | None = None
    target: str | None = None
    args: str | None = None
    start_method: str | None = None
    pool: str | None = None
    start: float | None = None
    end: float | None = None
    times: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    cpu_time: float | None = None
    internal: bool = False
    claimed: bool = False
    observed: bool = False
    survived: bool = False
    random_draws: int = 0
    command: tuple[str, ...] = ()
    limit: str | None = None
    joined: float | None = None
    created: float | None = None
    awaited: float | None = None
    reaped: float | None = None

    @property
    def used_random(self) -> bool:
        return self.random_draws > 0

    def overlaps(self, other: Process) -> bool | None:
        """Whether the two lifetimes intersect; None if either interval is unknown."""
        if None in (self.start, self.end, other.start, other.end):
            return None
        return self.start < other.end and other.start < self.end  # type: ignore[operator]

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Process:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Task:
    """One call of the user's function in a pool (each element of a map is one task).

    pid/thread say which worker process (and thread number, for thread pools) ran it; ok is None when
    the task never finished (the run ended first); error is "Type: message" when it raised. All of
    that is claimed; what the kernel saw around it: result_seen, the worker wrote to a pipe the
    pool's owner made after the task began (its result, sent back); sent_seen, the owner had
    written to a pipe of its own before the task began (work sent to the pool).
    """

    pool: str
    function: str
    args: str
    pid: int
    thread: int | None = None
    start: float | None = None
    end: float | None = None
    ok: bool | None = None
    error: str | None = None
    result_seen: bool = False
    sent_seen: bool = False

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Pool:
    """A pool of workers. kind: "Pool", "ThreadPool", "ProcessPoolExecutor", "ThreadPoolExecutor".

    pid is the process that created it; size the number of workers asked for; workers the pids
    of the worker processes it started (empty for thread pools); start_method the method its
    workers were started with.
    """

    id: str
    kind: str
    pid: int
    size: int | None = None
    start_method: str | None = None
    workers: tuple[int, ...] = ()
    tasks: tuple[Task, ...] = ()

    def to_json(self) -> Json:
        out = _flat_to_json(self)
        out["tasks"] = [t.to_json() for t in self.tasks]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pool:
        base = _flat_from_json(cls, {k: v for k, v in data.items() if k != "tasks"})
        return replace(base, tasks=tuple(Task.from_json(t) for t in data.get("tasks", ())))


@dataclass(frozen=True)
class Thread:
    """A thread started in some process. number is its rank within the process (0 is the main
    thread, then 1, 2... in start order, so it is the same from run to run); kind is "thread"
    (the student's), "pool_worker" (a ThreadPool / ThreadPoolExecutor worker) or "internal"
    (machinery of multiprocessing, concurrent.futures, logging...)."""

    pid: int
    number: int
    name: str
    target: str | None = None
    kind: str = "thread"
    daemon: bool = False
    start: float | None = None
    end: float | None = None

    @property
    def internal(self) -> bool:
        return self.kind == "internal"

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Thread:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Line:
    """One line of output.

    pid         the process that wrote it; None for bytes of the raw pipe no process claimed
                (os.write(1, ...), C code, non-Python programs).
    stream      "stdout", "stderr" or "log" (a logging record that a handler emitted).
    text        the line without its newline.
    t           when its first part was written (None for unclaimed lines).
    thread      thread number within the process (0: its main thread; see `Thread.number`).
    verified    stdout/stderr: the text was found in the raw pipe; log: found where the handler
                wrote (a file of the working directory or a pipe). None when it could not be
                checked (beyond the captured part, or a destination the grader cannot read).
    offset      character offset of the line's first part in the captured stream text.
    complete    False when the line did not end with a newline.
    level, logger, dest   for logs: level name, logger name, and where the handler wrote
                ("stderr", "stdout", a file path relative to the working dir, or a handler type).
    origin_pid  for logs: the pid that created the record, when another process emitted it
                (QueueHandler / QueueListener).
    """

    pid: int | None
    stream: str
    text: str
    t: float | None = None
    thread: int | None = None
    verified: bool | None = None
    offset: int | None = None
    complete: bool = True
    level: str | None = None
    logger: str | None = None
    dest: str | None = None
    origin_pid: int | None = None

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Line:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class ExceptionInfo:
    """An exception: where is "main" (uncaught in the main process), "process" (in a
    multiprocessing child's run), "startup" (in a child before its target ran, e.g. importing
    the main module under spawn), "thread" or "task" (raised by a pool task)."""

    pid: int
    where: str
    type: str
    message: str
    traceback: str = ""
    thread: int | None = None
    t: float | None = None

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExceptionInfo:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class File:
    """A file left in the working directory: path relative to it, size in bytes, its first KB
    (decoded as UTF-8, invalid bytes replaced), whether it looks binary, and for symlinks the
    link target (never followed)."""

    path: str
    size: int
    head: str = ""
    binary: bool = False
    link: str | None = None

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> File:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class InputCall:
    """A read of stdin: input() (api "readline"), sys.stdin.read()... result is "eof" (stdin is
    empty, so input() raised EOFError) or "line"; prompt is what the process had written on its
    unfinished stdout line (input()'s prompt)."""

    pid: int
    prompt: str
    result: str
    api: str = "readline"
    t: float | None = None

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputCall:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Issue:
    """A disagreement between what the run's processes claimed and what the grader observed,
    or a note about the recording. kind is a stable identifier, e.g. "claimed_not_observed",
    "observed_not_claimed", "parent_mismatch", "exit_code_mismatch", "output_not_in_stream",
    "unattributed_output", "log_not_in_file", "events_truncated", "bad_event"."""

    kind: str
    detail: str
    pid: int | None = None

    def to_json(self) -> Json:
        return _flat_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Issue:
        return _flat_from_json(cls, data)


@dataclass(frozen=True)
class Trace:
    """The record of one run. See the module docstring for every field."""

    exit_code: int | None
    signal: str | None = None
    timed_out: bool = False
    limit: str | None = None
    limits_hit: tuple[str, ...] = ()
    wall_time: float = 0.0
    cpu_time: float = 0.0
    stdout: Capture = field(default_factory=Capture)
    stderr: Capture = field(default_factory=Capture)
    processes: tuple[Process, ...] = ()
    pools: tuple[Pool, ...] = ()
    threads: tuple[Thread, ...] = ()
    lines: tuple[Line, ...] = ()
    exceptions: tuple[ExceptionInfo, ...] = ()
    files: tuple[File, ...] = ()
    inputs: tuple[InputCall, ...] = ()
    start_method: str | None = None
    start_method_requested: str | None = None
    seed: int = 0
    issues: tuple[Issue, ...] = ()
    limits: dict[str, float] = field(default_factory=dict)
    sandbox: dict[str, str] = field(default_factory=dict)
    observed: bool = True
    stopped: str | None = None
    limits_why: dict[str, str] = field(default_factory=dict)
    wall_extended: bool = False
    wall_note: str | None = None
    version: int = SCHEMA_VERSION

    # -- convenience for checks -------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """The main process exited with status 0 and no limit ended the run."""
        return self.exit_code == 0 and self.limit is None

    def main(self) -> Process | None:
        """The main process (the one running the program as __main__)."""
        for p in self.processes:
            if p.kind == "main":
                return p
        return None

    def process(self, pid: int) -> Process | None:
        for p in self.processes:
            if p.pid == pid:
                return p
        return None

    def children(self, *, include_internal: bool = False) -> tuple[Process, ...]:
        """Every process other than the main one; multiprocessing's own helper processes
        (forkserver, resource tracker) only when asked."""
        return tuple(
            p for p in self.processes if p.kind != "main" and (include_internal or not p.internal)
        )

    def lines_by_pid(self, streams: Iterable[str] = ("stdout", "stderr", "log")) -> dict[int | None, list[Line]]:
        """Lines of the given streams grouped by the pid that wrote them (None: unclaimed)."""
        wanted = set(streams)
        out: dict[int | None, list[Line]] = {}
        for line in self.lines:
            if line.stream in wanted:
                out.setdefault(line.pid, []).append(line)
        return out

    def lines_of(self, pid: int | None, streams: Iterable[str] = ("stdout", "stderr", "log")) -> list[Line]:
        wanted = set(streams)
        return [ln for ln in self.lines if ln.pid == pid and ln.stream in wanted]

    def tasks(self) -> tuple[Task, ...]:
        return tuple(t for pool in self.pools for t in pool.tasks)

    def exceptions_in(self, pid: int) -> tuple[ExceptionInfo, ...]:
        return tuple(e for e in self.exceptions if e.pid == pid)

    def issues_of(self, kind: str) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.kind == kind)

    def file(self, path: str) -> File | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    # -- JSON ---------------------------------------------------------------------------------

    def to_json(self) -> Json:
        out = _flat_to_json(self)
        out["stdout"] = self.stdout.to_json()
        out["stderr"] = self.stderr.to_json()
        out["limits"] = dict(self.limits)
        out["sandbox"] = dict(self.sandbox)
        out["limits_why"] = dict(self.limits_why)
        for name in _NESTED:
            out[name] = [item.to_json() for item in getattr(self, name)]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trace:
        version = data.get("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(f"trace schema version {version} is not supported (expected {SCHEMA_VERSION})")
        flat = {k: v for k, v in data.items() if k not in _NESTED and k not in _OBJECTS}
        kwargs: dict[str, Any] = {}
        for name in _names(cls):
            if name in flat:
                value = flat[name]
                kwargs[name] = tuple(value) if isinstance(value, list) else value
        kwargs["stdout"] = Capture.from_json(data.get("stdout", {}))
        kwargs["stderr"] = Capture.from_json(data.get("stderr", {}))
        kwargs["limits"] = dict(data.get("limits", {}))
        kwargs["sandbox"] = dict(data.get("sandbox", {}))
        kwargs["limits_why"] = dict(data.get("limits_why", {}))
        for name, item_cls in _NESTED.items():
            kwargs[name] = tuple(item_cls.from_json(item) for item in data.get(name, ()))  # type: ignore[attr-defined]
        return cls(**kwargs)


_NESTED: dict[str, type] = {
    "processes": Process,
    "pools": Pool,
    "threads": Thread,
    "lines": Line,
    "exceptions": ExceptionInfo,
    "files": File,
    "inputs": InputCall,
    "issues": Issue,
}
_OBJECTS = ("stdout", "stderr", "limits", "sandbox", "limits_why")

"""Stopping a run early, once what it can still show no longer matters: rules over the live facts.

    trace = run_program(source, stop=StopWhen([PastOutputCap(), ChildFailedToStart()]))

The runner consults a rule each time it has drained the program's output and the kernel's
record (the supervision loop's every wake-up); the first `Stop` a rule returns ends the run at
once, as a limit would, and the Trace says why (`Trace.stopped`, and `Trace.limit` for a rule
that stands for a limit). A rule decides only from facts the program cannot forge: what the
kernel saw each process write (strace, outside the program), exit statuses the kernel reported,
and byte counts of the grader's own pipes. Which rules apply to a run is the caller's choice
(`grader.grade` knows which checks read the run and what would decide them); the sandbox knows
none of that.

Rules are called often: each keeps a cursor into the record and looks only at what is new.
A rule object serves one run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from grader.sandbox.kernel import KernelRecord
from grader.sandbox.limits import Limits


@dataclass(frozen=True)
class Live:
    """What the runner knows while the run goes on."""

    record: KernelRecord  # the kernel's record so far
    stdout_bytes: int  # bytes the grader's stdout pipe has delivered
    stderr_bytes: int
    limits: Limits


@dataclass(frozen=True)
class Stop:
    """Why a run was ended early, in words for the student (`reason` completes "stopped early: ...")."""

    reason: str
    limit: str | None = None  # the limit this stop stands for ("output"), None when no limit was reached


class StopRule(Protocol):
    def __call__(self, live: Live) -> Stop | None: ...


class StopWhen:
    """The first of several rules that fires."""

    def __init__(self, rules: Iterable[StopRule]) -> None:
        self.rules = list(rules)

    def __call__(self, live: Live) -> Stop | None:
        for rule in self.rules:
            stop = rule(live)
            if stop is not None:
                return stop
        return None


class PastOutputCap:
    """A stream got more bytes than the output limit keeps: the run has reached its output limit,
    and nothing it does after that is recorded anyway."""

    def __call__(self, live: Live) -> Stop | None:
        cap = live.limits.output
        for stream, total in (("stdout", live.stdout_bytes), ("stderr", live.stderr_bytes)):
            if total > cap:
                return Stop(f"it wrote more than {_size(cap)} to {stream}, its output limit", limit="output")
        return None


# What a Python child prints when it dies bootstrapping: multiprocessing's own RuntimeError when the
# main module, re-imported by a spawn or forkserver child, starts processes itself (no __main__ guard).
BOOTSTRAP_MARK = b"bootstrapping phase"
_TAIL = 4096  # stderr bytes kept per process to look for the mark (a traceback's end)


class ChildFailedToStart:
    """A child process of the program exited with a non-zero status (the kernel's record) after its
    own stderr (as the kernel saw that process write it) showed multiprocessing's bootstrapping
    error: a child of a program with no `__main__` guard, under spawn or forkserver. The parent
    then usually waits for it forever (a Pool respawns such workers without end)."""

    def __init__(self) -> None:
        self._writes = 0  # record.writes looked at
        self._tails: dict[int, bytes] = {}  # pid -> the end of what it wrote to stderr
        self._marked: dict[int, str] = {}  # pid -> the line that says why

    def __call__(self, live: Live) -> Stop | None:
        record = live.record
        main = record.main
        if main is None:
            return None
        writes = record.writes
        for w in writes[self._writes:]:
            if w.target != "stderr" or w.pid == main:
                continue
            tail = (self._tails.get(w.pid, b"") + w.data)[-_TAIL:]
            self._tails[w.pid] = tail
            if BOOTSTRAP_MARK in tail and w.pid not in self._marked:
                self._marked[w.pid] = _last_error(tail)
        self._writes = len(writes)
        main_first = record.tasks[main].first if main in record.tasks else None
        for pid, why in self._marked.items():
            p = record.tasks.get(pid)
            if p is None or p.end is None or not p.exit_code or main_first is None or (p.first or 0.0) < main_first:
                continue  # not ended (yet), ended well, or not one of the program's processes
            return Stop(f"a child process failed as it started ({why}) and exited with status {p.exit_code}")
        return None


def _last_error(tail: bytes) -> str:
    """The error at a traceback's end, as one line: "RuntimeError: An attempt has been made ...
    its bootstrapping phase." (multiprocessing's message spans lines), shortened."""
    text = " ".join(tail.decode("utf-8", "replace").split())
    mark = BOOTSTRAP_MARK.decode()
    end = text.rfind(mark)
    errors = list(re.finditer(r"\w*Error:", text[:end]))
    start = errors[-1].start() if errors else max(0, end - 100)
    line = text[start:end + len(mark)]
    return line if len(line) <= 160 else line[:159] + "…"


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"

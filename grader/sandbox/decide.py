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

import os
import platform
import re
import time
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


# x86_64 system calls that can wait for ever, and whether this call does (its raw arguments as
# /proc/PID/task/TID/syscall shows them): only another process of the run could end the wait.
_NO_TIMEOUT = 0xFFFFFFFFFFFFFFFF  # poll's and epoll_wait's -1
_FOREVER: dict[int, str] = {0: "read", 19: "readv", 45: "recvfrom", 47: "recvmsg", 61: "wait4", 247: "waitid",
                            34: "pause", 130: "rt_sigsuspend", 202: "futex", 7: "poll", 271: "ppoll", 23: "select",
                            270: "pselect6", 232: "epoll_wait", 281: "epoll_pwait"}
_FUTEX_WAITS = (0, 9, 6)  # FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI (op & 0x7f)
_WAKERS = ("timerfd", "signalfd", "eventfd", "inotify", "fanotify")  # fds that can wake a poll from outside


class Deadlocked:
    """Every process of the run has waited, for a while and unchanged, in a call that only another
    process of the run could end (reading a pipe nobody writes to, a lock nobody releases, a join
    of a process that never ends, poll with no timeout): nothing can happen any more, and the run
    would only end at its wall-time limit. Counted as reaching that limit (`limit` "wall").

    Facts only: every thread's state and current system call from /proc (the kernel's), the
    whole process tree of the run's PID namespace (so a process that computes without making a
    traced call is seen), and the kernel record (no output, no new process in between). It
    stays out of the way where it cannot be sure: without a PID namespace, off x86_64, when a
    process armed a timer (alarm, setitimer, timer_create, timerfd), or a waiting poll watches a
    descriptor that can fire by itself."""

    QUIET = 0.15  # seconds without any activity before a look, and between the two looks that must agree

    def __init__(self) -> None:
        self._activity: tuple[int, int, int] | None = None
        self._since = 0.0  # when the activity counters last changed
        self._seen: tuple[tuple[int, str], ...] | None = None  # the blocked state at the first look
        self._seen_at = 0.0

    def __call__(self, live: Live) -> Stop | None:
        record = live.record
        if record.pidns is not True or record.main is None or record.timers or platform.machine() != "x86_64":
            return None
        now = time.monotonic()
        activity = (record.lines, live.stdout_bytes, live.stderr_bytes)
        if activity != self._activity:
            self._activity, self._since, self._seen = activity, now, None
            return None
        if now - self._since < self.QUIET or (self._seen is not None and now - self._seen_at < self.QUIET):
            return None
        state = _blocked_tree(record.main)
        if state is None:
            self._seen = None
            return None
        if self._seen != state:
            self._seen, self._seen_at = state, now
            return None
        waits = sorted({name for _tid, name in state} - {"exited"})
        return Stop(f"every process of the run was waiting ({', '.join(waits)}) for another one, and nothing could "
                    "end the wait: it would never finish", limit="wall")


def _blocked_tree(main: int) -> tuple[tuple[int, str], ...] | None:
    """(tid, what it waits for) of every thread of every process in the main process's PID
    namespace (its init's descendants), if each waits for ever; None if any does not (or cannot be read)."""
    try:
        with open(f"/proc/{main}/stat", "rb") as f:
            init = int(f.read(4096).rpartition(b")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
    out: list[tuple[int, str]] = []
    todo = _children(init)
    if todo is None:
        return None
    seen: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        if len(seen) > 512:  # a big tree is not worth the look
            return None
        seen.add(pid)
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except (OSError, ValueError):
            return None
        for tid in tids:
            what = _waits_forever(pid, tid)
            if what is None:
                return None
            out.append((tid, what))
            kids = _children(pid, tid)
            if kids is None:
                return None
            todo.extend(kids)
    return tuple(sorted(out)) if out else None


def _children(pid: int, tid: int | None = None) -> list[int] | None:
    tids = [tid] if tid is not None else None
    try:
        if tids is None:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        kids: list[int] = []
        for t in tids:
            with open(f"/proc/{pid}/task/{t}/children", "rb") as f:
                kids += [int(k) for k in f.read(65536).split()]
        return kids
    except (OSError, ValueError):
        return None


def _waits_forever(pid: int, tid: int) -> str | None:
    """The call thread `tid` waits in, if it is asleep in one that has no timeout; else None."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
            state = f.read(4096).rpartition(b")")[2].split()[0]
        if state == b"Z":
            return "exited"  # ended, not reaped: it can wake nobody (a wait for it would have returned)
        if state != b"S":
            return None  # running, stopped, traced, in the disk's hands: not waiting for ever
        with open(f"/proc/{pid}/task/{tid}/syscall", "rb") as f:
            fields = f.read(512).split()
        nr, args = int(fields[0]), [int(a, 16) for a in fields[1:7]]
    except (OSError, ValueError, IndexError):
        return None
    name = _FOREVER.get(nr)
    if name is None:
        return None
    if name == "futex":
        return name if args[1] & 0x7F in _FUTEX_WAITS and args[3] == 0 else None
    if name in ("read", "readv", "recvfrom", "recvmsg"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{args[0]}")
        except OSError:
            return None
        return name if target.startswith(("pipe:", "socket:")) else None
    if name in ("poll", "epoll_wait", "epoll_pwait", "ppoll", "select", "pselect6"):
        forever = {"poll": args[2] == _NO_TIMEOUT or args[2] == 0xFFFFFFFF, "epoll_wait": args[3] in (_NO_TIMEOUT,
                   0xFFFFFFFF), "epoll_pwait": args[3] in (_NO_TIMEOUT, 0xFFFFFFFF), "ppoll": args[2] == 0,
                   "select": args[4] == 0, "pselect6": args[4] == 0}[name]
        return name if forever and not _has_wakers(pid) else None
    return name  # wait4, waitid, pause, rt_sigsuspend


def _has_wakers(pid: int) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True
    for fd in fds[:4096]:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("anon_inode:") and any(w in target for w in _WAKERS):
            return True
    return len(fds) > 4096


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

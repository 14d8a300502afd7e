"""The kernel's record of a run, observed from outside by strace: the facts that decide grades.

strace runs in front of the program (`[*observer.prefix(), *isolation_argv, python, answer.py]`),
as the grader's own user, outside the program's namespaces, and writes to a FIFO in a directory
only the grader can reach. Everything it prints comes from the kernel, not from the student's
process: every process and thread (clone/fork/vfork), what each executed, when each ended and how,
every `write`/`writev` with the writing task and the file it went to (`-y`: our stdout/stderr
pipes are recognised by inode, so a `dup`ed descriptor still counts and a descriptor 1 pointing
elsewhere does not), every `wait4`/`waitid` and whether it reaped a child, each task's
`getpid()` result, and which process made each pipe (`pipe`/`pipe2`) and which processes wrote
to it, when (`KPipeWrites`: a pool worker's result goes to its pool's owner through a pipe the
owner made; only who and when is kept, not the bytes). Strings are printed in hex (`-xx`), so
nothing the program writes can look like a line of strace output.

`KernelRecord.feed()` parses that text incrementally while the run goes (the runner drains the
FIFO in its selector loop): linear in the input, and bounded whatever the program does (caps on
processes, writes, waits and kept bytes; a cap that is hit is noted and makes the record
incomplete for what it cut). `KernelRecord.facts()` resolves ids and returns `KernelFacts`, the
typed, versioned result.

PID namespaces: strace's pid column is the host pid ("outer"); `clone()` results and `wait4()`
arguments/results are pids inside the program's namespace ("inner"). The mapping comes from two
kernel sources: each task's `getpid()` and `gettid()` lines (the kernel's answers to that task, so
a program cannot make them lie; every Python thread calls `gettid()` as it starts), and, for a task
first seen, `/proc/<outer>/status` (`NSpid`, `Tgid`), read by the grader while the task is alive.
strace's own `--pidns-translation` does the same but cost ~60 ms per run here. Without a PID
namespace inner and outer are equal (detected from the main process).
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.sandbox.capture import read_some
from grader.sandbox.proctable import read_stat

VERSION = 2  # 2: pipe writes (KernelFacts.pipe_writes)
# timers that wake a process up from outside its own code (alarm's SIGALRM, a timerfd): rare, and
# only noted (`KernelRecord.timers`), so that a run whose processes all wait is known to be able
# to wake up by itself (grader.sandbox.decide)
TIMER_SYSCALLS = ("alarm", "setitimer", "timer_create", "timerfd_create")
SYSCALLS = ("clone", "clone3", "fork", "vfork", "execve", "execveat", "exit_group", "wait4", "waitid",
            "write", "writev", "pipe", "pipe2", *TIMER_SYSCALLS)
# only needed to map pids when the program has a PID namespace of its own: getpid() names a task's
# process, gettid() the task itself (every Python thread calls it as it starts), so a thread or
# process gone before the grader read /proc is still matched with the clone() that made it
PIDNS_SYSCALLS = ("getpid", "gettid")
# what each traced call is to the parser (one dictionary look-up per line instead of a chain of tests)
_WRITE, _CLONE, _WAIT, _PIPE, _GETPID, _GETTID, _TIMER, _EXEC, _OTHER = range(9)
_CALLS: dict[bytes, int] = {
    **dict.fromkeys((b"write", b"writev"), _WRITE), **dict.fromkeys((b"clone", b"clone3", b"fork", b"vfork"), _CLONE),
    **dict.fromkeys((b"wait4", b"waitid"), _WAIT), **dict.fromkeys((b"pipe", b"pipe2"), _PIPE),
    b"getpid": _GETPID, b"gettid": _GETTID, **dict.fromkeys((n.encode() for n in TIMER_SYSCALLS), _TIMER),
    **dict.fromkeys((b"execve", b"execveat"), _EXEC), b"exit_group": _OTHER,
}
STRING_CAP = 65536  # bytes of one write that strace prints; longer writes are kept cut (noted)

MAX_TASKS = 4096  # processes and threads kept
MAX_WRITES = 200_000  # write calls kept
MAX_WAITS = 100_000  # wait calls kept
MAX_LINE = 4 * STRING_CAP + 4096  # one strace line: a hex string of STRING_CAP bytes plus the rest
MAX_EXECS = 8  # execve argv kept per process
MAX_PIPES = 4096  # pipes whose maker is kept
MAX_PIPE_WRITERS = 16384  # (writer, pipe) pairs kept

_HEAD = re.compile(rb"(\d+) +(\d+\.\d+) ")  # a line's tid and time; the rest is the call
_NAME = re.compile(rb"\w+|\?\?\?")  # a call's name ("???": a task killed before strace could read its call)
_HEXSTR = re.compile(rb'"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?')
_HEXRUN = re.compile(rb"(?:\\x[0-9a-f]{2})*")  # a path or a string's bytes as strace prints them (-xx)
_SIPID = re.compile(rb"si_pid=(\d+)")
_PIPE_END = re.compile(rb"^\[-?\d+<((?:\\x[0-9a-f]{2})*)>")  # pipe2([3<pipe:[N]>, 4<pipe:[N]>], ...): the first end
_EXITED = re.compile(rb"^\+\+\+ exited with (\d+) \+\+\+")
_KILLED = re.compile(rb"^\+\+\+ killed by (SIG\w+)")
_UNFINISHED = b" <unfinished ...>"
_RESUMED = re.compile(rb"<\.\.\. (\w+|\?\?\?) resumed>(.*)", re.S)  # matched from the call's start (no ^)


def _hex(s: bytes) -> bytes:
    return binascii.unhexlify(s.replace(b"\\x", b""))


def _strings(args: bytes, most: int = 1 << 30) -> list[tuple[bytes, bool]] | None:
    """The first `most` quoted strings of a call's arguments, decoded, each with whether strace cut
    it short ("..." after it); None if one is not a whole `\\xHH...` string (never from strace).
    With -xx every byte of a string is `\\xHH`, so its closing quote is the next `"`: finding it
    and checking the form with slices costs a few ns a byte (about 1 ms for a 64 KiB write), where
    a regular expression over its hex and `bytes.replace` took 5.6 ms."""
    out: list[tuple[bytes, bool]] = []
    pos = 0
    while len(out) < most:
        start = args.find(b'"', pos)
        if start < 0:
            break
        end = args.find(b'"', start + 1)
        if end < 0:
            return None
        s = args[start + 1:end]
        n = len(s) >> 2
        if len(s) & 3 or s[0::4] != b"\\" * n or s[1::4] != b"x" * n:
            return None
        try:
            data = binascii.unhexlify(s.translate(None, b"\\x"))  # the form is checked: only digits are left
        except ValueError:
            return None
        out.append((data, args[end + 1:end + 4] == b"..."))
        pos = end + 1
    return out


def _fd_path(args: bytes) -> tuple[bytes, int] | None:
    """The file of a call's first argument as strace prints it with -y (`5<\\x2f\\x74...>, ...`): its
    path, still in hex and not yet checked to be hex, and where the argument ends; None if it has
    none. (`find` and slices: a regular expression over the path cost more than the rest of the line.)"""
    lt = args.find(b"<", 0, 32)  # after an fd number (a few digits)
    if lt <= 0:
        return None
    number = args[:lt]
    if not (number.isdigit() or (number[:1] == b"-" and number[1:].isdigit())):
        return None
    gt = args.find(b">", lt + 1)  # no '>' inside: the path is hex
    return (args[lt + 1:gt], gt + 1) if gt > 0 else None


def _returned(args: bytes) -> int | None:
    """A call's result: the number after its last ") = " (strace pads the gap with spaces; strings
    are hex (-xx), so no ") = " inside them). Read from the end, so a 64 KiB write's hex string
    is not scanned for it. None for "?" (the call never returned) or no result."""
    eq = args.rfind(b" = ")
    if eq < 0 or not args[max(0, eq - 256):eq].rstrip(b" ").endswith(b")"):
        return None
    value = args[eq + 3:].split(b" ", 1)[0]
    try:
        return int(value)
    except ValueError:
        return None


# -- the typed record ------------------------------------------------------------------------------


@dataclass
class KProcess:
    """One process (thread group) as the kernel saw it. Times are seconds since the epoch."""

    pid: int  # outer (host) pid
    inner: int | None = None  # pid inside the program's PID namespace (what it sees)
    parent: int | None = None  # outer pid of the process whose clone created it
    created: float | None = None  # when that clone returned in the parent (program order)
    first: float | None = None  # its own first traced syscall
    end: float | None = None
    exit_code: int | None = None
    signal: str | None = None
    argv: tuple[str, ...] = ()  # its last successful execve
    execs: int = 0
    threads: list[int] = field(default_factory=list)  # outer tids of the threads it created


@dataclass(frozen=True)
class KWrite:
    pid: int  # outer pid of the writing process
    tid: int  # outer tid of the writing thread
    t: float
    target: str  # "stdout", "stderr", or "file:<path>"
    data: bytes
    count: int  # bytes the kernel accepted
    cut: bool = False  # strace printed fewer bytes than were written


@dataclass(frozen=True)
class KWait:
    pid: int  # outer pid of the waiting process
    t: float  # call
    t_done: float  # return
    target: int  # the pid argument (inner): >0 one child, -1 any, 0 or < -1 a process group
    nohang: bool
    reaped: int | None  # outer pid of the child it reaped, None if none


@dataclass(frozen=True)
class KClone:
    pid: int  # outer pid of the creating process
    t: float  # when the call returned
    child: int | None  # outer pid of the new process, None if it could not be resolved
    thread: bool


@dataclass(frozen=True)
class KPipeWrites:
    """A process's writes to a pipe another (or the same) process of the run made."""

    pid: int  # outer pid of the writing process
    maker: int  # outer pid of the process whose pipe()/pipe2() made the pipe
    first: float  # its first such write
    last: float  # its last


@dataclass
class KernelFacts:
    """What the kernel reported for one run."""

    version: int
    main: int | None  # outer pid of the main Python process
    processes: dict[int, KProcess]  # the main process and its descendants, by outer pid
    writes: list[KWrite]
    waits: list[KWait]
    clones: list[KClone]
    complete: bool  # the observer saw the whole run: no cap hit, no lost output, no unparsed line
    gaps: list[str]  # why not complete, for the TA
    caps: list[str]  # caps that were hit (also in gaps)
    pipe_writes: list[KPipeWrites] = field(default_factory=list)

    def inner(self, outer: int) -> int | None:
        p = self.processes.get(outer)
        return p.inner if p is not None else None


# -- the parser ------------------------------------------------------------------------------------


@dataclass
class _Pending:
    name: bytes
    args: bytes
    t: float


class KernelRecord:
    """Incremental, bounded parser of `strace -f -q -ttt -y -xx` output."""

    def __init__(self, *, pipes: dict[int, str], workdir: str, main_argv: Sequence[str],
                 events_path: str = "", events_cap: int = 16 << 20, read_proc: bool = True,
                 pidns: bool | None = None) -> None:
        self.pidns = pidns  # None: find out from the main process (its getpid() or /proc)
        self.pipes = {f"pipe:[{ino}]".encode(): name for ino, name in pipes.items()}
        if events_path:
            self.pipes[events_path.encode()] = "events"
        self.events_cap = events_cap
        self.workdir = workdir.rstrip("/") + "/"
        self.main_argv = tuple(main_argv)
        self.read_proc = read_proc
        self._wall_minus_monotonic = wall_to_monotonic()
        self._partial = b""
        self._pending: dict[int, _Pending] = {}
        self.tasks: dict[int, KProcess] = {}  # every outer tid that is a process leader
        self.tgid: dict[int, int] = {}  # outer tid -> outer tgid
        self.inner_tid: dict[int, int] = {}  # outer tid -> inner tid (from /proc, else its gettid())
        self.getpid: dict[int, int] = {}  # outer tid -> what its getpid() returned (inner tgid)
        self.outside: set[int] = set()  # outer tids in the grader's PID namespace: their clone() returns outer pids
        self.clones: list[tuple[int, int, float, int, bool]] = []  # (tgid, tid, t, inner result, thread)
        self.waits: list[tuple[int, float, float, int, bool, int]] = []  # (tgid, t, t_done, target, nohang, got)
        self.writes: list[KWrite] = []
        self.kept_bytes: dict[str, int] = {}
        self.main: int | None = None
        self.main_end: float | None = None
        self.main_status: tuple[int | None, str | None] | None = None
        self.lines = 0
        self.bad_lines = 0
        self.bad_samples: list[bytes] = []
        self.caps: set[str] = set()  # caps that lose facts (processes, calls): the record is incomplete
        self.byte_caps: set[str] = set()  # caps on kept bytes: later bytes are counted, not kept
        self.gaps: list[str] = []
        self.byte_cap = 1 << 20
        self.timers: set[str] = set()  # TIMER_SYSCALLS a process of the run called
        self._targets: dict[bytes, str | None] = {}  # a written file's path as strace prints it -> its target
        self.pipe_maker: dict[bytes, int] = {}  # a pipe's path as strace prints it -> the tid that made it
        self.pipe_writes: dict[tuple[int, bytes], list[float]] = {}  # (writer tid, pipe) -> [first, last]

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if not data:
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            self._line(raw)
        if self._partial.endswith(b"+++") and b" +++ " in self._partial:
            # strace ends a line only when it prints the next one: an exit line is whole already
            self._line(self._partial)
            self._partial = b""
        if len(self._partial) > MAX_LINE:
            self._bad(self._partial[:200])
            self._partial = b""

    def close(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def _line(self, raw: bytes) -> None:
        # Called for every line strace prints (thousands a run): the call is found with `find` and
        # offsets into `raw`, not by copying the line's rest once per step.
        if not raw:
            return
        self.lines += 1
        m = _HEAD.match(raw)
        if m is None:
            self._bad(raw)
            return
        tid, t, at = int(m.group(1)), float(m.group(2)), m.end()
        if tid not in self.tgid:
            if len(self.tgid) >= MAX_TASKS:
                self.caps.add(f"more than {MAX_TASKS} processes and threads")
                return
            self._new_task(tid, t)
        paren = raw.find(b"(", at)
        name = raw[at:paren] if paren > at else b""
        if name in _CALLS or (name and _NAME.fullmatch(name) is not None):
            body = raw[paren + 1:]
            if body.endswith(_UNFINISHED):
                self._pending[tid] = _Pending(name, body[: -len(_UNFINISHED)], t)
            else:
                self._call(tid, t, t, name, body)
        elif raw.startswith(b"+++", at):
            self._exit(tid, t, raw[at:])
        elif raw.startswith(b"<...", at):
            r = _RESUMED.match(raw, at)
            pending = self._pending.pop(tid, None)
            if r is None or pending is None or pending.name != r.group(1):
                self._bad(raw)
                return
            self._call(tid, pending.t, t, pending.name, pending.args + r.group(2))
        elif not raw.startswith(b"--- ", at):  # signals: a fatal one shows as "+++ killed by" next
            self._bad(raw)

    def _bad(self, raw: bytes) -> None:
        self.bad_lines += 1
        if len(self.bad_samples) < 3:
            self.bad_samples.append(raw[:160])

    def _new_task(self, tid: int, t: float) -> None:
        """A task seen for the first time: look at it in /proc while it (probably) still lives."""
        tgid = tid
        if self.read_proc:
            tgid_read, nspid, depth = _proc_status(tid, t - self._wall_minus_monotonic)
            if tgid_read is not None:
                tgid = tgid_read
            if depth == 1:
                self.outside.add(tid)  # in the grader's own PID namespace (bwrap before its clone)
            if nspid is not None:
                self.inner_tid[tid] = nspid
        self.tgid[tid] = tgid
        if tgid == tid and tid not in self.tasks:
            self.tasks[tid] = KProcess(tid, first=t)

    def _proc(self, tid: int) -> KProcess:
        tgid = self.tgid.get(tid, tid)
        p = self.tasks.get(tgid)
        if p is None:
            p = self.tasks[tgid] = KProcess(tgid)
        return p

    def _exit(self, tid: int, t: float, rest: bytes) -> None:
        if self.tgid.get(tid, tid) != tid:
            return  # a thread ended; its process goes on
        p = self._proc(tid)
        p.end = t
        if (m := _EXITED.match(rest)) is not None:
            p.exit_code = int(m.group(1))
        elif (m := _KILLED.match(rest)) is not None:
            p.signal = m.group(1).decode()
        if tid == self.main:
            self.main_end, self.main_status = t, (p.exit_code, p.signal)

    def _call(self, tid: int, t: float, t_done: float, name: bytes, args: bytes) -> None:
        kind = _CALLS.get(name, _OTHER)
        if kind == _OTHER:  # exit_group (its end shows as "+++ exited"), a call strace could not name
            return
        ret = _returned(args)
        if kind == _WRITE:
            if ret is not None and ret > 0:
                self._write(tid, self.tgid.get(tid, tid), t, name, args, ret)
        elif kind == _GETPID:
            if ret is not None:
                self.getpid.setdefault(tid, ret)
        elif kind == _GETTID:
            if ret is not None and ret > 0:
                self.inner_tid.setdefault(tid, ret)
        elif kind == _WAIT:
            self._wait(self.tgid.get(tid, tid), t, t_done, name, args, ret)
        elif kind == _CLONE:
            if ret is not None and ret > 0:
                thread = b"CLONE_THREAD" in args
                self.clones.append((self.tgid.get(tid, tid), tid, t_done, ret, thread))
        elif kind == _PIPE:
            if ret == 0 and (m := _PIPE_END.match(args)) is not None:
                if len(self.pipe_maker) < MAX_PIPES:
                    self.pipe_maker[m.group(1)] = tid
                else:
                    self.byte_caps.add(f"more than {MAX_PIPES} pipes")
        elif kind == _TIMER:
            self.timers.add(name.decode())
        elif kind == _EXEC and ret == 0:
            p = self._proc(tid)
            strings = _strings(args, 64)  # the path, then argv (bwrap's is long)
            if strings is None:  # (never from strace) what can be read of it
                strings = [(_hex(s), False) for s, _cut in _HEXSTR.findall(args)[:64]]
            argv = tuple(s.decode("utf-8", "replace")[:200] for s, _cut in strings[1:64])
            p.argv, p.execs = argv, p.execs + 1
            if self.main is None and argv == self.main_argv:  # exactly: a wrapper's argv ends the same way
                self.main = self.tgid.get(tid, tid)

    def _write(self, tid: int, tgid: int, t: float, name: bytes, args: bytes, ret: int) -> None:
        fd = _fd_path(args)
        if fd is None:
            return
        raw, end = fd
        target = self._targets.get(raw, "")
        if target == "":  # a file not seen before: what it is to the grader (then kept, up to a bound)
            if _HEXRUN.fullmatch(raw) is None:
                return
            target = self._target(_hex(raw))
            if len(self._targets) < MAX_TASKS:
                self._targets[raw] = target
        if target is None:  # the event file, /dev/null, other pipes: not output the grader reads
            if raw in self.pipe_maker:  # a pipe of the run: who wrote to it and when
                seen = self.pipe_writes.get((tid, raw))
                if seen is not None:
                    seen[1] = t
                elif len(self.pipe_writes) < MAX_PIPE_WRITERS:
                    self.pipe_writes[(tid, raw)] = [t, t]
                else:
                    self.byte_caps.add(f"more than {MAX_PIPE_WRITERS} writers of pipes")
            return
        kept = self.kept_bytes.get(target, 0)
        cap = self.events_cap if target == "events" else self.byte_cap
        room = cap - kept
        if room <= 0:  # not decoded, not kept: a flood costs the grader little
            self.byte_caps.add(f"more than {cap} bytes written to {target}")
            return
        if len(self.writes) >= MAX_WRITES:  # later output is not kept (like bytes past the cap)
            self.byte_caps.add(f"more than {MAX_WRITES} writes")
            return
        strings = _strings(args[end:], 1 if name == b"write" else 1 << 30)
        if strings is None:
            self._bad(args[:200])
            return
        if len(strings) == 1:  # write(), and most writev()s
            data, cut = strings[0]
        else:
            data, cut = b"".join(d for d, _cut in strings), any(c for _d, c in strings)
        cut = cut or len(data) < ret
        data = data[:ret]
        if len(data) > room:
            data, cut = data[:room], True
            self.byte_caps.add(f"more than {cap} bytes written to {target}")
        self.kept_bytes[target] = kept + len(data)
        self.writes.append(KWrite(tgid, tid, t, target, data, ret, cut))

    def _target(self, path: bytes) -> str | None:
        target = self.pipes.get(path)
        if target is not None:
            return target
        text = path.decode("utf-8", "replace")
        return "file:" + text[len(self.workdir):] if text.startswith(self.workdir) else None

    def _wait(self, tgid: int, t: float, t_done: float, name: bytes, args: bytes, ret: int | None) -> None:
        if len(self.waits) >= MAX_WAITS:
            self.caps.add(f"more than {MAX_WAITS} wait calls")
            return
        parts = args.split(b",", 2)
        try:
            if name == b"wait4":
                target = int(parts[0])
                got = ret if ret is not None and ret > 0 else 0
            else:  # waitid(P_PID, 12, {si_pid=12, ...}, WEXITED, NULL) = 0
                idtype = parts[0].strip()
                target = int(parts[1]) if idtype == b"P_PID" else (-1 if idtype == b"P_ALL" else 0)
                si = _SIPID.search(args)
                got = int(si.group(1)) if ret == 0 and si is not None and b"WNOWAIT" not in args else 0
        except (ValueError, IndexError):
            self._bad(args)
            return
        self.waits.append((tgid, t, t_done, target, b"WNOHANG" in args, got))

    # -- resolving -----------------------------------------------------------------------------

    def facts(self, observer_ok: bool = True, observer_problem: str = "") -> KernelFacts:
        self.close()
        gaps: list[str] = []
        if not observer_ok:
            gaps.append(observer_problem or "the observer (strace) did not end normally")
        if self.bad_lines:
            gaps.append(f"{self.bad_lines} line(s) of the observer's output could not be read, e.g. "
                        + repr(self.bad_samples[0] if self.bad_samples else b""))
        if self.main is None:
            gaps.append("the observer never saw the program start")
        gaps.extend(f"cap reached: {c}" for c in sorted(self.caps))
        caps = sorted(self.caps | self.byte_caps)

        # inner pid of each process: /proc's NSpid, else its own getpid()
        inner: dict[int, int] = {}
        for tgid in self.tasks:
            if tgid in self.inner_tid:
                inner[tgid] = self.inner_tid[tgid]
            elif tgid in self.getpid:
                inner[tgid] = self.getpid[tgid]
        if self.pidns is None:
            same_ns = self.main is not None and inner.get(self.main, self.main) == self.main
        else:
            same_ns = not self.pidns
        if same_ns:
            inner = {tgid: tgid for tgid in self.tasks}
        by_inner = {v: k for k, v in inner.items()}
        # threads: a task whose getpid() names another live process is one of its threads
        for tid, g in self.getpid.items():
            if tid in self.tasks and not same_ns:
                owner = by_inner.get(g)
                if owner is not None and owner != tid:
                    self.tgid[tid] = owner
                    del self.tasks[tid]
        inner_tid = {tid: (tid if same_ns else self.inner_tid.get(tid)) for tid in self.tgid}
        by_inner_tid = {v: k for k, v in inner_tid.items() if v is not None}
        for tgid in self.tasks:
            by_inner_tid.setdefault(inner.get(tgid, -1), tgid)

        clones: list[KClone] = []
        returned: dict[int, int] = {}  # index in `clones` of a fork in the run whose child is unknown -> its result
        for tgid, tid, t, res, thread in self.clones:
            # a clone by a task outside the namespace (bwrap making its init) returns a host pid,
            # which may equal the namespace pid of one of the program's processes
            child = (res if res in self.tgid else None) if tid in self.outside else by_inner_tid.get(res)
            clones.append(KClone(tgid, t, child if not thread else None, thread))
            if child is None:
                if tid not in self.outside:
                    returned[len(clones) - 1] = res
                continue
            if thread:
                self.tgid[child] = tgid
                if child != tgid:
                    self.tasks.pop(child, None)
                parent = self.tasks.get(tgid)
                if parent is not None and len(parent.threads) < MAX_TASKS:
                    parent.threads.append(child)
            elif child in self.tasks and self.tasks[child].parent is None:
                kp = self.tasks[child]
                kp.parent, kp.created = tgid, t
        for tgid, p in self.tasks.items():
            p.inner = inner.get(tgid)

        # the run: every traced process but the main process's ancestors (strace's and the isolation
        # tool's own processes, which ran before the program); a process whose creating clone was
        # never reported (its parent was killed mid-call) still counts, with no parent
        run: dict[int, KProcess] = {}
        if self.main is not None and self.main in self.tasks:
            ancestors: set[int] = set()
            up = self.tasks[self.main].parent
            while up is not None and up not in ancestors:
                ancestors.add(up)
                up = self.tasks[up].parent if up in self.tasks else None
            main_first = self.tasks[self.main].first or 0.0
            run = {pid: p for pid, p in self.tasks.items()
                   if pid not in ancestors and (p.parent is not None or pid == self.main
                                                or (p.first or 0.0) >= main_first)}
        if self.main is not None and self.main in self.tasks and self.tasks[self.main].end is None:
            gaps.append("the observer did not see the main process end")
        # A fork in the run returned a pid that no process matched, and a process of the run has no
        # known pid or parent: it ended before /proc was read and before its own getpid() (a pool
        # worker terminated before the kernel ever ran it, on a loaded machine). One of each is
        # matched below. Any other fork whose child is not in the record (more of them, so which is
        # which is unknown; or a child strace never followed, as clone(CLONE_UNTRACED) makes) would
        # make the checks count processes wrongly: a gap (the run is made again), never a silent
        # difference between two gradings.
        unmatched = [i for i, c in enumerate(clones) if c.pid in run and not c.thread and c.child is None]
        if not same_ns:
            unknown = [pid for pid, p in run.items() if pid != self.main and p.parent is None and p.inner is None]
            if len(unmatched) == 1 and len(unknown) == 1 and unmatched[0] in returned:
                # One of each: they are the same process. strace follows every child from its birth, so
                # the child of a fork that returned shows in the record (its end at least); had it run
                # getpid() or been read in /proc, the fork would be matched; so the one process with
                # neither is that child. (A pool worker terminated before the kernel ever ran it.)
                i, pid = unmatched[0], unknown[0]
                c, kp = clones[i], run[pid]
                kp.parent, kp.created, kp.inner = c.pid, c.t, returned[i]
                by_inner[returned[i]] = pid  # so that a wait4 that reaped it names it
                clones[i] = KClone(c.pid, c.t, pid, c.thread)
        # Every fork of the run made a process of the run whose parent is the forking process: the
        # checks count children by it. A fork that the record cannot pair so (its child unnamed, taken
        # for a thread, or claimed by two forks) means the record mistook one task for another.
        lost = sum(1 for c in clones if c.pid in run and not c.thread
                   and (c.child is None or c.child not in run or run[c.child].parent != c.pid))
        if lost:
            gaps.append(f"{lost} fork(s) could not be paired with the process each made (a child that ended "
                        "before it could be identified, or one never traced)")
        waits = [KWait(tgid, t, td, target, nohang, by_inner.get(got) if got else None)
                 for tgid, t, td, target, nohang, got in self.waits if tgid in run]
        writes = [w if w.pid == self.tgid.get(w.tid, w.pid) else
                  KWrite(self.tgid[w.tid], w.tid, w.t, w.target, w.data, w.count, w.cut)
                  for w in self.writes]
        writes = [w for w in writes if w.pid in run]
        return KernelFacts(VERSION, self.main, run, writes, waits,
                           [c for c in clones if c.pid in run], not gaps, gaps, caps, self._pipe_writes(run))

    def _pipe_writes(self, run: dict[int, KProcess]) -> list[KPipeWrites]:
        """Writes to the run's pipes by process (not thread) of writer and maker."""
        spans: dict[tuple[int, int], tuple[float, float]] = {}
        for (tid, raw), (first, last) in self.pipe_writes.items():
            writer, maker = self.tgid.get(tid, tid), self.pipe_maker[raw]
            key = (writer, self.tgid.get(maker, maker))
            if key[0] in run and key[1] in run:
                old = spans.get(key)
                spans[key] = (first, last) if old is None else (min(old[0], first), max(old[1], last))
        return [KPipeWrites(w, m, first, last) for (w, m), (first, last) in spans.items()]


# How much later than the strace line that names it /proc may say a task started: /proc counts in
# clock ticks (10 ms) and the two clocks are read apart. A pid is reused only after the allocator
# has gone round every other pid, far longer than this.
_START_SLACK = 0.1


def _proc_status(tid: int, seen: float) -> tuple[int | None, int | None, int]:
    """(outer tgid, innermost pid, PID namespace depth below ours: 1 is ours) of the task that
    strace showed at monotonic time `seen`, from /proc/<tid>/status; nothing if /proc now shows
    another task at that pid.

    strace's lines are read later than they happen: on a loaded machine the task may have ended and
    its pid been given to another process (of this machine, or of another run's namespace) by then.
    Its tgid and namespace pid would be that process's, and the task would be taken for a thread
    of another, or given another inner pid: a child process silently lost from the run. So what
    /proc says counts only if the task there started no later than the line that named it (read
    after the status, so a reuse between the two reads is caught too)."""
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            text = f.read(4096)
    except OSError:
        return None, None, 0
    st = read_stat(tid)
    if st is None or st.start > seen + _START_SLACK:
        return None, None, 0
    tgid = nspid = None
    depth = 0
    for line in text.split(b"\n"):
        if line.startswith(b"Tgid:"):
            tgid = int(line.split()[1])
        elif line.startswith(b"NSpid:"):
            fields = line.split()[1:]
            nspid, depth = int(fields[-1]), len(fields)
    return tgid, nspid, depth


# -- the observer process -----------------------------------------------------------------------


def strace_path() -> str | None:
    return shutil.which("strace", path="/usr/bin:/bin:/usr/local/bin")


class Observer:
    """strace in front of a run, writing into a FIFO that only the grader can open.

    The FIFO lives in a fresh 0700 directory of the grader's; strace opens it before it starts the
    program, and the grader removes it as soon as strace's first line arrives (before the
    program's first line of Python runs), so nothing the program starts can open it by name.
    """

    def __init__(self, strace: str, fifo_dir: Path, pidns: bool = False) -> None:
        self.strace = strace
        self.pidns = pidns
        self.dir = fifo_dir
        self.fifo = fifo_dir / "kernel"
        os.mkfifo(self.fifo, 0o600)
        # read-write: strace's open never waits, and the grader never sees a spurious end of file
        # (strace's end is its exit, which the runner sees)
        self.fd = os.open(self.fifo, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # fewer wake-ups; 1 MiB is the unprivileged maximum
            fcntl.fcntl(self.fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        self.record: KernelRecord | None = None
        self.closed = False
        self.bytes = 0

    @classmethod
    def open(cls, *, pidns: bool = False) -> Observer:
        """pidns: the program will run in a PID namespace of its own (inner and outer pids differ)."""
        strace = strace_path()
        if strace is None:
            from grader.errors import SandboxError

            raise SandboxError("strace is not installed: it observes every run (apt install strace)")
        return cls(strace, Path(tempfile.mkdtemp(prefix="grader-observer-", dir=_fifo_parent())), pidns)

    def prefix(self) -> list[str]:
        calls = SYSCALLS + (PIDNS_SYSCALLS if self.pidns else ())
        return [self.strace, "-f", "--seccomp-bpf", "-q", "-ttt", "-y", "-xx", "-s", str(STRING_CAP),
                "-e", "trace=" + ",".join(calls), "-o", str(self.fifo), "--"]

    def start(self, *, pipes: dict[int, str], workdir: str, main_argv: Sequence[str], byte_cap: int,
              events_path: str, events_cap: int) -> None:
        self.record = KernelRecord(pipes=pipes, workdir=workdir, main_argv=main_argv, events_path=events_path,
                                   events_cap=events_cap, pidns=self.pidns)
        self.record.byte_cap = byte_cap

    @property
    def main_ended(self) -> bool:
        return self.record is not None and self.record.main_end is not None

    def drain(self, budget: int = 8 << 20) -> None:
        """Read what strace wrote (non-blocking), at most `budget` bytes per call so that a run
        that makes strace write without pause cannot keep the grader from its deadlines; strace
        waits while the FIFO is full, so a flood slows the program down instead of filling the
        grader's memory."""
        end = self.bytes + budget
        while not self.closed and self.bytes < end:
            data = read_some(self.fd)
            if data is None:
                return
            if not data:
                self.closed = True
                return
            if not self.bytes:
                self._unlink()
            self.bytes += len(data)
            if self.record is not None:
                self.record.feed(data)

    def _unlink(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.fifo)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)

    def close(self) -> None:
        self._unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.closed = True


@lru_cache(maxsize=1)
def _fifo_parent() -> str | None:
    """Where the FIFO's private directory is made: /dev/shm (a tmpfs on Linux: making and removing
    it costs no disk journal, which under load took milliseconds per run on an ext4 /tmp) when it
    is, like /tmp, a root-owned sticky folder; else the temporary folder."""
    try:
        st = os.stat("/dev/shm")
    except OSError:
        return None
    sticky = stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and st.st_mode & stat.S_ISVTX
    return "/dev/shm" if sticky and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def pipe_inode(fd: int) -> int:
    st = os.fstat(fd)
    if not stat.S_ISFIFO(st.st_mode):
        raise ValueError("not a pipe")
    return st.st_ino


def as_user(uid: int | None) -> list[str]:
    """The argv prefix that drops the program to `uid` after strace: strace itself keeps the
    grader's uid, so the program can neither signal it nor open its descriptors in /proc."""
    if uid is None:
        return []
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if setpriv is None:
        from grader.errors import SandboxError

        raise SandboxError("setpriv (util-linux) is needed to run the program as a uid of its own")
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def wall_to_monotonic() -> float:
    """What to subtract from strace's -ttt (wall clock) times to get time.monotonic() seconds."""
    import time

    return time.time() - time.monotonic()

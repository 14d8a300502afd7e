"""Turning what the kernel reported (facts) and what the recorder claimed into a Trace.

Pure: no I/O. Every process and output line is a kernel fact; claims are attached to them as
detail, and a claim about something the kernel did not see is dropped (and noted as an Issue).
Bounded: at most MAX_EVENTS claims are read and MAX_LINES / MAX_RECORDS records kept.
"""

from __future__ import annotations

import errno
import json
import os
import signal
from dataclasses import dataclass, field, replace
from typing import Any

from grader.sandbox.decide import Stop
from grader.sandbox.events import Event
from grader.sandbox.kernel import KernelFacts, KProcess, KWait
from grader.sandbox.limits import Limits
from grader.trace import (
    Capture,
    ExceptionInfo,
    File,
    InputCall,
    Issue,
    Line,
    Pool,
    Process,
    Task,
    Thread,
    Trace,
)

_INTERNAL_ROLES = {"forkserver": "forkserver", "resource_tracker": "resource_tracker"}


@dataclass
class Facts:
    """What the runner collected about one run. Times are time.monotonic() seconds."""

    t0: float
    main_pid: int  # the process the grader started (the observer)
    main_status: int | None
    main_end: float
    cpu_time: float
    timed_out: bool
    watchdog: str | None
    kernel: KernelFacts
    clock: float  # wall clock - monotonic clock, to read the observer's times
    t_end: float  # when the run ended (the grader began killing what was left)
    stdout: Capture
    stderr: Capture
    files: list[File]
    files_not_listed: int
    cgroup_hit_max: bool
    limits: Limits
    seed: int
    start_method_requested: str | None
    sandbox: dict[str, str]
    grader_pid: int = field(default_factory=os.getpid)
    stopped: Stop | None = None  # the caller's stop rule ended the run early (grader.sandbox.decide)
    wall_extended: bool = False  # it went past its wall-time limit while making progress (grader.sandbox.progress)
    wall_note: str | None = None  # how that limit was applied, in words
    cgroup_oom_kills: int = 0  # processes the OOM killer ended at the run's memory cgroup limit


def _r(t: float | None) -> float | None:
    return None if t is None else round(t, 6)


def _decode(status: int | None) -> tuple[int | None, str | None]:
    """A wait status as (exit code, signal name)."""
    if status is None:
        return None, None
    if os.WIFSIGNALED(status):
        return None, _signame(os.WTERMSIG(status))
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    return None, None


def _signame(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


_SIGNAL_LIMITS = {"SIGXCPU": "cpu", "SIGXFSZ": "file_size"}


@dataclass
class _Claims:
    start: Event | None = None
    proc: Event | None = None
    end: Event | None = None
    first_t: float | None = None
    rand: bool = False
    roles: set[str] = field(default_factory=set)
    threads: int = 0


@dataclass
class _Collected:
    """The event log, indexed."""

    claims: dict[int, _Claims] = field(default_factory=dict)  # by the pid that wrote them
    pstart: dict[int, Event] = field(default_factory=dict)  # parents' records, by child pid
    subs: dict[int, Event] = field(default_factory=dict)  # subprocess records, by child pid
    worker_pool: dict[int, str] = field(default_factory=dict)
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    threads: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    exceptions: list[ExceptionInfo] = field(default_factory=list)
    inputs: list[InputCall] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    limits_hit: set[str] = field(default_factory=set)


def _collect(evs: list[Event], t0: float) -> _Collected:
    col = _Collected()
    for ev in evs:
        pid, kind, t = ev["pid"], ev["ev"], float(ev.get("t", 0.0))
        c = col.claims.setdefault(pid, _Claims())
        c.first_t = t if c.first_t is None else min(c.first_t, t)
        if kind == "start":
            if c.start is None:
                c.start = ev
            c.roles.add(str(ev.get("role")))
        elif kind == "proc":
            c.proc = ev
        elif kind == "end":
            c.end = ev
        elif kind == "rand":
            c.rand = True
        elif kind == "pstart" and isinstance(ev.get("child"), int):
            col.pstart[ev["child"]] = ev
        elif kind == "sub" and isinstance(ev.get("child"), int):
            col.subs[ev["child"]] = ev
        elif kind == "pool":
            col.pools[str(ev.get("pool"))] = {"ev": ev, "workers": []}
        elif kind == "workers":
            pool_id = str(ev.get("pool"))
            for w in ev.get("pids") or ():
                if isinstance(w, int):
                    col.worker_pool[w] = pool_id
                    if pool_id in col.pools:
                        col.pools[pool_id]["workers"].append(w)
        elif kind == "task":
            col.tasks[(pid, int(ev.get("n", 0)))] = {"ev": ev, "end": None}
        elif kind == "task_end":
            key = (pid, int(ev.get("n", 0)))
            if key in col.tasks:
                col.tasks[key]["end"] = ev
        elif kind == "thread":
            col.threads[(pid, int(ev.get("th", 0)))] = {"ev": ev, "end": None}
            c.threads += 1
        elif kind == "thread_end":
            key = (pid, int(ev.get("th", 0)))
            if key in col.threads:
                col.threads[key]["end"] = t
        elif kind == "exc":
            col.exceptions.append(ExceptionInfo(
                pid=pid, where=str(ev.get("where", "")), type=str(ev.get("type", "")),
                message=str(ev.get("msg", "")), traceback=str(ev.get("tb", "")),
                thread=ev.get("th") if isinstance(ev.get("th"), int) else None, t=_r(t - t0)))
        elif kind == "input":
            col.inputs.append(InputCall(pid=pid, prompt=str(ev.get("prompt", "")), result=str(ev.get("result", "")),
                                        api=str(ev.get("api", "readline")), t=_r(t - t0)))
        elif kind == "note":
            col.issues.append(Issue("recorder", str(ev.get("what", "")), pid))
        elif kind == "full":
            col.limits_hit.add("events")
            col.issues.append(Issue("events_truncated", "the event file reached its size budget: later events of "
                                    "this process were not recorded", pid))
        elif kind == "capped":
            col.limits_hit.add("output")
    return col


KERNEL_TIME = "_kt"  # set on every kept event, over anything the program put there
MAX_EVENTS = 200_000  # claim events read per run
MAX_LINES = 20_000  # output lines kept per run
MAX_RECORDS = 5_000  # exceptions, inputs, threads, tasks kept per run
_MP_KINDS = ("process", "pool_worker", "executor_worker")


class _Ids:
    """Host (outer) pid <-> the pid the program sees. Unknown own pids become -outer."""

    def __init__(self, k: KernelFacts) -> None:
        self.k = k
        self.of = {outer: (p.inner if p.inner is not None else -outer) for outer, p in k.processes.items()}

    def __call__(self, outer: int | None) -> int | None:
        return None if outer is None else self.of.get(outer)


def _claim_events(f: Facts, ids: _Ids, issues: list[Issue]) -> list[Event]:
    """The recorder's events, read from the writes the kernel saw: an event is kept only when
    the process that wrote it is the process it names."""
    out: list[Event] = []
    forged = bad = 0
    for w in f.kernel.writes:
        if w.target != "events":
            continue
        writer = ids(w.pid)
        for raw in w.data.split(b"\n"):
            if not raw:
                continue
            if len(out) >= MAX_EVENTS:
                issues.append(Issue("capped", f"more than {MAX_EVENTS} recorder events: the rest were not read"))
                return out
            try:
                ev = json.loads(raw)
            except ValueError:
                bad += 1
                continue
            if not (isinstance(ev, dict) and isinstance(ev.get("ev"), str) and isinstance(ev.get("pid"), int)
                    and isinstance(ev.get("t", 0.0), (int, float))):
                bad += 1
            elif ev["pid"] != writer:
                forged += 1
            else:
                ev[KERNEL_TIME] = w.t  # when the kernel saw it written (what the event says is a claim)
                out.append(ev)
    if forged:
        issues.append(Issue("forged_event", f"{forged} recorder event(s) name a process other than the one the "
                            "kernel saw write them: ignored"))
    if bad:
        issues.append(Issue("bad_event", f"{bad} malformed line(s) in the event file"))
    return out


def _kind(pid: int, kp: KProcess, f: Facts, col: _Collected, ids: _Ids) -> str:
    """What kind of process: claimed, and kept only where the kernel agrees on how it came to be."""
    c = col.claims.get(pid, _Claims())
    if kp.pid == f.kernel.main:
        return "main"
    role = (c.start or {}).get("role")
    claimed_kind = (c.proc or {}).get("kind") or (col.pstart.get(pid) or {}).get("kind")
    argv = " ".join(kp.argv)
    if role in _INTERNAL_ROLES and f"multiprocessing.{role}" in argv:
        return _INTERNAL_ROLES[str(role)]
    parent = f.kernel.processes.get(kp.parent) if kp.parent is not None else None
    parent_ok = parent is not None and (parent.pid == f.kernel.main
                                        or "multiprocessing.forkserver" in " ".join(parent.argv))
    if claimed_kind in _MP_KINDS and parent_ok:
        return str(claimed_kind)
    if claimed_kind and claimed_kind not in _MP_KINDS:
        return str(claimed_kind)
    if kp.execs > (1 if "multiprocessing" in argv else 0):
        return "subprocess"
    if role == "spawn" and parent_ok:
        return "spawn"
    return "fork" if kp.execs == 0 else "subprocess"


def _awaits(f: Facts) -> dict[int, tuple[float | None, float | None, float | None]]:
    """child outer pid -> (joined, awaited, reaped), from its parent's calls in program order.

    awaited: the parent waited for the child to end before doing anything else: a blocking wait
    that reaped it, or a poll of it (WNOHANG, e.g. is_alive()) that found it running, followed by
    the poll that reaped it with no process created in between. A single poll per start
    (multiprocessing reaps finished children in Process.start()) is not waiting.
    """
    out: dict[int, list[float | None]] = {}
    by_parent: dict[int, list[tuple[float, int, Any]]] = {}
    for c in f.kernel.clones:
        if not c.thread:
            by_parent.setdefault(c.pid, []).append((c.t, 0, c))
    for w in f.kernel.waits:
        by_parent.setdefault(w.pid, []).append((w.t, 1, w))
    inner_to_outer = {p.inner: o for o, p in f.kernel.processes.items() if p.inner is not None}
    for items in by_parent.values():
        items.sort(key=lambda x: (x[0], x[1]))
        polled: dict[int, float] = {}  # child -> first failed poll since the last clone
        for _t, what, item in items:
            if what == 0:
                polled.clear()
                continue
            wt: KWait = item
            target = inner_to_outer.get(wt.target) if wt.target > 0 else None
            if wt.reaped is not None:
                rec = out.setdefault(wt.reaped, [None, None, None])
                rec[2] = wt.t_done
                if rec[0] is None:
                    rec[0] = wt.t
                if rec[1] is None and not wt.nohang:
                    rec[1] = wt.t
                elif rec[1] is None and wt.reaped in polled:
                    rec[1] = polled[wt.reaped]
            elif target is not None:
                rec = out.setdefault(target, [None, None, None])
                if not wt.nohang:
                    if rec[0] is None:
                        rec[0] = wt.t
                else:
                    polled.setdefault(target, wt.t)
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _limit(pid: int, sig: str | None, exceptions: list[ExceptionInfo]) -> str | None:
    """The resource limit a process ran into, from how it ended and what it raised."""
    if sig in _SIGNAL_LIMITS:
        return _SIGNAL_LIMITS[sig]
    own = [e for e in exceptions if e.pid == pid]
    if any(e.type == "MemoryError" for e in own):
        return "memory"
    if any(e.message.startswith(f"[Errno {errno.EFBIG}]") for e in own):
        return "file_size"  # Python ignores SIGXFSZ: the write fails with EFBIG instead
    if any(e.type == "BlockingIOError" and e.message.startswith(f"[Errno {errno.EAGAIN}]") for e in own):
        return "processes"  # fork() failed: RLIMIT_NPROC or the cgroup's pids.max
    return None


_Waits = dict[int, tuple[float | None, float | None, float | None]]


def _process(kp: KProcess, f: Facts, col: _Collected, ids: _Ids, waits: _Waits, issues: list[Issue]) -> Process:
    """One process the kernel saw, with what it claimed about itself attached."""
    pid = ids(kp.pid)
    assert pid is not None
    c = col.claims.get(pid, _Claims())
    parent_claim = col.pstart.get(pid)
    proc_ev = c.proc or {}
    is_main = kp.pid == f.kernel.main
    kind = _kind(pid, kp, f, col, ids)
    info = proc_ev or parent_claim or {}
    self_claimed = c.start is not None or c.proc is not None
    ppid = ids(kp.parent)
    started_by: int | None = None
    if parent_claim is not None:
        started_by = parent_claim["pid"]
    elif pid in col.subs:
        started_by = col.subs[pid]["pid"]
    if started_by is None or (kind != "main" and started_by != ppid and kind in ("fork", "subprocess")):
        started_by = ppid
    claimed_ppid = (c.start or {}).get("ppid")
    if not is_main and isinstance(claimed_ppid, int) and ppid is not None and claimed_ppid != ppid:
        issues.append(Issue("parent_mismatch", f"claimed parent {claimed_ppid}, observed parent {ppid}", pid))

    def rel(t: float | None) -> float | None:
        return None if t is None else t - f.clock - f.t0

    # The clone's return in the parent is printed only when the parent runs again: on a loaded machine the
    # child may already have run, and forked, by then. It existed from its own first traced call at the latest.
    known = [t for t in (kp.created, kp.first) if t is not None]
    start = rel(min(known)) if known else None
    end = rel(kp.end)
    if is_main:
        start = 0.0
    code, sig = kp.exit_code, kp.signal
    claimed_code = (c.end or {}).get("code")
    if isinstance(claimed_code, int) and not isinstance(claimed_code, bool) and code is not None \
            and code != claimed_code:
        issues.append(Issue("exit_code_mismatch", f"claimed exit code {claimed_code}, observed {code}", pid))
    survived = kp.end is None or kp.end - f.clock > f.t_end
    if survived and code is None and sig is None:
        sig = "SIGKILL"
    if not is_main and not self_claimed and parent_claim is None and pid not in col.subs:
        what = " ".join(kp.argv) or "a copy of its parent"
        issues.append(Issue("observed_not_claimed", f"seen by the kernel ({what}) but no recorded event mentions it",
                            pid))
    draws = (c.end or {}).get("draws")
    cpu = (c.end or {}).get("cpu")
    joined, awaited, reaped = waits.get(kp.pid, (None, None, None))
    return Process(
        pid=pid, ppid=ppid, started_by=started_by, kind=kind,
        name=_str_or_none(info.get("name")), target=_str_or_none(info.get("target")),
        args=_str_or_none(info.get("args")),
        start_method=_str_or_none(proc_ev.get("method") or (parent_claim or {}).get("method")),
        pool=col.worker_pool.get(pid), start=_r(start), end=_r(end), times="observed",
        exit_code=code, signal=sig, cpu_time=float(cpu) if isinstance(cpu, (int, float)) else None,
        internal=kind in _INTERNAL_ROLES.values(), claimed=self_claimed, observed=True,
        survived=survived, random_draws=int(draws) if isinstance(draws, int) else (1 if c.rand else 0),
        command=kp.argv if kp.execs and not is_main else (), limit=_limit(pid, sig, col.exceptions),
        joined=_r(rel(joined)), created=_r(rel(kp.created)), awaited=_r(rel(awaited)), reaped=_r(rel(reaped)),
    )


def _lines(f: Facts, ids: _Ids, evs: list[Event], issues: list[Issue]) -> list[Line]:
    """Output lines from the bytes the kernel saw each process (and thread) write; log records
    claimed by the recorder become "log" lines only where the kernel saw the same text written."""
    k = f.kernel
    thread_no: dict[int, int] = {}
    for kp in k.processes.values():
        thread_no[kp.pid] = 0
        for i, tid in enumerate(kp.threads, 1):
            thread_no[tid] = i
    parts: dict[tuple[int, int, str], tuple[bytearray, float]] = {}
    lines: list[Line] = []
    file_bytes: dict[tuple[int, str], bytearray] = {}
    cut = False
    for w in k.writes:
        if w.target.startswith("file:"):
            buf = file_bytes.setdefault((w.pid, w.target[5:]), bytearray())
            if len(buf) < f.limits.output:
                buf += w.data[: f.limits.output - len(buf)]
            continue
        if w.target not in ("stdout", "stderr"):
            continue
        cut = cut or w.cut
        key = (w.pid, w.tid, w.target)
        data = w.data
        start = 0
        while True:
            nl = data.find(b"\n", start)
            piece = data[start:] if nl == -1 else data[start:nl]
            if key in parts:
                buf, t_first = parts[key]
                buf += piece
            elif piece or nl != -1:
                buf, t_first = bytearray(piece), w.t
                parts[key] = (buf, t_first)
            if nl == -1:
                break
            del parts[key]
            if len(lines) < MAX_LINES:
                lines.append(Line(pid=ids(w.pid), stream=w.target, text=buf.decode("utf-8", "replace"),
                                  t=_r(t_first - f.clock - f.t0), thread=thread_no.get(w.tid), verified=True))
            start = nl + 1
    for (pid, tid, stream), (buf, t_first) in parts.items():
        if len(lines) < MAX_LINES:
            lines.append(Line(pid=ids(pid), stream=stream, text=buf.decode("utf-8", "replace"),
                              t=_r(t_first - f.clock - f.t0), thread=thread_no.get(tid), verified=True, complete=False))
    if len(lines) >= MAX_LINES:
        issues.append(Issue("capped", f"more than {MAX_LINES} output lines: the rest are in the raw streams only"))
    if cut:
        issues.append(Issue("capped", "some writes were longer than the observer shows: their lines are cut"))

    # log records: the recorder's claim, confirmed by the kernel's record of the same text
    index: dict[tuple[int | None, str, str], list[int]] = {}
    for i, ln in enumerate(lines):
        index.setdefault((ln.pid, ln.stream, ln.text), []).append(i)
    unconfirmed = 0
    files = {key: bytes(v).decode("utf-8", "replace") for key, v in file_bytes.items()}
    outer_of = {inner: outer for outer, inner in ids.of.items()}
    for ev in evs:
        if ev["ev"] != "log" or not isinstance(ev.get("x"), str):
            continue
        body = ev["x"][:-1] if ev["x"].endswith("\n") else ev["x"]
        dest = ev.get("dest")
        level, logger = _str_or_none(ev.get("level")), _str_or_none(ev.get("logger"))
        dest_s = dest if isinstance(dest, str) else None
        origin = ev.get("origin") if isinstance(ev.get("origin"), int) else None
        if dest in ("stdout", "stderr"):
            found = index.get((ev["pid"], str(dest), body.split("\n")[0]))
            if found:
                i = found.pop(0)
                lines[i] = replace(lines[i], stream="log", text=body, level=level, logger=logger, dest=dest_s,
                                   origin_pid=origin)
                continue
        elif isinstance(dest, str):
            outer = outer_of.get(ev["pid"])
            if outer is not None and body in files.get((outer, dest), ""):
                if len(lines) < MAX_LINES:
                    lines.append(Line(pid=ev["pid"], stream="log", text=body, t=_r(float(ev.get("t", 0.0)) - f.t0),
                                      thread=int(ev.get("th", 0)) if isinstance(ev.get("th"), int) else None,
                                      verified=True, level=level, logger=logger, dest=dest_s, origin_pid=origin))
                continue
        unconfirmed += 1
    if unconfirmed:
        issues.append(Issue("log_not_observed", f"{unconfirmed} log record(s) the recorder claims were not seen "
                            "written by that process: ignored"))
    lines.sort(key=lambda ln: (ln.t if ln.t is not None else 0.0))
    return lines


def assemble(f: Facts) -> Trace:
    t0 = f.t0
    k = f.kernel
    ids = _Ids(k)
    issues: list[Issue] = []
    evs = _claim_events(f, ids, issues)
    col = _collect(evs, t0)
    issues.extend(col.issues)
    limits_hit = col.limits_hit
    for gap in k.gaps:
        issues.append(Issue("observation_gap", gap))
    for cap in k.caps:
        issues.append(Issue("capped", cap))

    run_inner = {ids(o) for o in k.processes}
    waits = _awaits(f)
    processes = [_process(kp, f, col, ids, waits, issues) for kp in k.processes.values()]
    if f.cgroup_oom_kills:  # the kernel's OOM killer sends SIGKILL: to the processes the run did not see killed
        processes = [replace(p, limit="memory") if p.signal == "SIGKILL" and p.limit is None and not p.survived
                     else p for p in processes]
        limits_hit.add("memory")
    for pid in sorted(set(col.claims) | set(col.pstart)):
        if pid not in run_inner and (_has_process_claim(col.claims.get(pid)) or pid in col.pstart):
            issues.append(Issue("claimed_not_observed", "a recorded event names this process, but the kernel saw "
                                "no such process in the run: ignored", pid))
    limits_hit.update(p.limit for p in processes if p.limit)
    processes.sort(key=lambda p: (p.kind != "main", p.start if p.start is not None else float("inf"), p.pid))

    pool_records = _pools(col.pools, col.tasks, t0, run_inner, _pipe_spans(k, ids))
    thread_records = [
        Thread(pid=pid, number=number, name=str(d["ev"].get("name", "")), target=_str_or_none(d["ev"].get("target")),
               kind=str(d["ev"].get("kind", "thread")), daemon=bool(d["ev"].get("daemon")),
               start=_r(float(d["ev"]["t"]) - t0), end=_r(d["end"] - t0) if d["end"] is not None else None)
        for (pid, number), d in sorted(col.threads.items(), key=lambda kv: float(kv[1]["ev"]["t"]))
        if pid in run_inner
    ][:MAX_RECORDS]
    line_records = _lines(f, ids, evs, issues)
    if f.stdout.truncated or f.stderr.truncated:
        limits_hit.add("output")
    if f.files_not_listed:
        issues.append(Issue("files_not_listed", f"{f.files_not_listed} more file(s) in the working directory"))
    exceptions = [e for e in col.exceptions if e.pid in run_inner][:MAX_RECORDS]
    inputs = [i for i in col.inputs if i.pid in run_inner][:MAX_RECORDS]

    # -- how the run ended --------------------------------------------------------------------------
    main = next((p for p in processes if p.kind == "main"), None)
    # a run stopped because it could only have ended at its wall-time limit (grader.sandbox.decide)
    timed_out = f.timed_out or (f.stopped is not None and f.stopped.limit == "wall")
    if timed_out:
        limit_end: str | None = "wall"
    elif f.watchdog:
        limit_end = f.watchdog
    elif f.stopped is not None and f.stopped.limit:
        limit_end = f.stopped.limit
    else:
        limit_end = main.limit if main is not None else None
    if timed_out:
        limits_hit.add("wall")
    if f.watchdog:
        limits_hit.add(f.watchdog)
    if limit_end:
        limits_hit.add(limit_end)
    if f.cgroup_hit_max:
        limits_hit.add("processes")

    if main is not None and (main.exit_code is not None or main.signal is not None):
        main_code, main_signal = main.exit_code, main.signal
        main_end = main.end if main.end is not None else f.main_end - t0
    else:
        main_code, main_signal = _decode(f.main_status)
        main_end = f.main_end - t0
    return Trace(
        exit_code=main_code, signal=main_signal, timed_out=timed_out, limit=limit_end,
        limits_hit=tuple(sorted(limits_hit)), wall_time=round(max(0.0, main_end), 6),
        cpu_time=round(f.cpu_time, 6), stdout=f.stdout, stderr=f.stderr, processes=tuple(processes),
        pools=tuple(pool_records), threads=tuple(thread_records), lines=tuple(line_records),
        exceptions=tuple(exceptions), files=tuple(f.files), inputs=tuple(inputs),
        start_method=_start_method(col.claims.get(ids(k.main) or 0), col.pstart, ids(k.main) or 0),
        start_method_requested=f.start_method_requested, seed=f.seed, issues=tuple(issues[:MAX_RECORDS]),
        limits=f.limits.to_json(), sandbox=dict(f.sandbox), observed=k.complete,
        stopped=f.stopped.reason if f.stopped is not None and not f.timed_out else None,
        wall_extended=f.wall_extended, wall_note=f.wall_note,
    )


def _has_process_claim(c: _Claims | None) -> bool:
    return c is not None and (c.start is not None or c.proc is not None)


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _start_method(main: _Claims | None, pstart: dict[int, Event], main_pid: int) -> str | None:
    end = (main.end if main is not None else None) or {}
    if isinstance(end.get("method"), str):
        return str(end["method"])
    for ev in pstart.values():  # the main process was killed before it could say
        if ev["pid"] == main_pid and isinstance(ev.get("method"), str):
            return str(ev["method"])
    if isinstance(end.get("default"), str):
        return str(end["default"])
    return None


def _pipe_spans(k: KernelFacts, ids: _Ids) -> dict[tuple[int | None, int | None], tuple[float, float]]:
    """(writer, maker of the pipe), as the program's pids -> first and last write (kernel times)."""
    return {(ids(pw.pid), ids(pw.maker)): (pw.first, pw.last) for pw in k.pipe_writes}


def _pools(pools: dict[str, dict[str, Any]], tasks: dict[tuple[int, int], dict[str, Any]], t0: float,
           run: set[int | None], pipes: dict[tuple[int | None, int | None], tuple[float, float]]) -> list[Pool]:
    """The pools and their tasks. For each task, what the kernel saw around it (kernel times only:
    the time a claim names is the program's word): `result_seen`, its worker wrote to a pipe the
    pool's owner made after the task's claim was written (a result on its way back; a map sends a
    chunk's results in one message, after all of its tasks); `sent_seen`, the owner had written to
    a pipe of its own before (something was sent to the pool)."""
    owners = {pool_id: d["ev"]["pid"] for pool_id, d in pools.items()}
    by_pool: dict[str, list[Task]] = {}
    for (pid, _n), d in sorted(tasks.items(), key=lambda kv: float(kv[1]["ev"]["t"]))[:MAX_RECORDS]:
        if pid not in run:
            continue
        ev, end = d["ev"], d["end"]
        pool_id = str(ev.get("pool"))
        owner, claimed_at = owners.get(pool_id), float(ev[KERNEL_TIME])
        back = pipes.get((pid, owner)) if owner is not None else None
        sent = pipes.get((owner, owner)) if owner is not None else None
        by_pool.setdefault(pool_id, []).append(Task(
            pool=pool_id, function=str(ev.get("fn", "")), args=str(ev.get("args", "")), pid=pid,
            thread=ev.get("th") if isinstance(ev.get("th"), int) else None, start=_r(float(ev["t"]) - t0),
            end=_r(float(end["t"]) - t0) if end is not None else None,
            ok=bool(end.get("ok")) if end is not None else None,
            error=_str_or_none(end.get("err")) if end is not None else None,
            result_seen=back is not None and back[1] > claimed_at,
            sent_seen=sent is not None and sent[0] < claimed_at,
        ))
    out = []
    for pool_id, d in pools.items():
        ev = d["ev"]
        size = ev.get("size")
        out.append(Pool(
            id=pool_id, kind=str(ev.get("kind", "")), pid=ev["pid"], size=size if isinstance(size, int) else None,
            start_method=_str_or_none(ev.get("method")), workers=tuple(w for w in d["workers"] if w in run),
            tasks=tuple(by_pool.get(pool_id, ())),
        ))
    return out

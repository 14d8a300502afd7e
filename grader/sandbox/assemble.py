"""Turning what a run claimed (the event file) and what the grader observed into a Trace.

Pure: no I/O. Observations win over claims wherever both exist (exit codes, times, parents), and
every disagreement becomes an Issue.
"""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import dataclass, field
from typing import Any

from grader.sandbox import lines as lines_mod
from grader.sandbox.events import Event, EventLog
from grader.sandbox.limits import Limits
from grader.sandbox.watch import Seen
from grader.trace import (
    Capture,
    ExceptionInfo,
    File,
    InputCall,
    Issue,
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
    main_pid: int
    main_status: int | None
    main_end: float
    cpu_time: float
    timed_out: bool
    watchdog: str | None
    survivors: set[int]
    seen: dict[int, Seen]
    exact: bool
    stdout: Capture
    stderr: Capture
    events: EventLog
    files: list[File]
    files_not_listed: int
    log_files: dict[str, str | None]
    cgroup_hit_max: bool
    limits: Limits
    seed: int
    start_method_requested: str | None
    sandbox: dict[str, str]
    grader_pid: int = field(default_factory=os.getpid)


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
    waited: dict[int, float] = field(default_factory=dict)  # child pid -> when its parent first waited
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
        elif kind == "wait" and isinstance(ev.get("child"), int):
            col.waited.setdefault(ev["child"], t - t0)
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


def _kind(pid: int, f: Facts, col: _Collected, run_pids: set[int]) -> str:
    c = col.claims.get(pid, _Claims())
    seen = f.seen.get(pid)
    role = (c.start or {}).get("role")
    claimed_kind = (c.proc or {}).get("kind") or (col.pstart.get(pid) or {}).get("kind")
    if pid == f.main_pid:
        return "main"
    if claimed_kind:
        return str(claimed_kind)
    if role in _INTERNAL_ROLES:
        return _INTERNAL_ROLES[str(role)]
    if role == "spawn":
        return "spawn"
    if "subprocess" in c.roles or pid in col.subs or (seen is not None and seen.execs > 0):
        return "subprocess"  # ran a new program (fork + exec)
    if role == "fork" or (seen is not None and "netlink" in seen.sources and seen.ppid in run_pids):
        return "fork"  # a copy of a process of the run that never ran a new program
    return "unknown"


def _times(pid: int, f: Facts, c: _Claims, seen: Seen | None) -> tuple[float | None, float | None, str | None]:
    """(start, end, source): kernel events are exact; otherwise the process's own records."""
    t0 = f.t0
    if pid == f.main_pid:
        return 0.0, f.main_end - t0, "observed"
    if seen is not None and "netlink" in seen.sources and seen.start is not None:
        return seen.start - t0, (seen.end - t0 if seen.end is not None else None), "observed"
    if c.start is not None or c.proc is not None:
        first = c.start or c.proc or {}
        end_t = (c.end or {}).get("t")
        if end_t is None and seen is not None and seen.end is not None:
            end_t = seen.end
        return float(first.get("t", t0)) - t0, (None if end_t is None else float(end_t) - t0), "claimed"
    if seen is not None and seen.start is not None:
        return seen.start - t0, (seen.end - t0 if seen.end is not None else None), "observed"
    return None, None, None


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


def _process(pid: int, f: Facts, col: _Collected, run_pids: set[int], issues: list[Issue]) -> Process:
    """One process record, and the disagreements about it."""
    c = col.claims.get(pid, _Claims())
    seen = f.seen.get(pid)
    parent_claim = col.pstart.get(pid)
    proc_ev = c.proc or {}
    is_main = pid == f.main_pid
    kind = _kind(pid, f, col, run_pids)
    info = proc_ev or parent_claim or {}
    self_claimed = c.start is not None or c.proc is not None
    observed = seen is not None and bool(seen.sources & {"netlink", "proc", "launch"})

    # parent: the observed fork parent wins; the process's own claim is checked against it
    claimed_ppid = (c.start or {}).get("ppid")
    started_by: int | None = None
    if parent_claim is not None:
        started_by = parent_claim["pid"]
    elif pid in col.subs:
        started_by = col.subs[pid]["pid"]
    elif (c.start or {}).get("role") == "fork" and isinstance(claimed_ppid, int):
        started_by = claimed_ppid
    ppid = seen.ppid if seen is not None and seen.ppid is not None else claimed_ppid
    if not isinstance(ppid, int):
        ppid = started_by
    if (seen is not None and "netlink" in seen.sources and isinstance(claimed_ppid, int)
            and claimed_ppid not in (seen.ppid, f.grader_pid) and not is_main):
        issues.append(Issue("parent_mismatch", f"claimed parent {claimed_ppid}, observed parent {seen.ppid}", pid))

    start, end, times = _times(pid, f, c, seen)

    # exit: what the grader saw wins over what the process said
    claimed_code = (c.end or {}).get("code")
    if not isinstance(claimed_code, int) or isinstance(claimed_code, bool):
        claimed_code = None
    if is_main:
        code, sig = _decode(f.main_status)
    elif seen is not None and seen.status is not None:
        code, sig = _decode(seen.status)
        if claimed_code is not None and code is not None and code != claimed_code:
            issues.append(Issue("exit_code_mismatch", f"claimed exit code {claimed_code}, observed {code}", pid))
    else:
        code, sig = claimed_code, None
    survived = pid in f.survivors
    if survived and sig is None and code is None:
        sig = "SIGKILL"

    draws = (c.end or {}).get("draws")
    command: tuple[str, ...] = ()
    if seen is not None and seen.command:
        command = seen.command
    elif kind == "subprocess" and c.start is not None:
        command = tuple(str(a) for a in c.start.get("argv") or ())
    cpu = (c.end or {}).get("cpu")

    if not is_main and self_claimed and not observed and f.exact:
        issues.append(Issue("claimed_not_observed", "this process recorded itself but the kernel reported "
                            "no such process in the run", pid))
    if not is_main and parent_claim is not None and not self_claimed and not observed and f.exact:
        issues.append(Issue("claimed_not_observed", f"process {parent_claim['pid']} claims to have started it, "
                            "but the kernel reported no such process in the run", pid))
    if observed and not is_main and not self_claimed and parent_claim is None and pid not in col.subs:
        what = " ".join(command) or (seen.comm if seen is not None else "")
        issues.append(Issue("observed_not_claimed", f"seen from outside ({what or 'unknown program'}) but no "
                            "recorded event mentions it", pid))
    if seen is not None and f.exact and seen.threads_started > c.threads:
        issues.append(Issue("threads_not_claimed", f"the kernel saw {seen.threads_started} thread(s) started, "
                            f"the process recorded {c.threads}", pid))

    return Process(
        pid=pid, ppid=ppid if isinstance(ppid, int) else None, started_by=started_by, kind=kind,
        name=_str_or_none(info.get("name")), target=_str_or_none(info.get("target")),
        args=_str_or_none(info.get("args")),
        start_method=_str_or_none(proc_ev.get("method") or (parent_claim or {}).get("method")),
        pool=col.worker_pool.get(pid), start=_r(start), end=_r(end), times=times,
        exit_code=code, signal=sig, cpu_time=float(cpu) if isinstance(cpu, (int, float)) else None,
        internal=kind in _INTERNAL_ROLES.values(), claimed=self_claimed, observed=observed,
        survived=survived, random_draws=int(draws) if isinstance(draws, int) else (1 if c.rand else 0),
        command=command, limit=_limit(pid, sig, col.exceptions), joined=_r(col.waited.get(pid)),
    )


def assemble(f: Facts) -> Trace:
    evs = f.events.events
    t0 = f.t0
    col = _collect(evs, t0)
    issues, limits_hit = col.issues, col.limits_hit
    if f.events.bad_lines:
        issues.append(Issue("bad_event", f"{f.events.bad_lines} malformed line(s) in the event file"))

    run_pids = {p for p in set(col.claims) | set(f.seen) | set(col.pstart) | set(col.subs)
                if p == f.main_pid or _has_process_claim(col.claims.get(p)) or p in f.seen
                or p in col.pstart or p in col.subs}
    run_pids.discard(f.grader_pid)
    processes = [_process(pid, f, col, run_pids, issues) for pid in run_pids]
    limits_hit.update(p.limit for p in processes if p.limit)
    unverified = sum(1 for p in processes if p.kind != "main" and p.claimed and not p.observed)
    if unverified and not f.exact:
        issues.append(Issue("unverified", f"{unverified} process(es) recorded themselves but were not seen from "
                            "outside: without kernel events, /proc polling misses processes living a few ms"))
    processes.sort(key=lambda p: (p.kind != "main", p.start if p.start is not None else float("inf"), p.pid))

    # -- pools, threads, lines --------------------------------------------------------------------
    pool_records = _pools(col.pools, col.tasks, t0)
    thread_records = [
        Thread(pid=pid, number=number, name=str(d["ev"].get("name", "")), target=_str_or_none(d["ev"].get("target")),
               kind=str(d["ev"].get("kind", "thread")), daemon=bool(d["ev"].get("daemon")),
               start=_r(float(d["ev"]["t"]) - t0), end=_r(d["end"] - t0) if d["end"] is not None else None)
        for (pid, number), d in sorted(col.threads.items(), key=lambda kv: float(kv[1]["ev"]["t"]))
    ]
    line_records, line_issues = lines_mod.build(
        evs, {"stdout": f.stdout.text, "stderr": f.stderr.text},
        {"stdout": f.stdout.truncated, "stderr": f.stderr.truncated}, t0, f.log_files)
    issues.extend(line_issues)
    if f.stdout.truncated or f.stderr.truncated:
        limits_hit.add("output")
    if f.files_not_listed:
        issues.append(Issue("files_not_listed", f"{f.files_not_listed} more file(s) in the working directory"))

    # -- how the run ended --------------------------------------------------------------------------
    main = next((p for p in processes if p.kind == "main"), None)
    if f.timed_out:
        limit_end: str | None = "wall"
    elif f.watchdog:
        limit_end = f.watchdog
    else:
        limit_end = main.limit if main is not None else None
    if f.timed_out:
        limits_hit.add("wall")
    if f.watchdog:
        limits_hit.add(f.watchdog)
    if f.cgroup_hit_max:
        limits_hit.add("processes")

    main_code, main_signal = _decode(f.main_status)
    return Trace(
        exit_code=main_code, signal=main_signal, timed_out=f.timed_out, limit=limit_end,
        limits_hit=tuple(sorted(limits_hit)), wall_time=round(f.main_end - t0, 6),
        cpu_time=round(f.cpu_time, 6), stdout=f.stdout, stderr=f.stderr, processes=tuple(processes),
        pools=tuple(pool_records), threads=tuple(thread_records), lines=tuple(line_records),
        exceptions=tuple(col.exceptions), files=tuple(f.files), inputs=tuple(col.inputs),
        start_method=_start_method(col.claims.get(f.main_pid), col.pstart, f.main_pid),
        start_method_requested=f.start_method_requested, seed=f.seed, issues=tuple(issues),
        limits=f.limits.to_json(), sandbox=dict(f.sandbox),
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


def _pools(pools: dict[str, dict[str, Any]], tasks: dict[tuple[int, int], dict[str, Any]], t0: float) -> list[Pool]:
    by_pool: dict[str, list[Task]] = {}
    for (pid, _n), d in sorted(tasks.items(), key=lambda kv: float(kv[1]["ev"]["t"])):
        ev, end = d["ev"], d["end"]
        pool_id = str(ev.get("pool"))
        by_pool.setdefault(pool_id, []).append(Task(
            pool=pool_id, function=str(ev.get("fn", "")), args=str(ev.get("args", "")), pid=pid,
            thread=ev.get("th") if isinstance(ev.get("th"), int) else None, start=_r(float(ev["t"]) - t0),
            end=_r(float(end["t"]) - t0) if end is not None else None,
            ok=bool(end.get("ok")) if end is not None else None,
            error=_str_or_none(end.get("err")) if end is not None else None,
        ))
    out = []
    for pool_id, d in pools.items():
        ev = d["ev"]
        size = ev.get("size")
        out.append(Pool(
            id=pool_id, kind=str(ev.get("kind", "")), pid=ev["pid"], size=size if isinstance(size, int) else None,
            start_method=_str_or_none(ev.get("method")), workers=tuple(d["workers"]),
            tasks=tuple(by_pool.get(pool_id, ())),
        ))
    return out

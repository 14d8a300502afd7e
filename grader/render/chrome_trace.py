"""A run's record as a Chrome trace-event file, for a TA who wants to zoom in (Perfetto, chrome://tracing).

The Trace Event Format (the JSON object form): `traceEvents` holds
- `"M"` metadata events naming each process (`process_name`, `process_sort_index`) and thread,
- one `"X"` complete event per process lifetime (pid as pid, tid 0), and per pool task (on the
  worker's pid, tid the task's thread number or 0),
- `"i"` instant events for every output line (on the pid and thread that wrote it), every
  exception, and every join (on the waiting parent's lane, naming the child).
Timestamps are microseconds since the run started. Lines no process claimed go to a pseudo-process
with pid 0. Process arguments, printed text and tracebacks are the student's: they are cut to a
bounded length, and the number of line events is bounded too.
"""

from __future__ import annotations

from typing import Any

from grader.render.common import clean, end_words, how_made, run_end, short_label, shown_processes
from grader.trace import Trace

MAX_LINE_EVENTS = 20_000
TEXT_CHARS = 500
UNCLAIMED_PID = 0


def _us(t: float) -> float:
    return round(t * 1_000_000, 1)


def _cut(text: str | None, n: int = TEXT_CHARS) -> str:
    text = clean(text or "")
    return text if len(text) <= n else text[: n - 1] + "…"


def chrome_trace(trace: Trace, *, title: str = "") -> dict[str, Any]:
    """The Trace as a dict in the Trace Event Format (json.dumps it to get the file)."""
    events: list[dict[str, Any]] = []
    end = run_end(trace)
    for order, p in enumerate(shown_processes(trace, include_internal=True)):
        name = f"{short_label(p)} [{how_made(p)}]"
        events.append({"name": "process_name", "ph": "M", "pid": p.pid, "tid": 0, "args": {"name": _cut(name)}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": p.pid, "tid": 0, "args": {"sort_index": order}})
        events.append({"name": "thread_name", "ph": "M", "pid": p.pid, "tid": 0, "args": {"name": "main thread"}})
        if p.start is None:
            continue
        stop = p.end if p.end is not None else end
        events.append({
            "name": _cut(short_label(p), 120), "cat": "process", "ph": "X", "pid": p.pid, "tid": 0,
            "ts": _us(p.start), "dur": _us(max(stop - p.start, 0.0)),
            "args": {"kind": p.kind, "how": how_made(p), "target": _cut(p.target), "args": _cut(p.args),
                     "ppid": p.ppid, "ended": end_words(p), "exit_code": p.exit_code, "signal": p.signal,
                     "times": p.times},
        })
        if p.joined is not None:
            waiter = p.started_by if p.started_by is not None else p.ppid
            events.append({"name": f"join {_cut(short_label(p), 120)}", "cat": "join", "ph": "i", "s": "t",
                           "pid": waiter if waiter is not None else p.pid, "tid": 0, "ts": _us(p.joined),
                           "args": {"child": p.pid}})
    for t in trace.threads:
        events.append({"name": "thread_name", "ph": "M", "pid": t.pid, "tid": t.number,
                       "args": {"name": _cut(f"{t.name} ({t.kind})", 120)}})
    for pool in trace.pools:
        for task in pool.tasks:
            if task.start is None:
                continue
            stop = task.end if task.end is not None else end
            events.append({"name": _cut(f"{task.function}({task.args})", 120), "cat": "task", "ph": "X",
                           "pid": task.pid, "tid": task.thread or 0, "ts": _us(task.start),
                           "dur": _us(max(stop - task.start, 0.0)),
                           "args": {"pool": pool.id, "pool_kind": pool.kind, "ok": task.ok, "error": _cut(task.error)}})
    if any(ln.pid is None for ln in trace.lines):
        events.append({"name": "process_name", "ph": "M", "pid": UNCLAIMED_PID, "tid": 0,
                       "args": {"name": "output no process claimed"}})
    for ln in trace.lines[:MAX_LINE_EVENTS]:
        events.append({"name": f"{ln.stream}: {_cut(ln.text, 80)}", "cat": ln.stream, "ph": "i", "s": "t",
                       "pid": ln.pid if ln.pid is not None else UNCLAIMED_PID, "tid": ln.thread or 0,
                       "ts": _us(ln.t if ln.t is not None else 0.0), "args": {"text": _cut(ln.text)}})
    for e in trace.exceptions:
        events.append({"name": _cut(f"{e.type}: {e.message}", 120), "cat": "exception", "ph": "i", "s": "p",
                       "pid": e.pid, "tid": e.thread or 0, "ts": _us(e.t if e.t is not None else end),
                       "args": {"where": e.where, "traceback": _cut(e.traceback, 4000)}})
    if trace.limit is not None or trace.timed_out:
        main = trace.main()
        events.append({"name": f"{trace.limit or 'wall'} limit: run stopped", "cat": "limit", "ph": "i", "s": "g",
                       "pid": main.pid if main else UNCLAIMED_PID, "tid": 0, "ts": _us(trace.wall_time)})
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"title": _cut(title, 200), "exit_code": trace.exit_code, "signal": trace.signal,
                      "timed_out": trace.timed_out, "limit": trace.limit, "wall_time": trace.wall_time,
                      "start_method": trace.start_method, "lines_dropped": max(0, len(trace.lines) - MAX_LINE_EVENTS)},
    }

"""Hand-made Traces for the renderers' tests: concurrent, one by one, crashed, hostile, huge."""

from __future__ import annotations

from grader.trace import Capture, ExceptionInfo, Line, Pool, Process, Task, Trace

MAIN = 100
HOSTILE = "<script>alert('x')</script>\x1b[31m\u202e&amp;"


def _main(end: float = 1.0, **kw: object) -> Process:
    fields: dict[str, object] = {"exit_code": 0, **kw}
    return Process(pid=MAIN, kind="main", start=0.0, end=end, **fields)


def child(pid: int, start: float, end: float, joined: float | None, **kw: object) -> Process:
    fields: dict[str, object] = {"kind": "process", "name": f"Process-{pid - MAIN}", "target": "work",
                                 "start_method": "fork", "exit_code": 0}
    fields.update(kw)
    return Process(pid=pid, ppid=MAIN, started_by=MAIN, start=start, end=end, joined=joined,
                   **fields)


def concurrent() -> Trace:
    """Four children started together, each printing twice, joined at the end."""
    kids = tuple(child(MAIN + k, 0.05 + k * 0.001, 0.9, 0.06 + k * 0.001) for k in range(1, 5))
    lines = tuple(Line(pid=p.pid, stream="stdout", text=f"hello from {p.pid} #{n}", t=0.3 + n * 0.4 + p.pid * 1e-4)
                  for p in kids for n in range(2))
    return Trace(exit_code=0, wall_time=1.0, processes=(_main(), *kids), lines=lines,
                 stdout=Capture("".join(ln.text + "\n" for ln in lines), 10))


def one_by_one() -> Trace:
    """Four children each started and joined before the next."""
    kids = tuple(child(MAIN + k, 0.2 * k, 0.2 * k + 0.15, 0.2 * k + 0.01) for k in range(1, 5))
    lines = tuple(Line(pid=p.pid, stream="stdout", text=str(p.pid), t=(p.start or 0) + 0.1) for p in kids)
    return Trace(exit_code=0, wall_time=1.0, processes=(_main(), *kids), lines=lines)


def crashed() -> Trace:
    """A child raises; another is killed at the wall limit; a pool worker ran tasks; a resource tracker."""
    kids = (
        child(101, 0.1, 0.2, 0.1, exit_code=1, target=HOSTILE, args=HOSTILE),
        child(102, 0.1, None, None, exit_code=None, signal="SIGKILL", survived=True),
        Process(pid=103, ppid=MAIN, started_by=MAIN, kind="pool_worker", name="ForkPoolWorker-1",
                target="multiprocessing.pool.worker", start=0.15, end=0.5, signal="SIGTERM", pool="p1"),
        Process(pid=104, ppid=MAIN, kind="resource_tracker", internal=True, start=0.01, end=2.0, exit_code=0),
    )
    pool = Pool(id="p1", kind="Pool", pid=MAIN, size=1, workers=(103,),
                tasks=(Task(pool="p1", function="square", args="3", pid=103, start=0.2, end=0.3, ok=True),
                       Task(pool="p1", function="square", args="4", pid=103, start=0.3, end=0.31, ok=False,
                            error="ZeroDivisionError: division by zero")))
    lines = (
        Line(pid=101, stream="stderr", text="Traceback (most recent call last):", t=0.19),
        Line(pid=101, stream="stdout", text=HOSTILE, t=0.15),
        Line(pid=None, stream="stdout", text="raw bytes nobody claimed"),
    )
    exc = ExceptionInfo(pid=101, where="process", type="ValueError", message=HOSTILE, t=0.19,
                        traceback='Traceback (most recent call last):\n  File "answer.py", line 4, in work\n'
                                  "    raise ValueError(x)\nValueError: bad")
    return Trace(exit_code=None, signal="SIGKILL", timed_out=True, limit="wall", limits_hit=("wall",), wall_time=2.0,
                 processes=(_main(2.0, exit_code=None, signal="SIGKILL"), *kids), pools=(pool,), lines=lines,
                 exceptions=(exc,), stderr=Capture("Traceback (most recent call last):\n", 35))


def huge(n_procs: int = 200, n_lines: int = 100_000) -> Trace:
    kids = tuple(child(MAIN + 1 + k, 0.001 * k, 0.5, None) for k in range(n_procs))
    lines = tuple(Line(pid=MAIN + 1 + (k % n_procs), stream="stdout", text=f"line {k}", t=k / n_lines)
                  for k in range(n_lines))
    return Trace(exit_code=0, wall_time=1.0, processes=(_main(), *kids), lines=lines)

"""Slow or hung: a run past its wall-time limit goes on while it makes progress (grader.sandbox.progress).

The rule on hand-made kernel records, then real runs of the three kinds it must tell apart: a slow
program that keeps starting processes finishes; one blocked for ever is cut at its limit; one that
prints for ever is cut at `wall_time_max`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.sandbox import Limits, run_program
from grader.sandbox.kernel import KernelRecord
from grader.sandbox.progress import Progress
from grader.trace import Trace
from tests.sandbox.helpers import BLOCKED_ON_QUEUE
from tests.sandbox.test_kernel import ARGV, EXEC, PIPE, WORK, hx, out_fd

T0 = 1.0  # the launch, in strace's clock (EXEC is at 1.0)
LIMITS = Limits(wall_time=5.0, wall_time_max=20.0, progress_window=4.0)


def record(text: str, byte_cap: int = 1 << 20) -> KernelRecord:
    rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, read_proc=False, pidns=False)
    rec.byte_cap = byte_cap
    rec.feed(("99 0.950000 getpid() = 99\n" + EXEC + text).encode())  # 99: the launch's own process (bwrap)
    return rec


def child(pid: int, start: float, end: float | None = None) -> str:
    lines = f"100 {T0 + start - 0.001:.6f} clone(child_stack=NULL, flags=SIGCHLD) = {pid}\n"
    lines += f"{pid} {T0 + start:.6f} getpid() = {pid}\n"
    return lines + (f"{pid} {T0 + end:.6f} +++ exited with 0 +++\n" if end is not None else "")


def write(pid: int, t: float, data: str = "1\n") -> str:
    return f'{pid} {T0 + t:.6f} write({out_fd()}, "{hx(data)}", {len(data)}) = {len(data)}\n'


def progress() -> Progress:
    return Progress(LIMITS, T0, 0.0)  # clock 0: strace's times are the monotonic clock here


def test_a_run_that_started_a_process_lately_goes_on_until_it_has_been_quiet_for_the_window() -> None:
    p = progress()
    rec = record(child(101, 0.1, 0.2) + child(102, 3.1, 3.2))
    later = p.deadline(T0 + 5.0, rec)
    assert later == pytest.approx(T0 + 3.2 + 4.0)  # the last sign (process 102 ended) + the window
    assert p.extended is not None and str(p.extended) == "process 102 ended at 3.2 s"
    rec.feed(child(103, 6.1, 6.2).encode())
    assert p.deadline(T0 + 7.2, rec) == pytest.approx(T0 + 10.2)
    assert p.deadline(T0 + 10.2, rec) is None  # nothing since 6.2 s: cut
    assert p.note == ("extended past 5 s while the run made progress (process 102 ended at 3.2 s); the run was cut "
                      "at 10.2 s: no progress in the last 4 s (the last sign: process 103 ended at 6.2 s)")
    assert p.passed() is not None and "still making progress (process 102 ended at 3.2 s)" in p.passed()  # type: ignore[operator]


def test_a_run_quiet_since_it_started_is_cut_at_its_limit() -> None:
    p = progress()
    rec = record(child(101, 0.1) + child(102, 0.3) + write(101, 0.4))  # started its workers, then nothing
    assert p.deadline(T0 + 5.0, rec) is None
    assert p.extended is None and p.passed() is None
    assert p.note == "not extended past 5 s: no progress in the last 4 s (the last sign: process 101 wrote to " \
                     "stdout at 0.4 s)"
    # the launch's own processes (before the main one) and the main process's start are no signs
    assert progress().last(record("")) is None


def test_output_is_progress_up_to_the_output_limit_and_no_further() -> None:
    rec = record("".join(write(100, 0.5 * i, "x" * 10) for i in range(1, 20)), byte_cap=30)
    sign = progress().last(rec)
    assert sign is not None and str(sign) == "the main process wrote to stdout at 1.5 s"  # the 3rd write fills it


def test_a_run_that_keeps_making_progress_is_cut_at_wall_time_max() -> None:
    p = progress()
    rec = record("".join(write(100, t) for t in range(1, 5)))
    deadline = p.deadline(T0 + 5.0, rec)
    steps = 0
    while deadline is not None:
        now, steps = deadline, steps + 1
        rec.feed(write(100, now - T0 - 0.5).encode())  # a line half a second before each deadline
        deadline = p.deadline(now, rec)
        assert deadline is None or deadline <= T0 + 20.0
    assert now == pytest.approx(T0 + 20.0) and steps == 5  # at 8, 11.5, 15, 18.5 and 20 s
    assert p.note is not None and p.note.startswith("extended past 5 s while the run made progress (the main process "
                                                    "wrote to stdout at 4.0 s); the run was cut at 20 s, the most")


def test_limits_check_the_new_fields() -> None:
    with pytest.raises(ValueError, match=r"wall_time_max \(3 s\) is below wall_time \(5 s\)"):
        Limits(wall_time=5, wall_time_max=3)
    with pytest.raises(ValueError, match="progress_window must be a positive number"):
        Limits(progress_window=0)
    assert not Limits().extensible and "wall_time_max" not in Limits().to_json()
    assert LIMITS.extensible and LIMITS.to_json()["progress_window"] == 4.0


# -- real runs ---------------------------------------------------------------------------------------

REAL = Limits(wall_time=3.0, wall_time_max=6.0, progress_window=1.5)

SLOW = """import multiprocessing, time

def num(n):
    print(n)

if __name__ == "__main__":
    for i in range(1, 11):  # one after another: 4-5 s in all, a sign of progress every 0.4-0.5 s
        p = multiprocessing.Process(target=num, args=(i,))
        p.start()
        time.sleep(0.4)
        p.join()
"""

BUSY = "while True:\n    pass\n"

PRINTS = """import time

while True:
    print("still here", flush=True)
    time.sleep(0.3)
"""


@pytest.fixture(scope="module")
def runs() -> dict[str, Trace]:
    programs = {"slow": SLOW, "blocked": BLOCKED_ON_QUEUE, "busy": BUSY, "prints": PRINTS}
    with ThreadPoolExecutor(len(programs)) as pool:  # side by side: three of them mostly sleep
        return dict(zip(programs, pool.map(lambda src: run_program(src, limits=REAL), programs.values()),
                        strict=True))


def last_sign(trace: Trace) -> float:
    """When the run last started or ended a process or wrote output, from the Trace's own facts."""
    times = [t for p in trace.children(include_internal=True)
             for t in (p.start, None if p.survived else p.end) if t is not None]  # (not the end's kill)
    times += [ln.t for ln in trace.lines if ln.stream in ("stdout", "stderr") and ln.t is not None]
    return max(times, default=0.0)


@pytest.mark.slow
def test_a_slow_program_that_keeps_making_progress_finishes(runs: dict[str, Trace]) -> None:
    trace = runs["slow"]
    assert not trace.timed_out and trace.exit_code == 0 and trace.wall_time > REAL.wall_time, trace.wall_time
    assert trace.stdout.text.split() == [str(i) for i in range(1, 11)]
    assert trace.wall_extended and trace.wall_note is not None
    assert trace.wall_note.startswith("extended past 3 s (up to 6 s): the run was still making progress (process ")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["blocked", "busy"])
def test_a_program_that_makes_no_progress_is_cut_at_its_limit(runs: dict[str, Trace], kind: str) -> None:
    """Blocked for ever, or burning CPU without a sign: cut at the limit as before, not at wall_time_max.
    Its last sign is as it started (its workers), long before the limit."""
    trace = runs[kind]
    assert trace.timed_out and not trace.wall_extended, (trace.wall_time, trace.wall_note)
    assert last_sign(trace) < REAL.wall_time - REAL.progress_window
    assert REAL.wall_time <= trace.wall_time < REAL.wall_time + 0.5, trace.wall_time
    assert trace.wall_note is not None and trace.wall_note.startswith("not extended past 3 s: no progress in the "
                                                                      "last 1.5 s")


@pytest.mark.slow
def test_a_program_printing_for_ever_is_cut_at_wall_time_max(runs: dict[str, Trace]) -> None:
    trace = runs["prints"]
    assert trace.timed_out and trace.wall_extended and trace.limit == "wall"
    assert REAL.wall_time_max is not None and REAL.wall_time_max <= trace.wall_time < REAL.wall_time_max + 0.5
    assert trace.wall_note is not None and "the run was cut at 6 s, the most a run still making progress gets" \
        in trace.wall_note
    assert trace.limits["wall_time"] == 3.0 and trace.limits["wall_time_max"] == 6.0

"""Stopping a run early (grader.sandbox.decide): real programs, through the real sandbox."""

from __future__ import annotations

import pytest

from grader.sandbox import Limits
from grader.sandbox.decide import ChildFailedToStart, PastOutputCap, StopWhen
from tests.sandbox.helpers import BLOCKED_ON_QUEUE, sandboxed

pytestmark = pytest.mark.slow
KIB = 1024


def test_a_run_past_its_output_cap_is_stopped_there() -> None:
    # without the rule this flood runs on (strace slows every write) until the program sleeps out its 10 s
    source = "import sys, time\nfor _ in range(5000):\n    sys.stdout.write('x' * 1023 + '\\n')\ntime.sleep(30)\n"
    trace = sandboxed(source, within=4.0, limits=Limits(wall_time=10, output=64 * KIB),
                      stop=StopWhen([PastOutputCap()]))
    assert not trace.timed_out and trace.limit == "output" and "output" in trace.limits_hit
    assert trace.stopped == "it wrote more than 64 KiB to stdout, its output limit"
    assert trace.stdout.truncated and trace.stdout.total_bytes > 64 * KIB
    assert len(trace.stdout.text.encode()) == 64 * KIB


def test_a_run_that_stays_under_its_cap_is_not_stopped() -> None:
    trace = sandboxed("print('x' * 1000)\n", within=4.0, limits=Limits(wall_time=5, output=64 * KIB),
                      stop=StopWhen([PastOutputCap(), ChildFailedToStart()]))
    assert trace.ok and trace.stopped is None and trace.limits_hit == ()


FORGED = """import multiprocessing as mp, sys, time

def liar():  # says the words, but ends well
    sys.stderr.write("RuntimeError: not finished its bootstrapping phase\\n")

def crash():  # ends badly, but said nothing of the kind
    sys.exit(3)

if __name__ == "__main__":
    sys.stderr.write("RuntimeError: bootstrapping phase\\n")  # the main process: not a child that failed to start
    for f in (liar, crash):
        p = mp.Process(target=f)
        p.start()
        p.join()
    time.sleep(0.3)
    print("done", flush=True)
"""


def test_words_alone_or_a_crash_alone_do_not_stop_a_run() -> None:
    trace = sandboxed(FORGED, within=6.0, wall=5.0, start_method="spawn", stop=StopWhen([ChildFailedToStart()]))
    assert trace.stopped is None and trace.ok, trace.stderr.text
    assert "done" in trace.stdout.text


UNGUARDED = """import multiprocessing as mp

def square(x):
    return x * x

with mp.Pool(2) as pool:  # no __main__ guard: under spawn every worker fails as it starts, and is replaced
    print(pool.map(square, [1, 2, 3]))
"""


def test_a_child_that_fails_to_start_stops_the_run() -> None:
    trace = sandboxed(UNGUARDED, within=4.5, wall=5.0, start_method="spawn", stop=StopWhen([ChildFailedToStart()]))
    assert not trace.timed_out and trace.limit is None
    assert trace.stopped is not None and trace.stopped.startswith("a child process failed as it started (RuntimeError: "
                                                                  "An attempt has been made to start a new process")
    assert "exited with status 1" in trace.stopped




def test_a_run_whose_processes_all_wait_for_each_other_is_stopped() -> None:
    from grader.sandbox.decide import Deadlocked

    trace = sandboxed(BLOCKED_ON_QUEUE, within=4.0, wall=8.0, stop=StopWhen([Deadlocked()]))
    if trace.sandbox.get("pid_namespace", "no") == "no":
        pytest.skip("needs a PID namespace of its own (bubblewrap)")
    assert trace.limit == "wall" and trace.stopped is not None and trace.wall_time < 3.0
    assert trace.stopped.startswith("every process of the run was waiting (") and "futex" in trace.stopped


BUSY_OR_SLEEPING = """import multiprocessing, time

def compute(n):  # no system call for a second and a half: only /proc sees it working
    x = 0
    for i in range(n):
        x += i
    print(x)

def nap():
    time.sleep(1.5)
    print("rested")

if __name__ == "__main__":
    ps = [multiprocessing.Process(target=compute, args=(12_000_000,)), multiprocessing.Process(target=nap)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print("done")
"""


def test_waiting_for_a_process_that_computes_or_sleeps_is_not_a_deadlock() -> None:
    from grader.sandbox.decide import Deadlocked

    trace = sandboxed(BUSY_OR_SLEEPING, within=12.0, wall=10.0, stop=StopWhen([Deadlocked()]))
    assert trace.stopped is None and trace.ok, (trace.stopped, trace.stderr.text)
    assert "done" in trace.stdout.text and "rested" in trace.stdout.text


ALARM = """import multiprocessing, os, signal

def worker(q):
    print(q.get())

if __name__ == "__main__":
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))  # the alarm ends the wait: not a deadlock
    signal.alarm(1)
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=worker, args=(q,))
    p.start()
    p.join()
"""


def test_a_run_with_an_alarm_is_left_to_wake_up() -> None:
    from grader.sandbox.decide import Deadlocked

    trace = sandboxed(ALARM, within=6.0, wall=5.0, stop=StopWhen([Deadlocked()]))
    assert trace.stopped is None and trace.exit_code == 0 and not trace.timed_out


UNREAPED = """import multiprocessing, time

def quick():
    print("done early", flush=True)

def stuck(q):
    q.get()

if __name__ == "__main__":
    q = multiprocessing.Queue()
    early = [multiprocessing.Process(target=quick) for _ in range(2)]
    last = multiprocessing.Process(target=stuck, args=(q,))
    for p in (*early, last):
        p.start()
    time.sleep(0.3)
    last.join()  # the two that ended are never reaped: zombies, which wake nobody
"""


def test_processes_that_ended_unreaped_do_not_hide_a_deadlock() -> None:
    from grader.sandbox.decide import Deadlocked

    trace = sandboxed(UNREAPED, within=4.0, wall=8.0, stop=StopWhen([Deadlocked()]))
    if trace.sandbox.get("pid_namespace", "no") == "no":
        pytest.skip("needs a PID namespace of its own (bubblewrap)")
    assert trace.timed_out and trace.stopped is not None and trace.wall_time < 3.0
    assert "exited" not in trace.stopped

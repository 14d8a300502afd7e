"""Hostile Q6 answers, graded through the real sandbox with the default rubric: no trick that
forges the recorder's claims earns the points it aims at, and honest answers keep theirs.

Each program attacks through a channel it can reach from inside: the recorder's event file (its
path is in the environment and in /proc/self/fd), the recorder's own functions and counters,
output written by another process than the one that "should" print, busy-waiting instead of
joining, randomness the recorder does not count. The facts that decide come from the kernel.
"""

from __future__ import annotations

import json
import platform
import resource
import time
import tracemalloc
from pathlib import Path

import pytest

from grader.answers import Answer, AnswerPart, PartKind
from grader.checks import CheckContext, Status, Verdict, run_checks
from grader.checks.behaviour import concurrent
from grader.checks.context import variant_run
from grader.checks.params import ConcurrentParams
from grader.grade import RUN_SEED, grade_submission
from grader.rubric import load_rubric
from grader.rubric.load import variants_needed
from grader.rubric.model import Question
from grader.sandbox import Limits, run_program
from grader.trace import Trace
from tests.conftest import ROOT, RUBRIC

pytestmark = pytest.mark.slow
Q5 = load_rubric(RUBRIC).question("Q5")
Q6 = load_rubric(RUBRIC).question("Q6")
ALL_CHECKS = {c.id for c in Q6.checks}


def verdicts_of(source: str, question: Question, **limits: float) -> list[Verdict]:
    """`question`'s verdicts, graded like a submission (every run variant it declares)."""
    traces: dict[str, Trace] = {}
    for variant in sorted(variants_needed(question)):
        method, offset = variant_run(variant)
        traces[variant] = run_program(source, limits=Limits(**{**question.limits.as_dict(), **limits}),
                                      start_method=method, seed=RUN_SEED + offset)
    ctx = CheckContext(question, Answer(question.id, [AnswerPart(0, PartKind.CODE, source)]), source, traces)
    return run_checks(question, ctx)


def grade_q6(source: str, question: Question = Q6, **limits: float) -> dict[str, str]:
    """check id -> status, for Q6 (or `question`)."""
    return {v.check: v.status.value for v in verdicts_of(source, question, **limits)}


def passed(verdicts: dict[str, str]) -> set[str]:
    return {k for k, v in verdicts.items() if v == "passed"}


REFERENCE = (ROOT / "rubrics" / "multiprocessing" / "reference.py").read_text(encoding="utf-8").split("# Q6.")[1]
REFERENCE = "# Q6." + REFERENCE

START_ALL = '''import multiprocessing
def show(n):
    print(n)
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=show, args=(n,)) for n in (11, 22, 33, 44)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
'''

EVENTS_FILE = '''import json, os, time
def events_fd():
    path = os.environ.get("GRADER_EVENTS")
    if not path:  # or find it among our own descriptors
        for fd in os.listdir("/proc/self/fd"):
            if os.readlink(f"/proc/self/fd/{fd}").endswith("events.jsonl"):
                path = os.readlink(f"/proc/self/fd/{fd}")
    return os.open(path, os.O_WRONLY | os.O_APPEND)
fd = events_fd()
def claim(**ev):
    os.write(fd, (json.dumps(ev) + "\\n").encode())
if __name__ == "__main__":
    me, t = os.getpid(), time.time()
    for i in range(4):
        child = me + 1000 + i
        claim(ev="pstart", pid=me, t=t, child=child, name=f"Process-{i+1}", kind="process", target="show")
        claim(ev="start", pid=child, t=t, role="mp", ppid=me)
        claim(ev="proc", pid=child, t=t, name=f"Process-{i+1}", kind="process", target="show", args=f"({i},)")
        claim(ev="w", pid=child, t=t + 0.001, th=0, s=0, x=f"{i}\\n")
        claim(ev="end", pid=child, t=t + 0.002, code=0, draws=0)
'''

SILENT_CHILDREN_LOUD_PARENT = '''import json, multiprocessing, os, time
import _grader_recorder as rec
def idle():
    time.sleep(0.2)
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=idle) for _ in range(4)]
    for p in ps:
        p.start()
    for i, p in enumerate(ps):  # the recorder's own functions, naming each real child as the writer
        saved = rec._pid
        rec._pid = p.pid
        rec._emit(rec._ev("w", th=0, s=0, x=f"{i + 1}\\n"))
        rec._emit(rec._ev("log", th=0, level="INFO", logger="root", dest="stdout", x=f"{i + 1}\\n"))
        rec._pid = saved
        os.write(1, f"{i + 1}\\n".encode())  # the parent prints the numbers itself
    for p in ps:
        p.join()
'''

LOG_FILE_CLAIMS = '''import multiprocessing, os, time
import _grader_recorder as rec
def claim(n):  # each child claims it logged its number to a file, but writes nothing itself
    rec._emit(rec._ev("log", th=0, level="INFO", logger="root", dest="numbers.log", x=f"number {n}\\n"))
    time.sleep(0.3)
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=claim, args=(n,)) for n in (1, 2, 3, 4)]
    for p in ps:
        p.start()
    with open("numbers.log", "w") as f:  # the parent writes what they claim
        f.write("".join(f"number {n}\\n" for n in (1, 2, 3, 4)))
    for p in ps:
        p.join()
'''

BUSY_WAIT = '''import multiprocessing
def show(n):
    print(n)
if __name__ == "__main__":
    for n in (11, 22, 33, 44):
        p = multiprocessing.Process(target=show, args=(n,))
        p.start()
        while p.is_alive():  # a "join" the recorder never sees, started one at a time
            pass
'''

SYSTEM_RANDOM = '''import multiprocessing, random
def show():
    print(random.SystemRandom().randint(1, 10**9))
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=show) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
'''

COUNTERS_OFF = '''import multiprocessing, random
import _grader_recorder as rec
def show():
    rec._emit = lambda *a, **k: None  # the recorder says nothing more about this process: no draws
    print(random.randint(1, 10**9))
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=show) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
'''

CRASHED_CHILDREN = '''import multiprocessing, os, sys
import _grader_recorder as rec
def show(n):
    rec._emit = lambda *a, **k: None  # no exception, no end event reaches the record
    print(n, flush=True)
    os._exit(3)  # and the child dies without doing its work properly
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=show, args=(n,)) for n in (11, 22, 33, 44)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
'''


# A real Pool that is never given a task; its workers (the initializer runs in each) write task
# records naming themselves, through each channel they can reach.
FORGE_HEAD = '''import json, multiprocessing, os, time
def square(x):
    return x * x
def claims(pid):
    pool = f"{os.getppid()}:1"  # the owner's first pool, as the recorder names it
    for n in range(1, 5):
        t = time.monotonic()
        yield {"ev": "task", "pid": pid, "t": t, "pool": pool, "n": n, "th": 0, "fn": "square", "args": f"({n},)"}
        yield {"ev": "task_end", "pid": pid, "t": t + 0.001, "n": n, "ok": True}
'''
FORGE_TAIL = '''
if __name__ == "__main__":
    pool = multiprocessing.Pool(2, initializer=forge)
    print([square(x) for x in range(10)])  # the work, done in the main process
    time.sleep(0.3)
    pool.close()
    pool.join()
'''
FORGED_TASKS = {
    "recorder": FORGE_HEAD + '''
def forge():
    import _grader_recorder as rec
    for ev in claims(rec._pid):
        rec._emit(json.dumps(ev) + "\\n")
''' + FORGE_TAIL,
    "event_file": FORGE_HEAD + '''
def forge():
    import _grader_recorder as rec
    fd = os.open(os.environ["GRADER_EVENTS"], os.O_WRONLY | os.O_APPEND)
    for ev in claims(rec._pid):
        os.write(fd, (json.dumps(ev) + "\\n").encode())
''' + FORGE_TAIL,
    # and then writes to a pipe, as a result would be sent: one of its own, not the pool's
    "own_pipe": FORGE_HEAD + '''
def forge():
    import _grader_recorder as rec
    r, w = os.pipe()
    for ev in claims(rec._pid):
        rec._emit(json.dumps(ev) + "\\n")
    os.write(w, b"result")
''' + FORGE_TAIL,
}


@pytest.mark.parametrize("channel", sorted(FORGED_TASKS))
def test_task_records_from_workers_of_a_pool_never_given_a_task_earn_nothing(channel: str) -> None:
    verdicts = grade_q6(FORGED_TASKS[channel], Q5, wall_time=10.0)
    assert verdicts["pool_used"] == "failed", verdicts
    assert verdicts["spawn_safe"] == "skipped", verdicts


HANGS_IN_A_TASK = '''import multiprocessing, time
def square(x):
    if x == 3:
        time.sleep(60)  # one task never returns
    return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.map(square, range(4), chunksize=1))
'''


def test_a_pool_whose_task_hangs_is_a_hang_and_still_a_pool() -> None:
    """Its stuck task never sends a result, but it is a task the pool ran: `pool_used` still
    passes, and its message says first that the program never finished (it earns the hang's share)."""
    pool_used = next(v for v in verdicts_of(HANGS_IN_A_TASK, Q5, wall_time=2.0) if v.check == "pool_used")
    assert pool_used.status is Status.PASSED, pool_used.message
    assert pool_used.message.startswith("The program never finished"), pool_used.message


REFERENCE_Q5 = (ROOT / "rubrics" / "multiprocessing" / "reference.py").read_text(encoding="utf-8")
REFERENCE_Q5 = "# Q5." + REFERENCE_Q5.split("# Q5.")[1].split("# %%")[0]


def test_the_reference_pool_keeps_every_point() -> None:
    verdicts = grade_q6(REFERENCE_Q5, Q5)
    assert passed(verdicts) == {c.id for c in Q5.checks}, verdicts


@pytest.mark.parametrize("source", [REFERENCE, START_ALL], ids=["reference", "start_all"])
def test_honest_answers_keep_every_point(source: str) -> None:
    verdicts = grade_q6(source)
    assert passed(verdicts) == ALL_CHECKS, verdicts


def test_appending_to_the_event_file_earns_nothing() -> None:
    verdicts = grade_q6(EVENTS_FILE)
    assert not passed(verdicts) & {"four_processes", "four_distinct_numbers", "one_number_per_process",
                                   "concurrent"}, verdicts


def test_calling_the_recorder_for_children_that_print_nothing_earns_no_numbers() -> None:
    verdicts = grade_q6(SILENT_CHILDREN_LOUD_PARENT)
    assert verdicts["four_processes"] == "passed"  # four real children did start
    assert verdicts["four_distinct_numbers"] == "failed" and verdicts["one_number_per_process"] == "failed", verdicts


def test_log_records_a_child_claims_but_never_wrote_earn_no_numbers() -> None:
    verdicts = grade_q6(LOG_FILE_CLAIMS)
    assert verdicts["four_processes"] == "passed"
    assert verdicts["four_distinct_numbers"] == "failed" and verdicts["one_number_per_process"] == "failed", verdicts


def test_busy_waiting_on_is_alive_is_not_concurrent() -> None:
    verdicts = grade_q6(BUSY_WAIT)
    assert verdicts["concurrent"] == "failed", verdicts
    assert verdicts["four_processes"] == "passed" and verdicts["one_number_per_process"] == "passed"


@pytest.mark.parametrize("source", [SYSTEM_RANDOM, COUNTERS_OFF], ids=["SystemRandom", "counters_off"])
def test_numbers_left_to_chance_are_not_given_to_each_process(source: str) -> None:
    verdicts = grade_q6(source)
    assert verdicts["one_number_per_process"] == "failed", verdicts


UNTRACED_CHILD = """import ctypes, multiprocessing, os

def show(n):
    print(n)

if __name__ == "__main__":
    ps = [multiprocessing.Process(target=show, args=(i,)) for i in range(3)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    # a fourth child the observer does not follow: raw clone(CLONE_UNTRACED | SIGCHLD), a fork
    pid = ctypes.CDLL(None).syscall(56, 0x00800000 | 17, 0, 0, 0, 0)
    if pid == 0:
        print(3, flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the raw clone() call is x86_64's")
def test_a_child_hidden_from_the_observer_makes_a_gap_a_ta_looks_at() -> None:
    """clone(CLONE_UNTRACED) makes a child strace does not follow: the kernel record would count
    three children where four ran, silently. The fork's result names a child the record does not
    have: a gap in both runs, so the behaviour checks fail, say why, and are a TA's to look at."""
    verdicts = {v.check: v for v in verdicts_of(UNTRACED_CHILD, Q6)}
    four = verdicts["four_processes"]
    assert four.status is Status.FAILED and "could not observe the whole run" in four.message, four
    assert "could not be paired" in four.message and four.needs_review


NESTED_PID_NAMESPACE = """import ctypes, multiprocessing, os

def show(n):
    print(n, flush=True)

if __name__ == "__main__":
    # a user namespace of its own (no privilege needed), and in it a PID namespace for its children
    print("unshare", ctypes.CDLL(None).unshare(0x10000000 | 0x20000000), flush=True)
    p = multiprocessing.Process(target=show, args=(1,))
    p.start()
    p.join()
"""


def test_children_in_a_pid_namespace_of_the_programs_own_make_a_gap() -> None:
    """A program that puts its children in a PID namespace of its own (unshare as any uid, through
    a user namespace): the pid its fork returns is not the one the child has in /proc's innermost
    namespace, so the record cannot pair them and says so, never miscounting in silence."""
    trace = run_program(NESTED_PID_NAMESPACE, limits=Limits(wall_time=10))
    if "unshare 0" not in trace.stdout.text:
        pytest.skip("this machine lets no user namespace be made here: " + trace.stdout.text[:80])
    assert not trace.observed
    assert any(i.kind == "observation_gap" and "could not be paired" in i.detail for i in trace.issues), trace.issues


def test_children_that_crash_silently_fail_runs() -> None:
    verdicts = grade_q6(CRASHED_CHILDREN)
    assert verdicts["runs"] == "failed", verdicts


def test_start_all_then_join_is_concurrent_every_time_under_load() -> None:
    """Program order, not scheduling: the verdict does not change with a CPU hog beside it."""
    import subprocess
    import sys

    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for _ in range(6):
            for method in ("fork", "spawn"):
                trace = run_program(START_ALL, limits=Limits(wall_time=10), start_method=method)
                ctx = CheckContext(Q6, Answer("Q6", [AnswerPart(0, PartKind.CODE, START_ALL)]), START_ALL,
                                   {"default": trace})
                v = concurrent(ctx, ConcurrentParams(n=4))
                assert v.status is Status.PASSED, (method, v.message, v.evidence)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


FLOOD = '''import json, os, sys
path = os.environ["GRADER_EVENTS"]
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
line = json.dumps({"ev": "w", "pid": os.getpid(), "t": 0.0, "th": 0, "s": 0, "x": "Process 1: 1\\n" * 20}) + "\\n"
block = (line * 200).encode()
try:
    for _ in range(5000):
        os.write(fd, block)
except OSError:
    pass
for i in range(20000):
    print(f"Process {i % 4}: {i}")
'''


def test_a_flood_of_fake_records_and_output_keeps_grading_bounded(tmp_path: Path) -> None:
    """Forged output records and many lines: the grader's time and memory after the run stay small."""
    submission = tmp_path / "flood.py"
    submission.write_text("# Q6 create 4 processes, each process should print a different number\n" + FLOOD)
    before = resource.getrusage(resource.RUSAGE_SELF)
    tracemalloc.start()
    start = time.process_time()
    result = grade_submission(str(submission), load_rubric(RUBRIC))
    cpu = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert result.error is None
    q6 = result.question("Q6")
    assert q6 is not None and q6.attempts
    trace = q6.attempts[0].traces["default"]
    assert len(trace.lines) <= 20_000 + 10
    assert len(json.dumps(trace.to_json())) < 16 << 20
    # generous bounds: the old line matching took a minute and 1.85 GB here
    assert peak < 400 << 20, f"peak {peak >> 20} MiB"
    assert cpu < 30, f"the grader spent {cpu:.1f} s of CPU"
    assert after.ru_maxrss - before.ru_maxrss < 600 * 1024


def test_an_error_while_grading_one_submission_becomes_its_row(tmp_path: Path) -> None:
    submission = tmp_path / "a.py"
    submission.write_text("# Q6 create 4 processes, each process should print a different number\n" + START_ALL)

    def broken_runner(*_args: object, **_kwargs: object) -> Trace:
        raise RuntimeError("the sandbox fell over")

    result = grade_submission(str(submission), load_rubric(RUBRIC), runner=broken_runner)
    assert result.error is not None and "the sandbox fell over" in result.error
    assert "Traceback" in result.error and result.score.error == result.error


_NOBODY_DRIVER = '''import json, sys
from grader.sandbox import Limits
from grader.sandbox.runner import run
source = sys.stdin.read()
print(json.dumps([run(source, python=sys.argv[1], start_method=m, limits=Limits(wall_time=10)).to_json()
                  for m in ("fork", "spawn") for _ in range(4)]))
'''


def test_start_all_then_join_is_concurrent_as_an_ordinary_user() -> None:
    """The same verdict without root (a TA's laptop): no uid of its own, no kernel process events."""
    import os
    import subprocess

    system_python = "/usr/bin/python3.11"
    if os.geteuid() != 0 or not os.access(system_python, os.X_OK):
        pytest.skip("needs root (to become nobody) and /usr/bin/python3.11")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp", "LANG": "C.UTF-8"}
    proc = subprocess.run([system_python, "-c", _NOBODY_DRIVER, system_python], input=START_ALL, capture_output=True,
                          text=True, env=env, cwd="/tmp", timeout=120, user=65534, group=65534, extra_groups=[],
                          check=False)
    assert proc.returncode == 0, proc.stderr
    for data in json.loads(proc.stdout):
        trace = Trace.from_json(data)
        assert trace.sandbox["user"] == "uid 65534 (the grader's user)"
        ctx = CheckContext(Q6, Answer("Q6", [AnswerPart(0, PartKind.CODE, START_ALL)]), START_ALL, {"default": trace})
        v = concurrent(ctx, ConcurrentParams(n=4))
        assert v.status is Status.PASSED, (v.message, v.evidence)

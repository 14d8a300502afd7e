"""Runs stop once their verdicts are decided, and runs that cannot change a verdict are not made."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.grade import Result, grade_submission
from grader.rubric import load_rubric
from tests.conftest import RUBRIC
from tests.sandbox.helpers import BLOCKED_ON_QUEUE as QUEUE_NOBODY_FILLS

pytestmark = pytest.mark.slow

SUBMISSION = """# Q3. Write a python code to create a process using the multiprocessing module.
import threading

def hello(n):
    print(n)

if __name__ == '__main__':
    t = threading.Thread(target=hello, args=(1,))
    t.start()
    t.join()

# Q5. How can we create a pool of worker processes in python using the multiprocessing module?
import multiprocessing

def square(x):
    return x * x

with multiprocessing.Pool(2) as pool:
    print(pool.map(square, [1, 2, 3]))

# Q6. Write a python program to create 4 processes, each process should print a different number
import multiprocessing

def quiet():
    pass

if __name__ == '__main__':
    ps = [multiprocessing.Process(target=quiet) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Result:
    path = tmp_path_factory.mktemp("decided") / "hw.py"
    path.write_text(SUBMISSION)
    result = grade_submission(str(path), load_rubric(RUBRIC))
    assert result.error is None
    return result


def checks(result: Result, qid: str) -> dict[str, tuple[str, str]]:
    q = result.question(qid)
    assert q is not None and q.graded is not None
    return {v.check: (v.status.value, v.message) for v in q.attempts[q.graded].verdicts}


def test_no_spawn_run_for_a_spawn_safe_that_is_skipped(graded: Result) -> None:
    q3 = graded.question("Q3")
    assert q3 is not None
    assert set(q3.attempts[0].traces) == {"default"}
    status = checks(graded, "Q3")
    assert status["process_created"][0] == "failed"
    assert status["spawn_safe"] == ("skipped", "Not checked, because it requires process_created failed.")


def test_a_spawn_run_stops_when_a_child_fails_to_start(graded: Result) -> None:
    q5 = graded.question("Q5")
    assert q5 is not None
    spawn = q5.attempts[0].traces["spawn"]
    limit = spawn.limits["wall_time"]
    # its Pool would replace failing workers until the time limit: it stopped at the first failure
    assert not spawn.timed_out and spawn.wall_time < limit - 1, (spawn.wall_time, limit)
    assert spawn.stopped is not None and "failed as it started" in spawn.stopped
    status, message = checks(graded, "Q5")["spawn_safe"]
    assert status == "failed"
    assert "Under spawn, a child process failed" in message and "An attempt has been made to start a new process" \
        in message
    # the same words whether the rule stopped the run or it ended by itself a moment before
    # (results.json must not depend on that race); the run's own record says it was stopped
    assert "stopped early" not in message
    assert checks(graded, "Q5")["pool_used"][0] == "passed"


def test_no_reseed_run_when_the_default_run_already_fails_it(graded: Result) -> None:
    q6 = graded.question("Q6")
    assert q6 is not None
    assert set(q6.attempts[0].traces) == {"default"}
    status, message = checks(graded, "Q6")["one_number_per_process"]
    assert status == "failed" and message.startswith("Each of the 4 processes should print its own")
    assert "No child process printed a number" in message
    assert checks(graded, "Q6")["four_processes"][0] == "passed"


def test_the_limit_says_where_it_came_from(graded: Result) -> None:
    q6 = graded.question("Q6")
    assert q6 is not None
    trace = q6.attempts[0].traces["default"]
    why = trace.limits_why["wall_time"]
    assert why.startswith(f"{trace.limits['wall_time']:g} s, auto: 5 × the reference solution's ")


DEADLOCK = ("# Q6. Write a python program to create 4 processes, each process should print a different number\n"
            + QUEUE_NOBODY_FILLS)
HANGS = DEADLOCK.replace("print(q.get())  # nobody ever puts anything", "while True:\n        time.sleep(0.05)")
HANGS = HANGS.replace("import multiprocessing", "import multiprocessing, time")


def test_a_run_that_can_never_finish_stops_as_a_timeout(tmp_path: Path) -> None:
    student = tmp_path / "deadlock.py"
    student.write_text(DEADLOCK)
    result = grade_submission(str(student), load_rubric(RUBRIC))
    q6 = result.question("Q6")
    assert q6 is not None
    trace = q6.attempts[0].traces["default"]
    if trace.sandbox.get("pid_namespace", "no") == "no":
        pytest.skip("needs a PID namespace of its own (bubblewrap)")
    assert trace.timed_out and trace.stopped is not None and trace.wall_time < trace.limits["wall_time"] - 1
    runs = next(v for v in q6.attempts[0].verdicts if v.check == "runs")
    assert runs.status.value == "timeout"
    assert "(The default run was stopped early: every process of the run was waiting (" in runs.message

AUTO_RUBRIC = """version: 1
id: tiny
title: Tiny
questions:
  - id: Q6
    text: Write a python program to create 4 processes, each process should print a different number.
    type: code
    limits:
      wall_time: {factor: 2, floor: 1 s, ceiling: 8 s}
    checks:
      - {id: runs, type: runs, points: 1}
      - {id: numbers, type: distinct_numbers, points: 1, params: {n: 6}}
"""

SLOW = """# Q6. Write a python program to create 4 processes, each process should print a different number
import multiprocessing, time

def num(n):
    print(n)

if __name__ == '__main__':
    for i in range(6):  # one after another: longer than the 1 s limit, a new process every 0.3 s
        p = multiprocessing.Process(target=num, args=(i,))
        p.start()
        time.sleep(0.3)
        p.join()
"""


def test_a_hang_costs_the_auto_limit_and_the_message_says_why(tmp_path: Path) -> None:
    """First use measures the reference solution and stores its time beside the rubric; a hang
    then costs the auto limit (here the 1 s floor), not the 8 s ceiling, while a slow program that
    keeps starting processes goes past it and passes (grader.sandbox.progress)."""
    from grader import reftimes

    rubric_path = tmp_path / "tiny.yaml"
    rubric_path.write_text(AUTO_RUBRIC)
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "expected.yaml").write_text("version: 1\nrubric: ../tiny.yaml\nreference: reference.py\n")
    (tmp_path / "tiny" / "reference.py").write_text("# Q6 create 4 processes, each process should print a "
                                                     "different number\nprint(4)\n")
    student = tmp_path / "hangs.py"
    student.write_text(HANGS)
    reftimes.forget()
    result = grade_submission(str(student), load_rubric(rubric_path))
    stored = reftimes.load(load_rubric(rubric_path))
    assert stored is not None and set(stored.seconds) == {"Q6"} and stored.seconds["Q6"] < 0.5
    assert (tmp_path / "tiny" / "reference-times.json").is_file()
    q6 = result.question("Q6")
    assert q6 is not None
    trace = q6.attempts[0].traces["default"]
    assert trace.timed_out and trace.limits["wall_time"] == 1.0 and trace.wall_time < 2.0
    verdict = result.score.questions[0].verdicts[0]
    assert verdict.status.value == "timeout"
    # (a sign of progress in its first fifth of a second, workers starting on a loaded machine, may
    # give it a moment more, never the ceiling; the message is the same either way)
    assert verdict.message.startswith("The program never finished: it was stopped at its time limit (1 s, or up to "
                                      "8 s while it still made progress).")
    assert verdict.message.endswith(f"(Its time limit: 1 s, auto: 2 × the reference solution's "
                                    f"{stored.seconds['Q6']:.2f} s = {2 * stored.seconds['Q6']:.2f} s, "
                                    "raised to the 1 s floor; 8 s: a run still making progress at 1 s goes on until "
                                    "it has made none for 0.8 s.)")
    slow = tmp_path / "slow.py"
    slow.write_text(SLOW)
    q6 = grade_submission(str(slow), load_rubric(rubric_path)).question("Q6")
    assert q6 is not None and q6.score.graded_score == q6.question.points, q6.score.verdicts
    trace = q6.attempts[0].traces["default"]
    assert trace.wall_time > 1.0 and not trace.timed_out and trace.wall_extended, trace.wall_time
    assert trace.wall_note is not None and "the run was still making progress" in trace.wall_note


SLEEPS = """# Q6. Write a python program to create 4 processes, each process should print a different number
import multiprocessing, time

def worker(n):
    time.sleep(2)
    print(n)

if __name__ == '__main__':
    ps = [multiprocessing.Process(target=worker, args=(i,)) for i in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
"""


def test_the_reseed_run_goes_beside_the_default_run(tmp_path: Path) -> None:
    """A program that sleeps costs its sleep once, not once per run: the runs are made side by side."""
    import time

    student = tmp_path / "sleeps.py"
    student.write_text(SLEEPS)
    start = time.monotonic()
    result = grade_submission(str(student), load_rubric(RUBRIC))
    elapsed = time.monotonic() - start
    q6 = result.question("Q6")
    assert q6 is not None and q6.score.graded_score == q6.question.points
    runs = q6.attempts[0].traces
    assert set(runs) == {"default", "reseed"} and all(t.wall_time >= 2.0 for t in runs.values())
    assert elapsed < sum(t.wall_time for t in runs.values()) - 1.0, (elapsed, [t.wall_time for t in runs.values()])


def test_a_question_waiting_for_its_slot_starts_no_run_beside_its_default_run(tmp_path: Path) -> None:
    """In a batch the other runs of a question start beside its default run only once that run has
    gone on for SPECULATE_AFTER (it sleeps or is stuck), not when the question has waited that long
    for a slot: they would go before the default run (their turn is urgent) and be made for nothing
    when it decides them."""
    import threading
    import time

    from grader import grade
    from grader.runslots import RunSlots
    from grader.sandbox import run_program

    started: list[str | None] = []

    def runner(*args: object, **kwargs: object) -> object:
        started.append(kwargs.get("start_method"))  # type: ignore[arg-type]
        return run_program(*args, **kwargs)  # type: ignore[arg-type]

    slots = RunSlots(1, free=lambda: 0)
    assert slots.acquire()  # another submission's run holds the only slot
    threading.Timer(3 * grade.SPECULATE_AFTER, slots.release).start()
    student = tmp_path / "threads.py"
    student.write_text(SUBMISSION.split("# Q5.")[0])  # Q3 with a thread: process_created fails, spawn_safe skipped
    t0 = time.monotonic()
    result = grade_submission(str(student), load_rubric(RUBRIC), runner=runner, slots=slots)
    assert time.monotonic() - t0 >= 3 * grade.SPECULATE_AFTER  # it waited for the slot
    q3 = result.question("Q3")
    assert q3 is not None and set(q3.attempts[0].traces) == {"default"}
    assert started[0] is None  # the default run first
    if q3.attempts[0].traces["default"].wall_time < grade.SPECULATE_AFTER - 0.1:
        assert started == [None]


def test_a_skipped_spawn_safe_costs_nothing(tmp_path: Path) -> None:
    """No spawn run is even started, unless the default run was still going when other runs may
    start beside it (SPECULATE_AFTER): then it is stopped as soon as the default run decides."""
    from grader import grade
    from grader.sandbox import run_program

    started: list[str | None] = []

    def runner(*args: object, **kwargs: object) -> object:
        started.append(kwargs.get("start_method"))  # type: ignore[arg-type]
        return run_program(*args, **kwargs)  # type: ignore[arg-type]

    student = tmp_path / "threads.py"
    student.write_text(SUBMISSION.split("# Q5.")[0])  # Q3 with a thread: process_created fails
    result = grade_submission(str(student), load_rubric(RUBRIC), runner=runner)
    q3 = result.question("Q3")
    assert q3 is not None and set(q3.attempts[0].traces) == {"default"}
    default = q3.attempts[0].traces["default"]
    assert started.count(None) == 1
    if default.wall_time < grade.SPECULATE_AFTER - 0.1:
        assert started == [None]


def test_a_batch_s_runs_say_how_long_their_program_sleeps(tmp_path: Path) -> None:
    """Each run of a batch asks its slot with the sleep its code asks for (grader.waits), so the batch
    starts it before the runs that do not sleep (grader.runslots)."""
    from grader.runslots import RunSlots
    from grader.sandbox import run_program

    asked: list[float] = []

    class Recording(RunSlots):
        def acquire(self, abandon: object = None, idle_only: bool = False, urgent: bool = False,
                    expect: float = 0.0) -> bool:
            asked.append(expect)
            return super().acquire(abandon, idle_only, urgent, expect)  # type: ignore[arg-type]

    def runner(source: str, **kwargs: object) -> object:
        return run_program("pass\n", **kwargs)  # type: ignore[arg-type]  # what it runs does not matter here

    student = tmp_path / "sleeps.py"
    student.write_text(SLEEPS)
    grade_submission(str(student), load_rubric(RUBRIC), runner=runner, slots=Recording(1))
    assert asked and all(e == 2.0 for e in asked), asked

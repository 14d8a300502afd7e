"""Why a run failed, as the student reads it: the exception from the kernel-attributed stderr,
hangs said first and capped, the exception before a check's own detail, rounding of partial credit."""

from __future__ import annotations

from dataclasses import replace

from grader.answers import Answer, AnswerPart, PartKind
from grader.checks import CheckContext, Status, run_checks
from grader.checks.behaviour import pool_used, runs
from grader.checks.failure import first_paragraph, last_traceback, line_of, reason
from grader.checks.params import PoolUsedParams, RunsParams
from grader.rubric import load_rubric
from grader.rubric.model import Question, Scoring
from grader.trace import ExceptionInfo, Line, Pool, Process, Trace
from tests.conftest import RUBRIC

MAIN, CHILD = 10001, 10003
EXACT = {"observer": "strace"}

# What Python 3.11 prints in a spawn child of a program that starts a Process unguarded (shortened frames).
BOOTSTRAP = [
    "Traceback (most recent call last):",
    '  File "<string>", line 1, in <module>',
    '  File "/usr/lib/python3.11/multiprocessing/spawn.py", line 122, in spawn_main',
    "    exitcode = _main(fd, parent_sentinel)",
    "               ^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/tmp/grader-sandbox-0/run-1/work/answer.py", line 9, in <module>',
    "    p.start()",
    '  File "/usr/lib/python3.11/multiprocessing/spawn.py", line 140, in _check_not_importing_main',
    "    raise RuntimeError('''",
    "RuntimeError: ",
    "        An attempt has been made to start a new process before the",
    "        current process has finished its bootstrapping phase.",
    "",
    "        This probably means that you are not using fork to start your",
    "        child processes and you have forgotten to use the proper idiom",
    "        in the main module:",
]
CLAIMED = "\n        An attempt has been made to start a new process before the\n        current process ..."


def stderr(pid: int, lines: list[str]) -> tuple[Line, ...]:
    return tuple(Line(pid=pid, stream="stderr", text=t) for t in lines)


def procs(*, child_exit: int = 0, survived: bool = False) -> tuple[Process, ...]:
    return (Process(pid=MAIN, kind="main", claimed=True, observed=True, exit_code=0, start=0.0, end=1.0),
            Process(pid=CHILD, ppid=MAIN, started_by=MAIN, kind="process", claimed=True, observed=True,
                    exit_code=None if survived else child_exit, survived=survived, start=0.1, created=0.1,
                    end=None if survived else 0.5, name="Process-1", target="hello"))


def run_trace(**kw: object) -> Trace:
    base: dict[str, object] = {"exit_code": 0, "sandbox": EXACT, "limits": {"wall_time": 2.0}}
    base.update(kw)
    return Trace(**base)  # type: ignore[arg-type]


def question(qid: str, scoring: Scoring | None = None) -> Question:
    q = load_rubric(RUBRIC).question(qid)
    return replace(q, scoring=scoring) if scoring is not None else q


GUARDED = "import multiprocessing\nif __name__ == '__main__':\n    p = multiprocessing.Process(target=print)\n" \
          "    p.start()\n    p.join()\n"


def ctx(q: Question, **traces: Trace) -> CheckContext:
    return CheckContext(q, Answer(q.id, [AnswerPart(0, PartKind.CODE, GUARDED)]), GUARDED, traces)


# -- the reason of an exception ---------------------------------------------------------------------

def test_the_bootstrapping_error_is_read_from_the_stderr_the_kernel_saw() -> None:
    exc = ExceptionInfo(pid=CHILD, where="startup", type="RuntimeError", message=CLAIMED)
    t = run_trace(processes=procs(child_exit=1), exceptions=(exc,), lines=stderr(CHILD, BOOTSTRAP))
    why = reason(t, exc)
    assert (why.type, why.source) == ("RuntimeError", "stderr")
    assert why.text == ("An attempt has been made to start a new process before the current process has finished "
                        "its bootstrapping phase.")
    assert line_of(t, exc) == 9


def test_a_forged_claim_does_not_replace_what_the_process_printed() -> None:
    exc = ExceptionInfo(pid=CHILD, where="startup", type="RuntimeError", message="all is fine, full marks please")
    t = run_trace(processes=procs(child_exit=1), exceptions=(exc,), lines=stderr(CHILD, BOOTSTRAP))
    assert "bootstrapping phase" in str(reason(t, exc)) and "full marks" not in str(reason(t, exc))


def test_lines_another_process_wrote_are_not_its_reason() -> None:
    exc = ExceptionInfo(pid=CHILD, where="startup", type="RuntimeError", message="")
    t = run_trace(processes=procs(child_exit=1), exceptions=(exc,),
                  lines=stderr(MAIN, ["Traceback (most recent call last):", "ValueError: the parent's"]))
    assert str(reason(t, exc)) == "RuntimeError"  # nothing of its own to say, and not the parent's words


def test_an_empty_message_falls_back_to_the_last_meaningful_stderr_lines() -> None:
    exc = ExceptionInfo(pid=CHILD, where="process", type="RuntimeError", message="\n   \n")
    t = run_trace(processes=procs(child_exit=1), exceptions=(exc,),
                  lines=stderr(CHILD, ["warming up", "  File \"x\", line 3", "    ^^^^", "cannot reach the queue"]))
    why = reason(t, exc)
    assert why.source == "stderr-tail" and why.text == "warming up cannot reach the queue"


def test_last_traceback_takes_the_final_chained_exception_and_its_whole_message() -> None:
    lines = ["Traceback (most recent call last):", '  File "a.py", line 1, in <module>', "KeyError: 'x'", "",
             "During handling of the above exception, another exception occurred:", "",
             "Traceback (most recent call last):", '  File "a.py", line 3, in <module>',
             "ValueError: first line", "second line"]
    assert last_traceback(lines) == ("ValueError", " first line\nsecond line")
    assert last_traceback(["no traceback here"]) is None
    assert first_paragraph("x" * 400).endswith("…") and len(first_paragraph("x" * 400)) == 300


def test_runs_shows_the_reason_not_an_empty_text() -> None:
    exc = ExceptionInfo(pid=CHILD, where="startup", type="RuntimeError", message=CLAIMED)
    t = run_trace(processes=procs(child_exit=1), exceptions=(exc,), lines=stderr(CHILD, BOOTSTRAP))
    v = runs(ctx(question("Q6"), default=t), RunsParams())
    assert "RuntimeError: An attempt has been made to start a new process" in v.message
    assert "RuntimeError: ." not in v.message and v.evidence["line"] == 9


def test_runs_says_what_a_failing_main_process_printed() -> None:
    t = run_trace(exit_code=2, processes=procs(), lines=stderr(MAIN, ["usage: answer.py N", "error: N is missing"]))
    assert runs(ctx(question("Q6"), default=t), RunsParams()).message == \
        "The program exited with status 2; it said: usage: answer.py N error: N is missing."


def test_spawn_safe_shows_the_bootstrapping_error_and_the_guard() -> None:
    exc = ExceptionInfo(pid=CHILD, where="startup", type="RuntimeError", message=CLAIMED)
    spawned = run_trace(processes=procs(child_exit=1), exceptions=(exc,), lines=stderr(CHILD, BOOTSTRAP))
    fine = run_trace(processes=procs())
    (v,) = [v for v in run_checks(question("Q3"), ctx(question("Q3"), default=fine, spawn=spawned))
            if v.check == "spawn_safe"]
    assert v.status is Status.FAILED
    assert "a child process failed as it started: RuntimeError: An attempt has been made to start a new process " \
           "before the current process has finished its bootstrapping phase. Put the code" in v.message
    assert "RuntimeError: ." not in v.message


# -- hangs ---------------------------------------------------------------------------------------------

def hung() -> Trace:
    return run_trace(exit_code=None, signal="SIGKILL", timed_out=True, limit="wall", processes=procs(survived=True),
                     lines=(Line(pid=CHILD, stream="stdout", text="child waiting"),))


def test_a_hang_is_said_first_and_earns_half_by_default() -> None:
    q = question("Q3")
    process, guard, spawn = run_checks(q, ctx(q, default=hung(), spawn=hung()))
    assert process.status is Status.PASSED and process.points == 5 and process.max_points == 10  # partial
    assert process.message.startswith("The program never finished: it was stopped after 2 s, so this check earns "
                                      "half of its points at most. Before it was stopped: Your program starts")
    assert process.evidence["hung"] is True and process.evidence["fraction_before_hang"] == 1.0
    assert guard.status is Status.PASSED  # the guard is there, hang or not (static)
    # spawn_safe ran (its requirement passed, in part) but does not blame spawn for the hang
    assert spawn.status is Status.FAILED and spawn.points == 0
    assert spawn.message.startswith("The program never finished") and "default start method either" in spawn.message
    assert "It does not work with the spawn start method" not in spawn.message  # the rubric's fail text is left out


def test_a_hang_under_a_limit_that_could_be_extended_names_both_limits_either_way() -> None:
    """Whether the run went past its limit (it made progress then) or not, the words are the same:
    that is timing, and results.json must not depend on it. The run's record says which it was."""
    from grader.checks.failure import hang_sentence

    limits = {"wall_time": 5.0, "wall_time_max": 20.0, "progress_window": 4.0}
    cut = replace(hung(), limits=limits)
    words = {hang_sentence(replace(cut, wall_extended=extended, wall_time=t)) for extended, t in ((False, 5.0),
                                                                                                (True, 13.2))}
    assert words == {"The program never finished: it was stopped at its time limit (5 s, or up to 20 s while it "
                     "still made progress)."}


def test_hang_credit_comes_from_the_rubric() -> None:
    q = question("Q6", Scoring(round_to=0.5, hang_credit=0.0))
    verdicts = {v.check: v for v in run_checks(q, ctx(q, default=hung(), reseed=hung()))}
    assert verdicts["runs"].status is Status.TIMEOUT
    assert verdicts["runs"].message.startswith("The program never finished")
    assert all(v.points == 0 for k, v in verdicts.items() if k != "main_guard")
    q = question("Q3", Scoring(round_to=0.5, hang_credit=0.0))
    process = run_checks(q, ctx(q, default=hung(), spawn=hung()))[0]
    assert process.points == 0 and "so this check earns nothing" in process.message


def test_a_check_that_depends_on_a_failed_one_in_a_hung_run_says_the_program_never_finished() -> None:
    q = question("Q3")
    stalled = replace(hung(), processes=procs(survived=True)[:1])  # it hung before starting any process
    process, _, spawn = run_checks(q, ctx(q, default=stalled, spawn=stalled))
    assert process.status is Status.FAILED and process.message.startswith("The program never finished")
    assert spawn.status is Status.SKIPPED
    assert spawn.message == "Not checked, because the program never finished (it requires process_created failed)."


def test_spawn_safe_does_not_blame_spawn_for_an_exception_the_default_run_has_too() -> None:
    exc = ExceptionInfo(pid=MAIN, where="main", type="NameError", message="name 'squre' is not defined")
    lines = stderr(MAIN, ["Traceback (most recent call last):", '  File "/w/answer.py", line 7, in <module>',
                          "NameError: name 'squre' is not defined"])
    failing = run_trace(exit_code=1, processes=procs(), exceptions=(exc,), lines=lines)
    q = question("Q3")
    q = replace(q, checks=tuple(replace(c, requires=()) for c in q.checks))
    (v,) = [v for v in run_checks(q, ctx(q, default=failing, spawn=failing)) if v.check == "spawn_safe"]
    assert v.message.startswith("It does not complete with the default start method either")
    assert "NameError: name 'squre' is not defined" in v.message


# -- an exception before a check's own detail ----------------------------------------------------------

def test_an_exception_in_a_pool_answer_comes_before_no_task() -> None:
    exc = ExceptionInfo(pid=MAIN, where="main", type="NameError", message="name 'squre' is not defined")
    lines = stderr(MAIN, ["Traceback (most recent call last):", '  File "/w/answer.py", line 11, in <module>',
                          "    print(pool.map(squre, [1, 2, 3]))", "                   ^^^^^",
                          "NameError: name 'squre' is not defined. Did you mean: 'square'?"])
    t = run_trace(exit_code=1, processes=procs()[:1], exceptions=(exc,), lines=lines,
                  pools=(Pool(id="p1", kind="Pool", pid=MAIN, size=2),))
    q = question("Q5")
    pool, _, spawn = run_checks(q, ctx(q, default=t, spawn=t))
    assert pool.message.startswith("An uncaught exception in the main process (line 11): NameError: name 'squre' "
                                   "is not defined. Did you mean: 'square'?")
    assert "no task was given" not in pool.message and pool.evidence["line"] == 11
    assert pool_used(ctx(q, default=t), PoolUsedParams()).message == \
        "A Pool was created, but the program stopped before any task ran in it."
    assert spawn.status is Status.SKIPPED


# -- rounding -------------------------------------------------------------------------------------------

def test_partial_credit_is_rounded_to_half_points_by_default() -> None:
    q = question("Q1")
    # 2 of 5 concepts at full_credit_at 0.8: 0.5 of 10 points; 3 of 5: 0.75 -> 7.5; 4 of 5: full
    cases = {"Multiprocessing runs separate processes.": 0.0,
             "Multiprocessing runs separate processes in parallel, on the same machine, which helps a lot.": 5.0,
             "Multiprocessing runs separate processes in parallel on several cores of the machine, it helps.": 7.5}
    for text, points in cases.items():
        c = CheckContext(q, Answer("Q1", [AnswerPart(0, PartKind.PROSE, text)]), None, {})
        (_, concepts) = run_checks(q, c)
        assert concepts.points == points, (text, concepts.points, concepts.fraction)
        assert (concepts.points * 2) == int(concepts.points * 2)


def test_rounding_is_halves_up_never_to_full_on_a_failure_and_can_be_switched_off() -> None:
    from grader.checks.runner import _rounded
    from grader.checks.verdict import Verdict

    def points(fraction: float, passed: bool, step: float = 0.5, most: float = 10) -> float:
        v = Verdict.partial(fraction, "x", passed=passed).stamped("c", most)
        return _rounded(v, Scoring(round_to=step)).points

    assert points(0.8333, True) == 8.5 and points(0.825, True) == 8.5 and points(0.82, True) == 8.0
    assert points(0.98, False) == 9.5 and points(0.98, True) == 10 and points(0.97, True) == 9.5
    assert points(0.8333, True, step=0) == 8.33 and points(0.8333, True, step=1) == 8
    assert points(1 / 3, True, most=3) == 1.0


def test_a_child_that_crashed_says_what_it_printed() -> None:
    lines = stderr(CHILD, ["Process Process-1:", "Traceback (most recent call last):",
                           '  File "/w/answer.py", line 4, in work', "ZeroDivisionError: division by zero"])
    t = run_trace(processes=procs(child_exit=1), lines=lines)
    v = runs(ctx(question("Q6"), default=t), RunsParams())
    assert v.message == ("A child process exited with status 1: it did not complete its work. "
                         "It said: ZeroDivisionError: division by zero.")

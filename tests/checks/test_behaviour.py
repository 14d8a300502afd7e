"""Behaviour checks on hand-made Traces: each shape of run the examples and the corpus produce."""

from __future__ import annotations

from typing import Any

import pytest

from grader.answers import Answer, AnswerPart, PartKind
from grader.checks import CheckContext, Status, Verdict
from grader.checks.behaviour import (
    concurrent,
    pool_used,
    process_created,
    runs,
    spawn_safe,
)
from grader.checks.numbers import (
    distinct_numbers,
    numbers_in,
    one_number_per_process,
)
from grader.checks.params import (
    ConcurrentParams,
    DistinctNumbersParams,
    OneNumberPerProcessParams,
    PoolUsedParams,
    ProcessCreatedParams,
    RunsParams,
    SpawnSafeParams,
)
from grader.rubric import load_rubric
from grader.trace import ExceptionInfo, Issue, Line, Pool, Process, Task, Thread, Trace
from tests.conftest import RUBRIC

MAIN = 100
EXACT = {"observer": "strace"}


def main(**kw: Any) -> Process:
    return Process(pid=MAIN, ppid=1, kind="main", start=0.0, end=kw.pop("end", 1.0), claimed=True, observed=True,
                   exit_code=0, **kw)


def child(pid: int, start: float, end: float | None, kind: str = "process", **kw: Any) -> Process:
    """A child the kernel saw created at `start`; by default its parent joined it at the end of the run."""
    defaults: dict[str, Any] = {"ppid": MAIN, "started_by": MAIN, "name": f"Process-{pid - 200}",
                                "target": "work", "claimed": True, "observed": True, "exit_code": 0,
                                "created": start, "awaited": 0.9}
    defaults.update(kw)
    return Process(pid=pid, kind=kind, start=start, end=end, **defaults)


def trace(*procs: Process, **kw: Any) -> Trace:
    kw.setdefault("exit_code", 0)
    kw.setdefault("sandbox", EXACT)
    kw.setdefault("limits", {"wall_time": 10})
    return Trace(processes=(main(), *procs), **kw)


def ctx(t: Trace, spawn: Trace | None = None, question: str = "Q6") -> CheckContext:
    q = load_rubric(RUBRIC).question(question)
    traces = {"default": t}
    if spawn is not None:
        traces["spawn"] = spawn
    return CheckContext(q, Answer(question, [AnswerPart(0, PartKind.CODE, "pass")]), "pass", traces)


def out(pid: int | None, text: str, stream: str = "stdout") -> Line:
    return Line(pid=pid, stream=stream, text=text)


def four_printers(numbers: list[int], *, kind: str = "process", overlap: bool = True, **kw: Any) -> Trace:
    """Four children printing; `overlap=False`: each joined (awaited) before the next was started."""
    procs = [child(201 + i, 0.1 + (0 if overlap else i * 0.2), 0.5 + (0 if overlap else i * 0.2 - 0.35), kind=kind,
                   args=f"({numbers[i]},)", **({} if overlap else {"awaited": 0.12 + i * 0.2}) | kw)
             for i in range(4)]
    lines = [out(201 + i, f"Process {numbers[i]}: {numbers[i]}") for i in range(4)]
    return trace(*procs, lines=tuple(lines))


# -- runs --------------------------------------------------------------------------------------------

def test_runs_passes_on_a_clean_exit() -> None:
    assert runs(ctx(trace()), RunsParams()).status is Status.PASSED


def test_runs_reports_a_timeout_with_what_was_still_running() -> None:
    t = trace(child(201, 0.1, None, survived=True), timed_out=True, limit="wall", exit_code=None, signal="SIGKILL")
    v = runs(ctx(t), RunsParams())
    assert v.status is Status.TIMEOUT
    assert v.message.startswith("The program never finished") and "1 of its processes was still running" in v.message
    assert v.evidence["still_running"][0]["pid"] == 201


@pytest.mark.parametrize(("where", "said"), [("main", "the main process"), ("process", "a child process"),
                                             ("task", "a pool task")])
def test_runs_fails_on_an_uncaught_exception_anywhere(where: str, said: str) -> None:
    t = trace(exceptions=(ExceptionInfo(pid=201, where=where, type="ValueError", message="bad"),))
    v = runs(ctx(t), RunsParams())
    assert v.status is Status.FAILED and said in v.message and "ValueError: bad" in v.message


def test_runs_names_a_syntax_error_and_other_limits() -> None:
    t = trace(exit_code=1, exceptions=(ExceptionInfo(pid=MAIN, where="main", type="SyntaxError", message="oops"),))
    assert "does not compile" in runs(ctx(t), RunsParams()).message
    assert "memory limit" in runs(ctx(trace(limit="memory", exit_code=None)), RunsParams()).message
    assert "status 3" in runs(ctx(trace(exit_code=3)), RunsParams()).message


# -- process_created ------------------------------------------------------------------------------

def test_no_process_is_seed_001_q3() -> None:
    v = process_created(ctx(trace(), question="Q3"), ProcessCreatedParams(n=1))
    assert v.status is Status.FAILED and v.message.startswith("No child process")


def test_pool_workers_count_unless_the_process_class_is_required() -> None:
    t = four_printers([1, 2, 3, 4], kind="pool_worker")
    assert process_created(ctx(t), ProcessCreatedParams(n=4)).status is Status.PASSED
    v = process_created(ctx(t), ProcessCreatedParams(n=4, process_class=True))
    assert v.status is Status.FAILED and "pool workers do not count" in v.message


def test_a_pool_worker_ended_before_it_ever_ran_was_started_all_the_same() -> None:
    # Under a CPU hog a Pool(4) whose three other workers took every task terminates the fourth
    # before the kernel ran it: it never recorded itself, and the count must not depend on that.
    workers = [child(201 + i, 0.1, 0.5, kind="pool_worker", target=None) for i in range(3)]
    idle = child(204, 0.1, 0.15, kind="pool_worker", target=None, claimed=False, exit_code=None, signal="SIGTERM")
    t = trace(*workers, idle)
    v = process_created(ctx(t), ProcessCreatedParams(n=4))
    assert v.status is Status.PASSED and v.evidence["pool_workers_ended_before_they_ran"] == [204]
    assert concurrent(ctx(t), ConcurrentParams(n=4)).status is Status.PASSED
    # a multiprocessing.Process counts only once its own code ran
    unran = child(204, 0.1, 0.15, claimed=False, exit_code=None, signal="SIGTERM")
    v = process_created(ctx(trace(*workers[:3], unran)), ProcessCreatedParams(n=4))
    assert v.status is Status.FAILED and v.message.startswith("Only 3 child process(es) were started")
    assert process_created(ctx(trace(unran)), ProcessCreatedParams(n=1, process_class=True)).status is Status.FAILED

def test_threads_instead_of_processes_are_named() -> None:
    t = trace(threads=(Thread(pid=MAIN, number=1, name="Thread-1", target="work"),))
    v = process_created(ctx(t), ProcessCreatedParams(n=1))
    assert "starts 1 thread(s) instead" in v.message


def test_a_claim_the_kernel_never_saw_does_not_count() -> None:
    forged = child(201, 0.1, 0.2, observed=False)
    assert process_created(ctx(trace(forged)), ProcessCreatedParams(n=1)).status is Status.FAILED


def test_an_observation_gap_never_turns_into_trust() -> None:
    t = trace(child(201, 0.1, 0.2), child(202, 0.1, 0.2), observed=False,
              issues=(Issue("observation_gap", "the observer (strace) had to be killed"),))
    for check, params in [(process_created, ProcessCreatedParams(n=1)), (runs, RunsParams()),
                          (concurrent, ConcurrentParams(n=2))]:
        v = check(ctx(t), params)  # type: ignore[operator]
        assert v.status is Status.FAILED and "could not observe the whole run" in v.message
        assert "had to be killed" in v.message
        assert v.needs_review and "not observed whole" in (v.review_reason or "")  # a TA looks, not a silent 0


def test_a_child_that_crashed_fails_runs_even_without_a_recorded_exception() -> None:
    for how in ({"exit_code": 1}, {"exit_code": None, "signal": "SIGSEGV"}):
        v = runs(ctx(trace(child(201, 0.1, 0.2, **how))), RunsParams())
        assert v.status is Status.FAILED and "child process" in v.message
    terminated = child(201, 0.1, 0.2, kind="pool_worker", exit_code=None, signal="SIGTERM")
    assert runs(ctx(trace(terminated)), RunsParams()).status is Status.PASSED


def test_a_child_ended_by_the_runs_memory_limit_is_named_so() -> None:
    oom = child(201, 0.1, 0.2, exit_code=None, signal="SIGKILL", limit="memory")
    v = runs(ctx(trace(oom, limits_hit=("memory",))), RunsParams())
    assert "together exceeded their memory limit" in v.message
    # its own limit (RLIMIT_DATA) gives a MemoryError and an exit status, not the OOM killer's SIGKILL
    own = child(201, 0.1, 0.2, exit_code=1, limit="memory")
    v = runs(ctx(trace(own, limits_hit=("memory",))), RunsParams())
    assert "exited with status 1" in v.message and "together" not in v.message


def test_a_child_that_died_before_its_target_does_not_count() -> None:
    t = trace(child(201, 0.1, 0.2, kind="spawn", exit_code=1))
    assert process_created(ctx(t), ProcessCreatedParams(n=1)).status is Status.FAILED


# -- pool_used ----------------------------------------------------------------------------------------

def pool_trace(kind: str = "Pool", in_workers: bool = True, result_seen: bool = True) -> Trace:
    workers = [child(201 + i, 0.05, 0.4, kind="pool_worker" if kind == "Pool" else "executor_worker",
                     name=f"ForkPoolWorker-{i + 1}", target="worker") for i in range(2)]
    tasks = tuple(Task(pool="p1", function="cube", args=f"({n},)", pid=(201 + n % 2) if in_workers else MAIN, ok=True,
                       result_seen=result_seen, sent_seen=True)
                  for n in range(4))
    pool = Pool(id="p1", kind=kind, pid=MAIN, size=2, workers=(201, 202), tasks=tasks)
    return trace(*workers, pools=(pool,))


def test_pool_tasks_ran_in_workers() -> None:
    v = pool_used(ctx(pool_trace(), question="Q5"), PoolUsedParams())
    assert v.status is Status.PASSED and "4 task(s) in its worker processes" in v.message
    assert v.evidence["worker_pids_used"] == [201, 202]


def test_task_claims_with_no_result_sent_back_do_not_count() -> None:
    """Claims a worker wrote with no result going back to the pool's owner after them (a real Pool
    that was never given a task, its workers writing task records): not tasks that ran."""
    v = pool_used(ctx(pool_trace(result_seen=False), question="Q5"), PoolUsedParams())
    assert v.status is Status.FAILED and "0 task(s) ran" in v.message and "4 more were recorded" in v.message
    assert len(v.evidence["tasks_not_seen_from_outside"]) == 4


def hung_pool(*, survived: bool = True, sent_seen: bool = True, timed_out: bool = True) -> Trace:
    """One task finished and sent its result; the other was still running in its worker when the
    run was stopped at its time limit."""
    workers = [child(201, 0.05, None if survived else 0.4, kind="pool_worker", survived=survived, exit_code=None),
               child(202, 0.05, 0.4, kind="pool_worker")]
    tasks = (Task(pool="p1", function="f", args="(1,)", pid=202, ok=True, result_seen=True, sent_seen=True),
             Task(pool="p1", function="f", args="(2,)", pid=201, ok=None, sent_seen=sent_seen))
    pool = Pool(id="p1", kind="Pool", pid=MAIN, size=2, workers=(201, 202), tasks=tasks)
    return trace(*workers, pools=(pool,), timed_out=timed_out, exit_code=None)


def test_a_task_still_running_when_the_run_hung_counts_as_a_task() -> None:
    """It never sends a result: it counts if work had been sent to the pool before it began and
    its worker was still alive when the run was stopped. The hang is the hang's business."""
    assert pool_used(ctx(hung_pool(), question="Q5"), PoolUsedParams(min_tasks=2)).status is Status.PASSED
    for shape in (hung_pool(survived=False), hung_pool(sent_seen=False), hung_pool(timed_out=False)):
        v = pool_used(ctx(shape, question="Q5"), PoolUsedParams(min_tasks=2))
        assert v.status is Status.FAILED and "1 task(s) ran" in v.message, v.message


def test_executor_counts_only_when_allowed() -> None:
    t = pool_trace("ProcessPoolExecutor")
    assert pool_used(ctx(t, question="Q5"), PoolUsedParams()).status is Status.PASSED
    assert pool_used(ctx(t, question="Q5"), PoolUsedParams(executor=False)).status is Status.FAILED


def test_thread_pool_and_idle_pool_fail_with_reasons() -> None:
    tp = trace(pools=(Pool(id="t", kind="ThreadPool", pid=MAIN, size=4),))
    assert "threads in one process" in pool_used(ctx(tp, question="Q5"), PoolUsedParams()).message
    idle = trace(pools=(Pool(id="p", kind="Pool", pid=MAIN, size=4),))
    assert "no task was given" in pool_used(ctx(idle, question="Q5"), PoolUsedParams()).message


# -- concurrent ---------------------------------------------------------------------------------------

def test_four_at_once_is_concurrent() -> None:
    assert concurrent(ctx(four_printers([1, 2, 3, 4])), ConcurrentParams(n=4)).status is Status.PASSED


def test_start_join_one_by_one_is_seed_004() -> None:
    v = concurrent(ctx(four_printers([1, 2, 3, 4], overlap=False)), ConcurrentParams(n=4))
    assert v.status is Status.FAILED and "one after another" in v.message


def test_brief_children_started_together_are_concurrent_by_design() -> None:
    """Seed 003: each child logs a line and exits before the fourth starts (multiprocessing even reaps
    it in the next start()); all were created before the program waited for any."""
    procs = [child(201 + i, 0.010 + i * 0.002, 0.0135 + i * 0.002, awaited=0.02 + i * 0.001) for i in range(4)]
    v = concurrent(ctx(trace(*procs)), ConcurrentParams(n=4))
    assert v.status is Status.PASSED and "before the program waited" in v.message
    sequential = [child(201 + i, 0.010 + i * 0.01, 0.015 + i * 0.01, awaited=0.011 + i * 0.01) for i in range(4)]
    assert concurrent(ctx(trace(*sequential)), ConcurrentParams(n=4)).status is Status.FAILED
    # far apart in time, but never waited for before the next start: concurrent by program order
    spaced = [child(201 + i, 0.1 + i * 0.5, 0.11 + i * 0.5, awaited=3.0) for i in range(4)]
    assert concurrent(ctx(trace(*spaced)), ConcurrentParams(n=4)).status is Status.PASSED


def test_busy_waiting_on_is_alive_is_not_concurrent() -> None:
    """Polling is_alive() until the child ended, then starting the next: awaited before the next start."""
    polled = [child(201 + i, 0.1 + i * 0.1, 0.15 + i * 0.1, awaited=0.1001 + i * 0.1) for i in range(4)]
    v = concurrent(ctx(trace(*polled)), ConcurrentParams(n=4))
    assert v.status is Status.FAILED and "one after another" in v.message


def test_a_process_still_alive_at_the_end_counts_until_then() -> None:
    t = trace(child(201, 0.1, None, awaited=None), child(202, 0.5, 0.9), wall_time=2.0)
    assert concurrent(ctx(t), ConcurrentParams(n=2)).status is Status.PASSED


# -- numbers ------------------------------------------------------------------------------------------

def test_numbers_skip_pids_and_process_name_counters() -> None:
    line = "Process <Process name='Process-20' parent=1441 started> ForkPoolWorker-3 got 7 and -2.5"
    assert numbers_in(line, {1441}) == [7.0, -2.5]
    assert numbers_in("worker1 says 12", set()) == [12.0]


def test_distinct_numbers_from_children_only() -> None:
    t = four_printers([1, 2, 3, 4])
    assert distinct_numbers(ctx(t), DistinctNumbersParams(n=4)).status is Status.PASSED
    parent_only = trace(child(201, 0.1, 0.2), lines=tuple(out(MAIN, str(n)) for n in range(4)))
    v = distinct_numbers(ctx(parent_only), DistinctNumbersParams(n=4))
    assert v.status is Status.FAILED and "printed by the main process" in v.message


def test_pids_printed_by_children_are_not_numbers() -> None:
    procs = [child(201 + i, 0.1, 0.5) for i in range(4)]
    lines = [out(201 + i, f"ID of process running worker{i + 1}: {201 + i}") for i in range(4)]
    t = trace(*procs, lines=tuple(lines))
    assert distinct_numbers(ctx(t), DistinctNumbersParams(n=4)).status is Status.FAILED


def test_small_namespace_pids_of_other_processes_are_numbers() -> None:
    """In a PID namespace (an ordinary user's) pids are 2, 3, 4...: numbers printed by a worker are
    data even when each equals another process's pid; only its own pid and its parent's are not."""
    main_proc = Process(pid=2, ppid=1, kind="main", start=0.0, end=1.0, claimed=True, observed=True, exit_code=0)
    procs = [child(3 + i, 0.1, 0.5, ppid=2, started_by=2, name=f"Process-{i + 1}", args=f"({6 - i},)")
             for i in range(4)]
    lines = [out(3 + i, f"worker got {6 - i}") for i in range(4)]  # pids 3..6 print 6..3: the others' pids
    t = Trace(processes=(main_proc, *procs), lines=tuple(lines), exit_code=0, sandbox=EXACT,
              limits={"wall_time": 10})
    v = distinct_numbers(ctx(t), DistinctNumbersParams(n=4))
    assert v.status is Status.PASSED and v.evidence["distinct"] == [3, 4, 5, 6]
    assert one_number_per_process(ctx(t), OneNumberPerProcessParams(n=4)).status is Status.PASSED
    # a worker printing its own pid and its parent's still prints no number
    lines = [out(3 + i, f"I am {3 + i}, child of 2") for i in range(4)]
    t = Trace(processes=(main_proc, *procs), lines=tuple(lines), exit_code=0, sandbox=EXACT,
              limits={"wall_time": 10})
    v = distinct_numbers(ctx(t), DistinctNumbersParams(n=4))
    assert v.status is Status.FAILED and v.evidence["distinct"] == []


def test_one_number_per_process_passes_for_own_arguments() -> None:
    v = one_number_per_process(ctx(four_printers([1, 2, 3, 4])), OneNumberPerProcessParams(n=4))
    assert v.status is Status.PASSED
    assert sorted(v.evidence["number_in_arguments"]) == ["201", "202", "203", "204"]


def test_one_number_per_process_fails_for_random_numbers() -> None:
    t = four_printers([69, 74, 61, 10], random_draws=1)
    v = one_number_per_process(ctx(t), OneNumberPerProcessParams(n=4))
    assert v.status is Status.FAILED and "random module" in v.message
    assert distinct_numbers(ctx(t), DistinctNumbersParams(n=4)).status is Status.PASSED


def test_one_number_per_process_fails_for_pool_tasks() -> None:
    t = four_printers([1, 2, 3, 4], kind="pool_worker")
    v = one_number_per_process(ctx(t), OneNumberPerProcessParams(n=4))
    assert v.status is Status.FAILED and "depends on scheduling" in v.message


def test_one_worker_printing_everything_is_not_one_each() -> None:
    t = trace(child(201, 0.1, 0.3), child(202, 0.1, None), lines=tuple(out(202, str(n)) for n in (10, 1, 2, 3, 4)))
    assert distinct_numbers(ctx(t), DistinctNumbersParams(n=4)).status is Status.PASSED
    v = one_number_per_process(ctx(t), OneNumberPerProcessParams(n=4))
    assert v.status is Status.FAILED and "Only 1 child process" in v.message


def test_logged_numbers_count() -> None:
    procs = [child(201 + i, 0.1, 0.5, args=f"({i + 1},)") for i in range(4)]
    lines = [out(201 + i, f"Process {i + 1}: {i + 1}", stream="log") for i in range(4)]
    t = trace(*procs, lines=tuple(lines))
    assert one_number_per_process(ctx(t), OneNumberPerProcessParams(n=4)).status is Status.PASSED
    assert distinct_numbers(ctx(t), DistinctNumbersParams(n=4, streams=["stdout"])).status is Status.FAILED


# -- spawn_safe ---------------------------------------------------------------------------------------

def spawn_verdict(default: Trace, spawn: Trace, question: str = "Q3") -> Verdict:
    return spawn_safe(ctx(default, spawn, question), SpawnSafeParams())


def test_spawn_safe_when_the_rerun_behaves_alike() -> None:
    t = trace(child(201, 0.1, 0.2))
    assert spawn_verdict(t, t).status is Status.PASSED


def test_spawn_without_main_guard_fails_at_startup() -> None:
    bad = trace(child(201, 0.1, 0.2, kind="spawn", exit_code=1, claimed=True), exit_code=0, exceptions=(
        ExceptionInfo(pid=201, where="startup", type="RuntimeError",
                      message="An attempt has been made to start a new process before the current process has "
                              "finished its bootstrapping phase."),))
    v = spawn_verdict(trace(child(201, 0.1, 0.2)), bad)
    assert v.status is Status.FAILED and "__main__" in v.message


def test_spawn_rerun_that_no_longer_creates_processes_fails() -> None:
    v = spawn_verdict(trace(child(201, 0.1, 0.2)), trace())
    assert v.status is Status.FAILED and "process_created" in v.message

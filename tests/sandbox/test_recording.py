"""What the record says about programs that behave: processes, pools, threads, output, errors."""

from __future__ import annotations

from grader.sandbox import Limits
from tests.sandbox.helpers import sandboxed, stdout_of


def test_input_gets_end_of_file_and_the_record_says_so() -> None:
    trace = sandboxed('name = input("Your name? ")\nprint("hello", name)\n', within=2.0)
    assert trace.exit_code == 1
    assert [(c.prompt, c.result, c.api) for c in trace.inputs] == [("Your name? ", "eof", "readline")]
    (exc,) = trace.exceptions
    assert (exc.where, exc.type, exc.message) == ("main", "EOFError", "EOF when reading a line")
    # the traceback is the program's own: no frame of the recorder
    assert "_grader" not in exc.traceback and "_grader" not in trace.stderr.text


EXITS = '''import multiprocessing, os, sys
def quits(): os._exit(3)
def exits(): sys.exit(4)
def raises(): raise ValueError("boom in child")
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=f) for f in (quits, exits, raises)]
    for p in ps: p.start()
    for p in ps: p.join()
    print([p.exitcode for p in ps])
'''


def test_os_exit_sys_exit_and_an_exception_in_children() -> None:
    trace = sandboxed(EXITS, within=2.0)
    assert trace.exit_code == 0
    by_target = {p.target: p for p in trace.children()}
    assert by_target["quits"].exit_code == 3
    assert by_target["exits"].exit_code == 4
    assert by_target["raises"].exit_code == 1
    (exc,) = trace.exceptions
    assert exc.pid == by_target["raises"].pid and exc.where == "process"
    assert exc.type == "ValueError" and exc.message == "boom in child"
    assert 'raise ValueError("boom in child")' in exc.traceback and "_grader" not in exc.traceback
    assert stdout_of(trace, trace.processes[0]) == ["[3, 4, 1]"]
    assert all(p.observed and p.claimed for p in trace.processes)


def test_exception_in_a_pool_task_is_recorded_in_the_worker() -> None:
    source = '''import multiprocessing
def f(x):
    if x == 2:
        raise KeyError(x)
    return x
if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        try:
            pool.map(f, [1, 2, 3])
        except KeyError as e:
            print("caught", e)
'''
    trace = sandboxed(source, within=2.0)
    assert trace.exit_code == 0
    (pool,) = trace.pools
    failed = [t for t in pool.tasks if t.ok is False]
    assert [(t.args, t.error) for t in failed] == [("2", "KeyError: 2")]
    (exc,) = trace.exceptions
    assert exc.where == "task" and exc.type == "KeyError" and exc.pid == failed[0].pid
    assert stdout_of(trace, trace.processes[0]) == ["caught 2"]


SPAWN_POOL = '''import multiprocessing
def square(x):
    print("square of", x)
    return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(processes=3) as pool:
        print(pool.map(square, range(6)))
'''


def test_pool_under_spawn() -> None:
    trace = sandboxed(SPAWN_POOL, start_method="spawn", within=4.0)
    assert trace.exit_code == 0 and trace.start_method == "spawn"
    (pool,) = trace.pools
    assert (pool.kind, pool.size, pool.start_method) == ("Pool", 3, "spawn")
    workers = [p for p in trace.processes if p.kind == "pool_worker"]
    assert sorted(pool.workers) == sorted(p.pid for p in workers) and len(workers) == 3
    assert all(p.start_method == "spawn" and p.pool == pool.id for p in workers)
    assert sorted(t.args for t in pool.tasks) == ["0", "1", "2", "3", "4", "5"]
    assert {t.function for t in pool.tasks} == {"square"}
    for task in pool.tasks:  # each task printed from the worker that ran it
        assert f"square of {task.args}" in stdout_of(trace, trace.process(task.pid))  # type: ignore[arg-type]
    assert stdout_of(trace, trace.processes[0]) == ["[0, 1, 4, 9, 16, 25]"]
    internal = trace.children(include_internal=True)
    assert {p.kind for p in internal} - {p.kind for p in trace.children()} == {"resource_tracker"}


NO_GUARD = '''import multiprocessing
def f(x):
    print("child", x)
p = multiprocessing.Process(target=f, args=(1,))
p.start()
p.join()
print("end")
'''


def test_missing_main_guard_under_spawn() -> None:
    trace = sandboxed(NO_GUARD, start_method="spawn", within=4.0)
    assert trace.exit_code == 0  # the main process itself is fine...
    (child,) = trace.children()
    assert child.exit_code == 1 and child.name == "Process-1" and child.target == "f"
    # ...but the child re-ran the module and failed to start a process of its own
    (exc,) = trace.exceptions
    assert exc.pid == child.pid and exc.where == "startup" and exc.type == "RuntimeError"
    assert "bootstrapping phase" in exc.message
    assert stdout_of(trace, child) == []
    assert stdout_of(trace, trace.processes[0]) == ["end"]


def test_missing_main_guard_is_fine_under_fork() -> None:
    trace = sandboxed(NO_GUARD, start_method="fork", within=2.0)
    (child,) = trace.children()
    assert child.exit_code == 0 and stdout_of(trace, child) == ["child 1"]
    assert not trace.exceptions


def test_threads_are_recorded_and_multiprocessing_helpers_marked_internal() -> None:
    source = '''import threading, multiprocessing
def hello(n):
    print("thread", n)
if __name__ == "__main__":
    ts = [threading.Thread(target=hello, args=(i,), name=f"T{i}") for i in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()
    q = multiprocessing.Queue()
    q.put(1)
    print(q.get())
'''
    trace = sandboxed(source, within=2.0)
    user = [t for t in trace.threads if not t.internal]
    assert [(t.name, t.target, t.kind, t.number) for t in user] == [("T0", "hello", "thread", 1),
                                                                    ("T1", "hello", "thread", 2)]
    assert any(t.internal for t in trace.threads)  # the queue's feeder thread
    main = trace.processes[0]
    assert sorted((ln.thread, ln.text) for ln in trace.lines_of(main.pid)) == [(0, "1"), (1, "thread 0"),
                                                                               (2, "thread 1")]
    assert not trace.children()


def test_random_is_recorded_and_seeded_differently_per_process() -> None:
    source = '''import multiprocessing, random
def draw():
    print(random.randint(1, 10**9))
def idle():
    print("no randomness")
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=f) for f in (draw, draw, draw, idle)]
    for p in ps: p.start()
    for p in ps: p.join()
'''
    trace = sandboxed(source, within=2.0)
    drawers = [p for p in trace.children() if p.target == "draw"]
    idle = [p for p in trace.children() if p.target == "idle"]
    assert all(p.used_random for p in drawers) and not idle[0].used_random
    assert not trace.processes[0].used_random
    numbers = [stdout_of(trace, p)[0] for p in drawers]
    assert len(set(numbers)) == 3


def test_output_that_bypasses_sys_stdout_is_attributed_by_the_kernel() -> None:
    source = 'import os\nprint("claimed")\nos.write(1, b"raw bytes\\n")\n'
    trace = sandboxed(source, within=2.0)
    by_pid = trace.lines_by_pid(("stdout",))
    assert [ln.text for ln in by_pid[trace.processes[0].pid]] == ["claimed", "raw bytes"]
    assert None not in by_pid and not trace.issues


def test_interleaved_prints_are_split_per_process() -> None:
    source = '''import multiprocessing
def shout(n):
    for _ in range(200):
        print(n)
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=shout, args=(i,)) for i in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()
'''
    trace = sandboxed(source, within=3.0)
    for p in trace.children():
        n = p.args
        assert stdout_of(trace, p) == [n] * 200
        assert all(ln.verified for ln in trace.lines_of(p.pid))
    assert trace.lines_by_pid().get(None) is None


def test_files_written_are_listed_and_symlinks_not_followed() -> None:
    source = 'import os\nopen("out.txt", "w").write("hello\\n" * 1000)\nos.symlink("/etc/hostname", "link")\n'
    trace = sandboxed(source, within=2.0)
    out = trace.file("out.txt")
    assert out is not None and out.size == 6000 and out.head == ("hello\n" * 1000)[:1024] and not out.binary
    link = trace.file("link")
    assert link is not None and link.link == "/etc/hostname" and link.head == ""
    assert trace.file("answer.py") is None


def test_process_pool_executor_tasks_and_workers() -> None:
    source = '''from concurrent.futures import ProcessPoolExecutor
def cube(x):
    print("cube", x)
    return x ** 3
if __name__ == "__main__":
    with ProcessPoolExecutor(max_workers=2) as ex:
        print(list(ex.map(cube, [1, 2, 3])))
        print(ex.submit(cube, 4).result())
'''
    trace = sandboxed(source, within=3.0)
    (pool,) = trace.pools
    assert (pool.kind, pool.size) == ("ProcessPoolExecutor", 2)
    assert sorted(t.args for t in pool.tasks) == ["1", "2", "3", "4"]  # each element is one task
    workers = {p.pid for p in trace.processes if p.kind == "executor_worker"}
    assert {t.pid for t in pool.tasks} <= workers == set(pool.workers)
    assert stdout_of(trace, trace.processes[0]) == ["[1, 8, 27]", "64"]


def test_logging_to_stderr_is_a_log_line_not_a_stderr_line() -> None:
    source = 'import logging\nlogging.warning("careful %d", 1)\n'
    trace = sandboxed(source, within=2.0)
    (line,) = trace.lines
    assert (line.stream, line.text, line.level, line.logger, line.dest) == (
        "log", "WARNING:root:careful 1", "WARNING", "root", "stderr")
    assert line.verified is True
    assert trace.stderr.text == "WARNING:root:careful 1\n"


def test_the_students_own_start_method_wins() -> None:
    source = '''import multiprocessing
def f():
    print("hi")
if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    p = multiprocessing.Process(target=f)
    p.start(); p.join()
'''
    trace = sandboxed(source, start_method="fork", within=3.0)
    assert trace.start_method_requested == "fork" and trace.start_method == "spawn"
    assert trace.children()[0].start_method == "spawn"


def test_limits_are_recorded() -> None:
    trace = sandboxed("print(1)\n", limits=Limits(wall_time=3, max_processes=7), within=2.0)
    assert trace.limits["wall_time"] == 3 and trace.limits["max_processes"] == 7
    assert trace.ok and trace.limits_hit == ()


def test_many_threads_fit_in_the_memory_limit() -> None:
    """RLIMIT_AS would count the 64 MiB each thread's malloc arena reserves: 32 threads failed."""
    source = '''from concurrent.futures import ThreadPoolExecutor
def work(i):
    return len([bytearray(100_000) for _ in range(10)])
with ThreadPoolExecutor(max_workers=32) as ex:
    print(sum(ex.map(work, range(200))))
'''
    trace = sandboxed(source, within=3.0)
    assert trace.ok and [ln.text for ln in trace.lines] == ["2000"]
    (pool,) = trace.pools
    assert pool.kind == "ThreadPoolExecutor" and len(pool.tasks) == 200
    assert {t.kind for t in trace.threads} == {"pool_worker"}

"""Records of the example submissions' code answers (copied here as literals)."""

from __future__ import annotations

import itertools
import re

from tests.sandbox.helpers import sandboxed, stdout_of

SEED_001_Q3 = '''import multiprocessing
print("Number of CPU : ",multiprocessing.cpu_count())
'''

SEED_002_Q6 = '''import multiprocessing

# Function to print a number
def print_number(number):
    print(f"Process {number}: {number}")

if __name__ == "__main__":
    # Create a list of numbers
    numbers = [1, 2, 3, 4]

    # Create a multiprocessing pool with 4 processes
    with multiprocessing.Pool(processes=4) as pool:
        # Use the pool's map function to distribute the numbers to processes
        pool.map(print_number, numbers)
'''

SEED_003_Q6 = '''import logging
import multiprocessing

def print_number(num):
    try:
        logging.info(f"Process {num}: {num}")
    except Exception as e:
        logging.exception(f"An error occurred: {e}")

if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, filename='multiprocessing.log', filemode='w',
                        format='%(name)s - %(levelname)s - %(message)s')
    processes = []

    for i in range(1, 5):
        process = multiprocessing.Process(target=print_number, args=(i,))
        processes.append(process)

    try:
        for process in processes:
            process.start()

        for process in processes:
            process.join()
    except Exception as e:
        logging.exception(f"An error occurred: {e}")
'''

SEED_004_Q6 = '''import multiprocessing

def print_number(number):
    print("Process", multiprocessing.current_process())

if __name__ == "__main__":
    processes = []

    for i in range(1, 5):
        process = multiprocessing.Process(target=print_number, args=(i,))
        processes.append(process)
        process.start()
        process.join()

    print("All processes have finished.")
'''


def test_seed_001_q3_starts_no_process() -> None:
    trace = sandboxed(SEED_001_Q3, within=2.0)
    assert trace.ok
    assert trace.children() == () and trace.children(include_internal=True) == ()
    assert trace.pools == () and [p.kind for p in trace.processes] == ["main"]
    assert [ln.text for ln in trace.lines] == [f"Number of CPU :  {trace.lines[0].text.split()[-1]}"]
    assert trace.start_method == "fork"  # imported, never used: the default that would apply


def test_seed_002_q6_four_pool_workers_and_who_printed_what() -> None:
    trace = sandboxed(SEED_002_Q6, within=3.0)
    assert trace.ok
    (pool,) = trace.pools
    assert pool.size == 4 and len(pool.workers) == 4
    workers = [p for p in trace.children() if p.kind == "pool_worker"]
    assert len(workers) == 4 and all(p.pool == pool.id for p in workers)
    printed: dict[int, int] = {}
    for line in trace.lines:
        m = re.fullmatch(r"Process (\d): \1", line.text)
        assert m, line
        assert line.pid in pool.workers and line.verified
        printed[int(m.group(1))] = line.pid  # type: ignore[assignment]
    assert sorted(printed) == [1, 2, 3, 4]
    # the worker that printed n is the one that ran the task for n
    assert {int(t.args): t.pid for t in pool.tasks} == printed


def test_seed_003_q6_children_log_their_numbers_to_a_file() -> None:
    trace = sandboxed(SEED_003_Q6, within=3.0)
    assert trace.ok
    children = trace.children()
    assert len(children) == 4
    logged = {}
    for line in trace.lines:
        assert line.stream == "log" and line.dest == "multiprocessing.log" and line.verified
        assert line.level == "INFO" and line.logger == "root"
        logged[line.text] = line.pid
    assert logged == {f"root - INFO - Process {i}: {i}": p.pid for i, p in enumerate(children, 1)}
    log_file = trace.file("multiprocessing.log")
    assert log_file is not None and sorted(log_file.head.splitlines()) == sorted(logged)
    assert trace.stdout.text == "" and trace.stderr.text == ""


def test_seed_004_q6_four_processes_that_never_overlap() -> None:
    trace = sandboxed(SEED_004_Q6, within=3.0)
    assert trace.ok
    children = trace.children()
    assert [p.name for p in children] == ["Process-1", "Process-2", "Process-3", "Process-4"]
    assert [p.args for p in children] == ["1", "2", "3", "4"]
    assert all(p.times == "observed" and p.exit_code == 0 for p in children)
    for a, b in itertools.pairwise(children):
        assert a.overlaps(b) is False and a.end <= b.start  # type: ignore[operator]
    for p in children:
        (line,) = stdout_of(trace, p)
        assert line.startswith(f"Process <Process name='{p.name}' parent={trace.processes[0].pid} started>")

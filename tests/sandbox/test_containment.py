"""Programs that misbehave: every run ends in time, within its limits, and leaves nothing behind."""

from __future__ import annotations

import os

import pytest

from grader.answers import Answer
from grader.checks import CheckContext
from grader.checks.behaviour import runs
from grader.checks.params import RunsParams
from grader.rubric import load_rubric
from grader.sandbox import Limits, cgroups
from grader.sandbox.limits import MIB
from grader.sandbox.runner import Options
from tests.conftest import RUBRIC
from tests.sandbox.helpers import sandboxed, stdout_of

pytestmark = pytest.mark.slow

# How a run is contained depends on the machine: namespaces (bwrap) where Linux allows them, as a
# uid of its own when root; without namespaces, as root, a uid of its own (RLIMIT_NPROC, kill by
# uid) or, only when told it is unsafe, root with cgroups (pids.max, cgroup.kill); otherwise the
# grader's user with RLIMIT_NPROC. The worst escapes run in every mode this machine can offer.
MODES = {"default": Options()}
if os.geteuid() == 0:
    MODES["root-cgroups"] = Options(namespaces=False, uid=False, unsafe_no_sandbox=True)
    MODES["root-bare"] = Options(namespaces=False, uid=False, cgroups=False, unsafe_no_sandbox=True)
else:
    MODES["no-namespaces"] = Options(namespaces=False)


def test_infinite_loop_is_killed_at_the_wall_time_limit() -> None:
    trace = sandboxed("while True:\n    pass\n", wall=1.0, within=2.0)
    assert trace.timed_out and trace.limit == "wall"
    assert trace.signal == "SIGKILL" and trace.exit_code is None
    assert 1.0 <= trace.wall_time < 1.5
    assert trace.main() is not None and trace.main().survived  # type: ignore[union-attr]


def test_cpu_limit_ends_a_busy_process_with_sigxcpu() -> None:
    trace = sandboxed("while True:\n    pass\n", limits=Limits(wall_time=5, cpu_time=1), within=3.0)
    assert not trace.timed_out
    assert trace.limit == "cpu" and trace.signal == "SIGXCPU"
    # The kernel sends SIGXCPU on tick-sampled CPU time, which under contention overcharges a busy
    # process; the Trace reports exact runtime (wait4): 0.87 s seen at a load of 7 with no grader
    # involved, 0.82 s in the sandbox at a load of 11 (docs/sandbox.md, known limits). So: it burned
    # CPU up to about its limit.
    assert trace.cpu_time is not None and 0.5 <= trace.cpu_time <= 2.1


SEED_001_Q6 = '''import multiprocessing
def helper(n):
    for i in [1,2,3,4,5,6]:
        n.put(i)
def worker(n):
    while True:
        item=n.get()
        if item is None:
            break
        print(item)

if __name__=="__main__":
    queue=multiprocessing.Queue()
    p=multiprocessing.Process(target=helper , args=(queue,))
    q=multiprocessing.Process(target=worker , args=(queue,))
    p.start()
    q.start()
    queue.put("10")
    p.join()
    q.join()
'''


def test_seed_001_q6_blocked_worker_is_killed_but_its_prints_are_recorded() -> None:
    trace = sandboxed(SEED_001_Q6, wall=1.0, within=2.0)
    assert trace.timed_out
    children = trace.children()
    assert [p.target for p in children] == ["helper", "worker"]
    helper, worker = children
    assert helper.exit_code == 0 and not helper.survived
    assert worker.survived and worker.signal == "SIGKILL"
    # what the worker printed before the kill is in the record, attributed to it
    assert sorted(stdout_of(trace, worker), key=int) == ["1", "2", "3", "4", "5", "6", "10"]
    assert all(ln.verified for ln in trace.lines_of(worker.pid))
    assert trace.stdout.text.split() and sorted(trace.stdout.text.split(), key=int) == sorted(
        stdout_of(trace, worker), key=int)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_fork_bomb_is_contained_quickly(mode: str) -> None:
    source = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    trace = sandboxed(source, wall=3.0, within=3.5, limits=Limits(wall_time=3.0, max_processes=20),
                      options=MODES[mode])
    assert "processes" in trace.limits_hit
    assert trace.limit in ("processes", "wall")
    assert len(trace.children()) >= 20  # it did get going
    assert all(p.kind == "fork" for p in trace.children())


def test_memory_bomb_hits_the_memory_limit() -> None:
    source = "x = []\nwhile True:\n    x.append(bytearray(16 * 1024 * 1024))\n"
    trace = sandboxed(source, limits=Limits(wall_time=5, memory=256 * MIB), within=4.0)
    assert trace.limit == "memory" and trace.exit_code == 1
    assert [e.type for e in trace.exceptions] == ["MemoryError"]


def test_200_mb_of_output_is_drained_and_capped() -> None:
    import resource

    source = "import sys\nchunk = 'x' * 999 + '\\n'\nfor _ in range(200_000):\n    sys.stdout.write(chunk)\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Every write is stopped and recorded by the kernel observer (strace, about 50 us per write
    # here), so a 200 MB flood in 1 KB writes is slowed down until the wall-time limit ends it;
    # what matters is that the grader's memory and time stay bounded.
    trace = sandboxed(source, wall=3.0, within=5.0)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert trace.exit_code == 0 or trace.timed_out
    assert trace.stdout.total_bytes > 1 * MIB
    assert trace.stdout.truncated and len(trace.stdout.text.encode()) == 1 * MIB
    assert "output" in trace.limits_hit
    assert grown_kib < 64 * 1024, f"the grader grew by {grown_kib} KiB"
    # the recorded lines stop around the cap too, and what was kept is verified
    main_lines = trace.lines_of(trace.processes[0].pid)
    assert 1000 <= len(main_lines) <= 1100
    assert all(ln.verified is not False for ln in main_lines)


def test_file_size_limit() -> None:
    source = "with open('big.bin', 'wb') as f:\n    f.write(b'0' * (4 * 1024 * 1024))\n"
    trace = sandboxed(source, limits=Limits(file_size=1 * MIB), within=3.0)
    # Python ignores SIGXFSZ, so the write fails with EFBIG and the exception ends the program
    assert trace.limit == "file_size" and trace.exit_code == 1
    assert [e.message for e in trace.exceptions] == ["[Errno 27] File too large"]
    big = trace.file("big.bin")
    assert big is not None and big.size == 1 * MIB


ESCAPE = '''import os, time
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        print("PID", os.getpid(), flush=True)
        time.sleep(60)
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(0.1)
print("main done")
'''


@pytest.mark.parametrize("mode", sorted(MODES))
def test_setsid_double_fork_escape_is_killed(mode: str) -> None:
    trace = sandboxed(ESCAPE, within=2.0, options=MODES[mode])
    assert trace.exit_code == 0 and not trace.timed_out
    grandchild = [p for p in trace.processes if p.survived]
    assert len(grandchild) == 1 and grandchild[0].kind == "fork"
    assert grandchild[0].signal == "SIGKILL"
    assert stdout_of(trace, grandchild[0]) == [f"PID {grandchild[0].pid}"]


SIGTERM_IGNORED = '''import multiprocessing, os, signal, time
def stubborn():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("PID", os.getpid(), flush=True)
    time.sleep(60)
if __name__ == "__main__":
    p = multiprocessing.Process(target=stubborn, daemon=True)
    p.start()
    time.sleep(0.2)
    p.terminate()   # ignored
    print("main exits")
'''


@pytest.mark.parametrize("mode", sorted(MODES))
def test_child_ignoring_sigterm_is_killed(mode: str) -> None:
    # multiprocessing's exit handler joins the daemon after SIGTERM: the main hangs until the limit
    trace = sandboxed(SIGTERM_IGNORED, wall=1.0, within=2.0, options=MODES[mode])
    assert trace.timed_out
    child = trace.children()[0]
    assert child.survived and child.signal == "SIGKILL"
    assert stdout_of(trace, trace.processes[0]) == ["main exits"]


def test_daemon_pool_workers_and_orphans_do_not_survive_a_timeout() -> None:
    source = '''import multiprocessing, os, subprocess, time
def f(x):
    print("PID", os.getpid(), flush=True)
    time.sleep(60)
if __name__ == "__main__":
    subprocess.Popen(["sleep", "60"])
    with multiprocessing.Pool(3) as pool:
        pool.map(f, range(3))
'''
    trace = sandboxed(source, wall=1.0, within=2.0)
    assert trace.timed_out
    workers = [p for p in trace.processes if p.kind == "pool_worker"]
    assert len(workers) == 3 and all(p.survived for p in workers)
    sleeper = [p for p in trace.processes if p.kind == "subprocess"]
    assert len(sleeper) == 1 and sleeper[0].command[0] == "sleep" and sleeper[0].survived


MEMORY_HOG = '''import multiprocessing, time
def eat(i):
    blocks = []
    for _ in range(40):
        blocks.append(bytearray(16 << 20))  # touched: 640 MiB per process in the end
        time.sleep(0.002)
    print("ate", i, flush=True)
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=eat, args=(i,)) for i in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print("done")
'''


def _memory_cgroups() -> bool:
    if os.geteuid() != 0:
        return False
    probe = cgroups.RunCgroups(f"probe-{os.getpid()}", 8, memory=64 * MIB, pids=False)
    ok = probe.memory_limited
    probe.remove()
    return ok


@pytest.mark.skipif(not _memory_cgroups(), reason="needs root and a cgroup hierarchy with the memory controller")
def test_the_memory_of_all_processes_together_is_bounded() -> None:
    """Each process stays under its own limit (RLIMIT_DATA); together they would take 2.5 GiB."""
    trace = sandboxed(MEMORY_HOG, limits=Limits(wall_time=20, memory=1024 * MIB, memory_total=256 * MIB),
                      within=20.0)
    assert trace.sandbox["memory_total"].startswith("256 MiB for all its processes together")
    assert "memory" in trace.limits_hit
    killed = [p for p in trace.children() if p.limit == "memory"]
    assert killed and all(p.signal == "SIGKILL" for p in killed)
    assert not any(stdout_of(trace, p) for p in trace.children())  # no process got its 640 MiB
    v = runs(CheckContext(load_rubric(RUBRIC).question("Q6"), Answer("Q6", []), MEMORY_HOG, {"default": trace}),
             RunsParams())
    assert "exceeded their memory limit" in v.message


OOM_SCORE = '''import multiprocessing
def show():
    print("child", open("/proc/self/oom_score_adj").read().strip(), flush=True)
if __name__ == "__main__":
    print("main", open("/proc/self/oom_score_adj").read().strip(), flush=True)
    p = multiprocessing.Process(target=show)
    p.start()
    p.join()
    try:
        with open("/proc/self/oom_score_adj", "w") as f:  # below 0 needs a privilege the program lacks
            f.write("-1000")
    except OSError:
        print("kept")
'''


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_runs_processes_are_the_out_of_memory_killers_first_choice(mode: str) -> None:
    trace = sandboxed(OOM_SCORE, options=MODES[mode], within=10.0)
    # a program may lower it to 0, as the TA's own processes have, but not below
    assert trace.stdout.text.split() == ["main", "1000", "child", "1000", "kept"]

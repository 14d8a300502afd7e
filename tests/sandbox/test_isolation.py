"""Isolation, reproducibility, start methods, forged claims and the fallback paths."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import Limits, bwrap
from grader.sandbox.runner import Options
from grader.trace import Trace
from tests.sandbox.helpers import (
    IS_ROOT,
    SYSTEM_PYTHON,
    namespaced,
    sandboxed,
    stdout_of,
    survivors,
    which_python,
)

ROOT = Path(__file__).resolve().parents[2]


def test_secrets_of_the_grader_environment_do_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    source = '''import os, subprocess
print(sorted(os.environ))
print(open("/proc/self/environ", "rb").read().count(b"secret"))
print(subprocess.run(["env"], capture_output=True, text=True).stdout.count("secret"))
'''
    trace = sandboxed(source, within=2.0)
    names, raw, child = stdout_of(trace, trace.processes[0])
    assert "GITHUB_TOKEN" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    assert set(ast.literal_eval(names)) <= {
        "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONHASHSEED", "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONIOENCODING", "PYTHONPATH",
        "GRADER_EVENTS", "GRADER_RUN", "GRADER_SEED", "GRADER_START_METHOD", "GRADER_BUDGET",
        "PWD",  # set by bwrap's --chdir: the working directory, as HOME
    }
    assert (raw, child) == ("0", "0")
    assert "secret" not in trace.stdout.text


DETERMINISM = '''import multiprocessing, random, threading
def work(i):
    print(i, random.randint(1, 10**9), hash("abc") % 1000)
if __name__ == "__main__":
    for i in range(3):
        p = multiprocessing.Process(target=work, args=(i,))
        p.start()
        p.join()
    t = threading.Thread(target=work, args=(9,))
    t.start(); t.join()
    pool = multiprocessing.Pool(1)  # close+join: `with` terminates workers, a race of its own
    pool.map(work, [7])
    pool.close()
    pool.join()
    print("main", random.random())
'''
_VARIABLE = {"t", "start", "end", "joined", "created", "awaited", "reaped", "wall_time", "cpu_time", "sandbox"}


def normalized(trace: Trace) -> Any:
    """The record with times removed and pids replaced by their rank of appearance."""
    order = {p.pid: f"P{i}" for i, p in enumerate(trace.processes)}

    def norm(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items() if k not in _VARIABLE}
        if isinstance(value, list):
            return [norm(v, key) for v in value]
        if isinstance(value, int) and value in order:
            return order[value]
        if isinstance(value, str):  # pool ids ("<pid>:1"), command lines
            return re.sub(r"\b\d+\b", lambda m: order.get(int(m.group()), m.group()), value)
        return value

    return norm(trace.to_json())


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_same_program_twice_gives_the_same_record(method: str) -> None:
    first = sandboxed(DETERMINISM, start_method=method, within=4.0, seed=7)
    second = sandboxed(DETERMINISM, start_method=method, within=4.0, seed=7)
    assert first.ok and len(first.children()) == 4
    numbers = [ln.text for ln in first.lines]
    assert len({n.split()[1] for n in numbers if not n.startswith("main")}) == 5  # every process differs
    a, b = normalized(first), normalized(second)
    assert {k: v for k, v in a.items() if v != b[k]} == {}, {k: v for k, v in b.items() if v != a[k]}
    other_seed = sandboxed(DETERMINISM, start_method=method, within=4.0, seed=8)
    assert [ln.text for ln in other_seed.lines] != numbers


ALL_KINDS = '''import multiprocessing, os
def hello(n):
    print("hello", n)
def square(n):
    print("square", n)
    return n * n
if __name__ == "__main__":
    ps = [multiprocessing.Process(target=hello, args=(i,)) for i in range(2)]
    for p in ps: p.start()
    for p in ps: p.join()
    pool = multiprocessing.Pool(2)  # not `with`: its terminate() may kill a worker still starting
    print(pool.map(square, [1, 2, 3]))
    pool.close()
    pool.join()
'''


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_recording_works_under_every_start_method(method: str) -> None:
    trace = sandboxed(ALL_KINDS, start_method=method, within=4.0)
    assert trace.ok and trace.start_method == method
    procs = [p for p in trace.children() if p.kind == "process"]
    workers = [p for p in trace.children() if p.kind == "pool_worker"]
    assert len(procs) == 2 and len(workers) == 2
    assert all(p.start_method == method and p.claimed and p.observed for p in procs + workers)
    assert sorted(stdout_of(trace, procs[0]) + stdout_of(trace, procs[1])) == ["hello 0", "hello 1"]
    (pool,) = trace.pools
    assert sorted(t.args for t in pool.tasks) == ["1", "2", "3"] and {t.pid for t in pool.tasks} <= set(pool.workers)
    for task in pool.tasks:
        assert f"square {task.args}" in stdout_of(trace, trace.process(task.pid))  # type: ignore[arg-type]
    helpers = {p.kind for p in trace.children(include_internal=True) if p.internal}
    assert helpers == {"fork": set(), "spawn": {"resource_tracker"},
                       "forkserver": {"resource_tracker", "forkserver"}}[method]
    if method == "forkserver":  # the forkserver is the parent; the main process asked for them
        assert all(p.started_by == trace.processes[0].pid for p in procs)
        assert {p.ppid for p in procs} == {p.pid for p in trace.children(include_internal=True)
                                           if p.kind == "forkserver"}
    assert not [i for i in trace.issues if i.kind != "unverified"]


FORGER = '''import json, os
fd = os.open(os.environ["GRADER_EVENTS"], os.O_WRONLY | os.O_APPEND)
def claim(**ev):
    os.write(fd, (json.dumps(ev) + "\\n").encode())
claim(ev="start", pid=4000000, t=0.0, role="fork", ppid=os.getpid())
claim(ev="pstart", pid=os.getpid(), t=0.0, child=4000001, name="Process-9", kind="process", target="f")
claim(ev="w", pid=os.getpid(), t=0.0, th=0, s=0, x="Process 1: 1\\n")
os.write(fd, b"not json\\n")
print("real output")
'''


def test_forged_claims_are_ignored_and_flagged() -> None:
    """Events that name another process than the one the kernel saw write them are dropped."""
    trace = sandboxed(FORGER, within=2.0)
    kinds = {(i.kind, i.pid) for i in trace.issues}
    main = trace.processes[0]
    assert ("forged_event", None) in kinds  # the events naming pid 4000000
    assert ("claimed_not_observed", 4000001) in kinds  # a child the kernel never saw
    assert ("bad_event", None) in kinds
    assert trace.process(4000000) is None and trace.process(4000001) is None
    assert [p.pid for p in trace.processes] == [main.pid]
    # the forged "w" event is not output: lines are what the kernel saw written
    assert [ln.text for ln in trace.lines] == ["real output"]


def test_a_process_the_recorder_does_not_see_is_reported() -> None:
    trace = sandboxed('import os\nos.system("echo from a shell")\n', within=2.0)
    shells = [p for p in trace.children() if p.kind == "subprocess"]
    assert shells and all(not p.claimed and p.observed for p in shells)
    assert {i.kind for i in trace.issues} >= {"observed_not_claimed"}
    # the kernel saw the shell write its line
    assert [ln.text for ln in trace.lines_of(shells[0].pid)] == ["from a shell"]


# -- fallback paths ---------------------------------------------------------------------------

ESCAPE = '''import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print("PID", os.getpid(), flush=True)
        time.sleep(60)
    os._exit(0)
time.sleep(0.1)
print("main done")
'''
FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
SEED_001_Q6_SHORT = '''import multiprocessing
def worker(q):
    while True:
        item = q.get()
        if item is None:
            break
        print(item)
if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=worker, args=(q,))
    p.start()
    for i in (1, 2, 3):
        q.put(i)
    p.join()
'''
BARE = {
    # namespaces, but /proc polling from outside (pids translated through NSpid)
    "namespaces": Options(cgroups=False, netlink=False),
    # the process group, the subreaper and the run's environment marker (as root: only when unsafe)
    "none": Options(namespaces=False, uid=False, cgroups=False, netlink=False, unsafe_no_sandbox=True),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(BARE))
def test_without_kernel_events_or_cgroups(mode: str) -> None:
    """/proc polling and what the run has besides."""
    trace = sandboxed(ESCAPE, options=BARE[mode], within=2.0)
    assert trace.sandbox["observer"] == "strace" and trace.sandbox["cgroup"] == "none"
    assert [p.survived for p in trace.processes] == [False, False, True]
    trace = sandboxed(FORK_BOMB, options=BARE[mode], limits=Limits(wall_time=3, max_processes=20), within=3.5)
    assert "processes" in trace.limits_hit
    trace = sandboxed(SEED_001_Q6_SHORT, options=BARE[mode], wall=1.0, within=2.0)
    assert trace.timed_out and stdout_of(trace, trace.children()[0]) == ["1", "2", "3"]
    assert trace.children()[0].survived


needs_uid_mode = pytest.mark.skipif(not IS_ROOT or SYSTEM_PYTHON is None,
                                    reason="needs root and an interpreter outside /root")


@needs_uid_mode
@pytest.mark.slow
def test_root_runs_the_program_as_a_uid_of_its_own() -> None:
    source = '''import os
print(os.getuid(), os.getgid(), os.getgroups())
try:
    os.kill(os.getppid(), 0)
    print("can signal the grader")
except PermissionError:
    print("cannot signal the grader")
open("mine.txt", "w").write("x")
print(os.stat("mine.txt").st_uid)
'''
    trace = sandboxed(source, python=SYSTEM_PYTHON, within=2.0)
    assert "a uid of its own" in trace.sandbox["user"]
    uid, gid, groups = stdout_of(trace, trace.processes[0])[0].split(" ", 2)
    assert int(uid) >= 1_950_000_000 and gid == uid and groups == "[]"
    assert stdout_of(trace, trace.processes[0])[1:] == ["cannot signal the grader", uid]
    trace = sandboxed(FORK_BOMB, python=SYSTEM_PYTHON, limits=Limits(wall_time=3, max_processes=20), within=3.5)
    assert "processes" in trace.limits_hit
    trace = sandboxed(ESCAPE, python=SYSTEM_PYTHON, within=2.0)
    assert [p.survived for p in trace.processes] == [False, False, True]


_DRIVER = '''import json, sys
from grader.sandbox import Limits
from grader.sandbox.runner import run
source, python, wall, nproc = sys.stdin.read(), sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
trace = run(source, python=python, limits=Limits(wall_time=wall, max_processes=nproc))
print(json.dumps(trace.to_json()))
'''


def _run_as_nobody(source: str, *, wall: float = 5.0, max_processes: int = 64) -> Trace:
    assert SYSTEM_PYTHON is not None
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp", "LANG": "C.UTF-8"}
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", _DRIVER, SYSTEM_PYTHON, str(wall), str(max_processes)], input=source,
        capture_output=True, text=True, env=env, cwd="/tmp", timeout=60, user=65534, group=65534,
        extra_groups=[], check=False,
    )
    assert proc.returncode == 0, proc.stderr
    trace = Trace.from_json(json.loads(proc.stdout))
    left = survivors(trace)
    assert not left, f"processes survived the run: {left}"
    return trace


@needs_uid_mode
@pytest.mark.slow
def test_a_grader_that_is_not_root() -> None:
    """As on a TA's laptop: RLIMIT_NPROC, the subreaper and /proc polling."""
    trace = _run_as_nobody(ESCAPE)
    assert trace.sandbox["user"] == "uid 65534 (the grader's user)"
    assert trace.sandbox["observer"] == "strace" and trace.sandbox["cgroup"] == "none"
    assert [p.survived for p in trace.processes] == [False, False, True]
    grandchild = trace.processes[2]
    assert stdout_of(trace, grandchild) == [f"PID {grandchild.pid}"]
    trace = _run_as_nobody(FORK_BOMB, wall=3, max_processes=20)
    assert "processes" in trace.limits_hit and trace.wall_time < 3.5
    trace = _run_as_nobody(ALL_KINDS)
    assert trace.ok and len(trace.children()) == 4 and len(trace.pools[0].tasks) == 3
    if isinstance(bwrap.probe(), bwrap.Bwrap):  # unprivileged user namespaces work for root here
        assert trace.sandbox["isolation"].startswith("bwrap") and trace.sandbox["user_namespace"] == "yes"
        assert namespaced(trace) and str(trace.processes[0].pid) == trace.sandbox["main_pid"]
        # pids start after 10000 as an ordinary user too: a child printing 2 is not printing its parent's pid
        assert trace.processes[0].pid == 10_001 and all(p.pid > 10_001 for p in trace.children())


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_other_interpreters(version: str) -> None:
    python = which_python(version)
    if python is None:
        pytest.skip(f"no python{version} here")
    trace = sandboxed(ALL_KINDS, python=python, start_method="spawn", within=6.0)
    assert trace.ok and trace.sandbox["python_version"].startswith(version)
    assert len(trace.children()) == 4 and all(p.claimed for p in trace.children())
    assert sorted(t.args for t in trace.pools[0].tasks) == ["1", "2", "3"]


def test_the_developer_entry_point(tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text("import multiprocessing\nprint('hi from the script')\n")
    command = [sys.executable, "-m", "grader.sandbox", str(script), "--wall-time", "2"]
    text = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert text.startswith("Run: exit code 0 (ok)") and "stdout hi from the script" in text
    data = json.loads(subprocess.run([*command, "--json", "--start-method", "spawn"], capture_output=True,
                                     text=True, cwd=ROOT, check=True).stdout)
    trace = Trace.from_json(data)
    assert trace.start_method_requested == "spawn" and [ln.text for ln in trace.lines] == ["hi from the script"]
    missing = subprocess.run([sys.executable, "-m", "grader.sandbox", str(tmp_path / "nope.py")],
                             capture_output=True, text=True, cwd=ROOT, check=False)
    assert missing.returncode == 2 and "No such file" in missing.stderr


def test_runs_in_parallel_threads_stay_apart() -> None:
    """A batch may grade several answers at once: each run sees only its own processes."""
    from concurrent.futures import ThreadPoolExecutor

    source = '''import multiprocessing, os, time
def child(tag):
    print(tag, flush=True)
    if os.fork() == 0:
        os.setsid()
        time.sleep(60)
if __name__ == "__main__":
    p = multiprocessing.Process(target=child, args=(TAG,))
    p.start(); p.join()
    time.sleep(0.2)
'''
    with ThreadPoolExecutor(max_workers=3) as pool:
        traces = list(pool.map(lambda tag: sandboxed(source.replace("TAG", repr(tag)), within=4.0),
                               ["run-a", "run-b", "run-c"]))
    for tag, trace in zip(["run-a", "run-b", "run-c"], traces, strict=True):
        assert trace.ok
        assert [ln.text for ln in trace.lines] == [tag]
        assert [p.kind for p in trace.processes] == ["main", "process", "fork"]
        assert trace.processes[2].survived
    assert len({t.sandbox["run"] for t in traces}) == 3
    if all(namespaced(t) for t in traces):  # each its own PID namespace, where pids start again
        assert len({t.sandbox["pid_namespace"] for t in traces}) == 3
    else:
        assert len({p.pid for t in traces for p in t.processes}) == 9


def test_a_root_grader_runs_student_code_as_a_uid_of_its_own_by_default() -> None:
    """No python= given: the grader's own interpreter (its prefix is bound into the sandbox, so a
    venv under /root, mode 0700, works), as an unprivileged uid of the run's own."""
    import os

    from grader.sandbox import student_python

    if os.geteuid() != 0:
        pytest.skip("only a root grader switches uid")
    if not isinstance(bwrap.probe(), bwrap.Bwrap):
        pytest.skip(f"no namespaces here: {bwrap.probe()}")
    trace = sandboxed("import os, sys\nprint(os.getuid(), os.geteuid())\nprint(sys.executable)\n", within=3.0)
    uid, euid = (int(x) for x in trace.lines[0].text.split())
    assert uid != 0 and euid != 0
    assert trace.sandbox["user"].startswith(f"uid {uid} (a uid of its own)")
    assert trace.lines[1].text == student_python() == os.path.abspath(sys.executable)


def test_a_child_starts_before_what_it_forks_when_its_clone_returned_late(monkeypatch: pytest.MonkeyPatch) -> None:
    """strace prints a clone's return only when the parent runs again: on a loaded machine the child may
    already have run, and forked, by then (a run under load listed the grandchild first). A process has
    existed since its own first traced call at the latest, so it is never listed after what it started."""
    import dataclasses

    from grader.sandbox import assemble as assembly
    from grader.sandbox import runner

    facts: list[assembly.Facts] = []

    def keep(f: assembly.Facts) -> Trace:
        facts.append(f)
        return assembly.assemble(f)

    monkeypatch.setattr(runner, "assemble", keep)
    source = '''import multiprocessing, os
def child():
    if os.fork() == 0:
        os._exit(0)
    os.wait()
if __name__ == "__main__":
    p = multiprocessing.Process(target=child)
    p.start(); p.join()
'''
    trace = sandboxed(source, within=5.0, start_method="fork")
    assert [p.kind for p in trace.processes] == ["main", "process", "fork"]
    f = facts[-1]
    kids = sorted((kp for kp in f.kernel.processes.values() if kp.pid != f.kernel.main),
                  key=lambda kp: kp.created or 0.0)
    child, grandchild = kids[0], kids[1]
    assert child.first is not None and grandchild.created is not None
    late = dataclasses.replace(child, created=grandchild.created + 0.01)  # its clone "returned" after the fork
    kernel_facts = dataclasses.replace(f.kernel, processes={**f.kernel.processes, child.pid: late})
    again = assembly.assemble(dataclasses.replace(f, kernel=kernel_facts))
    assert [p.kind for p in again.processes] == ["main", "process", "fork"]
    process, fork = again.processes[1], again.processes[2]
    assert process.start is not None and fork.start is not None and process.start <= fork.start

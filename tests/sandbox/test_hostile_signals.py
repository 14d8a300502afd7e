"""Hostile programs against the process boundary: signals to everything, setuid survivors,
exhausting the sandbox uid's process limit for later runs. Each runs in a contained grader
(hostile.py), so a sandbox that fails kills only that grader's namespace."""

from __future__ import annotations

import ast
import os

import pytest

from grader.sandbox import bwrap
from tests.sandbox.helpers import namespaced, run_uid, stdout_of
from tests.sandbox.hostile import run_contained

pytestmark = pytest.mark.slow

KILL_EVERYTHING = '''import os, signal, subprocess, time
kids = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
time.sleep(0.2)
try:
    os.kill(-1, signal.SIGKILL)   # every process this one may signal
    print("kill(-1) sent")
except OSError as exc:
    print("kill(-1) failed", type(exc).__name__)
for target in (1, os.getppid()):
    try:
        os.kill(target, signal.SIGKILL)
        print("killed", target)
    except OSError as exc:
        print("cannot kill", target, type(exc).__name__)
print("codes", sorted(k.wait() for k in kids))
'''


def test_kill_minus_one_reaches_only_the_program_itself() -> None:
    trace, = run_contained([KILL_EVERYTHING])
    out = stdout_of(trace, trace.processes[0])
    assert out[0] == "kill(-1) sent"
    assert out[-1] == "codes [-9, -9, -9]"  # its own children, nothing else
    if namespaced(trace):
        # pid 1 (and the parent) is bwrap's init: another uid (root grader), or a namespace's init
        # that ignores SIGKILL from inside its namespace (user namespace): the run goes on
        assert trace.ok and len(out) == 4
        assert ("cannot kill 1 PermissionError" in out) == (os.geteuid() == 0)


SETUID_SURVIVORS = '''import os, subprocess, time
SETUID = [p for p in ("/usr/bin/su", "/usr/bin/passwd", "/usr/bin/chfn", "/usr/bin/newgrp", "/usr/bin/gpasswd")
          if os.path.exists(p)]
for i in range(4):
    if os.fork() == 0:
        os.setsid()
        r, w = os.pipe()     # a password prompt that is never answered
        for prog in SETUID:
            subprocess.Popen([prog] + (["-c", "sleep 60", "root"] if prog.endswith("su") else []), stdin=r,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        print("PID", os.getpid(), flush=True)
        time.sleep(60)
        os._exit(0)
time.sleep(0.5)
status = open("/proc/self/status").read()
print([line.split(":")[1].split() for line in status.splitlines() if line.startswith(("Uid", "NoNewPrivs"))])
'''


def test_setuid_binaries_started_by_setsid_children_do_not_survive() -> None:
    trace, = run_contained([SETUID_SURVIVORS], limits={"wall_time": 3.0})
    assert not trace.timed_out
    assert sum(1 for p in trace.processes if p.survived) >= 4  # the sleepers, killed at the end
    if namespaced(trace):
        uids, nnp = ast.literal_eval(stdout_of(trace, trace.processes[0])[-1])
        assert nnp == ["1"] and len(set(uids)) == 1 and int(uids[0]) != 0
    # run_contained looked for survivors by marker, PID namespace and real uid


BURN_THE_UID = '''import os, signal, time
for i in range(40):
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            time.sleep(120)
        os._exit(0)
time.sleep(0.3)
print("planted")
'''

HONEST = '''import multiprocessing, os
def square(x):
    return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        print(pool.map(square, range(8)))
    ps = [multiprocessing.Process(target=print, args=(i,)) for i in range(6)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print("exit codes", [p.exitcode for p in ps])
'''


def test_survivors_cannot_exhaust_the_process_limit_of_later_runs() -> None:
    """Five runs each leave 40 detached processes behind (as far as they can tell); the honest
    run graded after them in the same batch gets every process it asks for."""
    limits = {"wall_time": 5.0, "max_processes": 64}
    traces = run_contained([BURN_THE_UID] * 5 + [HONEST], limits=limits)
    for trace in traces[:5]:
        assert stdout_of(trace, trace.processes[0]) == ["planted"]
        assert "processes" not in trace.limits_hit
    honest = traces[-1]
    assert honest.ok and not honest.limits_hit, honest.limits_hit
    assert stdout_of(honest, honest.processes[0]) == ["[0, 1, 4, 9, 16, 25, 36, 49]", "exit codes [0, 0, 0, 0, 0, 0]"]
    if os.geteuid() == 0 and isinstance(bwrap.probe(), bwrap.Bwrap):
        assert all(run_uid(t) is not None for t in traces)

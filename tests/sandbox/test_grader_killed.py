"""A grader killed with SIGKILL in the middle of a run leaves nothing of the run alive: the reaper
(grader/sandbox/reaper.py) kills the run's namespace when the grader's end of its socket closes."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import bwrap

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

GRADER = """
import sys
from grader.sandbox import Limits, run_program
run_program("import time\\nprint('started', flush=True)\\ntime.sleep(120)\\n", limits=Limits(wall_time=120),
            filename=sys.argv[1])
print("the run ended: the test should have killed this grader first")
"""


def _holding(token: str) -> list[int]:
    """Processes whose command line names the run's program (its interpreter, bwrap, strace)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
    return found


def _python_running(token: str) -> bool:
    """The student's program itself (not only the launchers) has started."""
    for pid in _holding(token):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"python" in argv[0].rsplit(b"/", 1)[-1] and argv[1:2] == [token.encode()]:
                return True
    return False


SYSTEM_PYTHON = "/usr/bin/python3.11"


@pytest.mark.parametrize("who", ["me", "nobody"])
def test_a_grader_killed_mid_run_takes_the_run_along(who: str) -> None:
    if not isinstance(bwrap.probe(), bwrap.Bwrap):
        pytest.skip(f"no namespaces here: {bwrap.probe()}")
    token = f"killed_{secrets.token_hex(6)}.py"
    if who == "me":
        grader = subprocess.Popen([sys.executable, "-c", GRADER, token], cwd=ROOT, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    else:  # an ordinary user's grader (a TA's laptop): a user namespace, and no privilege to kill anything
        if os.geteuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK):
            pytest.skip(f"needs root (to become nobody) and {SYSTEM_PYTHON}")
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp", "LANG": "C.UTF-8"}
        grader = subprocess.Popen([SYSTEM_PYTHON, "-c", GRADER, token], cwd="/tmp", env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  user=65534, group=65534, extra_groups=[])
    try:
        deadline = time.monotonic() + 60
        while not _python_running(token):
            assert grader.poll() is None, grader.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        # once the program is asleep it makes no system call, so strace never writes again and never
        # notices that its reader died (when it does, it takes its child along itself)
        time.sleep(1.0)
        assert _holding(token)
        os.kill(grader.pid, signal.SIGKILL)  # no cleanup code of the grader runs
        grader.wait(timeout=10)
        deadline = time.monotonic() + 3  # the reaper acts at once; a sweep by a later grader is no answer
        while _holding(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _holding(token)
        assert not left, f"still alive after the grader was killed: {left}"
    finally:
        for pid in _holding(token):  # only if the assertion above failed: this test's own leftovers
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if grader.poll() is None:
            grader.kill()
        grader.communicate()

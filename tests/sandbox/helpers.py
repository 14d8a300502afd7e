"""Helpers for the sandbox tests: every run is timed and followed by a look at the process table."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import psutil

from grader.sandbox import Limits
from grader.sandbox.runner import Options, run
from grader.trace import Process, Trace

IS_ROOT = os.geteuid() == 0

# Four processes that each wait for ever on a Queue nobody puts into: a run that can only end at a limit
BLOCKED_ON_QUEUE = """import multiprocessing

def worker(q):
    print(q.get())  # nobody ever puts anything

if __name__ == "__main__":
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=worker, args=(q,)) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
"""
# an interpreter an unprivileged uid can run (the venv's python may live under /root, mode 0700)
SYSTEM_PYTHON = next(
    (p for p in ("/usr/bin/python3.11", "/usr/bin/python3") if os.access(p, os.X_OK)), None
)


def namespaced(trace: Trace) -> bool:
    """The run had a PID namespace of its own (its pids are the namespace's, not the host's)."""
    return trace.sandbox.get("pid_namespace", "no").startswith("pid:[")


def run_uid(trace: Trace) -> int | None:
    """The unprivileged uid the run had to itself, if any."""
    user = trace.sandbox.get("user", "")
    return int(user.split()[1]) if user.endswith("(a uid of its own)") else None


def survivors(trace: Trace, ended: float | None = None) -> list[str]:
    """Processes of the run still on the machine (zombies included): found by the run's marker in
    the environment of every process, by its PID namespace and by the real uid the run had to
    itself (both only for processes created before the run ended at `ended`, time.time()), and
    (without a namespace) by the pids the trace knows. Namespace inodes are reused as soon as a
    namespace is gone, and uids as soon as their lease is: a process of our uid, or in a namespace
    with our inode, that carries another run's marker or was created after our run ended is
    another grader's (a zombie's marker cannot be read: another grader's zombie in a new
    namespace that got our inode was taken for ours)."""
    marker = f"GRADER_RUN={trace.sandbox['run']}"
    ns = trace.sandbox["pid_namespace"] if namespaced(trace) else None
    uid = run_uid(trace)
    known = set() if ns else {p.pid for p in trace.processes}
    found = []
    for proc in psutil.process_iter(["pid", "status", "ppid"]):
        try:
            env = proc.environ()
            env_hit = marker in "\0".join(f"{k}={v}" for k, v in env.items())
            # namespace inodes and uids are recycled: a process marked as another run's (another
            # grader on this machine) is that run's, even in a new namespace with our old inode
            other_run = "GRADER_RUN" in env and f"GRADER_RUN={env['GRADER_RUN']}" != marker
        except (psutil.AccessDenied, psutil.ZombieProcess, psutil.NoSuchProcess):
            env_hit = other_run = False
        before = ended is None or _started_before(proc.pid, ended)
        try:
            ns_hit = ns is not None and before and os.readlink(f"/proc/{proc.pid}/ns/pid") == ns
        except OSError:
            ns_hit = False
        try:
            uid_hit = uid is not None and before and proc.uids().real == uid
        except (psutil.AccessDenied, psutil.ZombieProcess, psutil.NoSuchProcess):
            uid_hit = False
        try:
            if env_hit or ((ns_hit or uid_hit) and not other_run) or (proc.pid in known
                                                                         and proc.info["ppid"] == os.getpid()):
                mine = " (this process)" if proc.info["ppid"] == os.getpid() else ""
                found.append(f"{proc.pid} {proc.info['status']} {proc.name()}, parent {proc.info['ppid']}{mine}, "
                             f"{_ns(proc.pid)}")
        except psutil.NoSuchProcess:
            pass
    return found


def _ns(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return "pid namespace unknown"


_TICK = 1 / os.sysconf("SC_CLK_TCK")


def _started_before(pid: int, ended: float) -> bool:
    """`pid` was created before `ended` (time.time()). /proc's start time counts whole clock ticks
    since boot (psutil adds a boot time rounded to the second, too coarse for a namespace inode
    reused within a second), so only a process started at least a tick before counts."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            start = int(f.read().rpartition(b")")[2].split()[19]) * _TICK
    except (OSError, IndexError, ValueError):
        return True  # gone, or unreadable: cannot tell it apart
    ended_since_boot = time.clock_gettime(time.CLOCK_BOOTTIME) - (time.time() - ended)
    return start + _TICK <= ended_since_boot


def sandboxed(
    source: str,
    *,
    within: float,
    wall: float = 5.0,
    options: Options | None = None,
    **kwargs: Any,
) -> Trace:
    """Run `source`, assert it took at most `within` seconds and left nothing behind."""
    limits = kwargs.pop("limits", None) or Limits(wall_time=wall)
    start = time.monotonic()
    trace = run(source, limits=limits, options=options or Options(), **kwargs)
    elapsed = time.monotonic() - start
    ended = time.time()
    assert elapsed <= within, f"took {elapsed:.2f} s, expected at most {within} s"
    left = survivors(trace, ended)
    assert not left, f"processes survived the run: {left}"
    if not namespaced(trace):  # (in a namespace, printed pids are the namespace's: checked above by namespace)
        for pid in extra_pids(trace):
            assert not psutil.pid_exists(pid), f"process {pid}, printed by the program, still exists"
    return trace


def extra_pids(trace: Trace) -> list[int]:
    """Pids a program printed as 'PID <n>' (for processes that try to hide)."""
    out = []
    for line in trace.lines:
        if line.text.startswith("PID "):
            out.append(int(line.text.split()[1]))
    return out


def stdout_of(trace: Trace, p: Process) -> list[str]:
    return [ln.text for ln in trace.lines_of(p.pid, ("stdout",))]


def which_python(version: str) -> str | None:
    try:  # pyenv's interpreters, where this user may list them (not under root's 0700 home as another user)
        candidates = [f"/root/.pyenv/versions/{v}/bin/python{version}" for v in os.listdir("/root/.pyenv/versions")
                      if v.startswith(version + ".")]
    except OSError:
        candidates = []
    candidates.append(shutil.which(f"python{version}") or "")
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)

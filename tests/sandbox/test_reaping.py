"""The grader (a child subreaper) reaps every process of the launch that comes back to it, before
`run()` returns, and nothing else: no zombie is left for the grader's lifetime, and no other
child of the grader (another run's strace or init, in a parallel thread) is waited for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import Limits, bwrap, isolation, proctable, reaper
from grader.sandbox.runner import run
from grader.sandbox.watch import Watch
from tests.sandbox.helpers import namespaced, stdout_of

pytestmark = pytest.mark.slow
PROBE = bwrap.probe()
needs_namespaces = pytest.mark.skipif(not isinstance(PROBE, bwrap.Bwrap), reason=f"no namespaces here: {PROBE}")


def _children() -> dict[int, str]:
    """This process's children (zombies included): pid -> "state comm"."""
    me = str(os.getpid())
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        head, _, rest = raw.rpartition(b")")
        fields = rest.split()
        if fields[1].decode() == me:
            found[int(d)] = f"{fields[0].decode()} {head.partition(b'(')[2].decode()}"
    return found


def _not_ours(before: dict[int, str]) -> dict[int, str]:
    """Children now that were not there before, the reaper helper (one per grader) aside."""
    helper = reaper._helper.pid if reaper._helper is not None else None
    return {pid: what for pid, what in _children().items() if pid not in before and pid != helper}


@needs_namespaces
def test_the_probe_leaves_no_zombie() -> None:
    """bwrap's own init outlived bwrap in the probe's `bwrap ... true` and came back to the grader,
    which never reaped it: one zombie for each grader process."""
    assert isolation.make_subreaper()
    before = _children()
    bwrap.probe.cache_clear()
    try:
        assert isinstance(bwrap.probe(), bwrap.Bwrap)
    finally:
        bwrap.probe.cache_clear()
        bwrap.probe()
    time.sleep(0.2)  # a re-parented init would have come back by now
    assert _not_ours(before) == {}


LATE = '''#!/bin/sh
{bwrap} "$@"
exec sleep {late}
'''


@needs_namespaces
def test_outer_processes_that_exit_late_are_reaped_before_the_run_returns(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Between strace and bwrap, a process that outlives strace's grace (2 s after the namespace
    ended): strace is killed, that process and bwrap's init come back to the grader. Before this,
    run() returned with them unreaped (alive, then a zombie for the grader's lifetime); a loaded
    machine does the same with bwrap itself. They are killed and reaped, bounded in time."""
    assert isinstance(PROBE, bwrap.Bwrap)
    late = tmp_path / "late-bwrap"
    late.write_text(LATE.format(bwrap=PROBE.path, late=30))
    late.chmod(0o755)
    monkeypatch.setattr(bwrap, "probe", lambda: bwrap.Bwrap(str(late), PROBE.version, PROBE.setpriv))
    run('print("warm")\n', limits=Limits(wall_time=5.0))  # the reaper helper, started once
    before = _children()
    start = time.monotonic()
    trace = run('print("done")\n', limits=Limits(wall_time=5.0))
    elapsed = time.monotonic() - start
    assert namespaced(trace) and stdout_of(trace, trace.processes[0]) == ["done"]
    assert _not_ours(before) == {}
    assert elapsed < 10.0, f"took {elapsed:.2f} s"


def test_the_grader_reaps_only_what_it_held() -> None:
    """A zombie child of the grader that is not the run's is left for its owner to reap."""
    other = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _children().get(other.pid, "").split()[:1] != ["Z"] and time.monotonic() < deadline:
        time.sleep(0.01)
    trace = run('print("x")\n', limits=Limits(wall_time=5.0))
    assert trace.ok
    assert _children().get(other.pid, "").startswith("Z")  # still there for its owner
    assert other.wait(timeout=5) == 0


def _watch_of(pid: int) -> Watch:
    watch = Watch(uid=None, cgroups=None, events=None, marker=b"GRADER_TEST_RUN=x")
    watch.main_pid = -1  # a run whose main process is not the child below
    st = proctable.read_stat(pid)
    assert st is not None
    watch._note(st, "proc")
    return watch


def test_without_namespaces_a_reused_pid_is_neither_reaped_nor_killed() -> None:
    """The fallback's watch remembers pids. When the process it saw at a pid is gone and the pid
    now names another process (a parallel run's orphan, or anyone's), it must leave that one alone:
    the process at the pid is checked by its start time, and the signal goes through a pidfd."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        watch = _watch_of(sleeper.pid)
        st = proctable.read_stat(sleeper.pid)
        assert st is not None and watch.ours(st)
        watch.seen[sleeper.pid].ident = st.start - 1.0  # what was seen there was an earlier process
        assert not watch.ours(st)
        assert not proctable.signal_exact(sleeper.pid, signal.SIGKILL, watch.ours)
        time.sleep(0.1)
        assert sleeper.poll() is None, "a process that is not the run's was killed"
        sleeper.kill()
        sleeper.wait()
        quick = subprocess.Popen([sys.executable, "-c", "pass"])
        while _children().get(quick.pid, "").split(" ")[0] != "Z":
            time.sleep(0.01)
        watch = _watch_of(quick.pid)
        watch.seen[quick.pid].ident = -1.0
        watch.reap()
        assert quick.pid in _children(), "a zombie that is not the one seen was reaped"
        watch.seen[quick.pid].ident = None
        watch._note(proctable.read_stat(quick.pid), "proc")  # type: ignore[arg-type]
        watch.reap()
        assert quick.pid not in _children() and quick.pid in watch.reaped
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_signal_exact_kills_the_process_it_accepts() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    assert proctable.signal_exact(sleeper.pid, signal.SIGKILL, lambda st: st.pid == sleeper.pid)
    assert sleeper.wait(5) == -signal.SIGKILL
    assert not proctable.signal_exact(sleeper.pid, signal.SIGKILL, lambda st: True)  # reaped: nothing there


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_without_namespaces_the_observers_processes_are_known_by_their_tracer() -> None:
    """What strace says is alive is killed only if the process at that pid is traced by this
    run's strace: a pid freed and reused meanwhile names a process strace does not trace."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    observer = subprocess.Popen(["strace", "-f", "-o", "/dev/null", *sleeper])
    try:
        deadline = time.monotonic() + 10
        traced: list[int] = []
        while not traced and time.monotonic() < deadline:
            # the sleeper, once it runs traced (strace also forks short-lived children of its own to probe ptrace)
            traced = [pid for pid in _children_of(observer.pid)
                      if b"time.sleep(30)" in _cmdline(pid) and proctable.tracer(pid) == observer.pid]
            time.sleep(0.02)
        assert traced
        assert proctable.tracer(os.getpid()) == 0
        bystander = subprocess.Popen(sleeper)
        assert not proctable.signal_exact(bystander.pid, signal.SIGKILL,
                                          lambda st: proctable.tracer(st.pid) == observer.pid)
        assert bystander.poll() is None
        bystander.kill()
        bystander.wait()
        assert proctable.signal_exact(traced[0], signal.SIGKILL, lambda st: proctable.tracer(st.pid) == observer.pid)
        observer.wait(10)
    finally:
        if observer.poll() is None:
            observer.kill()
            observer.wait()


def _children_of(parent: int) -> list[int]:
    return [st.pid for st in proctable.scan().values() if st.ppid == parent]

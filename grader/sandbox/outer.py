"""The launch's processes outside the PID namespace, held by pidfd and reaped exactly.

A namespaced run is `strace -> bwrap -> init -> program`: strace is the grader's own child, the
rest are strace's descendants. The grader is a child subreaper (isolation.make_subreaper), so
whenever one of them outlives its parent it is re-parented to the grader: init when bwrap exits
before it (bwrap leaves as soon as the program's main process has, init stays while stragglers
live), bwrap and init when strace is killed after its grace (a loaded machine). Nothing else of
the run can come to the grader: an orphan inside the namespace goes to init.

Such a process must be reaped before the run returns (a zombie holds a pid, of a uid's process
limit too), and only it: runs happen in parallel threads, so a bare pid remembered from this run
may by then name another run's strace or init, and `waitpid(pid)` on it would steal that run's
exit status. So each is held by a pidfd opened while it was provably the run's (`hold`), and
reaped through that pidfd (`Outer.reap`): a pidfd names one process, never a reused pid.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from dataclasses import dataclass


@dataclass
class Held:
    pid: int
    fd: int
    done: bool = False  # reaped by us, or gone (reaped by its own parent)


class Outer:
    """init and its ancestors up to (not including) strace, each held by a pidfd."""

    def __init__(self, held: list[Held]) -> None:
        self.held = held

    @classmethod
    def hold(cls, init: int, top: int, depth: int = 3) -> Outer | None:
        """Open a pidfd on `init` and on each ancestor of it up to `top` (strace, the grader's own
        unreaped child: its pid cannot name anyone else). Proven the run's: every process was found
        to be the child of the next one, the last a child of `top` (or already re-parented to the
        grader), while its pidfd still named a living (or unreaped) process, so the /proc entry
        read was the pidfd's process. None if the chain is not that (within `depth` processes)."""
        held: list[Held] = []
        tops = (top, os.getpid())
        pid = init
        try:
            for _ in range(depth):
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    return None
                held.append(Held(pid, fd))
                parent = _parent_of(pid)
                if parent is None or not _exists(fd):
                    return None
                if parent in tops:
                    kept, held = held, []
                    return cls(kept)
                pid = parent
            return None
        finally:
            for h in held:  # not proven: let go
                os.close(h.fd)

    @property
    def init(self) -> Held:
        return self.held[0]

    def reap(self, *, kill: bool = False, timeout: float = 0.0) -> float:
        """Reap each held process that is now the grader's zombie; wait (at most `timeout`) until
        every one is either reaped by us or gone (reaped by its parent, also held here or strace).
        `kill`: SIGKILL those still running first (strace is gone: nothing else will end them).
        Returns the CPU time of what was reaped here (init's includes every process it reaped)."""
        cpu = 0.0
        if kill:
            for h in self.held:
                if not h.done:
                    with contextlib.suppress(OSError):
                        signal.pidfd_send_signal(h.fd, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while True:
            for h in self.held:
                if not h.done:
                    cpu += _reap_one(h)
            left = [h for h in self.held if not h.done]
            now = time.monotonic()
            if not left or now >= deadline:
                return cpu
            # an exit makes a pidfd readable; a parent's exit is what makes its zombie child ours
            with selectors.DefaultSelector() as sel:
                for h in left:
                    sel.register(h.fd, selectors.EVENT_READ)
                ready = sel.select(min(0.01, deadline - now))
            if len(ready) == len(left):
                time.sleep(0.001)  # all exited, some still someone else's (being reaped, re-parented)

    @property
    def all_done(self) -> bool:
        return all(h.done for h in self.held)

    def close(self) -> None:
        for h in self.held:
            if h.fd >= 0:
                os.close(h.fd)
                h.fd = -1


def _reap_one(h: Held) -> float:
    """Reap `h` if it is our zombie (WNOWAIT through its pidfd first: proof that its pid is ours to
    wait for, and stays so, before wait4 collects it with its CPU time)."""
    try:
        found = os.waitid(os.P_PIDFD, h.fd, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # not our child: someone else's, or already reaped
        if not _exists(h.fd):
            h.done = True
        return 0.0
    except OSError:
        return 0.0
    if found is None:
        return 0.0  # our child, still running
    try:
        pid, _status, usage = os.wait4(h.pid, os.WNOHANG)
    except ChildProcessError:
        return 0.0
    if pid != h.pid:
        return 0.0
    h.done = True
    return usage.ru_utime + usage.ru_stime


def _exists(fd: int) -> bool:
    """The pidfd's process is alive or an unreaped zombie (its pid not yet free)."""
    try:
        signal.pidfd_send_signal(fd, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists
    return True


def _parent_of(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status", "rb") as f:
        for line in f.read(1 << 14).splitlines():
            if line.startswith(b"PPid:"):
                return int(line.split()[1])
    return None

"""How many sandboxed runs a batch has going at once: `jobs` always, more only while cores sit idle.

A run of a homework answer keeps a core busy for only part of its wall time: it waits for its
namespace and tracer to start, for its children, for a pipe, for a `sleep`; one grading of the
ten notebooks of `bench/vs_nbgrader.py` at `-j 2` kept its two cores about 60 % busy. So a batch
starts a further run (another question of the same submission, a run variant beside the default
run) when a core is free *at that moment*, as `grader check` does for its questions: the cores
this process may use, less the processes running now. Time limits are wall time, so the rule
never crowds the machine: on a busy machine (other work, or the batch's own runs computing) no
further run starts, and the batch runs `jobs` at a time as before. Every run has its own
sandbox and verdicts come from kernel facts and program order, not from timing, so when a run
starts changes when it finishes, not what it shows.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

POLL = 0.05  # seconds between looks at the free cores while a run waits for one
PACE = 0.05  # at least this long between two further runs: a run just started shows as load only once it runs


def free_cores() -> int:
    """The cores this process may use, less the processes and threads running now (this thread,
    which is reading /proc, aside). 0 when /proc cannot tell (not Linux): then no run is added."""
    try:
        cpus = len(os.sched_getaffinity(0))
        with open("/proc/stat", "rb") as stat:
            running = next(int(line.split()[1]) for line in stat if line.startswith(b"procs_running "))
    except (AttributeError, OSError, StopIteration, ValueError, IndexError):
        return 0
    return max(0, cpus - (running - 1))


class RunSlots:
    """A gate every run of a batch passes: up to `jobs` runs at once always, and up to `most` (twice
    `jobs` by default) while `free()` says a core is idle. A waiting run can be given up (`abandon`:
    a speculative run no longer worth starting) and Ctrl-C ends every wait."""

    def __init__(self, jobs: int, most: int | None = None, free: Callable[[], int] = free_cores) -> None:
        self.jobs = max(1, jobs)
        self.most = max(self.jobs, most if most is not None else 2 * self.jobs)
        self.free = free
        self.active = 0
        self.peak = 0  # the most runs that went at once (for tests and benchmarks)
        self._cond = threading.Condition()
        self._last_extra = float("-inf")
        self._waiting = 0  # runs waiting that are not idle_only: they go first

    def acquire(self, abandon: Callable[[], bool] | None = None, idle_only: bool = False) -> bool:
        """Wait for a slot; False if `abandon()` became true first. Raises Cancelled on Ctrl-C.
        `idle_only`: only on an idle core, never one of the `jobs`, and only while no other run waits
        (a run that may turn out unneeded goes after every run that is needed)."""
        from grader.sandbox.cancel import Cancelled, requested

        with self._cond:
            if not idle_only:
                self._waiting += 1
            try:
                while True:
                    if requested():
                        raise Cancelled("the batch is stopping")
                    if abandon is not None and abandon():
                        return False
                    if self.active < self.jobs and not idle_only:
                        break
                    now = time.monotonic()
                    if self.active < self.most and now - self._last_extra >= PACE and \
                            not (idle_only and self._waiting) and self.free() > 0:
                        self._last_extra = now
                        break
                    self._cond.wait(POLL)
            finally:
                if not idle_only:
                    self._waiting -= 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            return True

    def release(self) -> None:
        with self._cond:
            self.active -= 1
            self._cond.notify()

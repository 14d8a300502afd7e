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
    a speculative run no longer worth starting) and Ctrl-C ends every wait.

    Only one waiting run at a time looks at the cores every POLL (the others sleep until a slot is
    released or it is their turn to look), and runs with an `abandon` rule look at it every POLL.
    When every waiting run looked at /proc/stat every POLL, the 20-odd runs a `-j 2` batch has
    waiting cost the grader about a quarter of its own CPU (bench/vs_nbgrader.py's ten notebooks:
    5,000 looks and 5,700 wake-ups, 0.3-0.5 CPU-s)."""

    def __init__(self, jobs: int, most: int | None = None, free: Callable[[], int] = free_cores) -> None:
        self.jobs = max(1, jobs)
        self.most = max(self.jobs, most if most is not None else 2 * self.jobs)
        self.free = free
        self.active = 0
        self.peak = 0  # the most runs that went at once (for tests and benchmarks)
        lock = threading.Lock()
        self._needed = threading.Condition(lock)  # runs that are surely needed wait here
        self._spare = threading.Condition(lock)  # `idle_only` runs (they may turn out unneeded) wait here
        self._last_extra = float("-inf")
        self._first = threading.Condition(lock)  # `urgent` runs wait here: they go before every other
        self._waiting = 0  # runs waiting that are not idle_only: they go first
        self._urgent = 0  # of them, the urgent ones
        self._looker: int | None = None  # the needed run that looks at the free cores while others sleep

    def acquire(self, abandon: Callable[[], bool] | None = None, idle_only: bool = False,
                urgent: bool = False) -> bool:
        """Wait for a slot; False if `abandon()` became true first. Raises Cancelled on Ctrl-C.
        `idle_only`: only on an idle core, never one of the `jobs`, and only while no other run waits
        (a run that may turn out unneeded goes after every run that is needed). `urgent`: before
        every other waiting run (a run beside one that is waiting: starting it late only makes the
        two waits one after the other); it looks at the cores itself every POLL."""
        from grader.sandbox.cancel import Cancelled, requested

        me = threading.get_ident()
        urgent = urgent and not idle_only
        cond = self._spare if idle_only else self._first if urgent else self._needed
        with cond:
            if not idle_only:
                self._waiting += 1
                self._urgent += urgent
            took = False
            try:
                while True:
                    if requested():
                        raise Cancelled("the batch is stopping")
                    if abandon is not None and abandon():
                        return False
                    if self.active < self.jobs and not idle_only and (urgent or not self._urgent):
                        break
                    if not idle_only and not urgent and self._looker is None:
                        self._looker = me
                    looks = idle_only or urgent or (self._looker == me and not self._urgent)
                    now = time.monotonic()
                    if looks and self.active < self.most and now - self._last_extra >= PACE and \
                            not (idle_only and self._waiting) and self.free() > 0:
                        self._last_extra = now
                        break
                    # the others sleep until a release or a hand-over wakes them (Ctrl-C: the looker
                    # sees it within POLL and wakes everyone)
                    cond.wait(POLL if looks or abandon is not None or self._looker == me else None)
                took = True
            finally:
                if not idle_only:
                    self._waiting -= 1
                    self._urgent -= urgent
                if self._looker == me:
                    self._looker = None
                    self._needed.notify()  # the next needed run looks at the cores from now on
                if requested():
                    self._first.notify_all()
                    self._needed.notify_all()
                    self._spare.notify_all()
                elif not took and self.active < self.jobs and self._waiting:
                    self._wake()  # a released slot this run was woken for goes to another
            self.active += 1
            self.peak = max(self.peak, self.active)
            return True

    def _wake(self) -> None:
        """Hand a free slot to the first waiting run in line: urgent, then needed, then idle_only."""
        (self._first if self._urgent else self._needed if self._waiting else self._spare).notify()

    def release(self) -> None:
        with self._needed:
            self.active -= 1
            self._wake()

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

Waiting runs that are needed go longest first: each says how long it expects to take (the sleeps its
code asks for, grader.waits), and a free slot goes to the one expecting most, first come first among
equals. A run that sleeps 2 s started last ends the batch alone with the cores idle; started first,
its sleep overlaps the others' work (longest-processing-time-first, the classic rule for a short
makespan). And a run expected to sleep at least SLEEPS seconds does not hold one of the `jobs`:
up to `jobs` such runs go beside them (their sleep leaves the cores to the others). A program can
claim a sleep it does not make; then at most `jobs` runs more than usual compute at once, as when
runs are added on idle cores, and only their timing changes.
"""

from __future__ import annotations

import bisect
import itertools
import os
import threading
import time
from collections.abc import Callable

POLL = 0.05  # seconds between looks at the free cores while a run waits for one
PACE = 0.05  # at least this long between two further runs: a run just started shows as load only once it runs
SLEEPS = 0.5  # seconds of expected sleep that make a run a sleeper: it goes beside the `jobs` runs


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
    `jobs` by default) while `free()` says a core is idle; besides them, up to `jobs` sleepers (runs
    that expect to sleep SLEEPS or more). A waiting run can be given up (`abandon`: a speculative run
    no longer worth starting) and Ctrl-C ends every wait. Needed runs wait in a line ordered by what
    they `expect` (most first, then first come); the first in line takes the next slot.

    Only the first in line looks at the cores every POLL (the others sleep until a slot is released
    or they come first in line), and runs with an `abandon` rule look at it every POLL.
    When every waiting run looked at /proc/stat every POLL, the 20-odd runs a `-j 2` batch has
    waiting cost the grader about a quarter of its own CPU (bench/vs_nbgrader.py's ten notebooks:
    5,000 looks and 5,700 wake-ups, 0.3-0.5 CPU-s)."""

    def __init__(self, jobs: int, most: int | None = None, free: Callable[[], int] = free_cores) -> None:
        self.jobs = max(1, jobs)
        self.most = max(self.jobs, most if most is not None else 2 * self.jobs)
        self.free = free
        self.active = 0  # runs going, sleepers included
        self.sleeping = 0  # of them, the sleepers (they hold none of the `jobs`)
        self.peak = 0  # the most runs that went at once (for tests and benchmarks)
        lock = threading.Lock()
        self._lock = lock
        # runs that are surely needed wait in this line, each on a condition of its own:
        # (-expect, arrival, condition), so the first is the one expecting most, then the first come
        self._line: list[tuple[float, int, threading.Condition]] = []
        self._arrivals = itertools.count()
        self._spare = threading.Condition(lock)  # `idle_only` runs (they may turn out unneeded) wait here
        self._last_extra = float("-inf")
        self._first = threading.Condition(lock)  # `urgent` runs wait here: they go before every other
        self._urgent = 0  # of them, the urgent ones
        self._sleepers: set[int] = set()  # the threads holding a sleeper's slot

    def acquire(self, abandon: Callable[[], bool] | None = None, idle_only: bool = False,
                urgent: bool = False, expect: float = 0.0) -> bool:
        """Wait for a slot; False if `abandon()` became true first. Raises Cancelled on Ctrl-C.
        `idle_only`: only on an idle core, never one of the `jobs`, and only while no other run waits
        (a run that may turn out unneeded goes after every run that is needed). `urgent`: before
        every other waiting run (a run beside one that is waiting: starting it late only makes the
        two waits one after the other); it looks at the cores itself every POLL. `expect`: the
        seconds this run expects to sleep (grader.waits): among needed runs, the one expecting most
        goes first, and one expecting SLEEPS or more may go as a sleeper. The thread that acquires
        a slot releases it."""
        from grader.sandbox.cancel import Cancelled, requested

        urgent = urgent and not idle_only
        needed = not idle_only and not urgent
        sleeper = expect >= SLEEPS and not idle_only
        with self._lock:
            place = (-max(0.0, expect), next(self._arrivals), threading.Condition(self._lock))
            cond = self._spare if idle_only else self._first if urgent else place[2]
            if needed:
                bisect.insort(self._line, place)
            self._urgent += urgent
            took = False
            as_sleeper = False
            try:
                while True:
                    if requested():
                        raise Cancelled("the batch is stopping")
                    if abandon is not None and abandon():
                        return False
                    # a needed run goes when it is first in line and no urgent run waits
                    first = needed and self._line[0] is place
                    mine = urgent or (first and not self._urgent)
                    if sleeper and (urgent or first) and self.sleeping < self.jobs:
                        as_sleeper = True
                        break
                    if self.active - self.sleeping < self.jobs and mine:
                        break
                    looks = idle_only or mine
                    now = time.monotonic()
                    if looks and self.active - self.sleeping < self.most and now - self._last_extra >= PACE and \
                            not (idle_only and self._waiting) and self.free() > 0:
                        self._last_extra = now
                        break
                    # the others sleep until a release or their turn wakes them (Ctrl-C: a run that
                    # looks sees it within POLL and wakes everyone); the first in line looks again
                    # while an urgent run goes before it too (nothing wakes it when that run is gone)
                    cond.wait(POLL if looks or first or abandon is not None else None)
                took = True
            finally:
                self._urgent -= urgent
                if needed:
                    was_first = self._line[0] is place
                    self._line.remove(place)
                    if was_first and self._line:
                        self._line[0][2].notify()  # the next in line looks at the cores from now on
                if requested():
                    self._first.notify_all()
                    for _, _, other in self._line:
                        other.notify()
                    self._spare.notify_all()
                elif not took and self.active - self.sleeping < self.jobs and self._waiting:
                    self._wake()  # a released slot this run was woken for goes to another
            self.active += 1
            if as_sleeper:
                self.sleeping += 1
                self._sleepers.add(threading.get_ident())
            self.peak = max(self.peak, self.active)
            return True

    @property
    def _waiting(self) -> int:
        """Runs waiting that are not idle_only (they go first): the needed line and the urgent runs."""
        return len(self._line) + self._urgent

    def _wake(self) -> None:
        """Hand a free slot to the first waiting run in line: urgent, then needed, then idle_only."""
        if self._urgent:
            self._first.notify()
        elif self._line:
            self._line[0][2].notify()
        else:
            self._spare.notify()

    def release(self) -> None:
        with self._lock:
            self.active -= 1
            me = threading.get_ident()
            if me in self._sleepers:
                self._sleepers.discard(me)
                self.sleeping -= 1
            self._wake()

"""Slow or hung: a run that reaches its wall-time limit while still making progress gets more time.

    progress = Progress(limits, t0, clock)      # limits.extensible: wall_time_max > wall_time
    later = progress.deadline(now, record)      # at the deadline: the next one, or None (cut now)

A limit set low so that a hang costs little (`wall_time: auto`, a few times the reference
solution's time) also cuts an honest program that is merely slow: one that starts four processes
one after another, sleeping 3 s between them, takes 12 s and finishes. A careful TA tells the two
apart by watching: a program that still prints, or still starts and ends processes, is slow; one
that has shown nothing for a while is hung. So a run that reaches `Limits.wall_time` goes on while
it made progress within the last `Limits.progress_window` seconds, and never past
`Limits.wall_time_max`:

    cut at the first moment t >= wall_time with no progress in (t - window, t], or at wall_time_max

Progress is what the kernel saw, through strace's record, outside the program: a process of the
run started or ended, or a process of the run wrote to stdout or stderr, within the bytes the
output limit keeps (the record keeps no more; waiting for output nobody reads changes nothing, so
a loop printing without end makes no progress once it has filled its output; the grader's
`PastOutputCap` rule stops it there anyway). CPU time is not progress: a busy loop burns it as an
honest computation does, and the limit's factor over the reference solution's time is what
covers computation. Each sign is cheap to make on purpose (a byte or a fork a second): that buys
a program `wall_time_max` and no more. A program that hangs right after starting
its processes makes its last progress in its first moments, long before `wall_time`, and is cut
at `wall_time` as before.

Looked at only when a deadline is reached (a few times per run at most), over what the record
holds by then; a cursor keeps the look at the writes to what is new.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.sandbox.kernel import KernelRecord
from grader.sandbox.limits import Limits

_OUTPUT = ("stdout", "stderr")


@dataclass(frozen=True)
class Sign:
    """One sign of progress: when (seconds since the launch) and what, in words."""

    t: float
    what: str  # "process 5 started"

    def __str__(self) -> str:
        return f"{self.what} at {self.t:.1f} s"


class Progress:
    """The wall-time limit of one run that may be extended while the run makes progress."""

    def __init__(self, limits: Limits, t0: float, clock: float) -> None:
        assert limits.wall_time_max is not None
        self.base, self.most, self.window = limits.wall_time, limits.wall_time_max, limits.progress_window
        self.t0, self.clock = t0, clock  # launch (monotonic); wall clock - monotonic, to read strace's times
        self.extended: Sign | None = None  # the sign that first extended the limit
        self.note: str | None = None  # how the limit was applied, once it was reached
        self._writes = 0  # record.writes looked at
        self._last_write: Sign | None = None

    def deadline(self, now: float, record: KernelRecord | None) -> float | None:
        """At a deadline (`now`, monotonic): the next deadline when the run is still making progress,
        else None: the run is cut now (and `note` says why)."""
        elapsed = now - self.t0
        sign = self.last(record)
        last = f" (the last sign: {sign})" if sign is not None else ""
        if elapsed >= self.most - 1e-3:  # (first looked at so late only when the grader was held up)
            how = f"extended past {self.base:g} s while the run made progress ({self.extended}); the run was" \
                if self.extended is not None else "not extended: the run was"
            self.note = f"{how} cut at {self.most:g} s, the most a run still making progress gets{last}"
            return None
        if sign is None or elapsed - sign.t >= self.window - 1e-3:  # (a millisecond early: strace's rounding)
            quiet = f"no progress in the last {self.window:g} s{last}"
            if self.extended is None:
                self.note = f"not extended past {self.base:g} s: {quiet}"
            else:
                self.note = (f"extended past {self.base:g} s while the run made progress ({self.extended}); the run "
                             f"was cut at {elapsed:.1f} s: {quiet}")
            return None
        if self.extended is None:
            self.extended = sign
        return self.t0 + min(self.most, sign.t + self.window)

    def passed(self) -> str | None:
        """How the limit was applied to a run that went past it and then ended otherwise than at a
        wall limit (by itself, or stopped by a rule); None if it never went past it."""
        if self.extended is None:
            return None
        return (f"extended past {self.base:g} s (up to {self.most:g} s): the run was still making progress "
                f"({self.extended})")

    def last(self, record: KernelRecord | None) -> Sign | None:
        """The latest sign of progress the record holds: a process of the program started or ended,
        or a process of the run wrote to stdout or stderr."""
        if record is None or record.main is None or record.main not in record.tasks:
            return None
        main = record.tasks[record.main]
        start = main.first or 0.0
        best: tuple[float, str] | None = None
        for pid, p in record.tasks.items():
            if pid == record.main or p.first is None or p.first < start:
                continue  # the main process itself, or the launch's own processes (bwrap, setpriv)
            for t, what in ((p.first, "started"), (p.end, "ended")):
                if t is not None and (best is None or t > best[0]):
                    best = (t, f"process {_pid(record, pid)} {what}")
        writes = record.writes
        for w in reversed(writes[self._writes:]):
            if w.target in _OUTPUT and w.t >= start:
                who = "the main process" if w.pid == record.main else f"process {_pid(record, w.pid)}"
                self._last_write = Sign(self._since(w.t), f"{who} wrote to {w.target}")
                break
        self._writes = len(writes)
        found = Sign(self._since(best[0]), best[1]) if best is not None else None
        if self._last_write is not None and (found is None or self._last_write.t > found.t):
            found = self._last_write
        return found

    def _since(self, wall: float) -> float:
        return round(wall - self.clock - self.t0, 3)


def _pid(record: KernelRecord, outer: int) -> int:
    """The pid the program sees (inside its PID namespace), else the host's."""
    return record.getpid.get(outer) or record.inner_tid.get(outer) or outer

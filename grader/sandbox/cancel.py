"""Stopping every run at once, for Ctrl-C: a flag each run's supervision loop looks at.

The loop wakes at least every 50 ms, so once `cancel_all()` is called every run in progress is
killed (the whole process tree, as at a timeout) and raises `Cancelled` within that time; a run
asked for afterwards raises it at once. A cancelled run has no Trace: it did not finish.
"""

from __future__ import annotations

import threading

from grader.errors import GraderError

_stop = threading.Event()


class Cancelled(GraderError):
    """The run was stopped because the grader is stopping (Ctrl-C)."""


def cancel_all() -> None:
    _stop.set()


def reset() -> None:
    _stop.clear()


def requested() -> bool:
    return _stop.is_set()

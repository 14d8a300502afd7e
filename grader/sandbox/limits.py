"""Resource limits of one run. Every field has a default; the rubric may override any of them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    """Limits of one run.

    wall_time       seconds from launch until the whole run is killed.
    cpu_time        CPU seconds per process, rounded up to whole seconds (RLIMIT_CPU: the process
                    gets SIGXCPU, then SIGKILL a second later).
    memory          bytes of writable memory per process (RLIMIT_DATA: heap, anonymous mappings and
                    thread stacks; allocations beyond it fail, so Python raises MemoryError).
    memory_total    bytes of memory all the run's processes may use together, or None: a cgroup's
                    limit, where the grader may create cgroups (root); over it the kernel ends one
                    of them. Off by default: moving a run into a cgroup costs about 10 ms here (an
                    RCU grace period of cgroup v1). Without it, `memory` per process bounds each
                    one, and the run's processes are the OOM killer's first choice machine-wide.
    max_processes   processes the run may have alive at once, main included (fork bomb guard).
    file_size       largest file a process may write, in bytes (RLIMIT_FSIZE: SIGXFSZ).
    output          bytes kept per stream (stdout, stderr); the rest is read and counted, not kept.
    wall_time_max   when above wall_time: a run that reaches wall_time while it is still making
                    progress goes on, for as long as it keeps making progress, up to this many
                    seconds (grader.sandbox.progress). None: wall_time is the only wall limit.
    progress_window seconds without progress after which such a run is cut (the run made progress
                    if something happened within the last `progress_window` seconds).
    """

    wall_time: float = 10.0
    cpu_time: float = 10.0
    memory: int = 1 * GIB
    memory_total: int | None = None
    max_processes: int = 64
    file_size: int = 16 * MIB
    output: int = 1 * MIB
    wall_time_max: float | None = None
    progress_window: float = 4.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        names = ("wall_time", "cpu_time", "progress_window") + (("wall_time_max",) if self.wall_time_max is not None
                                                                else ())
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{name} must be a number of seconds, not {value!r}")
            elif not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive number of seconds, not {value!r}")
        minimum = {"memory": 32 * MIB, "memory_total": 32 * MIB, "max_processes": 1, "file_size": 64 * KIB,
                   "output": 1 * KIB}
        for name, low in minimum.items():
            value = getattr(self, name)
            if value is None and name == "memory_total":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{name} must be an integer, not {value!r}")
            elif value < low:
                problems.append(f"{name} must be at least {low}, not {value!r}")
        if not problems and self.wall_time_max is not None and self.wall_time_max < self.wall_time:
            problems.append(f"wall_time_max ({self.wall_time_max:g} s) is below wall_time ({self.wall_time:g} s)")
        if problems:
            raise ValueError("invalid limits: " + "; ".join(problems))

    @property
    def extensible(self) -> bool:
        """A run still making progress at wall_time may go on (up to wall_time_max)."""
        return self.wall_time_max is not None and self.wall_time_max > self.wall_time

    def to_json(self) -> dict[str, float]:
        """Every limit that is set (the progress window only where it can apply)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if not self.extensible:
            out.pop("progress_window")
        return out

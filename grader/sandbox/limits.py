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
    max_processes   processes the run may have alive at once, main included (fork bomb guard).
    file_size       largest file a process may write, in bytes (RLIMIT_FSIZE: SIGXFSZ).
    output          bytes kept per stream (stdout, stderr); the rest is read and counted, not kept.
    """

    wall_time: float = 10.0
    cpu_time: float = 10.0
    memory: int = 1 * GIB
    max_processes: int = 64
    file_size: int = 16 * MIB
    output: int = 1 * MIB

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("wall_time", "cpu_time"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{name} must be a number of seconds, not {value!r}")
            elif not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive number of seconds, not {value!r}")
        minimum = {"memory": 32 * MIB, "max_processes": 1, "file_size": 64 * KIB, "output": 1 * KIB}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{name} must be an integer, not {value!r}")
            elif value < low:
                problems.append(f"{name} must be at least {low}, not {value!r}")
        if problems:
            raise ValueError("invalid limits: " + "; ".join(problems))

    def to_json(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items()}

"""Optional cgroup layer: one cgroup per run, used where the grader may create cgroups (root).

- cgroup v1 `pids` controller or cgroup v2 with `pids` enabled: `pids.max` bounds the number of
  processes, which is what contains a fork bomb when the program runs as root (root ignores
  RLIMIT_NPROC).
- cgroup v1 `memory` controller or cgroup v2 with `memory` enabled: the memory of all the run's
  processes together (`Limits.memory_total`); the per-process rlimit alone lets 64 processes
  take 64 times it. Over the limit the kernel's OOM killer ends one of the run's processes, and
  nothing outside the run.
- cgroup v2 (any controllers): exact membership (`cgroup.procs`, which a process cannot leave
  without write access elsewhere, so `setsid` or double forks do not escape it) and an atomic
  `cgroup.kill`.

Never required: the sandbox works without it (uid, RLIMIT_NPROC, subreaper and /proc scans).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PARENT = "grader-sandbox"


@dataclass(frozen=True)
class Mounts:
    v1_pids: Path | None  # root of a writable v1 hierarchy with the pids controller
    v2: Path | None  # root of a writable cgroup2 hierarchy
    v1_memory: Path | None = None  # root of a writable v1 hierarchy with the memory controller


@lru_cache(maxsize=1)
def mounts() -> Mounts:
    v1: Path | None = None
    v1_memory: Path | None = None
    v2: Path | None = None
    try:
        with open("/proc/self/mounts") as f:
            lines = f.read().splitlines()
    except OSError:
        return Mounts(None, None)
    for line in lines:
        parts = line.split()
        if len(parts) < 4:
            continue
        _dev, where, fstype, options = parts[:4]
        opts = options.split(",")
        if "ro" in opts:
            continue
        if fstype == "cgroup" and "pids" in opts and v1 is None:
            v1 = Path(where)
        if fstype == "cgroup" and "memory" in opts and v1_memory is None:
            v1_memory = Path(where)
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(where)
    return Mounts(_usable(v1), _usable(v2), _usable(v1_memory) if v1_memory != v1 else None)


def _usable(root: Path | None) -> Path | None:
    """The directory under which run cgroups are created, if the grader may create them."""
    if root is None:
        return None
    parent = root / _PARENT
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    if not os.access(parent / "cgroup.procs", os.W_OK):
        return None
    return parent


def _write(path: Path, text: str) -> bool:
    try:
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


class RunCgroups:
    """The cgroups of one run (one per usable hierarchy): `pids` bounds its processes (where the
    program has no uid of its own), `memory` the memory of all of them together."""

    def __init__(self, name: str, max_processes: int, *, memory: int | None = None, pids: bool = True,
                 use_v1: bool = True, use_v2: bool = True) -> None:
        self.name = name
        self.dirs: list[Path] = []
        self.limited = False  # pids.max is in force
        self.memory_limited = False  # the run's memory together is bounded
        self.killable = False  # cgroup.kill exists
        m = mounts()
        hierarchies = ((m.v1_pids, use_v1 and pids, True, False), (m.v1_memory, use_v1 and memory is not None,
                                                                    False, True),
                       (m.v2, use_v2 and (pids or memory is not None), pids, memory is not None))
        for parent, wanted, want_pids, want_memory in hierarchies:
            if parent is None or not wanted:
                continue
            d = parent / name
            try:
                d.mkdir()
            except OSError:
                continue
            if want_pids and ((d / "pids.max").exists() or _enable(parent, "pids")):
                self.limited |= _write(d / "pids.max", str(max_processes))
            if want_memory and memory is not None:
                if _limit_memory(d, parent, memory):
                    self.memory_limited = True
                elif not want_pids:
                    with contextlib.suppress(OSError):
                        d.rmdir()  # a cgroup that bounds nothing is only a cost
                    continue
            self.dirs.append(d)
            self.killable |= (d / "cgroup.kill").exists()

    def __bool__(self) -> bool:
        return bool(self.dirs)

    @property
    def marker(self) -> str:
        """What the bootstrap waits for in /proc/self/cgroup: the name, once per hierarchy."""
        return f"{self.name}:{len(self.dirs)}" if self.dirs else ""

    def add(self, pid: int) -> bool:
        ok = True
        for d in self.dirs:
            ok &= _write(d / "cgroup.procs", str(pid))
        return ok

    def procs(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            try:
                text = (d / "cgroup.procs").read_text()
            except OSError:
                continue
            out.update(int(x) for x in text.split())
        return out

    def oom_kills(self) -> int:
        """Processes of the run the kernel's OOM killer ended because the run's memory limit was reached."""
        total = 0
        for d in self.dirs:
            for name in ("memory.oom_control", "memory.events"):  # v1, v2
                with contextlib.suppress(OSError, ValueError):
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            total += int(value)
        return total

    def hit_max(self) -> bool:
        """Whether a fork failed because pids.max was reached."""
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                for line in (d / "pids.events").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "max" and int(value) > 0:
                        return True
        return False

    def kill(self) -> None:
        for d in self.dirs:
            if (d / "cgroup.kill").exists():
                _write(d / "cgroup.kill", "1")
        for pid in self.procs():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def remove(self, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        for d in self.dirs:
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    self.kill()
                    time.sleep(0.002)


def _enable(parent: Path, controller: str) -> bool:
    """cgroup v2: enable `controller` for the children of `parent` if it is offered."""
    try:
        controllers = (parent / "cgroup.controllers").read_text().split()
    except OSError:
        return False
    if controller not in controllers:
        return False
    return _write(parent / "cgroup.subtree_control", "+" + controller)


def _limit_memory(d: Path, parent: Path, memory: int) -> bool:
    """Bound the memory of cgroup `d` (v1 or v2), swap included where the kernel accounts it."""
    if (d / "memory.limit_in_bytes").exists():  # v1
        ok = _write(d / "memory.limit_in_bytes", str(memory))
        if ok and (d / "memory.memsw.limit_in_bytes").exists():
            _write(d / "memory.memsw.limit_in_bytes", str(memory))
        return ok
    if (d / "memory.max").exists() or _enable(parent, "memory"):
        ok = _write(d / "memory.max", str(memory))
        if ok and (d / "memory.swap.max").exists():
            _write(d / "memory.swap.max", "0")
        return ok
    return False

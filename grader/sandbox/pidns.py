"""Pids of a run in its own PID namespace.

The program sees (and its recorder writes) the pids of its namespace: the main process is 2,
bwrap's init 1. The grader observes from outside with host pids. The kernel knows both: the
`NSpid` line of /proc/<host pid>/status lists a process's pid in every namespace from the
grader's down. Each process is looked up as soon as it is seen (alive, or a zombie not yet
reaped). One that came and went between two looks (a busy machine) is matched afterwards only
where that is unambiguous: the kernel allocates a process's host and namespace pids together, so
they come in the same order, and the lost processes between two looked-up ones took the recorded
pids between theirs, when there are as many of each. Anything else keeps its host pid in the
record and shows as an observation no claim matches.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox.watch import Seen

INIT = 1  # bwrap's reaper, the namespace's init
FIRST = 2  # the program's main process when bwrap forks it from init in a fresh namespace
LAST_BEFORE_MAIN = 10_000  # the grader makes the namespace's pids start after this (bwrap.set_last_pid)


OUTSIDE = 0  # ns_pid's answer for a process in the grader's own namespace (bwrap, an observer)


def ns_pid(host_pid: int) -> int | None:
    """`host_pid`'s pid one namespace below the grader's, OUTSIDE if it is in the grader's own
    namespace, None if it is gone."""
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{host_pid}/status", "rb") as f:
        for line in f.read(1 << 14).splitlines():
            if line.startswith(b"NSpid:"):
                parts = line.split()[1:]
                return int(parts[1]) if len(parts) >= 2 else OUTSIDE
    return None


class PidMap:
    """Host pid -> namespace pid for the processes of one run."""

    def __init__(self, outer: int, init: int | None, main: int = FIRST) -> None:
        self.outer = outer  # bwrap's own process, outside the namespace
        self.init = init  # the namespace's init (host pid), from bwrap's --info-fd
        self.main_ns = main  # the program's main process, in the namespace
        self.to_ns: dict[int, int] = {}
        self.outside: set[int] = {outer}  # processes of the launch outside the namespace (bwrap, an observer)
        self.tried: set[int] = set()
        if init is not None:
            self.to_ns[init] = INIT

    def update(self, seen: dict[int, Seen]) -> None:
        """Look up every host pid not looked up yet."""
        for pid in seen.keys() - self.tried:
            if pid in (self.outer, self.init):
                continue
            self.tried.add(pid)
            ns = ns_pid(pid)
            if ns == OUTSIDE:
                self.outside.add(pid)
            elif ns is not None:
                self.to_ns[pid] = ns

    def infer(self, seen: dict[int, Seen], recorded: dict[int, int | None]) -> None:
        """Match processes gone before their lookup with the pids processes recorded for themselves
        (`recorded`: namespace pid -> the parent it recorded). The kernel allocates a process's pid
        in every namespace at once, under one lock, so host pids and namespace pids of one
        namespace come in the same order: the lost processes between two looked-up ones took the
        recorded pids between theirs, in order, when there are as many of each."""
        known = sorted(self.to_ns.items())
        lost = sorted(h for h in seen if h not in self.to_ns and h not in self.outside and h != self.init
                      and (h > known[0][0] if known else False))
        if not lost or not known:
            return
        taken = set(self.to_ns.values())
        free = sorted(p for p in recorded if p not in taken)
        groups: dict[int, list[int]] = {}  # index of the looked-up process just below -> lost hosts
        i = 0
        for host in lost:
            while i + 1 < len(known) and known[i + 1][0] < host:
                i += 1
            groups.setdefault(i, []).append(host)
        for i, hosts in groups.items():
            low = known[i][1]
            high = known[i + 1][1] if i + 1 < len(known) else None
            if high is not None and high < low:
                continue  # the namespace's pids wrapped around: no order to go by
            pids = [p for p in free if p > low and (high is None or p < high)]
            if len(pids) == len(hosts):
                for host, pid in zip(hosts, pids, strict=True):
                    self.to_ns[host] = pid

    def find_main(self, seen: dict[int, Seen], claimed: int | None) -> None:
        """Which namespace pid the main process really got: init's first child as the kernel saw
        it; else what the main process recorded; else the pid the namespace was set to hand out."""
        firsts = sorted((s.start if s.start is not None else 0.0, h) for h, s in seen.items()
                        if s.ppid == self.init and self.init is not None and h in self.to_ns)
        if firsts:
            self.main_ns = self.to_ns[firsts[0][1]]
        elif claimed is not None and claimed not in self.to_ns.values():
            self.main_ns = claimed

    @property
    def main(self) -> int | None:
        """The host pid of the program's main process, once seen."""
        return next((h for h, n in self.to_ns.items() if n == self.main_ns), None)

    def ns(self, host: int | None) -> int | None:
        if host is None:
            return None
        return self.to_ns.get(host, host)

    def translate(self, seen: dict[int, Seen]) -> dict[int, Seen]:
        """The observations, keyed and parented by namespace pids; bwrap's own processes left out."""
        out: dict[int, Seen] = {}
        for host, s in seen.items():
            if host in self.outside or host == self.init:
                continue
            if host not in self.to_ns and s.ppid in self.outside:
                continue  # gone before it was looked up, but a child of bwrap or of an observer that is
                # not the namespace's init: outside (inside, every parent is inside too)
            pid = self.to_ns.get(host, host)
            if pid in out and (out[pid].start or 0.0) > (s.start or 0.0):
                continue  # a namespace pid reused within the run: keep the later process
            out[pid] = dataclasses.replace(s, pid=pid, ppid=self.ns(s.ppid), sources=set(s.sources))
        return out

    def to_ns_set(self, host_pids: set[int]) -> set[int]:
        return {self.to_ns.get(h, h) for h in host_pids if h not in self.outside and h != self.init}

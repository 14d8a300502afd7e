"""Containing a run's processes: the process-count watchdog, and killing all of them at the end.

What the processes did (the facts the grade rests on) is the kernel observer's record
(`grader.sandbox.kernel`); this module only has to know which processes to count and kill.

Which processes belong to the run is decided, strongest first, by:
1. its cgroup (when the grader could create one): exact, a process cannot leave it;
2. its uid (when the run has a uid of its own): exact;
3. otherwise its ancestry: the main process, anything whose parent is already known, anything in
   the main process's session, and orphans re-parented to the grader (a subreaper) that carry the
   run's marker in their environment.

When the kernel's process event feed is available (root), every fork, exec, setsid and exit is
seen as it happens. Otherwise the process table is polled (with back-off).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from dataclasses import dataclass, field

from grader.sandbox import netlink, proctable
from grader.sandbox.cgroups import RunCgroups


@dataclass
class Seen:
    """One process as seen from outside. Times are time.monotonic() seconds."""

    pid: int
    ppid: int | None = None
    start: float | None = None
    end: float | None = None
    status: int | None = None  # wait status at exit, when it was seen
    comm: str = ""
    command: tuple[str, ...] = ()
    threads_started: int = 0
    setsid: bool = False
    execs: int = 0
    uid: int | None = None
    ident: float | None = None  # its start time in /proc: with the pid, names this process and no other
    sources: set[str] = field(default_factory=set)  # "netlink", "proc", "cgroup"


class Watch:
    def __init__(
        self,
        *,
        uid: int | None,
        cgroups: RunCgroups | None,
        events: netlink.ProcEvents | None,
        marker: bytes,
    ) -> None:
        self.grader_pid = os.getpid()
        self.uid = uid
        self.cgroups = cgroups if cgroups else None
        self.events = events
        self.marker = marker
        self.main_pid = 0
        self.seen: dict[int, Seen] = {}
        self.orphan_cpu = 0.0
        self.reaped: set[int] = set()

    @property
    def exact(self) -> bool:
        """Every process of the run is seen (kernel events that did not overflow)."""
        return self.events is not None and not self.events.overflowed

    def start(self, main_pid: int, t0: float, command: tuple[str, ...]) -> None:
        self.main_pid = main_pid
        if main_pid not in self.seen:
            self.seen[main_pid] = Seen(main_pid, ppid=self.grader_pid, start=t0, sources={"launch"})
        self.seen[main_pid].command = command
        self.read_events()

    # -- kernel events ------------------------------------------------------------------------

    def read_events(self) -> None:
        if self.events is None or not self.main_pid:
            return
        for ev in self.events.read():
            if ev.what == netlink.FORK:
                if ev.pid != ev.tgid:  # a new thread of process tgid (its "parent" is the process's parent)
                    if ev.tgid in self.seen:
                        self.seen[ev.tgid].threads_started += 1
                    continue
                if ev.parent_tgid not in self.seen and ev.tgid != self.main_pid:
                    continue
                s = self.seen.setdefault(ev.tgid, Seen(ev.tgid))
                s.ppid = ev.parent_tgid
                if s.ident is None and (st := proctable.read_stat(ev.tgid)) is not None and st.ppid == s.ppid:
                    s.ident = st.start  # read as it forked: the pid cannot have been reused yet
                s.start = ev.t if ev.tgid != self.main_pid or s.start is None else min(ev.t, s.start)
                s.sources.add("netlink")
            elif ev.what == netlink.EXIT:
                if ev.pid == ev.tgid and ev.tgid in self.seen:
                    s = self.seen[ev.tgid]
                    s.end, s.status = ev.t, ev.status
                    s.sources.add("netlink")
            elif ev.what == netlink.EXEC and ev.tgid in self.seen:
                self.seen[ev.tgid].execs += 1
            elif ev.what == netlink.SID and ev.tgid in self.seen:
                self.seen[ev.tgid].setsid = True

    # -- polling ------------------------------------------------------------------------------

    def _belongs(self, st: proctable.Stat, cgroup_pids: set[int] | None) -> bool:
        if cgroup_pids is not None:
            return st.pid in cgroup_pids
        if self.uid is not None:
            return st.uid == self.uid
        if st.pid == self.main_pid or st.ppid in self.seen or st.sid == self.main_pid:
            return True
        return st.ppid == self.grader_pid and proctable.environ_has(st.pid, self.marker)

    def _note(self, st: proctable.Stat, source: str) -> None:
        s = self.seen.setdefault(st.pid, Seen(st.pid, ppid=st.ppid, start=st.start))
        if s.ppid is None:
            s.ppid = st.ppid
        if s.start is None:
            s.start = st.start
        if s.ident is None:
            s.ident = st.start
        s.comm = st.comm
        s.uid = st.uid
        if st.sid != self.main_pid and st.pid != self.main_pid:
            s.setsid = s.setsid or st.sid == st.pid
        if st.state == "Z" and s.status is None:
            s.status = st.exit_code
        s.sources.add(source)

    def current(self) -> set[int]:
        """Pids of the run alive now, from a fresh look (not the event feed)."""
        cgroup_pids = self.cgroups.procs() if self.cgroups is not None else None
        if cgroup_pids is not None:
            return cgroup_pids
        if self.uid is not None:
            return set(proctable.pids_of_uid(self.uid))
        table = proctable.scan()
        out: set[int] = set()
        # parents first, so children of new processes are recognised in the same pass
        for st in sorted(table.values(), key=lambda s: s.start):
            if self._belongs(st, None) or st.ppid in out:
                out.add(st.pid)
        return out

    def poll(self) -> None:
        """Refresh from the process table (used when kernel events are not available)."""
        cgroup_pids = self.cgroups.procs() if self.cgroups is not None else None
        if cgroup_pids is not None:
            candidates = cgroup_pids
        elif self.uid is not None:
            candidates = set(proctable.pids_of_uid(self.uid))
        else:
            candidates = set(proctable.all_pids())
        now = time.monotonic()
        alive: set[int] = set()
        stats = [st for pid in candidates if (st := proctable.read_stat(pid)) is not None]
        for st in sorted(stats, key=lambda s: s.start):
            if self._belongs(st, cgroup_pids) or st.ppid in alive:
                self._note(st, "proc")
                if st.state != "Z":
                    alive.add(st.pid)
        for pid, s in self.seen.items():
            if pid not in alive and s.end is None and "netlink" not in s.sources:
                s.end = now

    def count(self) -> int:
        """Processes of the run alive at the last look, the main one excluded (no new look)."""
        return sum(1 for pid, s in self.seen.items() if s.end is None and pid != self.main_pid)

    def alive(self) -> set[int]:
        """Processes of the run believed alive (main excluded)."""
        if self.exact:
            return {p for p, s in self.seen.items() if s.end is None and p != self.main_pid}
        return {p for p in self.current() if p != self.main_pid}

    # -- the end ------------------------------------------------------------------------------

    def ours(self, st: proctable.Stat, cgroup_pids: set[int] | None = None) -> bool:
        """Is the process /proc shows at this pid the run's, and not a later one that reuses the pid
        (after an exit event was lost, or a process was reaped by its own parent)? Its start time
        decides where it was seen before; else the cgroup's members (`cgroup_pids`, read once by the
        caller) or a uid of the run's own, exactly; else, without either (an ordinary user without
        namespaces), its ancestry, as well as it can."""
        s = self.seen.get(st.pid)
        if s is not None and s.ident is not None:
            return st.start == s.ident
        return self._belongs(st, cgroup_pids)

    def reap(self) -> None:
        """Reap orphans of the run re-parented to the grader (it is their subreaper): only a child of
        the grader that is the process seen at that pid where its start time is known (most are:
        a zombie whose parent died before its fork was read is not), so that a parallel run's
        process that reuses the pid is not reaped by this one."""
        for pid in list(self.seen):
            if pid == self.main_pid or pid in self.reaped:
                continue
            st = proctable.read_stat(pid)
            ident = self.seen[pid].ident
            if st is None or st.ppid != self.grader_pid or (ident is not None and st.start != ident):
                continue  # not our child (yet), or another process now: while it is our child, only we free its pid
            try:
                got, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got == pid:
                self.reaped.add(pid)
                self.orphan_cpu += usage.ru_utime + usage.ru_stime
                s = self.seen[pid]
                if s.status is None:
                    s.status = status
                if s.end is None:
                    s.end = time.monotonic()

    def kill_all(self, timeout: float = 5.0) -> set[int]:
        """SIGKILL every process of the run except the main one (the caller reaps it) until none
        is left. Returns the pids that were still alive."""
        self.read_events()
        killed = self._living()  # alive when the run ended, before anything is killed
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while time.monotonic() < deadline:
            # the program's process group first (one kernel call; a fork bomb that did not call
            # setsid dies at once), then every process found by a fresh look
            with contextlib.suppress(OSError):
                os.killpg(self.main_pid, signal.SIGKILL)
            self.read_events()
            pids = self._living()
            if not pids:
                break
            for pid in pids:
                if pid not in self.seen:  # found by the look just made: what is there now is the run's
                    st = proctable.read_stat(pid)
                    self.seen[pid] = Seen(pid, sources={"proc"}, ident=st.start if st is not None else None)
            members = None
            if self.cgroups is not None:
                self.cgroups.kill()
                members = self.cgroups.procs()
            accept = functools.partial(self.ours, cgroup_pids=members)
            for pid in pids:
                proctable.signal_exact(pid, signal.SIGKILL, accept)
            killed |= pids
            self.reap()
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        return killed

    def _living(self) -> set[int]:
        pids = self.current()
        if self.exact:
            pids |= {p for p, s in self.seen.items() if s.end is None}
        pids -= {self.grader_pid, self.main_pid}
        return {p for p in pids if not _is_zombie(p)}

    def _adopt_orphans(self) -> None:
        """Without kernel events some processes were never seen (killed with their process
        group before any poll): their zombies come to the grader as subreaper. Find them by
        their session, group or uid so that they are reaped too."""
        for st in proctable.scan().values():
            if st.ppid == self.grader_pid and st.pid != self.main_pid and st.pid not in self.seen and (
                    self.main_pid in (st.sid, st.pgid) or (self.uid is not None and st.uid == self.uid)):
                self._note(st, "proc")

    def settle(self, timeout: float = 0.2) -> None:
        """After the kill: collect the last exit events and reap what is left."""
        if not self.exact:
            self._adopt_orphans()
        deadline = time.monotonic() + timeout
        while True:
            self.reap()
            self.read_events()
            pending = [p for p, s in self.seen.items() if s.end is None and p != self.main_pid]
            if not pending or not self.exact or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        now = time.monotonic()
        for pid, s in self.seen.items():
            if s.end is None and pid != self.main_pid and not os.path.exists(f"/proc/{pid}"):
                s.end = now


def _is_zombie(pid: int) -> bool:
    st = proctable.read_stat(pid)
    return st is None or st.state in ("Z", "X")

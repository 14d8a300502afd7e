"""One run: launch the program in a fresh interpreter, supervise it, kill what is left, record.

Where Linux lets it (bwrap.py), the program runs in namespaces of its own: the launch is
`bwrap ... python answer.py`, the whole run dies with the namespace's init, and the grader only
ever signals that init (through a pidfd it opened while the process was provably bwrap's child)
and bwrap itself (its own unreaped child). Without namespaces it falls back to a session, a uid
of its own (root) or the grader's (not root), rlimits and kill-by-uid/cgroup/session/marker.
As root, student code never runs as root unless `Options(unsafe_no_sandbox=True)` says so.

The grader process itself supervises (no extra supervisor interpreter: starting one would cost
more than the whole per-run overhead budget). It is a child subreaper, so orphans of the run come
back to it. The loop waits on the two output pipes, a pidfd for the main process and (when root)
the kernel's process events, so a well-behaved run costs no polling at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxError, UnsafeToRun
from grader.sandbox import bootdir, bwrap, cancel, isolation, kernel, netlink, outer, pidns, proctable, reaper, workdir
from grader.sandbox.assemble import Facts, assemble
from grader.sandbox.capture import PipeCapture
from grader.sandbox.cgroups import RunCgroups
from grader.sandbox.decide import Live, Stop, StopRule
from grader.sandbox.limits import Limits
from grader.sandbox.progress import Progress
from grader.sandbox.watch import Watch
from grader.trace import Capture, Trace

START_METHODS = ("fork", "spawn", "forkserver")
LINGER = 0.2  # after the main process exits, how long stragglers may still write before the kill
# At most one wake-up per GAP for output while the program runs: each costs the grader 50-80 us of
# CPU (reading the pipes and strace's record, the checks), and a program printing line by line
# woke it once per line (5000 wake-ups for 3000 prints). The pipes and strace's FIFO hold 1 MiB
# each, so nobody waits for the grader meanwhile; an exit still wakes it at once.
GAP = 0.002
HELPERS = 2  # multiprocessing's own processes (resource tracker, forkserver), not counted as the program's
_INIT_PID_NS_INODE = 0xEFFFFFFC  # PROC_PID_INIT_INO: the initial PID namespace's fixed inode number
_THREADS_PER_PROCESS = 4  # kernel limits count threads; a Python process often has a few


@dataclass(frozen=True)
class Options:
    """Isolation layers to use when available. Turning one off is for tests of the fallbacks.

    namespaces         bwrap's namespaces (Linux); off: the session/rlimit/kill fallback.
    unsafe_no_sandbox  a root grader may run student code as root when it can neither lease an
                       unprivileged uid nor make namespaces (otherwise it refuses: SandboxError).
    """

    uid: bool = True
    cgroups: bool = True
    netlink: bool = True
    namespaces: bool = True
    unsafe_no_sandbox: bool = False


def run(
    source: str,
    *,
    limits: Limits | None = None,
    start_method: str | None = None,
    seed: int = 0,
    filename: str = "answer.py",
    python: str | None = None,
    options: Options = Options(),
    stop: StopRule | None = None,
) -> Trace:
    """`stop`: a rule consulted while the run goes on (grader.sandbox.decide); the first `Stop` it
    returns ends the run early, and the Trace says why."""
    limits = limits if limits is not None else Limits()
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits, not {type(limits).__name__}")
    if start_method is not None and start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {', '.join(START_METHODS)} or None, not {start_method!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {seed!r}")
    if (not filename.endswith(".py") or os.sep in filename or filename.startswith(".")
            or not filename[:-3].isidentifier()):
        raise ValueError(f"filename must be a plain module file name like 'answer.py', not {filename!r}")
    exe = student_python(python)
    boot = bootdir.boot_dir(exe)
    isolation.make_subreaper()
    bw, lease = _protections(exe, boot, options)
    the_run = _Run(source, limits, start_method, seed, filename, exe, boot, lease, options, bw, stop)
    try:
        return the_run.go()
    finally:
        if lease is not None:
            lease.release(sweep=not the_run.namespace_gone)


def _protections(exe: str, boot: Path, options: Options) -> tuple[bwrap.Bwrap | None, isolation.UidLease | None]:
    """Namespaces (if usable) and, for a root grader, the unprivileged uid the program runs as.
    A root grader that can have neither refuses, unless told otherwise in so many words."""
    found = bwrap.probe() if options.namespaces else "turned off (Options(namespaces=False))"
    bw = found if isinstance(found, bwrap.Bwrap) else None
    if os.geteuid() != 0:
        return bw, None
    # without namespaces the uid must reach the interpreter and the bootstrap through the host's paths
    reachable = bw is not None or (isolation.interpreter_usable_by_others(exe)
                                   and isolation.others_can_use(boot / "_grader_recorder.py"))
    lease = isolation.lease_uid() if options.uid and reachable else None
    if lease is None and not options.unsafe_no_sandbox:
        if not options.uid:
            why = "the uid switch is turned off (Options(uid=False))"
        elif not reachable:
            why = (f"namespaces are unavailable ({found}) and {exe} or the bootstrap directory is not "
                   "reachable by an unprivileged uid")
        else:
            why = "no sandbox uid is free"
        raise UnsafeToRun(f"refusing to run student code as root: {why}. Install bubblewrap, use an "
                          "interpreter every user can run (python=...), or pass --unsafe-no-sandbox "
                          "(Options(unsafe_no_sandbox=True)) to run it as root anyway")
    return (bw if lease is not None else None), lease


def preflight(*, python: str | None = None, unsafe_no_sandbox: bool = False) -> dict[str, str]:
    """Before a batch: which protections runs will have, or UnsafeToRun now rather than for every
    submission."""
    exe = student_python(python)
    bw, lease = _protections(exe, bootdir.boot_dir(exe), Options(unsafe_no_sandbox=unsafe_no_sandbox))
    if lease is not None:
        lease.release()
    if bw is not None:
        return {"isolation": f"bwrap ({bw.version or bw.path})", "user": "a uid of its own" if lease else "yours"}
    found = bwrap.probe()
    why = found if isinstance(found, str) else "not used"
    if os.geteuid() == 0 and lease is None:
        return {"isolation": "none", "user": "root (UNSAFE)", "namespaces_unavailable": why}
    return {"isolation": "session, rlimits and kill", "user": "a uid of its own" if lease else "yours",
            "namespaces_unavailable": why}


def student_python(python: str | None = None) -> str:
    """The interpreter that runs student code: the one asked for, else the grader's own (its
    prefix and site-packages are bound read-only into the sandbox, so what the grader was
    installed with, numpy say, imports)."""
    return _resolve_python(python)


def _resolve_python(python: str | None) -> str:
    exe = python or sys.executable
    if not exe:
        raise SandboxError("no Python interpreter to run the program with")
    found = shutil.which(exe) if os.sep not in exe else exe
    if not found or not os.access(found, os.X_OK):
        raise SandboxError(f"Python interpreter not found or not executable: {exe}")
    return os.path.abspath(found)


def run_folder_size(limits: Limits) -> int:
    """Bytes the run folder may hold when it is a tmpfs of its own: sixteen files at the size limit
    (and each of the sandbox's /tmp and /dev/shm)."""
    return max(64 << 20, 16 * limits.file_size)


def task_limit(limits: Limits) -> int:
    """What the kernel limits (RLIMIT_NPROC, pids.max) are set to: they count threads too."""
    return _THREADS_PER_PROCESS * limits.max_processes + 16


class _Run:
    def __init__(self, source: str, limits: Limits, start_method: str | None, seed: int, filename: str,
                 exe: str, boot: Path, lease: isolation.UidLease | None, options: Options,
                 bw: bwrap.Bwrap | None, stop: StopRule | None = None) -> None:
        self.source, self.limits, self.start_method, self.seed = source, limits, start_method, seed
        self.filename, self.exe, self.boot, self.lease, self.options = filename, exe, boot, lease, options
        self.bw = bw
        self.uid = lease.uid if lease is not None else None
        self.is_root = os.geteuid() == 0
        self.run_id = secrets.token_hex(8)
        self.cgroups: RunCgroups | None = None
        self.proc_events: netlink.ProcEvents | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.watch: Watch | None = None
        self.init_pidfd = -1  # the namespace's init: killing it ends every process of the run
        self.in_cgroup = False  # the run's cgroups hold its processes (init was moved in before the program started)
        self.outer: outer.Outer | None = None  # init and bwrap, held by pidfd: reaped exactly, before run() returns
        self.init_done = False
        self.namespace_gone = False  # init's pidfd said it exited: no process of the run is left anywhere
        self.reaper_holds = False  # the reaper kills the namespace's init if this grader dies mid-run
        self.run_folder_mounted = False  # the run folder is a tmpfs of its own (root): bounded, dropped at once
        self.init_cpu = 0.0
        self.pid_namespace = ""  # its inode (what /proc/PID/ns/pid links to), for tests and forensics
        self.observer: kernel.Observer | None = None
        self.clock = 0.0  # wall clock - monotonic clock, to read strace's times
        self.t_end = 0.0  # when the run ended and the kill began
        self.observer_ended = False  # strace ended by itself (its record is whole)
        self.stop: StopRule | None = stop  # the caller's rule
        self.stopped: Stop | None = None  # what it returned when it fired
        self.progress: Progress | None = None  # a wall limit that a run still making progress may pass

    def go(self) -> Trace:
        rundir, slot_fd = _lease_rundir()
        self.rundir = rundir
        self.work, self.tmp, self.events_path = rundir / "work", rundir / "tmp", rundir / "events.jsonl"
        self.shm = rundir / "shm"
        try:
            if cancel.requested():
                raise cancel.Cancelled("the grader is stopping")
            self._prepare()
            proc, watch, t0 = self._launch()
            return self._supervise(proc, watch, t0)
        finally:
            try:
                self._cleanup()
            finally:
                with contextlib.suppress(OSError):  # what is left is removed by the next run of this slot
                    if self.run_folder_mounted:
                        workdir.unmount_run_folder(rundir)  # the kernel drops the tree, at any depth
                    workdir.remove_tree(rundir)
                os.close(slot_fd)

    # -- before ---------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.run_folder_mounted = workdir.mount_run_folder(self.rundir, run_folder_size(self.limits))
        for d in (self.work, self.tmp, self.shm):
            d.mkdir(mode=0o700)
        self.events_path.touch(mode=0o600)
        (self.work / self.filename).write_text(self.source, encoding="utf-8")
        if self.uid is not None:
            self.work.parent.chmod(0o711)
            for p in (self.work, self.tmp, self.shm, self.events_path, self.work / self.filename):
                os.chown(p, self.uid, self.uid)
        # A uid of its own already bounds the process count (RLIMIT_NPROC) and names exactly the
        # run's processes: `pids` stands in only where the program has to run as root. The memory
        # of all the run's processes together has no rlimit: a `memory` cgroup bounds it when the
        # rubric asks (`memory_total`; the move into it costs about 10 ms a run on cgroup v1).
        if self.is_root and self.options.cgroups and (self.uid is None or self.limits.memory_total is not None):
            self.cgroups = RunCgroups(f"run-{self.run_id}", task_limit(self.limits), memory=self.limits.memory_total,
                                      pids=self.uid is None) or None
        if self.is_root and self.options.netlink and self.bw is None and _in_initial_pid_namespace():
            self.proc_events = netlink.ProcEvents.open()  # before the launch: no fork is missed

    def _environment(self) -> dict[str, str]:
        """Built from nothing: no variable of the grader's environment reaches the program."""
        limits = self.limits
        if self.uid is not None:
            nproc = task_limit(limits)
        elif self.is_root:
            nproc = 0  # root ignores RLIMIT_NPROC: the cgroup (if any) and the watchdog bound processes
        else:
            nproc = isolation.user_task_count(os.getuid()) + task_limit(limits)
        file_size = limits.file_size
        allow = max(4096, min(256 << 10, file_size // (4 * (limits.max_processes + HELPERS))))
        return {
            "PATH": os.pathsep.join([os.path.dirname(self.exe), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.work),
            "TMPDIR": "/tmp" if self.bw is not None else str(self.tmp),  # the namespace's own tmpfs
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": str(self.seed % 4294967296),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONPATH": str(self.boot),
            "GRADER_EVENTS": str(self.events_path),
            "GRADER_RUN": self.run_id,
            "GRADER_ROLE": "main",
            "GRADER_SEED": str(self.seed),
            "GRADER_START_METHOD": self.start_method or "",
            "GRADER_LIMITS": f"{math.ceil(limits.cpu_time)},{limits.memory},{nproc},{file_size}",
            "GRADER_BUDGET": f"{limits.output},{file_size // 2},{file_size * 3 // 4},{allow}",
            "GRADER_CGROUP": self.cgroups.marker if self.cgroups is not None else "",
        }

    def _launch_argv(self, info_fd: int, block_fd: int | None) -> list[str]:
        """What is executed after the observer (strace, in front, as the grader's user). In namespaces
        bwrap switches uid itself (root) or stays the caller's (user namespace); without them
        `setpriv` drops the program to its uid after strace, so it can never touch strace."""
        if self.bw is None:
            return [*kernel.as_user(self.uid), self.exe, self.filename]
        return bwrap.command(self.bw, python=self.exe, filename=self.filename, rundir=self.rundir, work=self.work,
                             read_only=(str(self.boot),), info_fd=info_fd, block_fd=block_fd, uid=self.uid,
                             empty=self.boot / bootdir.EMPTY, tmp_size=run_folder_size(self.limits),
                             # in the run folder's tmpfs: its bytes and its inodes (RUN_FOLDER_INODES)
                             # bound them; a tmpfs of bwrap's caps bytes only, and a program made
                             # 700 MB of kernel memory of empty files in /tmp in 10 s
                             tmp_dirs=(self.tmp, self.shm) if self.run_folder_mounted else None)

    def _launch(self) -> tuple[subprocess.Popen[bytes], Watch, float]:
        env = self._environment()
        watch = self.watch = Watch(uid=self.uid, cgroups=self.cgroups, events=self.proc_events,
                                   marker=f"GRADER_RUN={self.run_id}".encode())
        observer = self.observer = kernel.Observer.open(pidns=self.bw is not None)
        info_r, info_w = os.pipe() if self.bw is not None else (-1, -1)
        block_r, block_w = os.pipe() if self.bw is not None else (-1, -1)
        argv = [*observer.prefix(), *self._launch_argv(info_w, block_r if block_r >= 0 else None)]
        self.clock = kernel.wall_to_monotonic()
        t0 = time.monotonic()
        try:
            proc = self.proc = subprocess.Popen(
                argv, cwd=self.work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
                pass_fds=tuple(fd for fd in (info_w, block_r) if fd >= 0),
            )
        except OSError as exc:
            for fd in (info_r, info_w, block_r, block_w):
                if fd >= 0:
                    os.close(fd)
            raise SandboxError(f"cannot start {self.exe}: {exc}") from exc
        assert proc.stdout is not None and proc.stderr is not None
        observer.start(pipes={kernel.pipe_inode(proc.stdout.fileno()): "stdout",
                              kernel.pipe_inode(proc.stderr.fileno()): "stderr"},
                       workdir=str(self.work), main_argv=(self.exe, self.filename), byte_cap=self.limits.output,
                       events_path=str(self.events_path), events_cap=self.limits.file_size)
        if self.bw is None:
            _oom_first(proc.pid)  # the observer, before it starts the program: everything inherits it
        else:
            os.close(info_w)
            os.close(block_r)
            try:
                init, self.pid_namespace = bwrap.read_info(info_r)
                # bwrap waits (--block-fd) while the namespace's pids are moved up, then starts the program
                if init is not None:
                    self._hold_init(proc, init)  # before the program can start
                    bwrap.set_last_pid(init, pidns.LAST_BEFORE_MAIN)
                    _oom_first(init)
                    if self.cgroups is not None:  # init forks the program: it starts in the run's cgroups
                        self.in_cgroup = self.cgroups.add(init)
                with contextlib.suppress(OSError):
                    os.write(block_w, b"1")
            finally:
                os.close(info_r)
                os.close(block_w)
            if init is None:
                self._hold_init(proc, init)  # says why bwrap failed
        watch.start(proc.pid, t0, (self.exe, self.filename))
        return proc, watch, t0

    def _hold_init(self, proc: subprocess.Popen[bytes], init: int | None) -> None:
        """A pidfd on the namespace's init, opened while it is provably the one bwrap made: checked
        after opening, its parent is bwrap, a child of the observer (strace, our unreaped child) in
        front of it, or, if bwrap already exited, us (its subreaper)."""
        if init is None:  # bwrap failed before making the namespaces
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise SandboxError(f"bwrap could not start the run: {lines[-1] if lines else proc.returncode}")
        self.outer = outer.Outer.hold(init, proc.pid)
        if self.outer is not None:
            with contextlib.suppress(OSError):
                self.init_pidfd = os.dup(self.outer.init.fd)
                # a grader killed from now on (SIGKILL, the OOM killer) still takes the namespace along
                self.reaper_holds = reaper.hold(self.run_id, self.init_pidfd)

    # -- during ---------------------------------------------------------------------------------

    def _supervise(self, proc: subprocess.Popen[bytes], watch: Watch, t0: float) -> Trace:
        assert proc.stdout is not None and proc.stderr is not None
        limits = self.limits
        out = PipeCapture(proc.stdout.fileno(), limits.output)
        err = PipeCapture(proc.stderr.fileno(), limits.output)
        main = _Main(proc)  # the observer (strace): it exits when the last process it traces has
        sel = selectors.DefaultSelector()
        sel.register(out.fd, selectors.EVENT_READ, out)
        sel.register(err.fd, selectors.EVENT_READ, err)
        if main.pidfd >= 0:
            sel.register(main.pidfd, selectors.EVENT_READ, main)
        if self.init_pidfd >= 0:
            sel.register(self.init_pidfd, selectors.EVENT_READ, self)
        if self.proc_events is not None:
            sel.register(self.proc_events.fileno(), selectors.EVENT_READ, watch)
        exits: selectors.BaseSelector | None = None  # what ends a GAP early: the main process's or init's exit
        if main.pidfd >= 0:
            exits = selectors.DefaultSelector()
            exits.register(main.pidfd, selectors.EVENT_READ)
            if self.init_pidfd >= 0:
                exits.register(self.init_pidfd, selectors.EVENT_READ)
        last_wake = 0.0
        observer = self.observer
        assert observer is not None
        # strace's FIFO is read on every wake-up (output, exit, timer), not on each of its lines:
        # a wake-up per line cost the grader more CPU than the whole run's recording
        in_cgroup = self.in_cgroup
        deadline = t0 + limits.wall_time
        progress = self.progress = Progress(limits, t0, self.clock) if limits.extensible else None
        interval = 0.005
        next_poll = t0 + interval
        linger_until: float | None = None
        timed_out = False
        watchdog: str | None = None
        try:
            while True:
                observer.drain()
                if self._decided(observer, out, err):
                    break
                now = time.monotonic()
                if main.pidfd < 0:
                    main.reap()
                if self.cgroups is not None and not in_cgroup and observer.record and observer.record.main:
                    in_cgroup = True
                    self.cgroups.add(observer.record.main)  # the recorder waits for this before the program runs
                if (main.done or observer.main_ended) and linger_until is None:
                    linger_until = min(now + LINGER, deadline)
                if linger_until is not None and (now >= linger_until or (out.closed and err.closed
                                                                       and self._all_gone(main, watch))):
                    break
                if not (main.done or observer.main_ended) and now >= deadline:
                    later = progress.deadline(now, observer.record) if progress is not None else None
                    if later is None:
                        timed_out = True
                        break
                    deadline = later  # still making progress: slow, not hung
                if cancel.requested():
                    break
                if self._count(watch) > limits.max_processes + HELPERS:
                    watchdog = "processes"
                    break
                wake = min(deadline, next_poll, linger_until or deadline)
                if exits is not None and linger_until is None:
                    rest = min(last_wake + GAP, wake) - time.monotonic()
                    if rest > 0:
                        exits.select(rest)
                for key, _mask in sel.select(max(0.0, wake - time.monotonic())):
                    if key.data is watch:
                        watch.read_events()
                    elif key.data is main:
                        sel.unregister(key.fd)
                        main.reap(block=True)
                    elif key.data is self:
                        sel.unregister(key.fd)
                        self.init_done = True
                    elif isinstance(key.data, PipeCapture):
                        key.data.drain()
                        if key.data.closed:
                            sel.unregister(key.fd)
                last_wake = time.monotonic()
                if last_wake >= next_poll:
                    if not watch.exact and self.bw is None:  # no kernel events: look at the process table
                        watch.poll()
                    interval = min(interval * 1.5, 0.05 if main.pidfd >= 0 or not watch.exact else 0.01)
                    next_poll = time.monotonic() + interval
        finally:
            survivors = self._end(main, watch)
            _finish_pipes(out, err)
            observer.drain()
            sel.close()
            if exits is not None:
                exits.close()
            main.close()
        if cancel.requested():
            raise cancel.Cancelled("the grader is stopping")
        return self._record(main, watch, t0, out, err, timed_out, watchdog, survivors)

    def _decided(self, observer: kernel.Observer, out: PipeCapture, err: PipeCapture) -> bool:
        """The caller's stop rule fired (its Stop is kept for the record). Once the main process
        has ended the run is ending anyway: the rule is no longer asked."""
        if self.stop is None or observer.record is None or observer.main_ended:
            return False
        self.stopped = self.stop(Live(observer.record, out.total, err.total, self.limits))
        return self.stopped is not None

    def _all_gone(self, main: _Main, watch: Watch) -> bool:
        if self.init_pidfd >= 0:
            return self.init_done  # init leaves when the last process of its namespace has
        return main.done or not watch.alive()

    def _count(self, watch: Watch) -> int:
        """Processes of the program alive at the last look, the main one excluded: from the kernel
        record (not bwrap's, setpriv's or strace's: every process traced before the main one is
        the launch's), else from the process table."""
        observer = self.observer
        record = observer.record if observer is not None else None
        if record is None or record.main is None:
            return watch.count() if self.bw is None else 0
        first = record.tasks[record.main].first or 0.0 if record.main in record.tasks else 0.0
        return sum(1 for pid, p in record.tasks.items()
                   if p.end is None and pid != record.main and (p.first or 0.0) >= first)

    def _end(self, main: _Main, watch: Watch) -> set[int]:
        """Kill everything still alive; returns the pids that were (the main one included)."""
        self.t_end = time.monotonic()
        if self.init_pidfd >= 0:
            self._end_namespace(main)
            return set()
        self._kill_observed(main)
        self.observer_ended = main.done  # strace ended by itself: its record is whole
        alive_main = not main.done
        if alive_main:
            with contextlib.suppress(OSError):
                os.kill(main.pid, signal.SIGKILL)
        survivors = watch.kill_all()
        if alive_main:
            survivors.add(main.pid)
            main.reap(block=True)
        watch.settle()
        return survivors

    def _end_namespace(self, main: _Main, timeout: float = 2.0) -> None:
        """Kill the namespace's init: the kernel then kills every process in the namespace, whatever
        its uid, session or parent. Nothing else is signalled but strace, our own child, and only if
        it does not end by itself once every process it traces is dead (its record is then whole)."""
        if not self.init_done:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.init_pidfd, signal.SIGKILL)
        # init exits last: the kernel kills and reaps every process of its namespace first
        self.namespace_gone = _wait_readable(self.init_pidfd, 5.0)
        self.init_done = True
        self._reap_init()
        observer = self.observer
        assert observer is not None
        deadline = time.monotonic() + timeout
        while not main.done and time.monotonic() < deadline:
            observer.drain()
            if main.pidfd >= 0:
                _wait_readable(main.pidfd, 0.01)
            else:
                time.sleep(0.002)
            main.reap()
        self.observer_ended = main.done
        if not main.done:
            with contextlib.suppress(OSError):
                os.kill(main.pid, signal.SIGKILL)  # not reaped yet: it is still ours
            main.reap(block=True)
        self._drain_observer()
        self._reap_init(last=True)

    def _drain_observer(self, timeout: float = 1.0) -> None:
        """strace has exited: read what is left in its FIFO (bounded in time)."""
        observer = self.observer
        assert observer is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = observer.bytes
            observer.drain()
            if observer.bytes == before or observer.closed:
                return

    def _kill_observed(self, main: _Main, timeout: float = 0.5) -> None:
        """Without namespaces: kill the program's processes the observer knows to be alive, and let
        strace see them die and end by itself (so its record is complete), before anything else is
        killed."""
        observer = self.observer
        if observer is None or observer.record is None or main.done:
            return
        deadline = time.monotonic() + timeout
        while not main.done and time.monotonic() < deadline:
            observer.drain()
            live = [p.pid for p in observer.record.tasks.values() if p.end is None and p.first is not None]
            for pid in live:  # its exit may be in the FIFO still unread, and the pid reused since:
                # the process there must be one our strace traces (main.pid), which makes it the run's
                proctable.signal_exact(pid, signal.SIGKILL, lambda st: proctable.tracer(st.pid) == main.pid)
            main.reap()
            time.sleep(0.002)
        observer.drain()

    def _reap_init(self, *, last: bool = False) -> None:
        """bwrap exits with the main process, so init is often re-parented to us (a subreaper), and
        so is bwrap when strace is killed. `last`: strace is gone, so whatever of them still runs
        is killed, and each is waited for (bounded) until reaped, by us or by its parent."""
        if self.outer is None:
            return
        wait = 2.0 if last and isolation.make_subreaper() else 0.0  # else they never come to us
        self.init_cpu += self.outer.reap(kill=last, timeout=wait)

    # -- after ----------------------------------------------------------------------------------

    def _record(self, main: _Main, watch: Watch, t0: float, out: PipeCapture, err: PipeCapture,
                timed_out: bool, watchdog: str | None, survivors: set[int]) -> Trace:
        assert main.end is not None and self.observer is not None and self.observer.record is not None
        files, extra = workdir.list_files(self.work, self.filename, self.source)
        problem = "" if self.observer_ended else "the observer (strace) had to be killed before it saw the run end"
        facts = self.observer.record.facts(self.observer_ended, problem)
        return assemble(Facts(
            t0=t0, main_pid=main.pid, main_status=main.status, main_end=main.end,
            cpu_time=main.cpu + watch.orphan_cpu + self.init_cpu, timed_out=timed_out, watchdog=watchdog,
            kernel=facts, clock=self.clock, t_end=self.t_end,
            stdout=Capture(out.text(), out.total, out.truncated), stderr=Capture(err.text(), err.total, err.truncated),
            files=files, files_not_listed=extra,
            cgroup_hit_max=self.cgroups.hit_max() if self.cgroups is not None else False, limits=self.limits,
            cgroup_oom_kills=self.cgroups.oom_kills() if self.cgroups is not None else 0,
            seed=self.seed, start_method_requested=self.start_method, sandbox=self._describe(facts),
            stopped=self.stopped, wall_extended=self.progress is not None and self.progress.extended is not None,
            wall_note=(self.progress.note if timed_out else self.progress.passed()) if self.progress else None,
        ))

    def _describe(self, facts: kernel.KernelFacts) -> dict[str, str]:
        version = ".".join(str(v) for v in _python_version(self.exe))
        if self.uid is not None:
            user = f"uid {self.uid} (a uid of its own)"
        elif self.is_root:
            user = "root (UNSAFE: --unsafe-no-sandbox)"
        else:
            user = f"uid {os.geteuid()} (the grader's user)"
        info = {
            "run": self.run_id,  # also GRADER_RUN in the environment of every process of the run
            "python": self.exe,
            "python_version": version,
            "user": user,
            "cgroup": ", ".join(str(d) for d in self.cgroups.dirs) if self.cgroups is not None else "none",
            "observer": "strace" + ("" if facts.complete else " (incomplete: " + "; ".join(facts.gaps)[:300] + ")"),
            "subreaper": "yes" if isolation.make_subreaper() else "no",
            "memory_total": (f"{(self.limits.memory_total or 0) >> 20} MiB for all its processes together (a cgroup)"
                             if self.cgroups is not None and self.cgroups.memory_limited
                             else f"not bounded as a whole ({self.limits.memory >> 20} MiB per process)"),
            "oom_score_adj": "1000 (the kernel's out-of-memory killer ends the run's processes first)",
            "run_folder": (f"a tmpfs of its own ({run_folder_size(self.limits) >> 20} MiB, "
                           f"{workdir.RUN_FOLDER_INODES} files)" if self.run_folder_mounted
                           else "a folder under the temporary folder"),
        }
        if self.bw is not None:
            main_ns = facts.inner(facts.main) if facts.main is not None else None
            info.update({
                "isolation": f"bwrap ({self.bw.version or self.bw.path})",
                "pid_namespace": f"pid:[{self.pid_namespace}]" if self.pid_namespace else "yes",
                "main_pid": str(main_ns) if main_ns is not None else "",  # pids run on from it
                "network": "none (a network namespace of its own)",
                "filesystem": "read-only system and interpreter, run folder writable",
                "tmp": "private tmpfs (/tmp, /dev/shm)",
                "no_new_privs": "yes",
                "user_namespace": "no (bwrap as root, setpriv to the uid)" if self.is_root else "yes",
            })
        else:
            found = bwrap.probe() if self.options.namespaces else "turned off"
            info.update({
                "isolation": "session, rlimits and kill by " + ("uid" if self.uid is not None else "session/marker"),
                "pid_namespace": "no", "network": "the host's", "filesystem": "the host's (as the program's user)",
                "tmp": "the run's own TMPDIR (shared /tmp and /dev/shm)", "no_new_privs": "no",
                "namespaces_unavailable": found if isinstance(found, str) else "not used",
            })
        return info

    def _cleanup(self) -> None:
        """Whatever happened (even an error in the grader itself), leave nothing running."""
        proc = self.proc
        held_init = self.init_pidfd >= 0
        if self.init_pidfd >= 0:
            if not self.init_done:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(self.init_pidfd, signal.SIGKILL)
            self.namespace_gone = _wait_readable(self.init_pidfd, 5.0)
            if self.reaper_holds:
                reaper.release(self.run_id)
            os.close(self.init_pidfd)
            self.init_pidfd = -1
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
            if self.watch is not None and not held_init:
                self.watch.kill_all()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
        self._reap_init(last=True)
        if self.outer is not None:
            self.outer.close()
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if self.proc_events is not None:
            self.proc_events.close()
        if self.observer is not None:
            self.observer.close()
        if self.cgroups is not None:
            self.cgroups.remove()


def _in_initial_pid_namespace() -> bool:
    """The kernel's process events name processes by their pids in the initial PID namespace: a
    grader in a container (a PID namespace of its own) would match them against the wrong pids."""
    try:
        return os.readlink("/proc/self/ns/pid") == f"pid:[{_INIT_PID_NS_INODE}]"
    except OSError:
        return False


def _zombie(pid: int) -> bool:
    """Exited (or gone): not a process the end of the run had to kill."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read(4096).rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _wait_readable(fd: int, timeout: float) -> bool:
    """Wait until a pidfd says its process has exited."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout))


class _Main:
    """The main process: its exit is seen through a pidfd and collected with wait4 (for its
    CPU time, which includes every descendant it reaped)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.status: int | None = None
        self.cpu = 0.0
        self.end: float | None = None
        self.pidfd = -1
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(proc.pid)

    @property
    def done(self) -> bool:
        return self.status is not None

    def reap(self, block: bool = False) -> None:
        if self.done:
            return
        try:
            pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == self.pid:
            self.status, self.cpu, self.end = status, usage.ru_utime + usage.ru_stime, time.monotonic()
            self.proc.returncode = os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


_VERSIONS: dict[str, tuple[int, ...]] = {}


def _python_version(exe: str) -> tuple[int, ...]:
    """The version of the interpreter that runs student code (asked once per interpreter)."""
    if exe not in _VERSIONS:
        if os.path.realpath(exe) == os.path.realpath(sys.executable):
            _VERSIONS[exe] = tuple(sys.version_info[:3])
        else:
            try:
                text = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True,
                                      text=True, timeout=10, check=True).stdout
                _VERSIONS[exe] = tuple(int(x) for x in text.split())
            except (OSError, subprocess.SubprocessError, ValueError):
                _VERSIONS[exe] = ()
    return _VERSIONS[exe]


def _finish_pipes(out: PipeCapture, err: PipeCapture, timeout: float = 1.0) -> None:
    """Everything is dead: read what is left in the pipes until end of file."""
    deadline = time.monotonic() + timeout
    while not (out.closed and err.closed) and time.monotonic() < deadline:
        out.drain()
        err.drain()
        if not (out.closed and err.closed):
            time.sleep(0.001)


def _lease_rundir() -> tuple[Path, int]:
    """A run directory of our own: <tmp>/grader-sandbox-<euid>/run-<slot>, the lowest slot not in use
    (held by an flock). Its path is the same from run to run, so tracebacks (which show the
    program's path) are reproducible."""
    base = Path(tempfile.gettempdir()) / f"grader-sandbox-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o711)
    st = base.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SandboxError(f"{base} is not a private directory of this user: remove it")
    base.chmod(0o711)  # an unprivileged sandbox uid must be able to reach its run directory
    for slot in range(4096):
        fd = os.open(base / f"run-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        rundir = base / f"run-{slot}"
        try:
            workdir.unmount_run_folder(rundir)  # left by a grader that died
            workdir.remove_tree(rundir)
            rundir.mkdir(mode=0o700)
        except OSError:
            os.close(fd)  # cannot be cleared: another slot
            continue
        return rundir, fd
    raise SandboxError(f"no free run directory under {base}")


def _oom_first(pid: int) -> None:
    """Make the run's processes the first the kernel's OOM killer ends, machine-wide: every process
    the program starts inherits it, and a process without privileges cannot lower it again. So a
    program that takes all the memory ends itself, not the TA's editor or the grader."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/oom_score_adj", "w") as f:
        f.write("1000")

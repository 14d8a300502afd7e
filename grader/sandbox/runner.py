"""One run: launch the program in a fresh interpreter, supervise it, kill what is left, record.

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

from grader.errors import SandboxError
from grader.sandbox import bootdir, isolation, kernel, netlink, workdir
from grader.sandbox.assemble import Facts, assemble
from grader.sandbox.capture import PipeCapture
from grader.sandbox.cgroups import RunCgroups
from grader.sandbox.limits import Limits
from grader.sandbox.watch import Watch
from grader.trace import Capture, Trace

START_METHODS = ("fork", "spawn", "forkserver")
LINGER = 0.2  # after the main process exits, how long stragglers may still write before the kill
HELPERS = 2  # multiprocessing's own processes (resource tracker, forkserver), not counted as the program's
_THREADS_PER_PROCESS = 4  # kernel limits count threads; a Python process often has a few


@dataclass(frozen=True)
class Options:
    """Isolation layers to use when available. Turning one off is for tests of the fallbacks."""

    uid: bool = True
    cgroups: bool = True
    netlink: bool = True


def run(
    source: str,
    *,
    limits: Limits | None = None,
    start_method: str | None = None,
    seed: int = 0,
    filename: str = "answer.py",
    python: str | None = None,
    options: Options = Options(),
) -> Trace:
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
    lease = None
    if (os.geteuid() == 0 and options.uid and isolation.interpreter_usable_by_others(exe)
            and isolation.others_can_use(boot / "_grader_recorder.py")):
        lease = isolation.lease_uid()
    try:
        return _Run(source, limits, start_method, seed, filename, exe, boot, lease, options).go()
    finally:
        if lease is not None:
            lease.release()


def student_python(python: str | None = None) -> str:
    """The interpreter that runs student code.

    The one asked for; else the grader's own, unless the grader is root and its interpreter sits
    where an unprivileged uid cannot reach it (a venv under /root, mode 0700): then the same
    Python version from a place every user can reach (/usr/bin/python3.11...), so the program
    runs as a uid of its own instead of as root. Security before convenience: only when no such
    interpreter exists does the program run as root, and the Trace says so.
    """
    if python is not None:
        return _resolve_python(python)
    own = _resolve_python(None)
    if os.geteuid() != 0 or isolation.interpreter_usable_by_others(own):
        return own
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}", shutil.which(version)):
        if candidate and os.access(candidate, os.X_OK) and isolation.interpreter_usable_by_others(candidate):
            return os.path.abspath(candidate)
    return own


def _resolve_python(python: str | None) -> str:
    exe = python or sys.executable
    if not exe:
        raise SandboxError("no Python interpreter to run the program with")
    found = shutil.which(exe) if os.sep not in exe else exe
    if not found or not os.access(found, os.X_OK):
        raise SandboxError(f"Python interpreter not found or not executable: {exe}")
    return os.path.abspath(found)


def task_limit(limits: Limits) -> int:
    """What the kernel limits (RLIMIT_NPROC, pids.max) are set to: they count threads too."""
    return _THREADS_PER_PROCESS * limits.max_processes + 16


class _Run:
    def __init__(self, source: str, limits: Limits, start_method: str | None, seed: int, filename: str,
                 exe: str, boot: Path, lease: isolation.UidLease | None, options: Options) -> None:
        self.source, self.limits, self.start_method, self.seed = source, limits, start_method, seed
        self.filename, self.exe, self.boot, self.lease, self.options = filename, exe, boot, lease, options
        self.uid = lease.uid if lease is not None else None
        self.is_root = os.geteuid() == 0
        self.run_id = secrets.token_hex(8)
        self.cgroups: RunCgroups | None = None
        self.proc_events: netlink.ProcEvents | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.watch: Watch | None = None
        self.observer: kernel.Observer | None = None
        self.clock = 0.0  # wall clock - monotonic clock, to read strace's times
        self.t_end = 0.0  # when the run ended and the kill began
        self.observer_ended = False  # strace ended by itself (its record is whole)

    def go(self) -> Trace:
        rundir, slot_fd = _lease_rundir()
        self.work, self.tmp, self.events_path = rundir / "work", rundir / "tmp", rundir / "events.jsonl"
        try:
            self._prepare()
            proc, watch, t0 = self._launch()
            return self._supervise(proc, watch, t0)
        finally:
            self._cleanup()
            _remove(rundir)
            os.close(slot_fd)

    # -- before ---------------------------------------------------------------------------------

    def _prepare(self) -> None:
        for d in (self.work, self.tmp):
            d.mkdir(mode=0o700)
        self.events_path.touch(mode=0o600)
        (self.work / self.filename).write_text(self.source, encoding="utf-8")
        if self.uid is not None:
            self.work.parent.chmod(0o711)
            for p in (self.work, self.tmp, self.events_path, self.work / self.filename):
                os.chown(p, self.uid, self.uid)
        # A uid of its own already bounds the process count (RLIMIT_NPROC) and names exactly the
        # run's processes; cgroups would add only cost (moving a process into one takes ~5 ms, and
        # the program waits for it). They stand in where the program has to run as root.
        if self.is_root and self.options.cgroups and self.uid is None:
            self.cgroups = RunCgroups(f"run-{self.run_id}", task_limit(self.limits)) or None
        if self.is_root and self.options.netlink:
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
            "TMPDIR": str(self.tmp),
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

    def _launch(self) -> tuple[subprocess.Popen[bytes], Watch, float]:
        env = self._environment()
        watch = self.watch = Watch(uid=self.uid, cgroups=self.cgroups, events=self.proc_events,
                                   marker=f"GRADER_RUN={self.run_id}".encode())
        # the kernel observer (strace) runs in front, as the grader's user; the program drops to its uid after it
        observer = self.observer = kernel.Observer.open()
        argv = [*observer.prefix(), *kernel.as_user(self.uid), self.exe, self.filename]
        self.clock = kernel.wall_to_monotonic()
        t0 = time.monotonic()
        try:
            proc = self.proc = subprocess.Popen(
                argv, cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {self.exe}: {exc}") from exc
        assert proc.stdout is not None and proc.stderr is not None
        observer.start(pipes={kernel.pipe_inode(proc.stdout.fileno()): "stdout",
                              kernel.pipe_inode(proc.stderr.fileno()): "stderr"},
                       workdir=str(self.work), main_argv=(self.exe, self.filename), byte_cap=self.limits.output,
                       events_path=str(self.events_path), events_cap=self.limits.file_size)
        watch.start(proc.pid, t0, (self.exe, self.filename))
        return proc, watch, t0

    # -- during ---------------------------------------------------------------------------------

    def _supervise(self, proc: subprocess.Popen[bytes], watch: Watch, t0: float) -> Trace:
        assert proc.stdout is not None and proc.stderr is not None
        limits = self.limits
        out = PipeCapture(proc.stdout.fileno(), limits.output)
        err = PipeCapture(proc.stderr.fileno(), limits.output)
        main = _Main(proc)
        sel = selectors.DefaultSelector()
        sel.register(out.fd, selectors.EVENT_READ, out)
        sel.register(err.fd, selectors.EVENT_READ, err)
        if main.pidfd >= 0:
            sel.register(main.pidfd, selectors.EVENT_READ, main)
        if self.proc_events is not None:
            sel.register(self.proc_events.fileno(), selectors.EVENT_READ, watch)
        observer = self.observer
        assert observer is not None
        # strace's FIFO is read on every wake-up (output, exit, timer), not on each of its lines:
        # a wake-up per line cost the grader more CPU than the whole run's recording
        in_cgroup = False
        deadline = t0 + limits.wall_time
        interval = 0.005
        next_poll = t0 + interval
        linger_until: float | None = None
        timed_out = False
        watchdog: str | None = None
        try:
            while True:
                observer.drain()
                now = time.monotonic()
                if main.pidfd < 0:
                    main.reap()
                if self.cgroups is not None and not in_cgroup and observer.record and observer.record.main:
                    in_cgroup = True
                    self.cgroups.add(observer.record.main)  # the recorder waits for this before the program runs
                if (main.done or observer.main_ended) and linger_until is None:
                    linger_until = min(now + LINGER, deadline)
                if linger_until is not None and (now >= linger_until or (out.closed and err.closed
                                                                       and not watch.alive())):
                    break
                if not (main.done or observer.main_ended) and now >= deadline:
                    timed_out = True
                    break
                if watch.count() > limits.max_processes + HELPERS:
                    watchdog = "processes"
                    break
                wake = min(deadline, next_poll, linger_until or deadline)
                for key, _mask in sel.select(max(0.0, wake - time.monotonic())):
                    if key.data is watch:
                        watch.read_events()
                    elif key.data is main:
                        sel.unregister(key.fd)
                        main.reap(block=True)
                    elif isinstance(key.data, PipeCapture):
                        key.data.drain()
                        if key.data.closed:
                            sel.unregister(key.fd)
                if time.monotonic() >= next_poll:
                    if not watch.exact:  # no kernel events: look at the process table ourselves
                        watch.poll()
                    interval = min(interval * 1.5, 0.05 if main.pidfd >= 0 or not watch.exact else 0.01)
                    next_poll = time.monotonic() + interval
        finally:
            survivors = self._end(main, watch)
            _finish_pipes(out, err)
            observer.drain()
            sel.close()
            main.close()
        return self._record(main, watch, t0, out, err, timed_out, watchdog, survivors)

    def _end(self, main: _Main, watch: Watch) -> set[int]:
        """Kill everything still alive; returns the pids that were (the main one included)."""
        self.t_end = time.monotonic()
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

    def _kill_observed(self, main: _Main, timeout: float = 0.5) -> None:
        """Kill the program's processes the observer knows to be alive, and let strace see them
        die and end by itself (so its record is complete), before anything else is killed."""
        observer = self.observer
        if observer is None or observer.record is None or main.done:
            return
        deadline = time.monotonic() + timeout
        while not main.done and time.monotonic() < deadline:
            observer.drain()
            live = [p.pid for p in observer.record.tasks.values() if p.end is None and p.first is not None]
            for pid in live:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            main.reap()
            time.sleep(0.002)
        observer.drain()

    # -- after ----------------------------------------------------------------------------------

    def _record(self, main: _Main, watch: Watch, t0: float, out: PipeCapture, err: PipeCapture,
                timed_out: bool, watchdog: str | None, survivors: set[int]) -> Trace:
        assert main.end is not None and self.observer is not None and self.observer.record is not None
        files, extra = workdir.list_files(self.work, self.filename, self.source)
        problem = "" if self.observer_ended else "the observer (strace) had to be killed before it saw the run end"
        facts = self.observer.record.facts(self.observer_ended, problem)
        return assemble(Facts(
            t0=t0, main_pid=main.pid, main_status=main.status, main_end=main.end,
            cpu_time=main.cpu + watch.orphan_cpu, timed_out=timed_out, watchdog=watchdog, kernel=facts,
            clock=self.clock, t_end=self.t_end,
            stdout=Capture(out.text(), out.total, out.truncated), stderr=Capture(err.text(), err.total, err.truncated),
            files=files, files_not_listed=extra,
            cgroup_hit_max=self.cgroups.hit_max() if self.cgroups is not None else False, limits=self.limits,
            seed=self.seed, start_method_requested=self.start_method, sandbox=self._describe(watch, facts),
        ))

    def _describe(self, watch: Watch, facts: kernel.KernelFacts) -> dict[str, str]:
        version = ".".join(str(v) for v in _python_version(self.exe))
        if self.uid is not None:
            user = f"uid {self.uid} (a uid of its own)"
        elif self.is_root:
            user = "root (the interpreter is not usable by an unprivileged uid)"
        else:
            user = f"uid {os.geteuid()} (the grader's user)"
        return {
            "run": self.run_id,  # also GRADER_RUN in the environment of every process of the run
            "python": self.exe,
            "python_version": version,
            "user": user,
            "cgroup": ", ".join(str(d) for d in self.cgroups.dirs) if self.cgroups is not None else "none",
            "observer": "strace" + ("" if facts.complete else " (incomplete: " + "; ".join(facts.gaps)[:300] + ")"),
            "subreaper": "yes" if isolation.make_subreaper() else "no",
        }

    def _cleanup(self) -> None:
        """Whatever happened (even an error in the grader itself), leave nothing running."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
            if self.watch is not None:
                self.watch.kill_all()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
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
        if rundir.exists() or rundir.is_symlink():
            _remove(rundir)  # left by a grader that died
        rundir.mkdir(mode=0o700)
        return rundir, fd
    raise SandboxError(f"no free run directory under {base}")


def _remove(path: Path) -> None:
    """rmtree that also removes what the program made unwritable (chmod 000 directories)."""

    def fix(_func: object, p: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=fix)
    else:
        shutil.rmtree(path, onerror=fix)

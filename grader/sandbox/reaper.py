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
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading

# The helper: `python -I -S -c HELPER FD`. Messages: b"+<run>" with a pidfd, b"-<run>" to drop it.
HELPER = r"""
import os, signal, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
held = {}
while True:
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 256, 4)
    except InterruptedError:
        continue
    except OSError:
        break
    if not msg and not fds:
        break  # end of file: the grader is gone
    key, extra = msg[1:], fds[1:] if msg[:1] == b"+" else fds
    for fd in extra:
        os.close(fd)
    if msg[:1] == b"+" and fds:
        old = held.pop(key, None)
        if old is not None:
            os.close(old)
        held[key] = fds[0]
    elif msg[:1] == b"-":
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

"""Draining one output pipe as data arrives: keep the first `cap` bytes, count the rest.

The program never blocks on a full pipe and the grader's memory never grows past `cap`,
however much is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

_F_SETPIPE_SZ = 1031
_CHUNK = 1 << 20


def read_some(fd: int, size: int = _CHUNK) -> bytes | None:
    """What a non-blocking fd holds now, up to `size` bytes: None when nothing is there yet, b""
    when it is closed (end of file, or an error: either way nothing more will come)."""
    try:
        return os.read(fd, size)
    except BlockingIOError:
        return None
    except OSError:
        return b""


class PipeCapture:
    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.kept = bytearray()
        self.total = 0
        self.closed = False
        os.set_blocking(fd, False)
        with contextlib.suppress(OSError):  # fewer wake-ups for a flood; 1 MiB: the unprivileged maximum
            fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)

    def drain(self) -> None:
        """Read everything available now (non-blocking)."""
        while not self.closed:
            data = read_some(self.fd)
            if data is None:
                return
            if not data:
                self.closed = True
                return
            self.total += len(data)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += data[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")

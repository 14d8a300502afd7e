"""The kernel's process event feed (netlink proc connector): fork, exec, setsid and exit of every
process on the machine, with kernel timestamps and exit statuses.

It needs CAP_NET_ADMIN (root), so it is an optional layer: when available, the sandbox sees every
process of a run from outside, however short-lived, and no /proc polling is needed. Without it
the sandbox falls back to polling /proc.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_NETLINK_CONNECTOR = 11
_CN_IDX_PROC = 1
_CN_VAL_PROC = 1
_NLMSG_DONE = 3
_PROC_CN_MCAST_LISTEN = 1

FORK = 0x00000001
EXEC = 0x00000002
SID = 0x00000080
EXIT = 0x80000000

_HDR = struct.Struct("=IHHII")  # nlmsghdr
_CN = struct.Struct("=IIIIHH")  # cn_msg
_EV = struct.Struct("=IIQ")  # proc_event: what, cpu, timestamp_ns
_FOUR = struct.Struct("=IIII")


@dataclass(frozen=True)
class Event:
    what: int
    t: float  # time.monotonic() seconds
    pid: int  # the task (thread id) concerned; for FORK the child
    tgid: int  # its process id
    parent_pid: int = 0  # FORK: the forking task; its process is parent_tgid
    parent_tgid: int = 0
    status: int = 0  # EXIT: wait status


class ProcEvents:
    """A subscription to the proc connector. Use `open()`; None when not permitted."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.overflowed = False

    @classmethod
    def open(cls) -> ProcEvents | None:
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_CONNECTOR)
        except (OSError, AttributeError):
            return None
        try:
            sock.bind((0, _CN_IDX_PROC))
            try:  # root may raise the buffer past rmem_max: a burst of forks must not overflow it
                sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            op = struct.pack("=I", _PROC_CN_MCAST_LISTEN)
            cn = _CN.pack(_CN_IDX_PROC, _CN_VAL_PROC, 0, 0, len(op), 0) + op
            sock.send(_HDR.pack(_HDR.size + len(cn), _NLMSG_DONE, 0, 0, 0) + cn)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return None
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def read(self) -> list[Event]:
        """Every event queued now (non-blocking)."""
        out: list[Event] = []
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return out
            except OSError as exc:  # ENOBUFS: the kernel dropped events
                if exc.errno == 105:
                    self.overflowed = True
                    continue
                return out
            _parse(data, out)


def _parse(data: bytes, out: list[Event]) -> None:
    offset = 0
    while offset + _HDR.size <= len(data):
        length = _HDR.unpack_from(data, offset)[0]
        if length < _HDR.size:
            return
        body = offset + _HDR.size + _CN.size
        if body + _EV.size <= offset + length:
            what, _cpu, ts = _EV.unpack_from(data, body)
            rest = body + _EV.size
            t = ts / 1e9
            if what == FORK:
                ppid, ptgid, cpid, ctgid = _FOUR.unpack_from(data, rest)
                out.append(Event(FORK, t, cpid, ctgid, ppid, ptgid))
            elif what in (EXEC, SID):
                pid, tgid = struct.unpack_from("=II", data, rest)
                out.append(Event(what, t, pid, tgid))
            elif what == EXIT:
                pid, tgid, status, _sig = _FOUR.unpack_from(data, rest)
                out.append(Event(EXIT, t, pid, tgid, status=status))
        offset += (length + 3) & ~3


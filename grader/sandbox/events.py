"""Reading the event file the recorder writes (one JSON object per line)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Event = dict[str, Any]


@dataclass
class EventLog:
    events: list[Event] = field(default_factory=list)
    bad_lines: int = 0


def parse(data: bytes) -> EventLog:
    log = EventLog()
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            ev = json.loads(raw)
        except ValueError:
            log.bad_lines += 1
            continue
        if isinstance(ev, dict) and isinstance(ev.get("ev"), str) and isinstance(ev.get("pid"), int):
            log.events.append(ev)
        else:
            log.bad_lines += 1
    return log


def read(path: Path, limit: int) -> EventLog:
    """The whole file (at most `limit` bytes; the recorder keeps it below the file-size limit)."""
    try:
        with open(path, "rb") as f:
            return parse(f.read(limit))
    except OSError:
        return EventLog()


class Tail:
    """Follows the file during the run, yielding the pids that processes claim as they start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def new_pids(self) -> list[int]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(4 << 20)
        except OSError:
            return []
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        pids: list[int] = []
        for line in lines:
            if b'"ev":"start"' in line or b'"ev":"pstart"' in line or b'"ev":"sub"' in line:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                pid = ev.get("child", ev.get("pid"))
                if isinstance(pid, int) and pid > 0 and pid != os.getpid():
                    pids.append(pid)
        return pids

"""Output lines: built per process from its own writes, then checked against the raw pipes.

A print() is several writes (the text, then "\\n"), so when processes print at the same time the
merged pipe interleaves them ("0\\n12\\n\\n3\\n"). Lines are therefore assembled from each
writer's (process, thread) own sequence of writes. Then every claimed write is looked for in the
raw pipe, in order, at a position no other write took: a write that is not there is a claim the
grader could not confirm, and raw bytes no write claimed (os.write(1, ...), C code, programs
that are not Python) become lines with no pid rather than being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.sandbox.events import Event
from grader.trace import Issue, Line

STREAMS = ("stdout", "stderr")
_MAX_CHUNKS = 200_000  # beyond this the raw-stream check is skipped (verified stays None)


@dataclass
class _Chunk:
    pid: int
    thread: int
    stream: int
    t: float
    text: str
    offset: int | None = None
    verified: bool | None = None


def _match(chunks: list[_Chunk], raw: str, truncated: bool) -> list[tuple[int, int]]:
    """Place each chunk in `raw`; returns the unclaimed (start, end) spans."""
    mask = bytearray(len(raw))
    pos: dict[tuple[int, int], int] = {}
    for c in chunks:
        n = len(c.text)
        key = (c.pid, c.thread)
        i = raw.find(c.text, pos.get(key, 0))
        while i != -1 and mask.find(1, i, i + n) != -1:
            i = raw.find(c.text, i + 1)
        if i == -1:
            c.verified = None if truncated else False
            continue
        mask[i : i + n] = b"\x01" * n
        c.offset, c.verified = i, True
        pos[key] = i + n
    spans: list[tuple[int, int]] = []
    i = mask.find(0)
    while i != -1:
        j = mask.find(1, i)
        j = len(raw) if j == -1 else j
        spans.append((i, j))
        i = mask.find(0, j)
    return spans


def _combine(states: list[bool | None]) -> bool | None:
    if False in states:
        return False
    if None in states:
        return None
    return True


def _assemble(chunks: list[_Chunk], stream: str) -> list[Line]:
    """Join one writer's chunks and cut them into lines."""
    lines: list[Line] = []
    parts: list[str] = []
    states: list[bool | None] = []
    first_t: float | None = None
    first_offset: int | None = None
    for c in chunks:
        start = 0
        while start <= len(c.text):
            nl = c.text.find("\n", start)
            piece = c.text[start:] if nl == -1 else c.text[start:nl]
            if piece or nl != -1:
                if first_t is None:
                    first_t = c.t
                    first_offset = None if c.offset is None else c.offset + start
                parts.append(piece)
                states.append(c.verified)
            if nl == -1:
                break
            lines.append(Line(pid=c.pid, stream=stream, text="".join(parts), t=first_t, thread=c.thread,
                              verified=_combine(states), offset=first_offset))
            parts, states, first_t, first_offset = [], [], None, None
            start = nl + 1
    if parts:
        last = chunks[-1]
        lines.append(Line(pid=last.pid, stream=stream, text="".join(parts), t=first_t, thread=last.thread,
                          verified=_combine(states), offset=first_offset, complete=False))
    return lines


def build(
    events: list[Event],
    raw: dict[str, str],
    truncated: dict[str, bool],
    t0: float,
    read_file: dict[str, str | None],
) -> tuple[list[Line], list[Issue]]:
    """All lines of the run. `read_file` maps a log destination (a path relative to the working
    directory) to that file's text, or None if it could not be read."""
    chunks: dict[int, list[_Chunk]] = {0: [], 1: []}
    logs: list[tuple[Event, _Chunk | None]] = []
    for ev in events:
        kind = ev["ev"]
        if kind == "w" and ev.get("s") in (0, 1) and isinstance(ev.get("x"), str) and ev["x"]:
            chunks[ev["s"]].append(_Chunk(ev["pid"], int(ev.get("th", 0)), ev["s"], float(ev["t"]) - t0, ev["x"]))
        elif kind == "log" and isinstance(ev.get("x"), str):
            dest = ev.get("dest")
            chunk = None
            if dest in STREAMS and ev["x"]:
                code = STREAMS.index(dest)
                chunk = _Chunk(ev["pid"], int(ev.get("th", 0)), code, float(ev["t"]) - t0, ev["x"])
                chunks[code].append(chunk)
            logs.append((ev, chunk))

    log_chunks = {id(c) for _ev, c in logs if c is not None}
    issues: list[Issue] = []
    lines: list[Line] = []
    unclaimed: list[Line] = []
    for code, stream in enumerate(STREAMS):
        text = raw[stream]
        spans = _match(chunks[code], text, truncated[stream]) if len(chunks[code]) <= _MAX_CHUNKS else []
        for start, end in spans:
            offset = start
            for piece in text[start:end].split("\n"):
                if piece.strip():
                    unclaimed.append(Line(pid=None, stream=stream, text=piece, offset=offset))
                offset += len(piece) + 1
        by_writer: dict[tuple[int, int], list[_Chunk]] = {}
        for c in chunks[code]:
            by_writer.setdefault((c.pid, c.thread), []).append(c)
        for (pid, _thread), own in by_writer.items():
            own_writes = [c for c in own if id(c) not in log_chunks]
            if own_writes:
                lines.extend(_assemble(own_writes, stream))
            missing = sum(1 for c in own_writes if c.verified is False)
            if missing:
                issues.append(Issue("output_not_in_stream",
                                    f"{missing} write(s) to {stream} claimed by this process are not in the "
                                    f"captured {stream}", pid))
        if unclaimed and any(ln.stream == stream for ln in unclaimed):
            count = sum(1 for ln in unclaimed if ln.stream == stream)
            issues.append(Issue("unattributed_output",
                                f"{count} line(s) of {stream} were written by no recorded Python write "
                                "(os.write, C code or a non-Python program)"))

    for ev, chunk in logs:
        text = ev["x"]
        dest = ev.get("dest")
        body = text[:-1] if text.endswith("\n") else text
        verified: bool | None
        if chunk is not None:
            verified = chunk.verified
        elif isinstance(dest, str) and dest in read_file:
            content = read_file[dest]
            verified = None if content is None else body in content
            if verified is False:
                issues.append(Issue("log_not_in_file", f"log record {body[:60]!r} is not in {dest}", ev["pid"]))
        else:
            verified = None
        origin = ev.get("origin")
        lines.append(Line(
            pid=ev["pid"], stream="log", text=body, t=float(ev["t"]) - t0, thread=int(ev.get("th", 0)),
            verified=verified, offset=chunk.offset if chunk is not None else None,
            level=ev.get("level"), logger=ev.get("logger"), dest=dest if isinstance(dest, str) else None,
            origin_pid=origin if isinstance(origin, int) else None,
        ))
    lines.sort(key=lambda ln: (ln.t if ln.t is not None else 0.0))
    return lines + sorted(unclaimed, key=lambda ln: (ln.stream, ln.offset or 0)), issues


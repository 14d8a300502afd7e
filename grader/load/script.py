"""Python scripts: nbconvert exports (`# In[3]:`), `# %%` cell scripts, and plain scripts.

nbconvert writes each markdown cell as a block of `# ` comment lines, two blank lines after
the previous code; blank lines inside a markdown cell become `# `, so one blank line separates
two markdown cells. Those blocks become markdown cells again here (their text de-commented).
A plain script is split into cells at comment paragraphs (a comment block preceded by a blank
line), so that answers marked `# Q3` in one long file land in separate cells.
"""

from __future__ import annotations

import re

from grader.pysource import is_comment_only, strip_comment_markers
from grader.submission import Cell, CellKind, Format, Origin, Submission

NBCONVERT_MARKER = re.compile(r"^# In\[\s*(\d*|None)\s*\]:\s*$")
PERCENT_MARKER = re.compile(r"^#\s?%%(?P<rest>.*)$")
_HEADER = re.compile(r"^#!|^#.*coding[:=]")


def is_nbconvert(lines: list[str]) -> bool:
    return any(NBCONVERT_MARKER.match(ln) for ln in lines)


def is_percent(lines: list[str]) -> bool:
    return any(PERCENT_MARKER.match(ln) for ln in lines)


def _blocks(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """Blank-line-separated blocks in lines[start:end], as 0-based inclusive (first, last)."""
    blocks: list[tuple[int, int]] = []
    i = start
    while i < end:
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j + 1 < end and lines[j + 1].strip():
            j += 1
        blocks.append((i, j))
        i = j + 1
    return blocks


class _Builder:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.cells: list[Cell] = []

    def add(self, kind: CellKind, first: int, last: int, *, source: str | None = None,
            prompt: str | None = None, count: int | None = None, note: str | None = None,
            marker: int | None = None) -> None:
        """Add lines[first..last] (0-based, inclusive) as a cell; trims blank edges.

        `marker` is the line of the cell's `# In[ ]:` or `# %%` marker, where its origin starts.
        """
        while first <= last and not self.lines[first].strip():
            first += 1
        while last >= first and not self.lines[last].strip():
            last -= 1
        if first > last and source is None:
            return
        text = source if source is not None else "\n".join(self.lines[first : last + 1])
        span = (first + 1 if marker is None else marker + 1, max(first, last) + 1)
        self.cells.append(
            Cell(index=len(self.cells), kind=kind, source=text, origin=Origin(lines=span), prompt=prompt,
                 execution_count=count, source_first_line=first + 1, notes=[note] if note else [])
        )

    def add_empty_code(self, marker_line: int, prompt: str, count: int | None) -> None:
        self.cells.append(
            Cell(index=len(self.cells), kind=CellKind.CODE, source="",
                 origin=Origin(lines=(marker_line + 1, marker_line + 1)), prompt=prompt, execution_count=count)
        )

    def add_comment_blocks_as_markdown(self, first: int, last: int) -> None:
        for b0, b1 in _blocks(self.lines, first, last + 1):
            block = "\n".join(self.lines[b0 : b1 + 1])
            if is_comment_only(block):
                self.add(CellKind.MARKDOWN, b0, b1, source=strip_comment_markers(block),
                         note="markdown cell exported as comments")
            else:
                self.add(CellKind.CODE, b0, b1)


def _header_end(lines: list[str]) -> int:
    i = 0
    while i < len(lines) and (_HEADER.match(lines[i]) or not lines[i].strip()):
        i += 1
    return i


def _read_nbconvert(b: _Builder) -> None:
    lines = b.lines
    markers = [i for i, ln in enumerate(lines) if NBCONVERT_MARKER.match(ln)]
    b.add_comment_blocks_as_markdown(_header_end(lines), markers[0] - 1)
    for n, m in enumerate(markers):
        end = markers[n + 1] if n + 1 < len(markers) else len(lines)
        match = NBCONVERT_MARKER.match(lines[m])
        assert match is not None
        count = int(match.group(1)) if match.group(1).isdigit() else None
        prompt = lines[m].strip()
        # The cell's source comes first (nbconvert writes it right after the marker), so the
        # first block is always code. Comment blocks after the last code block, from the
        # first one that follows two blank lines, are markdown cells nbconvert appended.
        blocks = _blocks(lines, m + 1, end)
        if not blocks:
            b.add_empty_code(m, prompt, count)
            continue
        last_code = max(
            (k for k, (b0, b1) in enumerate(blocks) if not is_comment_only("\n".join(lines[b0 : b1 + 1]))),
            default=0,
        )
        split = len(blocks)
        for k in range(last_code + 1, len(blocks)):
            if blocks[k][0] - blocks[k - 1][1] - 1 >= 2:
                split = k
                break
        b.add(CellKind.CODE, blocks[0][0], blocks[split - 1][1], prompt=prompt, count=count, marker=m)
        if split < len(blocks):
            b.add_comment_blocks_as_markdown(blocks[split][0], end - 1)


def _read_percent(b: _Builder) -> None:
    lines = b.lines
    markers = [i for i, ln in enumerate(lines) if PERCENT_MARKER.match(ln)]
    if markers[0] > 0:
        b.add(CellKind.CODE, _header_end(lines[: markers[0]]), markers[0] - 1)
    for n, m in enumerate(markers):
        end = markers[n + 1] if n + 1 < len(markers) else len(lines)
        match = PERCENT_MARKER.match(lines[m])
        assert match is not None
        rest = match.group("rest").lower()
        if "[markdown]" in rest or "[md]" in rest:
            body = "\n".join(lines[m + 1 : end])
            text = strip_comment_markers(body) if is_comment_only(body) else body.strip("\n")
            if text.startswith(('"""', "'''")) and text.endswith(('"""', "'''")) and len(text) >= 6:
                text = text[3:-3].strip("\n")
            b.add(CellKind.MARKDOWN, m + 1, end - 1, source=text, prompt=lines[m].strip(), marker=m)
        else:
            first_len = len(b.cells)
            b.add(CellKind.CODE, m + 1, end - 1, prompt=lines[m].strip(), marker=m)
            if len(b.cells) == first_len:
                b.add_empty_code(m, lines[m].strip(), None)


def _read_plain(b: _Builder) -> None:
    lines = b.lines
    start = _header_end(lines)
    blocks = _blocks(lines, start, len(lines))
    # A new cell starts at every comment block that begins a paragraph (follows a blank line).
    groups: list[list[tuple[int, int]]] = []
    for block in blocks:
        first_line = lines[block[0]]
        starts_section = first_line.startswith("#") and not first_line.startswith((" ", "\t"))
        if not groups or starts_section:
            groups.append([block])
        else:
            groups[-1].append(block)
    for group in groups:
        b.add(CellKind.CODE, group[0][0], group[-1][1])


def read_script(path: str, name: str, text: str) -> Submission:
    lines = text.split("\n")
    b = _Builder(lines)
    if is_nbconvert(lines):
        _read_nbconvert(b)
        note = "nbconvert script export (# In[ ]: markers)"
    elif is_percent(lines):
        _read_percent(b)
        note = "script with # %% cells"
    else:
        _read_plain(b)
        note = "plain Python script, split into cells at comment paragraphs"
    return Submission(path=path, name=name, format=Format.SCRIPT, cells=b.cells, notes=[note])

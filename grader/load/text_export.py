"""Plain-text notebook exports: `In [3]:` markers, recorded output after the code, markdown as text.

How a cell's lines are split, measured on the exports students hand in:
- The cell starts at its marker (`In [3]:`, `In [ ]:`, `In [None]:`); the first code line may sit
  on the marker's line. Some exports wrap each cell in ``` fences; the cell then ends at the
  closing fence, otherwise at the next marker.
- The code is the longest run of blank-separated blocks from the top that compiles. Recorded
  output that happens to parse (`[1, 8, 27]`, `None`, `Result: 5` which is an annotation) is
  recognised by its shape: literal displays and value-less annotations are output, not code.
- A cell that never ran (`In [ ]:`, `In [None]:`) has no output. After a cell that ran, the
  first group of blocks (up to two blank lines) is its output; what follows is markdown.
- Comment blocks after the last code block, from the first that follows two blank lines, are
  markdown (`# Q4. ...` headings), not comments of the code.
- Everything outside cells is markdown, one cell per blank-line-separated paragraph (a ```
  fenced block is kept whole).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.pysource import code_line_score, compiles, is_comment_only, looks_like_code, output_like
from grader.submission import Cell, CellKind, Format, Origin, Submission

MARKER = re.compile(r"^\s*(?P<kind>In|Out)\s*\[(?P<n>\s*(\d+|None|\*)?\s*)\]\s*:\s?(?P<rest>.*)$")
FENCE = re.compile(r"^\s*(```|~~~)[\w+-]*\s*$")
_HEADING = re.compile(r"^\s*(#{1,6}\s+\S|<h\d|\*\*|(Q|Question|Ans|Answer)\s*[-.:=)]?\s*\d)", re.IGNORECASE)


def is_text_export(lines: list[str]) -> bool:
    return any((m := MARKER.match(ln)) is not None and m.group("kind") == "In" for ln in lines)


@dataclass
class _Block:
    first: int  # 0-based line index, inclusive
    last: int
    gap_before: int  # blank lines between this block and the previous one (or the marker)

    def text(self, lines: list[str]) -> str:
        return "\n".join(lines[self.first : self.last + 1])


def _blocks(lines: list[str], start: int, end: int, prev: int) -> list[_Block]:
    out: list[_Block] = []
    i = start
    last_end = prev
    while i < end:
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j + 1 < end and lines[j + 1].strip():
            j += 1
        out.append(_Block(i, j, i - last_end - 1))
        last_end = j
        i = j + 1
    return out


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        # The lines as code sees them: a marker line holds only what follows the marker.
        self.code = list(lines)
        self.markers: list[int] = []
        for i, ln in enumerate(lines):
            m = MARKER.match(ln)
            if m and m.group("kind") == "In":
                self.markers.append(i)
                self.code[i] = m.group("rest")
        self.cells: list[Cell] = []

    def markdown(self, start: int, end: int) -> None:
        """Lines[start:end] are markdown: one cell per paragraph, fenced blocks kept whole."""
        i = start
        while i < end:
            if not self.lines[i].strip():
                i += 1
                continue
            j = i
            if FENCE.match(self.lines[i]):
                j = i + 1
                while j < end and not FENCE.match(self.lines[j]):
                    j += 1
                j = min(j, end - 1)
            else:
                while j + 1 < end and self.lines[j + 1].strip():
                    j += 1
            self.cells.append(
                Cell(index=len(self.cells), kind=CellKind.MARKDOWN, source="\n".join(self.lines[i : j + 1]),
                     origin=Origin(lines=(i + 1, j + 1)), source_first_line=i + 1)
            )
            i = j + 1

    def code_cell(self, marker: int, body_end: int, fence_close: int | None) -> int:
        """The `In [n]:` cell at `marker`, its body ending before `body_end`.

        Returns the line index where the markdown after the cell's code and output starts.
        """
        m = MARKER.match(self.lines[marker])
        assert m is not None
        n = m.group("n").strip()
        executed = n not in ("", "None")
        blocks = _blocks(self.code, marker, body_end, marker - 1)
        if blocks and blocks[0].first == marker:
            blocks[0].gap_before = 0
        code_n, out_n, md_start = self._split(blocks, executed)
        source = ""
        first_src: int | None = None
        last = marker
        if code_n:
            first_src = blocks[0].first
            source = "\n".join(self.code[first_src : blocks[code_n - 1].last + 1])
            last = blocks[code_n - 1].last
        output = ""
        if out_n:
            out_blocks = blocks[code_n : code_n + out_n]
            output = "\n".join(self.lines[out_blocks[0].first : out_blocks[-1].last + 1]) + "\n"
            last = out_blocks[-1].last
        first = marker - 1 if fence_close is not None else marker
        if fence_close is not None and md_start >= len(blocks):
            last = fence_close
        self.cells.append(
            Cell(index=len(self.cells), kind=CellKind.CODE, source=source, origin=Origin(lines=(first + 1, last + 1)),
                 output=output, execution_count=int(n) if n.isdigit() else None, prompt=f"In [{n or ' '}]:",
                 source_first_line=(first_src if first_src is not None else marker) + 1)
        )
        return blocks[md_start].first if md_start < len(blocks) else body_end

    def _split(self, blocks: list[_Block], executed: bool) -> tuple[int, int, int]:
        """(number of code blocks, number of output blocks, index of the first markdown block)."""
        code = self.code
        if not blocks:
            return 0, 0, 0

        def is_out_marker(b: _Block) -> bool:
            mm = MARKER.match(code[b.first])
            return mm is not None and mm.group("kind") == "Out"

        out_marker = next((k for k, b in enumerate(blocks) if is_out_marker(b)), None)
        limit = out_marker if out_marker is not None else len(blocks)
        code_n = 0
        for j in range(limit, 0, -1):
            if compiles("\n".join(b.text(code) for b in blocks[:j])):
                code_n = j
                break
        if code_n == 0:
            # The code does not compile (a real syntax error): take the blocks that look like
            # code, stopping at the first that looks like prose or output.
            code_n = 1
            while code_n < limit and (looks_like_code(blocks[code_n].text(code))
                                      or code[blocks[code_n].first].startswith((" ", "\t"))):
                code_n += 1
        # Trim the tail until stable: comment blocks after the last code block, from one that
        # follows two blank lines, are markdown (`# Q6. ...`); blocks that parse but have the
        # shape of recorded output ([1, 8, 27], None, `Result: 5`) are output.
        while True:
            before = code_n
            last_code = max((k for k in range(code_n) if not is_comment_only(blocks[k].text(code))), default=0)
            for k in range(last_code + 1, code_n):
                if blocks[k].gap_before >= 2:
                    code_n = k
                    break
            while code_n > 1 and executed and output_like(blocks[code_n - 1].text(code)):
                code_n -= 1
            if code_n == before:
                break
        rest = blocks[code_n:]
        if not rest:
            return code_n, 0, len(blocks)
        if out_marker is not None and out_marker >= code_n:
            out_n = 1
            while code_n + out_n < len(blocks) and blocks[code_n + out_n].gap_before < 2:
                out_n += 1
            return code_n, out_n, code_n + out_n
        if not executed:
            return code_n, 0, code_n
        if rest[0].gap_before >= 2 and _HEADING.match(code[rest[0].first]):
            return code_n, 0, code_n
        out_n = 1
        while out_n < len(rest) and rest[out_n].gap_before < 2 and not _HEADING.match(code[rest[out_n].first]):
            out_n += 1
        return code_n, out_n, code_n + out_n

    def read(self) -> None:
        lines = self.lines
        pos = 0
        for k, mk in enumerate(self.markers):
            fenced = mk > 0 and FENCE.match(lines[mk - 1]) is not None
            self.markdown(pos, mk - 1 if fenced else mk)
            next_mk = self.markers[k + 1] if k + 1 < len(self.markers) else len(lines)
            if fenced:
                close = next((i for i in range(mk + 1, next_mk) if FENCE.match(lines[i])), None)
                body_end = close if close is not None else next_mk
                md_from = self.code_cell(mk, body_end, close)
                if close is not None:
                    self.markdown(md_from, close)  # odd, but keep whatever text sits in the fence
                    pos = close + 1
                else:
                    pos = md_from
            else:
                body_end = next_mk
                if k + 1 < len(self.markers) and FENCE.match(lines[next_mk - 1]):
                    body_end = next_mk - 1  # the next cell's opening fence
                pos = self.code_cell(mk, body_end, None)
        self.markdown(pos, len(lines))


def read_text_export(path: str, name: str, text: str) -> Submission:
    lines = text.split("\n")
    reader = _Reader(lines)
    reader.read()
    notes = ["plain-text notebook export (In [n]: markers)"]
    return Submission(path=path, name=name, format=Format.TEXT, cells=reader.cells, notes=notes)


MAX_RUN_LINES = 400  # the longest code block an answer sheet's reader looks for (bounds the work)
_GIVE_UP = 30  # non-blank lines past the last compiling end before a code run is closed


def _unlabelled(line: str) -> str:
    """The line without a label fused onto its code: a question label (`6.import x`, `Ans3.import x`)
    or a bare answer marker (`Ans.import x`, `Ans. import x`). A line that compiles as it is keeps
    everything (`ans = pool.map(f, xs)` is code, not a marker)."""
    from grader.locate.labels import ANSWER_OPENER, find_label

    if compiles(line.strip()):
        return line
    hit = find_label(line, in_code=False)
    if hit is not None:
        rest = hit.rest.lstrip(" .):-=")
        return rest if code_line_score(rest) else line
    opener = ANSWER_OPENER.match(line)
    if opener is not None and code_line_score(line[opener.end():]):
        return line[opener.end():]
    return line


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _dedented(line: str, indent: str) -> str | None:
    """`line` without the block's indentation; None for a non-blank line outside the block."""
    if line.startswith(indent):
        return line[len(indent):]
    return "" if not line.strip() else None


def code_run(lines: list[str], start: int) -> int | None:
    """The end (exclusive) of the code block starting at `start` in an answer sheet, or None.

    The block is the longest run of lines from `start` that compiles (a label fused onto the
    first line left out), then the indented or code-shaped lines that continue it up to a blank
    line: code with a syntax error stays code, shown as written. A block indented as a whole
    (a program set off by four spaces, as Markdown indents code) is read without that shared
    indentation, and ends at the first line indented less.
    """
    indent = _indent_of(lines[start])
    first = _unlabelled(lines[start][len(indent):])
    if not code_line_score(first):
        return None
    trial = [first]
    best: int | None = None
    misses = 0
    for j in range(start + 1, min(len(lines), start + MAX_RUN_LINES) + 1):
        if j > start + 1:
            line = _dedented(lines[j - 1], indent)
            if line is None:
                break
            trial.append(line)
        if not trial[-1].strip():
            continue
        if compiles("\n".join(trial)):
            best, misses = j, 0
        else:
            misses += 1
            if misses > _GIVE_UP:
                break
    if best is None:
        return None
    text = "\n".join(trial[: best - start])
    if output_like(text) or not looks_like_code(text):
        return None
    end = best
    while end < len(lines) and lines[end].strip() and lines[end].startswith(indent) and (
            lines[end][len(indent):].startswith((" ", "\t")) or code_line_score(lines[end][len(indent):])):
        end += 1
    return end


def read_plain_text(path: str, name: str, text: str) -> Submission:
    """An answer sheet without cell markers: prose paragraphs and the code between them.

    Code is what compiles (see `code_run`), found line by line, so code that follows a
    question's number with no blank line between is still code; the rest is Markdown, one
    cell per paragraph.
    """
    lines = text.split("\n")
    reader = _Reader(lines)
    pos = i = 0
    found = 0
    while i < len(lines):
        end = code_run(lines, i) if lines[i].strip() else None
        if end is None:
            i += 1
            continue
        reader.markdown(pos, i)
        last = end - 1
        while last > i and not lines[last].strip():
            last -= 1
        indent = _indent_of(lines[i])
        block = [line[len(indent):] for line in lines[i : last + 1]]  # each starts with indent, or is blank
        source = "\n".join(block)
        notes = [] if compiles(source) or compiles("\n".join([_unlabelled(block[0]), *block[1:]])) \
            else ["does not compile as written"]
        if indent:
            notes.append(f"the block is indented by {indent!r} as a whole in the text (set off as Markdown "
                         "indents code); read without that indentation")
        reader.cells.append(Cell(index=len(reader.cells), kind=CellKind.CODE, source=source,
                                 origin=Origin(lines=(i + 1, last + 1)), source_first_line=i + 1, notes=notes))
        found += 1
        pos = i = last + 1
    reader.markdown(pos, len(lines))
    note = (f"plain-text answer sheet without cell markers: {found} code block(s) found by compiling, "
            "the rest read as Markdown paragraphs") if found else \
        "plain text without cell markers; read as markdown paragraphs"
    return Submission(path=path, name=name, format=Format.TEXT, cells=reader.cells, notes=[note])

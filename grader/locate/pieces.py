"""Cells cut into pieces at question labels, each piece classified as label, prose or code.

Most cells are one piece. A cell holding several answers (`#Q3 ... #Q4 ...` in one code cell,
or a long script) is cut at each label line, so each answer can be located and run alone.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grader.answers import Method, PartKind, WrittenIn
from grader.fences import Unclosed, blocks, opens
from grader.locate.labels import (
    ANSWER_OPENER,
    ANSWER_VARIABLE,
    LabelHit,
    find_label,
    normalise,
    question_text_match,
    strip_decoration,
)
from grader.pysource import (
    code_line_score,
    compiles,
    docstring_like,
    is_comment_only,
    looks_like_code,
    strip_comment_markers,
    unterminated_string_text,
)
from grader.submission import Cell, CellKind

_PY_LANGS = {"", "python", "py", "python3", "ipython", "ipython3"}
_QUOTES = ('"""', "'''")


@dataclass(frozen=True)
class Fence:
    """A fenced block of a markdown or raw cell, read as CommonMark reads it."""

    first: int  # line of the opening fence
    last: int  # line of the closing fence; the cell's last line when the fence is never closed
    lang: str
    code: str  # the lines between, without the opening fence's indentation
    closed: bool

    @property
    def python(self) -> bool:
        return self.lang.strip("{}").lower() in _PY_LANGS


def fences(lines: Sequence[str]) -> list[Fence]:
    """The fenced blocks, in order. A fence may be indented any amount (one inside a list item keeps the
    item's indentation), and that indentation is removed from its lines; one never closed runs to the
    end of the cell, as Markdown renders it."""
    found: list[Fence] = []
    for b in blocks(lines, any_indent=True, unclosed=Unclosed.TO_END):
        end = len(lines) if b.close is None else b.close
        indent = len(b.indent)
        body = [ln[min(indent, len(ln) - len(ln.lstrip(" \t"))):] for ln in lines[b.open + 1 : end]]
        lang = re.split(r"\s", b.info, maxsplit=1)[0]  # the info string's first word
        found.append(Fence(b.open, min(end, len(lines) - 1), lang, "\n".join(body).strip("\n"), b.close is not None))
    return found


@functools.lru_cache(maxsize=16)
def fence_lines(source: str) -> tuple[frozenset[int], frozenset[int]]:
    """The lines of a cell's fences (opening and closing) and the lines inside its fenced blocks: no
    label is looked for there. Kept for the last cells: a cell is cut again for each numbering tried."""
    lines = source.split("\n")
    edges: set[int] = set()
    inside: set[int] = set()
    for f in blocks(lines, any_indent=True, unclosed=Unclosed.TO_END):
        edges.update({f.open} if f.close is None else {f.open, f.close})
        inside.update(range(f.open + 1, len(lines) if f.close is None else f.close))
    return frozenset(edges), frozenset(inside)


def _quoted_code(lines: Sequence[str], outside: set[int]) -> list[tuple[int, int, str]]:
    """Code wrapped whole in a triple-quoted string in a markdown cell: a line that is only `\"\"\"`
    (or `'''`) at the start of a line, code, and a line that is only the same quotes. A student's
    habit of quoting; what is inside is the answer when it compiles and has the shape of code."""
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(lines):
        q = lines[i].rstrip()
        if i in outside and q in _QUOTES:
            j = next((k for k in range(i + 1, len(lines)) if k in outside and lines[k].strip() == q), None)
            if j is None:
                break
            code = textwrap.dedent("\n".join(lines[i + 1 : j])).strip("\n")
            if code.strip() and compiles(code) and looks_like_code(code):
                found.append((i, j, code))
            i = j + 1  # a quoted paragraph of prose stays prose, its quotes paired
            continue
        i += 1
    return found


@dataclass(frozen=True)
class QuestionRef:
    """What the locator needs to know about a rubric question."""

    id: str
    number: int
    text: str
    kind: str  # "written" or "code"
    aliases: tuple[str, ...] = ()
    code_patterns: tuple[str, ...] = ()  # regexes: code that answers this question
    patterns: tuple[str, ...] = ()  # regexes: a line that states this question (its text in other words)


@dataclass
class Label:
    question: str | None  # question id, None when the number is not a rubric question
    number: int | None
    method: Method
    detail: str  # for the reason: "heading '### Q3.'", "copied question text (93%)"


@dataclass
class Content:
    kind: PartKind | None  # None: nothing but the label
    text: str
    written_in: WrittenIn | None = None
    from_markdown: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Piece:
    cell: int
    cell_kind: CellKind
    first: int  # 0-based line span within the cell's source, inclusive
    last: int
    text: str
    label: Label | None
    contents: list[Content]  # usually one; a markdown cell with fenced code gives prose and code

    @property
    def substantive(self) -> bool:
        return any(c.kind is not None and c.text.strip() for c in self.contents)

    @property
    def has_code(self) -> bool:
        return any(c.kind is PartKind.CODE for c in self.contents)

    @property
    def has_prose(self) -> bool:
        return any(c.kind is PartKind.PROSE and c.text.strip() for c in self.contents)

    def code_text(self) -> str:
        return "\n".join(c.text for c in self.contents if c.kind is PartKind.CODE)


MAX_TEXT_CHECKS = 200  # lines per cell compared with the questions' text (labels are always found)


def _label_for(line: str, in_code: bool, questions: Sequence[QuestionRef],
               match_text: bool = True) -> tuple[Label, LabelHit | None] | None:
    hit = find_label(line, in_code=in_code)
    if hit is not None:
        q = next((q for q in questions if q.number == hit.number), None)
        where = "comment" if line.lstrip().startswith("#") and in_code else "label"
        if line.lstrip().startswith("#") and not in_code:
            where = "heading"
        if in_code and hit.marker.lower().startswith(("ans", "answer", "q", "question", "sol")) and "=" in line[:40] \
                and not line.lstrip().startswith("#"):
            where = "answer variable"
        return Label(q.id if q else None, hit.number, Method.MARKER, f"{where} '{hit.marker}'"), hit
    if not match_text or (in_code and not line.lstrip().startswith(("#", "'", '"')) and compiles(line)):
        return None
    phrases = [(q.id, (q.text, *q.aliases)) for q in questions]
    text_hit = question_text_match(line, phrases)
    if text_hit is not None:
        q = next(q for q in questions if q.id == text_hit.question)
        return Label(q.id, q.number, Method.QUESTION_TEXT,
                     f"copied question text ({round(text_hit.score * 100)}% match)"), None
    # The rubric's `patterns`: the question stated in other words. Only one question may match.
    matched = [(q, p) for q in questions for p in q.patterns if re.search(p, line, re.IGNORECASE)] \
        if _STATES_A_QUESTION.match(line) or line.rstrip().endswith("?") else []
    if matched and len({q.id for q, _ in matched}) == 1:
        q, pattern = matched[0]
        return Label(q.id, q.number, Method.QUESTION_TEXT, f"question text matching {q.id}'s pattern {pattern!r}"), None
    return None


_STATES_A_QUESTION = re.compile(r"^\W*(write|create|how|what|why|explain|describe|implement|show|give)\b", re.I)


def _is_question_line(line: str, questions: Sequence[QuestionRef], qid: str | None) -> bool:
    """The line repeats the question (so it is not part of the answer)."""
    norm = normalise(line)
    if not norm:
        return True
    for q in questions:
        if qid is not None and q.id != qid:
            continue
        phrases = [(q.id, (q.text, *q.aliases))]
        if question_text_match(line, phrases, threshold=0.75) is not None:
            return True
    return False


def split_cell(cell: Cell, questions: Sequence[QuestionRef],
               extra: Mapping[int, tuple[Label, LabelHit]] | None = None) -> list[Piece]:
    """Cut a cell at its label lines and classify each piece. `extra`: further label lines (by line
    index) that only reading the whole file shows (`numbering`: numbered titles in sequence)."""
    extra = extra or {}
    lines = cell.source.split("\n")
    in_code = cell.kind is CellKind.CODE
    starts: list[tuple[int, Label | None, LabelHit | None]] = []
    first_text = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first_text is None:
        return [Piece(cell.index, cell.kind, 0, max(0, len(lines) - 1), cell.source, None, [])]
    edges, inside = fence_lines(cell.source)
    text_checks = 0  # a bound, so that a huge cell cannot make the locator slow
    # A code cell that is not Python as a whole may hold prose answers typed into it ('Q1. ...',
    # then 'Q2. ...'): there a label line that is not Python opens a new answer too.
    prose_cell = in_code and not compiles(cell.source)
    for i, line in enumerate(lines):
        if i in edges:
            continue
        if i in extra:
            starts.append((i, *extra[i]))
            continue
        if i in inside or not line.strip() or (in_code and line[:1] in (" ", "\t")):
            continue
        if i != first_text and in_code and not line.lstrip().startswith(("#", "'''", '"""')):
            # Inside code, only comment or string lines open a new answer (and labels typed as prose;
            # not `Ans2 = "..."`, which may be a line of a broken program).
            typed = _label_for(line, in_code, questions, match_text=False) \
                if prose_cell and not ANSWER_VARIABLE.match(line) else None
            if typed is not None:
                starts.append((i, *typed))
            continue
        comment = None if in_code else _comment_in_code(lines, i)
        if comment == "comment":
            continue
        text_checks += 1
        found = _label_for(line, in_code, questions,
                           match_text=text_checks <= MAX_TEXT_CHECKS and comment != "marker only")
        if found is None and i == first_text and len(lines) > i + 1:
            # A question copied over two lines.
            two = line + " " + lines[i + 1]
            if not in_code or not compiles(line):
                found = _label_for(two, in_code, questions)
        if found is not None and (i == first_text or found[0].method is Method.MARKER or _strong(line, questions)):
            starts.append((i, found[0], found[1]))
    if not starts or starts[0][0] != first_text:
        starts.insert(0, (0, None, None))
    else:
        starts[0] = (0, starts[0][1], starts[0][2])
    pieces = []
    for k, (start, label, hit) in enumerate(starts):
        end = starts[k + 1][0] - 1 if k + 1 < len(starts) else len(lines) - 1
        text = "\n".join(lines[start : end + 1])
        pieces.append(Piece(cell.index, cell.kind, start, end, text, label,
                            classify(text, cell.kind, label, hit, questions)))
    return pieces


def _comment_in_code(lines: Sequence[str], i: int) -> str | None:
    """Is this `#` line of a markdown or raw cell a Python comment of unfenced code, not a heading?
    "comment": indented four or more (Markdown makes no heading of it), or between code lines
    inside their block (the next code line is indented); "marker only": between code lines at the
    margin, where only a real label (`# Q5.`) opens a new answer, not a comment that happens to
    repeat the question's words; None: read it as a heading."""
    line = lines[i]
    if not line.lstrip().startswith("#"):
        return None
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if "\t" in indent or len(indent) >= 4:
        return "comment"
    # Scanned by index, not sliced: each scan stops at the next non-blank line, so a cell of many
    # `#` lines costs linear time in all.
    before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), None)
    after = next((lines[k] for k in range(i + 1, len(lines)) if lines[k].strip()), None)
    if before is None or after is None or not code_line_score(before) or not code_line_score(after):
        return None
    return "comment" if indent or after[:1] in (" ", "\t") else "marker only"


def _strong(line: str, questions: Sequence[QuestionRef]) -> bool:
    phrases = [(q.id, (q.text, *q.aliases)) for q in questions]
    hit = question_text_match(line, phrases, threshold=0.9)
    return hit is not None


def _drop_label_lines(text: str, label: Label | None, hit: LabelHit | None,
                      questions: Sequence[QuestionRef], code: bool = False) -> tuple[str, list[str]]:
    """The text without its label and copied-question lines; and the lines dropped. In a code
    cell (`code`), an answer on a comment label's line stays a comment (`# Q1. Multiprocessing
    is ...` leaves `# Multiprocessing is ...`), so a comment answer is still read as one."""
    lines = text.split("\n")
    dropped: list[str] = []
    if label is None:
        return text, dropped
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines):
        first = lines[i]
        if hit is not None:
            rest = re.sub(r"^[\s.):\-=*_\]]*(</\w+>)?", "", hit.rest).strip()
            rest = re.sub(r"</?\w+[^>]*>", "", rest).strip().strip("*").strip()
            if rest and not _is_question_line(rest, questions, label.question):
                # label followed by the answer on the same line
                lines[i] = "# " + rest if code and first.lstrip().startswith("#") else rest
            else:
                dropped.append(first)
                lines[i] = ""
                if rest and i + 1 < len(lines) and _continues_question(rest, lines[i + 1], questions, label.question):
                    dropped.append(lines[i + 1])
                    lines[i + 1] = ""
        elif not _restated_and_answered(first, questions, label.question):
            dropped.append(first)
            lines[i] = ""
            if i + 1 < len(lines) and _continues_question(first, lines[i + 1], questions, label.question):
                dropped.append(lines[i + 1])
                lines[i + 1] = ""
    return "\n".join(lines).strip("\n"), dropped


ANSWERED_AFTER_WORDS = 8  # words past the question's own on its line: the line goes on to answer it


def _restated_and_answered(line: str, questions: Sequence[QuestionRef], qid: str | None) -> bool:
    """A line that states the question and goes on to answer it ('The main differences between
    multiprocessing and multithreading are that ...'): the question's marker, and its answer too."""
    q = next((q for q in questions if q.id == qid), None)
    if q is None:
        return False
    asked = max(len(normalise(p).split()) for p in (q.text, *q.aliases))
    return len(normalise(line).split()) >= asked + ANSWERED_AFTER_WORDS


def _continues_question(first: str, second: str, questions: Sequence[QuestionRef], qid: str | None) -> bool:
    """A question copied over two lines: the second line completes it."""
    if not second.strip() or code_line_score(second) or opens(second, any_indent=True) or second.strip() in _QUOTES:
        return False  # a fence (or quotes) opening the answer's code is never part of the question
    return _is_question_line(first + " " + second, questions, qid) and len(normalise(second).split()) <= 8


def _without_fused_opener(text: str) -> tuple[str, str] | None:
    """Code whose first line starts with a bare answer marker (`Ans.import x`, `Ans. import x`): the
    code without it, and the marker; None when the text compiles as it is or not even without it."""
    if compiles(text):
        return None
    lines = text.split("\n")
    i = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if i is None:
        return None
    m = ANSWER_OPENER.match(lines[i])
    if m is None or not code_line_score(lines[i][m.end():]):
        return None
    code = "\n".join([*lines[:i], lines[i][m.end():], *lines[i + 1 :]])
    return (code, lines[i][: m.end()].strip()) if compiles(code) else None


def _strip_answer_opener(text: str) -> str:
    return ANSWER_OPENER.sub("", text, count=1) if ANSWER_OPENER.match(text) else text


def classify(text: str, kind: CellKind, label: Label | None, hit: LabelHit | None,
             questions: Sequence[QuestionRef]) -> list[Content]:
    body, dropped = _drop_label_lines(text, label, hit, questions, code=kind is CellKind.CODE)
    if not body.strip():
        return [Content(None, "")]
    if kind is CellKind.CODE:
        fused = hit is not None and not dropped and code_line_score(hit.rest.lstrip(" .):-="))
        if hit is not None and fused and not compiles(text) and compiles(body):
            return [Content(PartKind.CODE, body, notes=[
                f"the label {hit.marker!r} is fused onto the first code line: read as a label, the rest as code"])]
        opened = _without_fused_opener(body)
        if opened is not None:
            code, marker = opened
            return [Content(PartKind.CODE, code, notes=[
                f"the answer marker {marker!r} is fused onto the first code line: read as a marker, the rest as code"])]
        return _classify_code(text, body, dropped)
    return _classify_markdown(text, body, dropped, kind)


def _classify_code(whole: str, body: str, dropped: list[str]) -> list[Content]:
    if is_comment_only(body):
        return [Content(PartKind.PROSE, strip_comment_markers(body), WrittenIn.COMMENT)]
    strings = docstring_like(body)
    if strings is not None:
        return [Content(PartKind.PROSE, strings, WrittenIn.STRING)]
    if compiles(whole):
        return [Content(PartKind.CODE, whole)]
    if compiles(body):
        # Only the label line (a question pasted as text) keeps the cell from compiling.
        note = f"line 1 ({dropped[0].strip()[:60]!r}) is not Python; the code compiles without it" if dropped \
            else "the code compiles without its label line"
        return [Content(PartKind.CODE, whole, notes=[note])]
    unterminated = unterminated_string_text(body)
    if unterminated is not None and not looks_like_code(body.split("'''")[0].split('"""')[0] or "x"):
        return [Content(PartKind.PROSE, unterminated, WrittenIn.STRING,
                        notes=["the string holding this answer is never closed (a syntax error if run)"])]
    split = _prose_then_code(body)
    if split is not None:
        return split
    if looks_like_code(body):
        return [Content(PartKind.CODE, whole, notes=_stray_line_notes(whole))]
    return [Content(PartKind.PROSE, _strip_answer_opener(strip_decoration(body)), WrittenIn.CODE_CELL,
                    notes=["prose typed into a code cell (it is not Python)"])]


def _code_groups(body: str, dedent: bool = False) -> tuple[list[str], list[str]]:
    """Prose lines and code blocks, read as an answer sheet is: code is what compiles, found line by
    line (`code_run`); the rest is prose. With `dedent`, a block indented as a whole loses that
    indentation, as the plain-text reader reads it."""
    from grader.load.text_export import code_run

    lines = body.split("\n")
    prose: list[str] = []
    code: list[str] = []
    i = 0
    while i < len(lines):
        end = code_run(lines, i) if lines[i].strip() else None
        if end is None:
            prose.append(lines[i])
            i += 1
            continue
        last = end - 1
        while last > i and not lines[last].strip():
            last -= 1
        block = lines[i:last + 1]
        if dedent:
            indent = len(block[0]) - len(block[0].lstrip(" \t"))
            block = [ln[indent:] for ln in block]
        code.append("\n".join(block))
        i = last + 1
    return prose, code


def _prose_then_code(body: str) -> list[Content] | None:
    """A code cell that does not compile because prose and code were typed into it together (an
    explanation, then the program): read as an answer sheet is, its code is what compiles, found
    line by line, and the rest is prose. None unless it holds a sentence of prose and code that
    compiles, so a program with a typo stays a program (and fails as one)."""
    prose, code = _code_groups(body)
    sentence = any(len(ln.split()) >= 5 for ln in prose)
    if not code or not sentence or not all(compiles(c) for c in code):
        return None
    note = "prose and code typed together into one code cell: the code is what compiles, the rest is prose"
    text = _strip_answer_opener(strip_decoration("\n".join(prose).strip()))
    return [Content(PartKind.PROSE, text, WrittenIn.CODE_CELL, notes=[note]),
            *(Content(PartKind.CODE, c, notes=[note]) for c in code)]


def _stray_line_notes(code: str) -> list[str]:
    """For code that does not compile: is it one stray line of prose?"""
    lines = code.split("\n")
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        trial = "\n".join(lines[:i] + lines[i + 1 :])
        if compiles(trial):
            return [f"does not compile as submitted; it would compile without line {i + 1} ({line.strip()[:60]!r})"]
    return ["does not compile as submitted (a syntax error)"]


def _classify_markdown(whole: str, body: str, dropped: list[str], kind: CellKind) -> list[Content]:
    raw = kind is CellKind.RAW
    where = "a raw cell" if raw else "a markdown cell"
    written = WrittenIn.RAW if raw else WrittenIn.MARKDOWN
    lines = body.split("\n")
    # Blocks by line span: a Python fence's code (or its prose, when it holds no code), and code
    # wrapped whole in a triple-quoted string. Another language's fence stays in the prose as written.
    blocks: list[tuple[int, int, Content | str]] = []
    outside = set(range(len(lines)))
    for f in fences(lines):
        outside -= set(range(f.first, f.last + 1))
        if not f.python:
            continue
        if f.code.strip() and (compiles(f.code) or looks_like_code(f.code)):
            notes = [f"code in a fenced block of {where}"]
            if not f.closed:
                notes.append("its opening fence is never closed: the code block runs to the end of the cell, "
                             "as Markdown reads it")
            blocks.append((f.first, f.last, Content(PartKind.CODE, f.code, from_markdown=True, notes=notes)))
        else:
            blocks.append((f.first, f.last, f.code))
    for first, last, code in _quoted_code(lines, outside):
        blocks.append((first, last, Content(PartKind.CODE, code, from_markdown=True, notes=[
            f"code wrapped whole in a triple-quoted string in {where}: the code inside the string is read as "
            "the answer (run as written, the string would do nothing)"])))
    if blocks:
        contents: list[Content] = []
        prose_chunks = []
        pos = 0
        for first, last, found in sorted(blocks, key=lambda b: b[0]):
            prose_chunks.append("\n".join(lines[pos:first]))
            if isinstance(found, Content):
                contents.append(found)
            else:
                prose_chunks.append(found)
            pos = last + 1
        prose_chunks.append("\n".join(lines[pos:]))
        prose = "\n".join(c.strip("\n") for c in prose_chunks if c.strip())
        if prose.strip():
            contents.insert(0, Content(PartKind.PROSE, _strip_answer_opener(strip_decoration(prose)), written))
        return contents
    # Bare code typed into a markdown cell must really be Python: it compiles (with or without
    # its label line), or would without one stray line. Indented prose bullets look code-shaped
    # but never compile.
    code_lines = [ln for ln in body.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    shaped = len(code_lines) >= 2 and looks_like_code(body)
    note = f"code typed into {where} (never run in the notebook)"
    if shaped:
        if compiles(whole):
            return [Content(PartKind.CODE, whole, from_markdown=True, notes=[note])]
        if compiles(body):
            if dropped:
                note += f"; its label line {dropped[0].strip()[:40]!r} is left out, as it is not Python"
            return [Content(PartKind.CODE, body, from_markdown=True, notes=[note])]
    if raw:
        # A raw cell is plain text: read as an answer sheet is (what compiles is code, line by line).
        prose_lines, codes = _code_groups(body, dedent=True)
        if codes:
            split_note = "prose and code typed together into a raw cell (never run in the notebook): the code is " \
                "what compiles, found line by line as in a plain-text answer sheet; the rest is prose"
            prose = _strip_answer_opener(strip_decoration("\n".join(prose_lines).strip()))
            return [*([Content(PartKind.PROSE, prose, written, notes=[split_note])] if prose.strip() else []),
                    *(Content(PartKind.CODE, c, from_markdown=True,
                              notes=[split_note if prose.strip() else note]) for c in codes)]
    if shaped and not compiles(body):
        # One program with lines of prose only before or after it (a chat answer's 'python' /
        # 'Copy code' header, a closing sentence): the program is the code, the rest prose.
        prose_lines, codes = _code_groups(body, dedent=True)
        if len(codes) == 1 and compiles(codes[0]) and looks_like_code(codes[0]):
            lead = "prose lines around one program in a markdown cell (never run in the notebook): the program is " \
                "the code, the lines before and after it are prose"
            prose = _strip_answer_opener(strip_decoration("\n".join(prose_lines).strip()))
            return [*([Content(PartKind.PROSE, prose, written)] if prose.strip() else []),
                    Content(PartKind.CODE, codes[0], from_markdown=True, notes=[note, lead])]
    if shaped:
        stray = _stray_line_notes(body)
        if "it would compile without line" in stray[0]:
            return [Content(PartKind.CODE, body, from_markdown=True, notes=[note, *stray])]
    return [Content(PartKind.PROSE, _strip_answer_opener(strip_decoration(body)), written)]


def reclassified(piece: Piece, questions: Sequence[QuestionRef]) -> Piece:
    """The same piece read without its label: its first line is content after all."""
    return Piece(piece.cell, piece.cell_kind, piece.first, piece.last, piece.text, None,
                 classify(piece.text, piece.cell_kind, None, None, questions))

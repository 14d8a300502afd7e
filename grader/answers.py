"""Which cells answer which question, and why the grader thinks so.

An `Answer` is the locator's decision for one rubric question. It keeps every part it found
(written prose, code, further attempts), in file order, plus the method and a reason a TA can
read ("heading '### Q3.' in cell 2, code cell 3 follows it").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from grader.submission import Format, Submission

_IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?(?P<md>[^)\s>]+)|<img\b[^>]*?\bsrc\s*=\s*[\"']?(?P<html>[^\"'\s>]+)", re.I)


class Method(str, Enum):
    MARKER = "marker"  # an explicit label: '# Q3.', '##Q3', 'Answer = 3', 'Ans1 = ...'
    QUESTION_TEXT = "question-text"  # the student copied (part of) the question
    POSITION = "position"  # no label: cells taken in question order
    CONTENT = "content"  # what the code does (a Pool for the Pool question)
    OVERRIDE = "override"  # a TA's mapping for this submission
    FILE_NAME = "file-name"  # a folder of per-question files: the file's name gives the question ('q3.py')


class PartKind(str, Enum):
    PROSE = "prose"
    CODE = "code"


class WrittenIn(str, Enum):
    MARKDOWN = "markdown"
    COMMENT = "code-comment"
    STRING = "string-literal"
    CODE_CELL = "code"  # prose typed straight into a code cell (it would not compile)
    RAW = "raw-cell"  # prose in a notebook's raw cell


@dataclass
class AnswerPart:
    """One piece of an answer, taken from one cell.

    For code, `text` is the code to run: exactly the student's code (a markdown cell's fenced
    or bare code is extracted; the question label line is dropped only where it is not Python).
    For prose, `text` is the readable prose (comment markers and string quotes removed).
    """

    cell: int  # index into Submission.cells
    kind: PartKind
    text: str
    written_in: WrittenIn | None = None  # prose only
    from_markdown: bool = False  # code found in a markdown cell
    notes: list[str] = field(default_factory=list)
    span: tuple[int, int] | None = None  # file lines, when the cell holds several answers

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "span": list(self.span) if self.span else None,
            "kind": self.kind.value,
            "written_in": self.written_in.value if self.written_in else None,
            "from_markdown": self.from_markdown,
            "text": self.text,
            "notes": list(self.notes),
        }


@dataclass
class Answer:
    question: str  # rubric question id, e.g. "Q3"
    parts: list[AnswerPart] = field(default_factory=list)
    method: Method | None = None
    reason: str = "no answer found"
    marker_cell: int | None = None  # the cell carrying the label or copied question, if any

    @property
    def answered(self) -> bool:
        return any(p.text.strip() for p in self.parts)

    @property
    def cells(self) -> list[int]:
        seen: list[int] = []
        for p in self.parts:
            if p.cell not in seen:
                seen.append(p.cell)
        return seen

    def code_parts(self) -> list[AnswerPart]:
        return [p for p in self.parts if p.kind is PartKind.CODE and p.text.strip()]

    def prose_parts(self) -> list[AnswerPart]:
        return [p for p in self.parts if p.kind is PartKind.PROSE and p.text.strip()]

    def prose_text(self) -> str:
        return "\n\n".join(p.text.strip() for p in self.prose_parts())

    def images(self) -> list[str]:
        """The images in the answer's prose (Markdown `![alt](src)` or HTML `<img src=...>`), by their
        source: a screenshot of code, which a TA reads and the grader cannot."""
        return [m.group("md") or m.group("html") for m in _IMAGE.finditer(self.prose_text())]

    def location(self, submission: Submission) -> dict[str, Any]:
        """The answer's place in the original file, in the shape results.json uses: {"cells": [...]}
        for a notebook, {"lines": [[a, b], ...]} for a text file; for a folder of per-question files,
        {"files": [{"file": "q3.py", "lines": [...]}, ...]}, one entry per file the answer uses."""
        if submission.files:
            files: list[dict[str, Any]] = []
            for f in submission.files:
                parts = [p for p in self.parts if f.holds(p.cell)]
                if parts:
                    files.append({"file": f.path, **self._where(submission, parts, f.format)})
            return {"files": files}
        return self._where(submission, self.parts, submission.format)

    @staticmethod
    def _where(submission: Submission, parts: list[AnswerPart], fmt: Format) -> dict[str, Any]:
        if fmt is Format.NOTEBOOK:
            cells: dict[int, None] = {}  # in order, each once (a dict: a list's `in` made this quadratic)
            for part in parts:
                c = submission.cells[part.cell].origin.cell
                if c is not None:
                    cells.setdefault(c)
            return {"cells": list(cells)}
        ranges: dict[tuple[int, ...], None] = {}
        for part in parts:
            r = part.span or submission.cells[part.cell].origin.lines
            if r is not None:
                ranges.setdefault(tuple(r))
        return {"lines": [list(r) for r in ranges]}

    def to_json(self, submission: Submission | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "answered": self.answered,
            "method": self.method.value if self.method else None,
            "reason": self.reason,
            "marker_cell": self.marker_cell,
            "cells": self.cells,
            "parts": [p.to_json() for p in self.parts],
        }
        if submission is not None:
            data["location"] = self.location(submission)
        return data

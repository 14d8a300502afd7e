"""What a loaded submission is: an ordered list of cells, each knowing where it came from.

Every reader (notebook, script, plain-text export) produces the same `Submission`, so
everything downstream (locating answers, building programs, reports) works on one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Format(str, Enum):
    NOTEBOOK = "ipynb"
    SCRIPT = "script"  # plain .py, `# %%` cells or nbconvert `# In[ ]:` exports
    TEXT = "text"  # plain-text notebook export (`In [3]:` markers, output after the code), or an answer sheet
    MARKDOWN = "markdown"  # Markdown notebook: nbconvert --to markdown, jupytext/MyST, Quarto
    FOLDER = "folder"  # a student's folder of per-question files (q1.py ... q6.py): each file read as its kind


class CellKind(str, Enum):
    MARKDOWN = "markdown"
    CODE = "code"
    RAW = "raw"


@dataclass(frozen=True)
class Origin:
    """Where a cell sits in the original file: a notebook cell index, or 1-based lines."""

    cell: int | None = None
    lines: tuple[int, int] | None = None  # first, last (inclusive), 1-based
    file: str | None = None  # in a submission of several files: the file, relative to the student's folder

    def describe(self) -> str:
        if self.cell is not None:
            where = f"cell {self.cell}"
        elif self.lines is not None:
            first, last = self.lines
            where = f"line {first}" if first == last else f"lines {first}-{last}"
        else:
            where = "unknown position"
        return f"{self.file} {where}" if self.file is not None else where

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file} if self.file is not None else {}
        if self.cell is not None:
            data["cell"] = self.cell
        elif self.lines is not None:
            data["lines"] = list(self.lines)
        return data


@dataclass
class Cell:
    """One cell as the student wrote it.

    `source` is exactly the student's text (for code: without recorded output, without the
    `In [n]:` marker). `output` is the recorded output saved with the cell, kept for reports.
    `code_lines` is where `source` starts in the original file, when known, so that a
    traceback line in the source can be mapped back to a line of the file.
    """

    index: int  # position in Submission.cells
    kind: CellKind
    source: str
    origin: Origin
    output: str = ""
    execution_count: int | None = None
    prompt: str | None = None  # the marker as written, e.g. "In [3]:" or "# In[ ]:"
    source_first_line: int | None = None  # 1-based line of source's first line in the file
    notes: list[str] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return not self.source.strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "origin": self.origin.to_json(),
            "prompt": self.prompt,
            "execution_count": self.execution_count,
            "source": self.source,
            "output": self.output,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class FolderChoice:
    """Which file of a student's folder was graded, and the files it also holds that were not
    (paths relative to the folder). A folder of per-question files has every one of them graded:
    `graded` is None and `files` lists them; a folder of several files graded together lists the
    files answers came from (`not_graded`: the unreadable ones and those that gave nothing)."""

    graded: str | None
    not_graded: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class FolderFile:
    """One file of a submission read from a student's folder (of per-question files, or of several
    files whose names give no question): its cells are `cells[first:first + count]` of the submission."""

    path: str  # relative to the folder
    format: Format  # how this file was read
    first: int
    count: int
    number: int | None  # the question number its name gives ('q3.py', 'Question_3.ipynb'); None: it names none
    # In a folder whose names give no question: the file a one-file choice grades (its answers count as
    # they would alone; another file's need a label or code that does what the question asks).
    main: bool = False

    def holds(self, index: int) -> bool:
        return self.first <= index < self.first + self.count


@dataclass
class Submission:
    """One student's submission: a file (or the file chosen from a folder) and its cells."""

    path: str  # the file that was read
    name: str  # the submission's name as given (file or folder name)
    format: Format
    cells: list[Cell]
    notes: list[str] = field(default_factory=list)  # what the loader noticed (upgrades, fixes)
    chosen: FolderChoice | None = None  # set when the submission is a folder
    files: list[FolderFile] = field(default_factory=list)  # a folder of per-question files: each file's cells

    def file_of(self, index: int) -> FolderFile | None:
        """The file of a per-question folder that holds the cell (None for a one-file submission)."""
        return next((f for f in self.files if f.holds(index)), None)

    def format_of(self, index: int) -> Format:
        """How the cell's file was read: the submission's format, or its own file's in a folder."""
        f = self.file_of(index)
        return f.format if f is not None else self.format

    def same_file(self, a: int, b: int) -> bool:
        return self.file_of(a) == self.file_of(b)

    def describe_cell(self, index: int) -> str:
        """How a TA finds the cell: 'markdown cell 4', 'In [3] (lines 23-45)', 'lines 3-5', 'q3.py lines 1-9'."""
        cell = self.cells[index]
        where = cell.origin.describe()
        if self.format_of(index) is Format.NOTEBOOK:
            if cell.origin.file is not None:
                return f"{cell.origin.file} {cell.kind.value} cell {cell.origin.cell}"
            return f"{cell.kind.value} {where}"
        if cell.prompt:
            return f"{cell.prompt.rstrip(':')} ({where})"
        return where

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "format": self.format.value,
            "notes": list(self.notes),
            "files": [{"path": f.path, "format": f.format.value, "question_number": f.number} for f in self.files],
            "cells": [c.to_json() for c in self.cells],
        }

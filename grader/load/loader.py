"""Pick the reader from the content, and the file from a student's folder."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SubmissionError
from grader.load.decode import decode, describe_binary, looks_binary, utf16_bom
from grader.load.files import not_followed, read_regular, walk
from grader.load.folder import per_question_files, read_folder
from grader.load.markdown import is_markdown, read_markdown
from grader.load.notebook import MAX_CELLS, read_notebook
from grader.load.script import is_nbconvert, is_percent, read_script
from grader.load.several import every_file
from grader.load.text_export import is_text_export, read_plain_text, read_text_export
from grader.locate.labels import find_label
from grader.locate.pieces import QuestionRef
from grader.pysource import code_line_score, compiles, looks_like_code
from grader.submission import FolderChoice, Format, Submission

MAX_BYTES = 200 * 1024 * 1024  # larger files are refused before reading them
# What is located and run: the source of the cells (outputs and attachments aside). Real homework has a few
# hundred lines in at most a few hundred cells; locating answers costs more than linear time in the lines
# of one cell, so a file of millions of lines (or cells) would hold a batch for hours and gigabytes.
MAX_SOURCE_LINES = 100_000
MAX_SOURCE_CHARS = 10 * 1024 * 1024

# In a student's folder: which files can be a submission, best first.
_PREFERRED = (".ipynb", ".py", ".txt", ".md", ".qmd", "")
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", "__MACOSX", ".venv", "venv", "node_modules"}


def _candidates(folder: Path) -> list[Path]:
    """The regular files of a student's folder that can be a submission (no symlink followed)."""
    return walk(folder, _PREFERRED, _SKIP_DIRS)[0]


def choose_file(folder: Path, listing: tuple[list[Path], list[str]]) -> tuple[Path, list[str], FolderChoice]:
    """The notebook or script in a student's folder (`listing`: its `walk`), notes on what else was
    there, and the choice."""
    candidates, refused = listing
    for ext in _PREFERRED:
        group = [p for p in candidates if p.suffix.lower() == ext and p.stat().st_size > 0]
        if not group:
            continue
        chosen = max(group, key=lambda p: (p.stat().st_size, str(p)))
        others = [str(p.relative_to(folder)) for p in group if p != chosen]
        notes = [f"chose {chosen.relative_to(folder)} from the folder"]
        if others:
            notes.append(f"the folder also holds {', '.join(others)} (not graded; the largest was chosen)")
        return chosen, notes, FolderChoice(str(chosen.relative_to(folder)), tuple(others))
    raise SubmissionError(str(folder), "no notebook or Python script in this folder"
                          + (f" ({'; '.join(refused)})" if refused else ""))


_AS = {Format.SCRIPT: "a Python script", Format.TEXT: "a plain-text answer sheet", Format.MARKDOWN: "Markdown",
       Format.NOTEBOOK: "a notebook", Format.FOLDER: "a folder"}


def _read_text(path: str, name: str, text: str) -> Submission:
    stripped = text.lstrip()
    if not stripped:
        raise SubmissionError(path, "empty file (only whitespace)")
    lines = text.split("\n")
    if stripped.startswith("{") or (path.lower().endswith(".ipynb") and stripped.startswith("[")):
        return read_notebook(path, name, text)
    submission = _read_by_content(path, name, text, lines)
    if path.lower().endswith(".ipynb"):
        # Not JSON at all: text saved under a notebook's name (a student's answers typed into a text
        # editor, or an export renamed). Read by its content, as any text file is, and say so.
        submission.notes.insert(0, f"named {Path(path).name} but not a notebook (not JSON): read as "
                                   f"{_AS[submission.format]}")
    return submission


def _read_by_content(path: str, name: str, text: str, lines: list[str]) -> Submission:
    if is_nbconvert(lines) or is_percent(lines):
        return read_script(path, name, text)
    if is_text_export(lines):
        return read_text_export(path, name, text)
    if compiles(text):
        return read_script(path, name, text)
    if is_markdown(lines, path):
        return read_markdown(path, name, text)
    if (path.lower().endswith(".py") or looks_like_code(text)) and not _is_answer_sheet(lines) \
            and not _question_then_code(lines):
        return read_script(path, name, text)
    return read_plain_text(path, name, text)


def _question_then_code(lines: list[str]) -> bool:
    """A question's label and text on the first line, then a program that compiles ('Q3. Write a
    python code to ...' over the code): one question's answer sheet, not a program with a typo.
    Read as a script, the question line would be its syntax error."""
    i = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if i is None:
        return False
    first = lines[i]
    if find_label(first, in_code=False) is None or len(first.split()) < 4 or code_line_score(first) \
            or compiles(first):
        return False
    rest = "\n".join(lines[i + 1 :])
    return bool(rest.strip()) and compiles(rest)


def _is_answer_sheet(lines: list[str]) -> bool:
    """Text that does not compile because it is prose with code among it, not code with an error:
    at least three lines of prose (not comments, not code-shaped, not indented)."""
    prose = [ln for ln in lines if ln.strip() and not ln.startswith((" ", "\t", "#")) and not code_line_score(ln)
             and len(ln.split()) >= 3 and not compiles(ln)]
    return len(prose) >= 3


def load(path: str | os.PathLike[str], *, encoding: str | None = None, name: str | None = None,
         questions: Sequence[QuestionRef] | None = None, named: Collection[str] = ()) -> Submission:
    """Read one submission (a file, or a folder holding one student's files).

    `questions` (the rubric's, as the locator sees them): in a folder of several files whose names
    give no question, every file is read when the main one leaves a question unanswered
    (grader.load.several), or when `named` (the files a TA's answer overrides name, relative to the
    folder) holds another file than the main one. Without them such a folder is its main file, as
    `choose_file` picks it."""
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise SubmissionError(shown, "no such file or folder")
    name = name or p.name
    if p.is_dir():
        # One walk: the files that can be a submission, and a line for each one not read (a symlink:
        # it could point at /etc/shadow or a classmate's folder; a pipe, a socket, a device)
        listing = walk(p, _PREFERRED, _SKIP_DIRS)
        sub = _within_bounds(_load_folder(p, name, encoding, questions, named, listing))
        sub.notes.extend(listing[1])  # said, so a TA knows what the grade did not see
        return sub
    return _read_file(p, name, encoding, follow=True)  # named by the TA: followed


def _within_bounds(sub: Submission) -> Submission:
    """`sub`, or SubmissionError when it holds more source than any homework (see MAX_SOURCE_LINES)."""
    cells = len(sub.cells)
    chars = sum(len(c.source) for c in sub.cells)
    lines = sum(c.source.count("\n") + 1 for c in sub.cells)
    for n, most, what in ((cells, MAX_CELLS, "cells"), (lines, MAX_SOURCE_LINES, "lines of source"),
                          (chars, MAX_SOURCE_CHARS, "characters of source")):
        if n > most:
            raise SubmissionError(sub.path, f"{n:,} {what}, more than any homework (at most {most:,} are read): "
                                            "not graded, a TA should look at it")
    return sub


def _load_folder(p: Path, name: str, encoding: str | None, questions: Sequence[QuestionRef] | None,
                 named: Collection[str], listing: tuple[list[Path], list[str]]) -> Submission:
    files = [f for f in listing[0] if _nonempty(f)]
    if per_question_files(files):
        return read_folder(p, name, files, lambda f, n: _read_file(f, n, encoding), MAX_BYTES)
    main, notes, choice = choose_file(p, listing)
    alone: Submission | None = None
    try:
        alone = _read_file(main, name, encoding)
        alone.notes[:0] = notes
        alone.chosen = choice
    except SubmissionError:
        if questions is None or len(files) < 2:
            raise
    if questions is None or len(files) < 2:
        assert alone is not None
        return alone
    return every_file(p, name, files, main, alone, lambda f, n: _read_file(f, n, encoding), MAX_BYTES, questions,
                      named)


def _nonempty(p: Path) -> bool:
    try:
        return p.stat().st_size > 0
    except OSError:
        return False


def _read_file(p: Path, name: str, encoding: str | None, *, follow: bool = False) -> Submission:
    """One file read as a submission; `follow`: it may be a symlink (only a path the TA named)."""
    data = read_regular(p, MAX_BYTES, follow=follow)
    if not data:
        raise SubmissionError(str(p), "empty file")
    bom = utf16_bom(data)
    if bom is None and looks_binary(data):
        raise SubmissionError(str(p), describe_binary(data))
    text = decode(str(p), data, encoding or bom)
    if not text.lstrip().startswith("{"):  # not a notebook: bounded before it is compiled to see what it is
        lines = text.count("\n") + 1
        if lines > 2 * MAX_SOURCE_LINES:  # a text export's recorded output counts too: twice the bound
            raise SubmissionError(str(p), f"{lines:,} lines, more than any homework (at most "
                                          f"{2 * MAX_SOURCE_LINES:,} are read): not graded, a TA should look at it")
    submission = _within_bounds(_read_text(str(p), name, text))
    if not submission.cells or all(c.is_blank for c in submission.cells):
        raise SubmissionError(str(p), "nothing in it: every cell is empty")
    return submission


# In a folder of submissions, files with these endings are data or media a course keeps beside
# the submissions (a roster, a README's images), not something a student hands in.
NOT_SUBMISSIONS = {".csv", ".tsv", ".json", ".yaml", ".yml", ".toml", ".xml", ".xlsx", ".xls", ".png", ".jpg",
                   ".jpeg", ".gif", ".svg", ".log", ".lock", ".pyc"}


@dataclass
class Found:
    submissions: list[str]  # what to grade, one entry per student
    skipped: list[str]  # files in folders of submissions that are not submissions (named, never lost)
    split: list[str] = field(default_factory=list)  # folders named that became one submission per entry
    refused: list[str] = field(default_factory=list)  # a line for each entry not graded and why (a symlink out)


def find_submissions(paths: list[str], *, one: bool = False) -> Found:
    """Expand the command line: a folder of submissions becomes one entry per student.

    A folder is one student's submission when it directly holds exactly one notebook (or, with
    no notebook, exactly one Python script); otherwise each entry in it is a submission (a
    student's folder or file, even one that turns out unreadable: it gets a result row), except
    data and media files, which are listed as skipped. A path named on the command line is
    always graded. `one` (`grader grade --one`): each path is one student's submission, a folder
    read whole (`load`), never split; the only way to say so of a folder of several scripts,
    which looks the same as a class folder of one script per student.
    """
    found = Found([], [])
    for raw in paths:
        p = Path(raw)
        if not one and p.is_dir() and not is_single_submission(p):
            found.split.append(raw)
            for e in sorted(p.iterdir()):
                if e.name.startswith(".") or e.name in _SKIP_DIRS:
                    continue
                if e.is_symlink() and not _stays_inside(e, p):
                    found.refused.append(f"{e}: {not_followed(e)} (a link out of {raw}; to grade what it points "
                                         f"at, name it on the command line)")
                elif e.is_file() and e.suffix.lower() in NOT_SUBMISSIONS:
                    found.skipped.append(str(e))
                else:
                    found.submissions.append(str(e))
        else:
            found.submissions.append(raw)
    return found


def _stays_inside(link: Path, folder: Path) -> bool:
    """Does the symlink `link`, an entry of a class folder, lead to something inside `folder`? A student's
    archive unpacked into the class folder may hold a link to /root or to a classmate's files."""
    try:
        return link.resolve(strict=True).is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError):  # broken, or a loop
        return False


def _holds_code(folder: Path) -> bool:
    return any(p.suffix.lower() in (".ipynb", ".py") for p in _candidates(folder))


def is_single_submission(folder: Path) -> bool:
    """One student's folder: one notebook (or, with none, one script), or files named by question
    ('q1.py', 'Question_2.ipynb': a question word, not a bare number, which could number students);
    and no sub-folder that holds notebooks or scripts of its own (those would be other students')."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".") and e.name not in _SKIP_DIRS]
    files = [e for e in entries if e.is_file()]
    notebooks = [e for e in files if e.suffix.lower() == ".ipynb"]
    scripts = [e for e in files if e.suffix.lower() == ".py"]
    one = len(notebooks) == 1 or (not notebooks and len(scripts) == 1) \
        or per_question_files([e for e in files if e.suffix.lower() in _PREFERRED], bare=False)
    return one and not any(e.is_dir() and _holds_code(e) for e in entries)

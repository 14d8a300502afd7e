"""A student's folder that holds one file per question (q1.py ... q6.py, Question_3.ipynb, 3.py,
ans3.txt), read as one submission whose cells come from all its files.

A file's name gives a question number when its stem is a question word and a number ('q3', 'Q.3',
'question_3', 'Question3', 'ans3', 'answer-3', 'ex3', 'task 3') or a number in words on either
side ('ThirdQuestion', 'question_three'), maybe followed by words ('q3_pool'), or is a bare
number ('3', '03'). A folder is read this way when the names of its
files give at least two different numbers. A notebook with scratch files beside it
(`Untitled.ipynb`, `test.py`) gives none, so it is graded as before (its largest file).
Files whose names give no number are read too; the locator places them by their content.

Each file is read by the reader its content calls for (a notebook, a script, an answer sheet),
and its cells keep their file in `Origin.file`, so every report says "q3.py lines 1-9".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from grader.errors import SubmissionError
from grader.submission import Cell, FolderChoice, FolderFile, Format, Submission

MAX_FILES = 40  # files read from one student's folder; past that it is not one student's homework

_WORD = r"(?:q|qn|qs|que|ques|question|ans|answer|sol|solution|ex|exercise|task|problem|prob)"
_NAMED = re.compile(rf"^{_WORD}[\s._-]*(?:no\.?[\s._-]*)?0*(?P<n>\d{{1,2}})(?:[\s._-]+\D.*)?$", re.I)
_BARE = re.compile(r"^0*(?P<n>\d{1,2})$")
# A number in words, before or after the question word: 'FirstQuestion', 'second_answer',
# 'Question_Three', 'q-six'.
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_CARDINALS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_IN_WORDS = "|".join((*_ORDINALS, *_CARDINALS))
_WORDED = re.compile(rf"^(?:(?P<before>{_IN_WORDS})[\s._-]*{_WORD}|{_WORD}[\s._-]*(?P<after>{_IN_WORDS}))"
                     r"(?:[\s._-]+\D.*)?$", re.I)


def _stem(path: Path) -> str:
    return path.stem if path.suffix.lower() in (".ipynb", ".py", ".txt", ".md", ".qmd") else path.name


def question_number(path: Path, *, bare: bool = True) -> int | None:
    """The question number a file's name gives ('q3.py' -> 3, 'Question_3_pool.ipynb' -> 3,
    '3.py' -> 3 when `bare`), or None."""
    stem = _stem(path).strip()
    m = _NAMED.match(stem) or (_BARE.match(stem) if bare else None)
    if m:
        return int(m.group("n"))
    w = _WORDED.match(stem)
    if w is None:
        return None
    word = (w.group("before") or w.group("after")).lower()
    return (_ORDINALS.index(word) if word in _ORDINALS else _CARDINALS.index(word)) + 1


def per_question_files(files: Sequence[Path], *, bare: bool = True) -> bool:
    """Do these files' names give at least two different question numbers?"""
    numbers = {question_number(p, bare=bare) for p in files} - {None}
    return len(numbers) >= 2


def read_folder(folder: Path, name: str, files: Sequence[Path],
                read: Callable[[Path, str], Submission], max_bytes: int) -> Submission:
    """One submission from a folder of per-question files: files named by a question first, in
    question order, then the others. A file that cannot be read, or that would take the files read
    past `max_bytes` together (the bound a single file has), is named in the notes and as not graded,
    and the rest are graded; SubmissionError when none can be read."""
    def order(p: Path) -> tuple[int, int, str]:
        n = question_number(p)
        return (0, n, str(p)) if n is not None else (1, 0, str(p))

    sub = read_files(folder, name, sorted(files, key=order), read, max_bytes, by_name=True)
    named = [f"{f.path} (question {f.number})" for f in sub.files if f.number is not None]
    unnamed = [f.path for f in sub.files if f.number is None]
    summary = f"a folder of per-question files: {', '.join(named)}"
    if unnamed:
        summary += f"; placed by their content, as their names give no question: {', '.join(unnamed)}"
    sub.notes.insert(0, summary)
    return sub


def read_files(folder: Path, name: str, ordered: Sequence[Path], read: Callable[[Path, str], Submission],
               max_bytes: int, *, by_name: bool, main: Path | None = None) -> Submission:
    """One submission of a folder's files, in the order given, at most MAX_FILES of them and at most
    `max_bytes` together; each file's cells keep their file. `by_name`: a file's name may give its
    question (otherwise none does, and every file is placed by its content); `main`: the file a one-file
    choice would grade."""
    kept, dropped = ordered[:MAX_FILES], ordered[MAX_FILES:]
    cells: list[Cell] = []
    parts: list[FolderFile] = []
    notes: list[str] = []
    said: dict[str, list[str]] = {}  # a reader's note -> the files it was said of (one line for all of them)
    not_graded = [str(p.relative_to(folder)) for p in dropped]
    if dropped:
        notes.append(f"the folder holds more than {MAX_FILES} files; only the first {MAX_FILES} were read")
    total = 0
    for p in kept:
        rel = str(p.relative_to(folder))
        try:
            size = p.stat().st_size
        except OSError:
            size = 0  # the reader says why it cannot be read
        if total + size > max_bytes:
            notes.append(f"{rel}: not read, as the folder's files would pass {max_bytes // (1024 * 1024)} MB together "
                         "(not graded)")
            not_graded.append(rel)
            continue
        total += size
        try:
            sub = read(p, name)
        except SubmissionError as exc:
            notes.append(f"{rel}: {exc.reason} (not graded)")
            not_graded.append(rel)
            continue
        first = len(cells)
        for c in sub.cells:
            cells.append(replace(c, index=len(cells), origin=replace(c.origin, file=rel), notes=list(c.notes)))
        number = question_number(p) if by_name else None
        parts.append(FolderFile(rel, sub.format, first, len(sub.cells), number, p == main))
        for n in sub.notes:
            said.setdefault(n, []).append(rel)
    notes.extend(f"{', '.join(files)}: {note}" for note, files in said.items())
    if not parts:
        what = "folder of per-question files" if by_name else "folder"
        raise SubmissionError(str(folder), f"no file of this {what} could be read")
    choice = FolderChoice(None, tuple(not_graded), tuple(f.path for f in parts))
    return Submission(path=str(folder), name=name, format=Format.FOLDER, cells=cells, notes=notes,
                      chosen=choice, files=parts)

"""A student's folder of several files whose names give no question (`process.py`, `pool.py`,
`notes.md`; `Untitled.ipynb` and `Untitled1.ipynb`; `hw.ipynb` and `hw_part2.py`), read as a careful
TA would: every file is opened.

The main file (the one a one-file choice grades: the largest of the preferred kind) is located
first. When it answers every question, it is graded alone, exactly as before: the common notebook
with scratch files beside it. Otherwise every file is read, each is located as a single file would
be, and each question's answer is taken from the file where it is placed most surely
(`grader.locate.assign`); the notes say which files gave answers and which gave nothing. When no
other file adds an answer, the main file is again graded alone. A TA's answer override that names
another file than the main one has every file read in any case (the file it names must be there).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from grader.errors import SubmissionError
from grader.load.folder import read_files
from grader.locate import QuestionRef, locate
from grader.submission import FolderChoice, Submission


def every_file(folder: Path, name: str, files: Sequence[Path], main: Path, alone: Submission | None,
               read: Callable[[Path, str], Submission], max_bytes: int,
               questions: Sequence[QuestionRef], named: Collection[str] = ()) -> Submission:
    """`alone`: the main file read on its own (None when it cannot be read; the others may be).
    `named`: files a TA's answer overrides name; one of the folder's files other than the main one
    has every file read even when the main file answers every question (or the file named would not
    be there to take the answer from), and it counts as graded."""
    main_rel = str(main.relative_to(folder))
    wanted = sorted(set(named) & {str(f.relative_to(folder)) for f in files} - {main_rel})
    missing: list[str] = []
    if alone is not None:
        missing = [a.question for a in locate(alone, questions) if not a.answered]
        if not missing and not wanted:
            return alone
    ordered = [main, *(f for f in files if f != main)]
    try:
        merged = read_files(folder, name, ordered, read, max_bytes, by_name=False, main=main)
    except SubmissionError:
        if alone is not None:
            return alone
        raise
    by_file: dict[str, list[str]] = {}
    for answer in locate(merged, questions):
        for cell in answer.cells if answer.answered else ():
            f = merged.file_of(cell)
            if f is not None and answer.question not in by_file.setdefault(f.path, []):
                by_file[f.path].append(answer.question)
    if alone is not None and not wanted and set(by_file) <= {main_rel}:
        return alone  # the other files add nothing: graded as the main file alone, as before
    used = [f.path for f in merged.files if f.path in by_file or f.path in wanted]
    nothing = [f.path for f in merged.files if f.path not in used]
    assert merged.chosen is not None
    reasons = []
    if missing or alone is None:
        reasons.append(f"{main_rel} alone leaves {', '.join(missing)} unanswered" if alone is not None
                       else f"{main_rel} cannot be read")
    if wanted:
        reasons.append(f"a TA's answer override names {', '.join(wanted)}")
    taken = ", ".join(f"{p} ({', '.join(by_file[p])})" for p in used if p in by_file) or "none"
    summary = (f"a folder of {len(files)} files whose names give no question, and {' and '.join(reasons)}: every "
               f"file was read and located on its own; answers taken from {taken}")
    if named_only := [p for p in used if p not in by_file]:
        summary += f"; {', '.join(named_only)} as the override names it"
    if nothing:
        summary += f"; nothing placed from {', '.join(nothing)} (not graded)"
    merged.notes.insert(0, summary)
    merged.chosen = FolderChoice(None, (*merged.chosen.not_graded, *nothing), tuple(used))
    return merged

"""Does a folder named on the command line, split into one submission per file, look like one
student's work? (`grader grade sam/` where sam holds `pool.py`, `process.py` and `notes.md`.)

A class folder of one script per student (`alice.py`, `bob.py`) looks the same from its names, so
the folder is still split (what is graded changes only with `grader grade --one`); this only
decides whether to say that `--one` may be meant. It is said when, with the rubric's questions:

- the folder holds 2 to MAX_FILES files that can be submissions (data and media files aside), at
  most MAX_BYTES together, and no sub-folder holding a notebook or a script (another student's);
- read whole, as `--one` would read it (`load`), its answers come from at least two files, and it
  answers more questions than any of its files read alone: the files are parts of one homework;
- no two files, each read alone, answer more than one question in common: two students' homeworks
  answer the same questions (one in common is allowed: code a file places only by its position may
  land on a question another file labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.errors import SubmissionError
from grader.load.loader import _PREFERRED, _SKIP_DIRS, _holds_code, _read_file, load
from grader.locate import QuestionRef, locate

MAX_FILES = 6  # one student's parts of a homework are a few files; a class folder is usually more
MAX_BYTES = 4 * 1024 * 1024  # read twice before grading: kept small (a part of a homework is small)


def one_student_hint(folder: Path, questions: Sequence[QuestionRef], *, encoding: str | None = None) -> str | None:
    """Why `folder` may be one student's work (for a line naming `--one`), or None."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".") and e.name not in _SKIP_DIRS]
    if any(e.is_dir() and _holds_code(e) for e in entries):
        return None
    files = [e for e in entries if e.is_file() and e.suffix.lower() in _PREFERRED]  # data and media aside
    if not 2 <= len(files) <= MAX_FILES or sum(f.stat().st_size for f in files) > MAX_BYTES:
        return None
    alone: dict[str, set[str]] = {}
    for f in files:
        try:
            sub = _read_file(f, f.name, encoding)
        except SubmissionError:
            continue
        alone[f.name] = {a.question for a in locate(sub, questions) if a.answered}
    names = sorted(alone)
    if any(len(alone[a] & alone[b]) > 1 for i, a in enumerate(names) for b in names[i + 1:]):
        return None  # two files answer the same questions: more like two students' homeworks
    try:
        whole = load(folder, encoding=encoding, questions=questions)
    except SubmissionError:
        return None
    if whole.chosen is None or len(whole.chosen.files) < 2:
        return None
    answered = [a.question for a in locate(whole, questions) if a.answered]
    if len(answered) <= max((len(s) for s in alone.values()), default=0):
        return None
    return (f"read whole, its files {', '.join(whole.chosen.files)} answer {', '.join(answered)} together, "
            f"more than any one of them alone")

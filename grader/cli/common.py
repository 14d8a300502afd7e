"""Helpers shared by sub-commands: finding the default rubric, loading it, printing problems.

The rubrics that ship with the grader live in `rubrics/` at the top of the repository, where
course staff edit them; a wheel carries the same folder as `grader/rubrics/` (setup.py maps it),
so an installed grader finds them with no repository around it. `--rubric` takes a file, or the
name of a rubric that ships (`--rubric multiprocessing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.locate.pieces import QuestionRef

DEFAULT_NAME = "multiprocessing"
DEFAULT_RUBRIC = f"rubrics/{DEFAULT_NAME}.yaml"


def builtin_rubrics_dir() -> Path | None:
    """The folder of the rubrics that ship: inside the package (a wheel), else the repository's
    `rubrics/` beside it (a checkout, an editable install)."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "rubrics", package.parent / "rubrics"):
        if (folder / f"{DEFAULT_NAME}.yaml").is_file():
            return folder
    return None


def builtin_rubrics() -> list[Path]:
    """The rubric files that ship with the grader, by name."""
    folder = builtin_rubrics_dir()
    return sorted(folder.glob("*.yaml")) if folder is not None else []


def default_rubric_path() -> Path:
    """`rubrics/multiprocessing.yaml` in the current folder (a course's own copy), else the one that ships."""
    here = Path(DEFAULT_RUBRIC)
    if here.is_file():
        return here
    folder = builtin_rubrics_dir()
    if folder is not None:
        return folder / f"{DEFAULT_NAME}.yaml"
    raise GraderError(f"no rubric given and {DEFAULT_RUBRIC} not found; pass --rubric FILE")


def rubric_arg(value: str | None) -> Path:
    """The rubric a `--rubric` value names: a file, else the name of a rubric that ships."""
    if not value:
        return default_rubric_path()
    path = Path(value)
    if not path.exists() and "/" not in value and "\\" not in value:
        named = next((p for p in builtin_rubrics() if p.stem == value.removesuffix(".yaml")), None)
        if named is not None:
            return named
    return path


def add_rubric_option(parser: Any) -> None:
    parser.add_argument("--rubric", metavar="FILE", help=f"the rubric: a file, or the name of one that ships "
                                                         f"(`grader rubric list`; default: {DEFAULT_RUBRIC})")


ONE_HELP = ("each PATH is one student's submission: a folder is read whole (every file, as a student's folder "
            "inside a class folder is), never split into one submission per file")


def add_one_option(parser: Any) -> None:
    parser.add_argument("--one", action="store_true", help=ONE_HELP)


def one_student_lines(split: Sequence[str], questions: Sequence[QuestionRef], encoding: str | None) -> list[str]:
    """For each folder named on the command line and split into one submission per file that looks
    like one student's work (grader.load.one_student), a line saying so and naming --one."""
    from grader.load.one_student import one_student_hint

    lines = []
    for folder in split:
        try:
            why = one_student_hint(Path(folder), questions, encoding=encoding)
        except Exception:  # only advice: whatever goes wrong here must not stop the batch
            why = None
        if why is not None:
            lines.append(f"grader: note: {folder} is graded as a folder of submissions, one per file; {why}: "
                         f"if it is one student's work, grade it with --one")
    return lines

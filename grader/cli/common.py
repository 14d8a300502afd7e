"""Helpers shared by sub-commands: finding the default rubric, loading it, printing problems.

The rubrics that ship with the grader live in `rubrics/` at the top of the repository, where
course staff edit them; a wheel carries the same folder as `grader/rubrics/` (setup.py maps it),
so an installed grader finds them with no repository around it. `--rubric` takes a file, or the
name of a rubric that ships (`--rubric multiprocessing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.errors import GraderError

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

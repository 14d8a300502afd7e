"""A wheel of this project and a fresh venv with it installed, for the packaging and Gradescope tests.

The venv gets the wheel only (`pip install --no-deps --no-index`): the grader's dependencies come
from the test venv's site-packages through a path entry (a plain path: the test venv's .pth
files, its editable install of the grader among them, are not run), so nothing is downloaded and
the grader that runs is the wheel's.
"""

from __future__ import annotations

import functools
import site
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.cli.gradescope import build_wheel


@functools.cache
def built_wheel() -> Path:
    """The wheel `grader gradescope` builds (pip wheel of a copy of the source tree), once per session."""
    folder = Path(tempfile.mkdtemp(prefix="grader-wheel-"))
    return build_wheel(folder)


def dependency_paths() -> list[str]:
    """The test venv's site-packages: the grader's dependencies, for a venv that has only the wheel."""
    return [p for p in site.getsitepackages() if Path(p).is_dir()]


def venv_with(wheel: Path, folder: Path) -> Path:
    """A venv at `folder` with `wheel` installed; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "test-deps.pth").write_text("".join(f"{p}\n" for p in dependency_paths()), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    return python

"""Lint and types are part of the test run, so CI checks them with the same command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]')")
    return [exe]


def test_ruff_lint_is_clean() -> None:
    targets = [d for d in ("grader", "tests", "bench") if (ROOT / d).is_dir()]
    proc = subprocess.run([*_tool("ruff"), "check", *targets], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_types_are_clean() -> None:
    proc = subprocess.run([*_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""`pip install .` (not editable) works: a wheel installed into a fresh venv grades the examples
from a folder holding nothing else, with the default rubric that ships inside the package, and
`grader rubric list` shows it. The sdist carries the rubrics too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.wheel_env import built_wheel, venv_with


def test_the_wheel_carries_the_rubrics() -> None:
    with zipfile.ZipFile(built_wheel()) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read("grader-0.1.0.dist-info/entry_points.txt").decode()
    for shipped in ("multiprocessing.yaml", "rubric.schema.json", "multiprocessing/expected.yaml",
                    "multiprocessing/reference.py", "multiprocessing/wrong/q6_sequential.py"):
        assert f"grader/rubrics/{shipped}" in names
    assert "grader/py.typed" in names and "grader/render/templates/submission.html.j2" in names
    assert "grader = grader.cli:main" in entry_points and "pytest11" in entry_points


@pytest.mark.slow
def test_a_wheel_install_grades_the_examples_with_nothing_else_around(tmp_path: Path) -> None:
    python = venv_with(built_wheel(), tmp_path / "venv")
    grader = python.parent / "grader"
    work = tmp_path / "empty"
    shutil.copytree(EXAMPLES, work / "submissions_example")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {
        "CI": "true", "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    where = subprocess.run([python, "-c", "import grader; print(grader.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(tmp_path / "venv"))  # the wheel's grader, not this checkout's

    listed = subprocess.run([grader, "rubric", "list"], cwd=work, env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "multiprocessing" in listed.stdout and "100 points" in listed.stdout
    assert str(tmp_path / "venv") in listed.stdout

    done = subprocess.run([grader, "grade", "submissions_example/", "-j", "2"], cwd=work, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((work / "grader-out" / "results.json").read_text(encoding="utf-8"))
    assert len(results["submissions"]) == len(list(EXAMPLES.iterdir())) == 5
    assert all(s["error"] is None for s in results["submissions"])
    assert results["rubric"]["id"] == "multiprocessing"


def test_the_sdist_builds_and_carries_the_rubrics(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--sdist", "-o", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (sdist,) = tmp_path.glob("grader-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("rubrics/multiprocessing.yaml") for n in names)
    assert any(n.endswith("rubrics/multiprocessing/wrong/q6_sequential.py") for n in names)

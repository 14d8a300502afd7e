"""`grader gradescope`: the autograder zip, unpacked into a fake /autograder (AUTOGRADER_ROOT),
grades a real example submission with run_autograder and writes Gradescope's results.json, with
the grader installed from the wheel inside the zip (as setup.sh does, minus apt)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import reftimes
from grader.grade import grade_submission, outcome_of
from grader.rubric.load import load_rubric
from tests.conftest import RUBRIC, example
from tests.wheel_env import built_wheel, venv_with


def build(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(RUBRIC), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return out


def unpack(bundle: Path, root: Path) -> Path:
    source = root / "source"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(source)
        for info in z.infolist():  # zipfile does not restore modes
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    return source


@pytest.mark.slow
def test_the_bundle_grades_an_example_like_grade(tmp_path: Path) -> None:
    bundle = build(tmp_path, "--wheel", str(built_wheel()))
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    assert sorted(names) == sorted(["setup.sh", "run_autograder", "rubric.yaml", built_wheel().name,
                                    "rubric/expected.yaml", "rubric/reference.py", "rubric/reference-times.json"])
    root = tmp_path / "autograder"
    source = unpack(bundle, root)
    setup = (source / "setup.sh").read_text(encoding="utf-8")
    assert f'install -q "./{built_wheel().name}"' in setup  # the pinned grader, from the zip
    for package in ("python3-venv", "bubblewrap", "strace"):
        assert package in setup
    assert (source / "run_autograder").stat().st_mode & stat.S_IXUSR
    assert (source / "rubric.yaml").read_bytes() == RUBRIC.read_bytes()
    # `wall_time: auto` there comes from the reference's stored times, not the ceiling nor a measurement
    shipped = load_rubric(source / "rubric.yaml")
    assert shipped.auto_limits and reftimes.load(shipped) == reftimes.load(load_rubric(RUBRIC)) is not None

    venv_with(source / built_wheel().name, root / "venv")  # setup.sh's venv, without apt
    submission = example("003")
    (root / "submission").mkdir()
    shutil.copy(submission, root / "submission" / submission.name)
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_PYTHON", "PYTHONPATH")} | {
        "AUTOGRADER_ROOT": str(root)}
    done = subprocess.run([source / "run_autograder"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    rubric = load_rubric(RUBRIC)
    want = outcome_of(grade_submission(str(root / "submission"), rubric), rubric)
    assert results["score"] == want.score and 0 < want.score < 100
    assert len(results["tests"]) == rubric.n_checks
    assert {"execution_time", "output", "visibility", "stdout_visibility"} <= results.keys()
    for test, (q, c) in zip(results["tests"], [(qo, co) for qo in want.questions for co in qo.checks], strict=True):
        assert test["name"].startswith(f"{q.id} · ") and test["tags"][0] == q.id
        assert test["score"] == c.score and test["max_score"] == c.max_score
        assert test["status"] == ("passed" if c.status == "passed" else "failed")
        assert test["visibility"] == "visible" and isinstance(test["number"], str)
    assert sum(t["max_score"] for t in results["tests"]) == 100


@pytest.mark.slow
def test_a_submission_that_cannot_be_graded_still_gets_results(tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    source = unpack(build(tmp_path, "--wheel", str(built_wheel())), root)
    (root / "submission").mkdir()
    (root / "submission" / "hw.ipynb").write_bytes(b"\x00\x01 not a notebook")
    env = os.environ | {"AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable}
    done = subprocess.run([source / "run_autograder"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and results["tests"] == [] and "could not be graded" in results["output"]


def test_a_bad_rubric_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\nid: x\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(tmp_path / "bad.yaml"), "-o",
                           str(tmp_path / "a.zip"), "--wheel", "unused.whl"], capture_output=True, text=True)
    assert done.returncode == 2 and not (tmp_path / "a.zip").exists()

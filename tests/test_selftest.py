"""`grader rubric test`: the reference solution gets full marks and each wrong variant loses exactly its checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import RUBRIC

pytestmark = pytest.mark.slow


def test_the_multiprocessing_rubric_grades_its_reference_and_wrong_variants() -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "rubric", "test", str(RUBRIC), "--wall-time", "3"],
                          capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines[0] == "ok   reference.py: 100/100"
    assert lines[-1] == f"{RUBRIC}: 15 of 15 solutions graded as expected"
    assert all(line.startswith("ok   wrong/") for line in lines[1:-1])


def test_a_variant_graded_otherwise_than_expected_is_reported(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    folder = tmp / "multiprocessing"
    (folder / "wrong").mkdir(parents=True)
    rubric = tmp / "multiprocessing.yaml"
    rubric.write_text(RUBRIC.read_text(encoding="utf-8"))
    source = RUBRIC.parent / "multiprocessing"
    (folder / "reference.py").write_text((source / "reference.py").read_text())
    (folder / "wrong" / "q6_sequential.py").write_text((source / "wrong" / "q6_sequential.py").read_text())
    # claims the sequential variant keeps its concurrency points: it does not
    (folder / "expected.yaml").write_text("version: 1\nreference: reference.py\nvariants:\n"
                                          "  - file: wrong/q6_sequential.py\n    failed: [Q6.runs]\n")
    proc = subprocess.run([sys.executable, "-m", "grader", "rubric", "test", str(rubric), "--wall-time", "3"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAIL wrong/q6_sequential.py" in proc.stdout
    assert "Q6.runs: passed, expected failed" in proc.stdout
    assert "Q6.concurrent: failed, expected passed" in proc.stdout

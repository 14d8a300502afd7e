"""A folder named on the command line that is one student's work (`grader grade --one sam/`): read whole,
as a student's folder inside a class folder is; without the option it is split as before, and a
folder that looks like one student's parts of a homework is said to be so, naming the option."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import Entry, plan
from grader.cli.common import one_student_lines
from grader.load import find_submissions
from grader.load.one_student import MAX_FILES, one_student_hint
from tests.conftest import example
from tests.load.test_per_question_folder import FOUR, POOL, PROCESS
from tests.locate.helpers import questions

# A rubric of two questions, one written and one program, so that grading runs one small program.
TWO_QUESTIONS = r"""version: 1
id: two
title: Two questions
points: 10
limits: {wall_time: 10 s, cpu_time: 20 s, memory: 512 MiB, max_processes: 64, file_size: 10 MiB, output: 1 MiB}
questions:
  - id: Q1
    text: What is multiprocessing in python? Why is it useful?
    type: written
    points: 5
    checks:
      - {id: answered, type: answered, points: 5}
  - id: Q2
    text: Write a program that prints the squares of 1, 2 and 3 with a pool of worker processes.
    type: code
    points: 5
    code_patterns: ['\bPool\b']
    checks:
      - id: squares
        type: output_matches
        points: 5
        params: {pattern: '\[1, 4, 9\]'}
"""

SQUARES = ("from multiprocessing import Pool\n\n\ndef square(n):\n    return n * n\n\n\nif __name__ == '__main__':\n"
           "    with Pool(2) as pool:\n        print(pool.map(square, [1, 2, 3]))\n")
INTRO = ("# Q1\n# Multiprocessing runs several processes at once, each with its own interpreter and memory,\n"
         "# so CPU-bound work uses every core instead of one.\nprint('see pool.py for the program')\n")


def sam(root: Path) -> Path:
    """One student's parts of the homework: process.py (Q3, by its copied question text), pool.py
    (unlabelled Pool and four-process code) and notes.md."""
    d = root / "sam"
    d.mkdir(parents=True)
    (d / "process.py").write_text("# Create a process using the multiprocessing module\n" + PROCESS)
    (d / "pool.py").write_text("# %%\n" + POOL + "\n# %%\n" + FOUR)
    (d / "notes.md").write_text("Things to look up later.\n")
    return d


def grader(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true"}
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def test_one_keeps_each_path_whole_and_ids_as_the_plan_gives_them(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    d = sam(tmp_path / "x")
    split = find_submissions([str(d)])
    assert split.submissions == [str(d / n) for n in ("notes.md", "pool.py", "process.py")] and split.split == [str(d)]
    whole = find_submissions([str(d)], one=True)
    assert whole.submissions == [str(d)] and not whole.split and not whole.skipped
    monkeypatch.chdir(tmp_path)
    assert plan(["x/sam"], one=True).entries == [Entry("sam", "x/sam")]
    assert plan(["x/sam/"], one=True).entries == [Entry("sam", "x/sam/")]
    shutil.copytree(d, tmp_path / "y" / "sam")
    assert [e.id for e in plan(["x/sam", "y/sam"], one=True).entries] == ["x/sam", "y/sam"]
    assert [e.id for e in plan(["x"], one=True).entries] == ["x"]  # a class folder named with --one: one submission
    assert [e.id for e in plan(["x/sam"]).entries] == ["notes.md", "pool.py", "process.py"]


def test_a_folder_of_parts_of_one_homework_is_said_to_be_one_students(tmp_path: Path) -> None:
    d = sam(tmp_path)
    why = one_student_hint(d, questions())
    assert why == ("read whole, its files pool.py, process.py answer Q3, Q5, Q6 together, more than any one of "
                   "them alone")
    (line,) = one_student_lines([str(d)], questions(), None)
    assert line == (f"grader: note: {d} is graded as a folder of submissions, one per file; {why}: if it is one "
                    "student's work, grade it with --one")


def test_a_class_folder_is_not_said_to_be_one_students(tmp_path: Path) -> None:
    """Whole homeworks (the examples); two students answering the same questions; a whole homework
    with a part beside it (together they answer no more than it alone)."""
    whole = tmp_path / "whole"
    whole.mkdir()
    for prefix in ("000", "001", "002"):
        shutil.copy(example(prefix), whole)
    assert one_student_hint(whole, questions()) is None
    pair = tmp_path / "pair"
    pair.mkdir()
    (pair / "alice.py").write_text("# Q3\n" + PROCESS + "\n# Q5\n" + POOL)
    (pair / "bob.py").write_text("# Q3\n" + PROCESS + "\n# Q5\n" + POOL + "\n# Q6\n" + FOUR)
    assert one_student_hint(pair, questions()) is None
    plus = tmp_path / "plus"
    plus.mkdir()
    shutil.copy(example("002"), plus)
    (plus / "extra.py").write_text("# Q3\n" + PROCESS)
    assert one_student_hint(plus, questions()) is None
    assert one_student_lines([str(whole), str(pair), str(plus)], questions(), None) == []


def test_only_a_few_files_and_no_student_folders(tmp_path: Path) -> None:
    d = sam(tmp_path)
    assert one_student_hint(d, questions()) is not None
    (d / "bob").mkdir()
    (d / "bob" / "hw.py").write_text(PROCESS)  # a folder of code inside: another student's
    assert one_student_hint(d, questions()) is None
    shutil.rmtree(d / "bob")
    (d / "data").mkdir()
    (d / "data" / "numbers.csv").write_text("1,2\n")  # data beside the parts: still one student's
    assert one_student_hint(d, questions()) is not None
    for k in range(MAX_FILES - 2):
        (d / f"scratch{k}.txt").write_text("scratch\n")
    assert len(list(d.glob("*.*"))) == MAX_FILES + 1 and one_student_hint(d, questions()) is None


@pytest.mark.slow
def test_grader_grade_one_reads_the_folder_whole_as_grader_check_does(tmp_path: Path) -> None:
    """`grader grade sam/` splits sam (intro.py, pool.py) into two submissions, as before, and says on
    stderr that it may be one student's work, naming --one; `grader grade --one sam/` grades one
    submission `sam` from both files; `grader check sam/` gives it the same scores."""
    rubric = tmp_path / "two.yaml"
    rubric.write_text(TWO_QUESTIONS)
    d = tmp_path / "sam"
    d.mkdir()
    (d / "intro.py").write_text(INTRO)
    (d / "pool.py").write_text(SQUARES)

    split = grader("grade", "sam", "--rubric", rubric, "--out", "split", "-j", "2", cwd=tmp_path)
    assert split.returncode == 0, split.stderr
    hints = [ln for ln in split.stderr.splitlines() if "--one" in ln]
    assert hints == ["grader: note: sam is graded as a folder of submissions, one per file; read whole, its files "
                     "intro.py, pool.py answer Q1, Q2 together, more than any one of them alone: if it is one "
                     "student's work, grade it with --one"]
    rows = json.loads((tmp_path / "split" / "results.json").read_text())["submissions"]
    assert [(r["submission"], r["score"]) for r in rows] == [("intro.py", 5.0), ("pool.py", 5.0)]

    one = grader("grade", "--one", "sam", "--rubric", rubric, "--out", "one", "-j", "2", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "--one" not in one.stderr
    (row,) = json.loads((tmp_path / "one" / "results.json").read_text())["submissions"]
    assert (row["submission"], row["graded_files"], row["score"]) == ("sam", ["intro.py", "pool.py"], 10.0)
    graded = {q["id"]: q["score"] for q in row["questions"]}
    assert row["questions"][1]["location"] == {"files": [{"file": "pool.py", "lines": [[1, 10]]}]}

    # graded again with --one into the folder of the split grading: the per-file rows stay, and that is said
    again = grader("grade", "--one", "sam", "--rubric", rubric, "--out", "split", "-j", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    notes = [ln for ln in again.stderr.splitlines() if "earlier result" in ln]
    assert notes == [f"grader: note: split also holds 2 earlier result(s) of submissions not in this grading, kept "
                     f"in results.json: intro.py, pool.py (to drop one, delete its details file, e.g. "
                     f"{Path('split') / 'details' / 'intro.py.json'}, and grade again)"]
    rows = json.loads((tmp_path / "split" / "results.json").read_text())["submissions"]
    assert sorted(r["submission"] for r in rows) == ["intro.py", "pool.py", "sam"]
    assert "earlier result" not in one.stderr

    check = grader("check", "sam", "--rubric", rubric, "--out", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    checked = {m["q"]: float(m["score"]) for m in re.finditer(r"^(?:PASS|FAIL) (?P<q>Q\d)\s+(?P<score>[\d.]+) /",
                                                             check.stdout, re.M)}
    assert checked == graded == {"Q1": 5.0, "Q2": 5.0}
    assert "graded files: intro.py, pool.py" in check.stdout

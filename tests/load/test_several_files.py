"""A student's folder of several files whose names give no question (`process.py` + `pool.py`,
`Untitled.ipynb` + `Untitled1.ipynb`): every file is read when the main one leaves a question
unanswered, and each answer is taken from the file where it is placed most surely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.answers import Answer, Method
from grader.errors import SubmissionError
from grader.load import load
from grader.locate import cells_named, locate
from grader.program import build_program
from grader.submission import Format, Submission
from tests.conftest import RUBRIC
from tests.load.test_per_question_folder import FOUR, POOL, PROCESS, notebook
from tests.locate.helpers import questions


def located(path: Path) -> tuple[Submission, dict[str, Answer]]:
    sub = load(path, questions=questions())
    return sub, {a.question: a for a in locate(sub, questions())}


def files_of(sub: Submission, answer: Answer) -> list[str | None]:
    return [sub.cells[p.cell].origin.file for p in answer.code_parts()]


def test_q3_in_one_file_and_q5_q6_in_another(tmp_path: Path) -> None:
    """pool.py (the largest script, so the one graded alone before) puts its Pool code in Q3 when read
    alone and has nothing for Q5; process.py answers Q3 by its copied question text. Each file is
    located, Q3 comes from process.py, and pool.py's code, free again, answers Q5 and Q6. notes.md
    places nothing and is named so."""
    d = tmp_path / "sam"
    d.mkdir()
    (d / "process.py").write_text("# Create a process using the multiprocessing module\n" + PROCESS)
    (d / "pool.py").write_text("# %%\nimport multiprocessing\n\n" + POOL + "\n# %%\n" + FOUR.replace(
        "import multiprocessing\n\n", ""))
    (d / "notes.md").write_text("Things to look up later.\n")
    alone = load(d)  # without the rubric's questions: the main file, as before
    assert alone.format is Format.SCRIPT and alone.chosen is not None and alone.chosen.graded == "pool.py"
    sub, answers = located(d)
    assert sub.format is Format.FOLDER and [f.path for f in sub.files] == ["pool.py", "notes.md", "process.py"]
    assert sub.chosen is not None and sub.chosen.graded is None
    assert sub.chosen.files == ("pool.py", "process.py") and sub.chosen.not_graded == ("notes.md",)
    assert sub.notes[0].startswith("a folder of 3 files whose names give no question, and pool.py alone leaves "
                                   "Q1, Q2, Q4, Q5 unanswered: every file was read")
    assert "answers taken from pool.py (Q5, Q6), process.py (Q3); nothing placed from notes.md" in sub.notes[0]
    for qid, name in (("Q3", "process.py"), ("Q5", "pool.py"), ("Q6", "pool.py")):
        a = answers[qid]
        assert a.answered and files_of(sub, a) == [name], (qid, a.reason)
        assert a.reason.split(": ", 1)[1].startswith(f"answer taken from {name}, placed there by "), a.reason
        assert a.location(sub)["files"][0]["file"] == name
    assert "(also placed, less surely or in a later file, in pool.py)" in answers["Q3"].reason
    assert answers["Q3"].method is Method.QUESTION_TEXT
    assert not any(answers[q].answered for q in ("Q1", "Q2", "Q4"))
    # Each answer runs on its own file's code: Q6 gets pool.py's import, nothing of process.py's.
    q6 = build_program(sub, answers["Q6"])
    assert q6 is not None and [sub.cells[d.cell].origin.file for d in q6.prelude] == ["pool.py"]
    assert "print(n)" in q6.source and "hello" not in q6.source
    q3 = build_program(sub, answers["Q3"])
    assert q3 is not None and not q3.prelude and "hello" in q3.source and "square" not in q3.source


def test_a_notebook_with_an_unrelated_scratch_file_is_graded_as_before(tmp_path: Path) -> None:
    """hw.ipynb answers only Q3 and Q5; the scratch files place code by position alone (nothing that
    does what a question asks, no label), which is no answer: the folder is hw.ipynb, exactly as before."""
    d = tmp_path / "dave"
    d.mkdir()
    (d / "hw.ipynb").write_text(notebook(("markdown", "# Q3"), ("code", PROCESS), ("markdown", "# Q5"),
                                         ("code", POOL)))
    (d / "test.py").write_text("x = 1 + 1\nprint('scratch', x)\n")
    (d / "Untitled.ipynb").write_text(notebook(("code", "1 + 1")))
    before = load(d)
    sub = load(d, questions=questions())
    assert sub.format is Format.NOTEBOOK and not sub.files
    assert sub.to_json() == before.to_json() and sub.chosen == before.chosen
    assert sub.chosen is not None and sub.chosen.graded == "hw.ipynb"


def test_a_main_file_that_answers_every_question_is_graded_alone(tmp_path: Path) -> None:
    """Even when another file labels a further Q5 answer: the main file answers everything, so only it
    is read, as before."""
    d = ella(tmp_path)
    before = load(d)
    sub, answers = located(d)
    assert all(a.answered for a in answers.values())
    assert sub.format is Format.NOTEBOOK and sub.to_json() == before.to_json() and sub.chosen == before.chosen


def test_two_notebooks_with_overlapping_answers(tmp_path: Path) -> None:
    """Untitled.ipynb (the larger: the main file) has Q1, Q2, an older Q3 and, unlabelled at its end,
    Pool code; Untitled1.ipynb labels a newer Q3, Q5 and Q6. Q5's labelled answer in Untitled1.ipynb
    is placed more surely than the main file's code placed by position and what it does: it counts,
    and the reason names both files. Q3 is labelled in both: the main file's answer comes first and
    the newer one is a further attempt (the best counts), each a program of its own file."""
    d = tmp_path / "finn"
    d.mkdir()
    old_q3 = PROCESS.replace("    p.join()\n", "")
    (d / "Untitled.ipynb").write_text(notebook(
        ("markdown", "## Q1\nMultiprocessing runs several processes in parallel on many cores, so CPU-bound "
                     "work in python finishes sooner. " * 3),
        ("markdown", "## Q2\nThreads share the memory of one process and the GIL; processes each have their "
                     "own memory. " * 3),
        ("markdown", "## Q3"), ("code", old_q3),
        ("code", POOL.replace("square", "cube"))))
    (d / "Untitled1.ipynb").write_text(notebook(
        ("markdown", "## Q3"), ("code", PROCESS), ("markdown", "## Q5"), ("code", POOL),
        ("markdown", "## Q6"), ("code", FOUR)))
    sub, answers = located(d)
    assert [f.path for f in sub.files] == ["Untitled.ipynb", "Untitled1.ipynb"] and sub.files[0].main
    q5 = answers["Q5"]
    assert files_of(sub, q5) == ["Untitled1.ipynb"] and q5.method is Method.MARKER
    assert "answer taken from Untitled1.ipynb, placed there by a label (also placed, less surely or in a later " \
           "file, in Untitled.ipynb)" in q5.reason
    q3 = answers["Q3"]
    assert files_of(sub, q3) == ["Untitled.ipynb", "Untitled1.ipynb"]
    assert "answer taken from Untitled.ipynb, placed there by a label (further attempts from Untitled1.ipynb" \
           in q3.reason
    assert "a further attempt from Untitled1.ipynb, after Untitled.ipynb's" in q3.reason
    programs = [build_program(sub, q3, k) for k in range(2)]
    assert [p is not None and "p.join()" in p.source for p in programs] == [False, True]
    assert {sub.cells[c].origin.file for c in answers["Q1"].cells} == {"Untitled.ipynb"}
    assert files_of(sub, answers["Q6"]) == ["Untitled1.ipynb"]
    assert sub.chosen is not None and sub.chosen.files == ("Untitled.ipynb", "Untitled1.ipynb")
    assert not sub.chosen.not_graded


@pytest.mark.slow
def test_grader_grade_takes_each_answer_from_its_file(tmp_path: Path) -> None:
    """`grader grade` on a class folder whose student folder holds process.py, pool.py and notes.md:
    one row; Q3 runs process.py's code, Q5 and Q6 pool.py's, and results.json, the details file, the
    page and the terminal name the files."""
    d = tmp_path / "class" / "sam"
    d.mkdir(parents=True)
    (d / "process.py").write_text("# Create a process using the multiprocessing module\n" + PROCESS)
    (d / "pool.py").write_text("# %%\n" + POOL + "\n# %%\n" + FOUR)
    (d / "notes.md").write_text("Things to look up later.\n")
    rubric = tmp_path / "rubric.yaml"
    text = RUBRIC.read_text(encoding="utf-8")
    assert "wall_time: {extend_to: 20 s}" in text  # the code questions' auto limits: fixed here
    rubric.write_text(text.replace("wall_time: {extend_to: 20 s}", "wall_time: 10 s"), encoding="utf-8")
    env = {**os.environ, "CI": "true", "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path / "class"), "--rubric", str(rubric),
                           "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "sam: graded pool.py, process.py; not graded: notes.md" in done.stdout
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]
    assert (row["submission"], row["graded_file"]) == ("sam", None)
    assert (row["graded_files"], row["not_graded"]) == (["pool.py", "process.py"], ["notes.md"])
    q = {x["id"]: x for x in row["questions"]}
    assert q["Q3"]["location"] == {"files": [{"file": "process.py", "lines": [[1, 10]]}]}
    assert q["Q5"]["location"] == {"files": [{"file": "pool.py", "lines": [[1, 9]]}]}
    assert q["Q6"]["location"] == {"files": [{"file": "pool.py", "lines": [[11, 22]]}]}
    for qid, name in (("Q3", "process.py"), ("Q5", "pool.py"), ("Q6", "pool.py")):
        assert f"answer taken from {name}" in q[qid]["reason"]
        assert all(c["status"] == "passed" for c in q[qid]["checks"]), (qid, q[qid]["checks"])
    assert not any(q[x]["answered"] for x in ("Q1", "Q2", "Q4"))
    (details,) = (tmp_path / "out" / "details").glob("*.json")
    record = json.loads(details.read_text())
    assert record["format"] == "folder" and record["graded_files"] == ["pool.py", "process.py"]
    assert any("nothing placed from notes.md" in n for n in record["notes"])
    pages = list((tmp_path / "out").rglob("sam*.html"))
    assert pages and all("Graded files:</strong> <code>pool.py</code>, <code>process.py</code>" in p.read_text()
                         for p in pages)


def test_a_main_file_that_cannot_be_read_leaves_the_others_to_be_read(tmp_path: Path) -> None:
    """The notebook (the main file) is broken: without the rubric the folder is its error, as before;
    with it, the script beside it is read and answers Q5, and the notebook is named as not graded."""
    d = tmp_path / "gus"
    d.mkdir()
    (d / "hw.ipynb").write_text("{broken")
    (d / "answers.py").write_text("# Q5\n" + POOL)
    with pytest.raises(SubmissionError, match="invalid notebook JSON"):
        load(d)
    sub, answers = located(d)
    assert sub.chosen is not None and sub.chosen.not_graded == ("hw.ipynb",) and sub.chosen.files == ("answers.py",)
    assert sub.notes[0].startswith("a folder of 2 files whose names give no question, and hw.ipynb cannot be read")
    assert files_of(sub, answers["Q5"]) == ["answers.py"] and answers["Q5"].method is Method.MARKER


def ella(root: Path) -> Path:
    """hw.ipynb answers every question of the default rubric; extra.py labels a second Q5 answer."""
    d = root / "ella"
    d.mkdir(parents=True)
    (d / "hw.ipynb").write_text(notebook(
        ("markdown", "## Q1\nMultiprocessing runs processes in parallel on several cores; useful for CPU-bound work."),
        ("markdown", "## Q2\nThreads share memory and the GIL; processes have their own memory."),
        ("markdown", "## Q3"), ("code", PROCESS),
        ("markdown", "## Q4\nA pool is a set of worker processes that take tasks, reused for many inputs."),
        ("markdown", "## Q5"), ("code", POOL), ("markdown", "## Q6"), ("code", FOUR)))
    (d / "extra.py").write_text("# Q5\n" + POOL.replace("square", "cube").replace("n * n", "n ** 3"))
    return d


def test_an_answer_override_naming_another_file_has_every_file_read(tmp_path: Path) -> None:
    """The main file answers every question, so the folder is graded as it alone; a TA's answer
    override naming extra.py has every file read (extra.py's cells are there to be named), and
    extra.py counts as graded. Naming the main file, or a file the folder does not hold, changes
    nothing; a location naming no file in a folder read whole means the main file's."""
    d = ella(tmp_path)
    alone = load(d, questions=questions())
    assert alone.format is Format.NOTEBOOK and alone.chosen is not None and alone.chosen.graded == "hw.ipynb"
    for named in (["hw.ipynb"], ["nope.py"], []):
        same = load(d, questions=questions(), named=named)
        assert same.to_json() == alone.to_json() and same.chosen == alone.chosen, named
    # the main file named while it is graded alone: its own cells
    assert cells_named(alone, cells=[6], file="hw.ipynb") == cells_named(alone, cells=[6]) == [6]

    sub = load(d, questions=questions(), named=["extra.py", "hw.ipynb"])
    assert sub.format is Format.FOLDER and [f.path for f in sub.files] == ["hw.ipynb", "extra.py"]
    assert sub.chosen is not None and sub.chosen.files == ("hw.ipynb", "extra.py") and not sub.chosen.not_graded
    assert sub.notes[0].startswith("a folder of 2 files whose names give no question, and a TA's answer override "
                                   "names extra.py: every file was read")
    q5 = cells_named(sub, file="extra.py")
    assert q5 and {sub.cells[c].origin.file for c in q5} == {"extra.py"}
    answers = {a.question: a for a in locate(sub, questions(), {"Q5": q5})}
    assert answers["Q5"].method is Method.OVERRIDE and files_of(sub, answers["Q5"]) == ["extra.py"]
    program = build_program(sub, answers["Q5"])
    assert program is not None and "cube" in program.source and "square" not in program.source
    assert [a.question for a in answers.values() if a.answered] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    main_q6 = cells_named(sub, cells=[7])  # no file named: the main file's cell 7 (its Q6 code)
    assert [(sub.cells[c].origin.file, sub.cells[c].origin.cell) for c in main_q6] == [("hw.ipynb", 7)]


def test_an_override_naming_a_file_beside_a_main_file_answering_every_question(tmp_path: Path) -> None:
    """Even when extra.py places nothing itself (no label, code that does nothing a question asks), the
    override's file is read and graded, and the notes say why it is."""
    d = ella(tmp_path)
    (d / "extra.py").write_text("print(sum(range(10)))\n")
    sub = load(d, questions=questions(), named=["extra.py"])
    assert sub.chosen is not None and sub.chosen.files == ("hw.ipynb", "extra.py")
    assert "; extra.py as the override names it" in sub.notes[0]


@pytest.mark.slow
def test_grader_grade_with_an_override_naming_another_file(tmp_path: Path) -> None:
    """`grader grade --overrides`: ella's hw.ipynb answers both questions (its Pool prints cubes, so Q2
    fails) and is graded alone; the override naming extra.py (which prints the squares) for Q2 has
    every file read, Q2 runs extra.py's code and passes, and results.json names the file."""
    from tests.load.test_one_student import SQUARES, TWO_QUESTIONS

    rubric = tmp_path / "two.yaml"
    rubric.write_text(TWO_QUESTIONS)
    d = tmp_path / "class" / "ella"
    d.mkdir(parents=True)
    (d / "hw.ipynb").write_text(notebook(
        ("markdown", "## Q1\nMultiprocessing runs several processes at once, so CPU-bound work uses every core."),
        ("markdown", "## Q2"), ("code", SQUARES.replace("n * n", "n ** 3"))))
    (d / "extra.py").write_text("# Q2\n" + SQUARES)
    overrides = tmp_path / "o.yaml"
    overrides.write_text("version: 1\nsubmissions:\n  ella:\n    Q2:\n      answer: {file: extra.py}\n"
                         "      comment: extra.py is the answer to Q2.\n")
    env = {**os.environ, "CI": "true"}

    def grade(out: str, *more: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "grader", "grade", "class", "--rubric", str(rubric), "--out", out,
                               *more], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        (row,) = json.loads((tmp_path / out / "results.json").read_text())["submissions"]
        return row

    before = grade("before")
    assert (before["graded_file"], before["graded_files"], before["score"]) == ("hw.ipynb", [], 5.0)
    row = grade("after", "--overrides", str(overrides))
    assert (row["graded_file"], row["graded_files"], row["not_graded"]) == (None, ["hw.ipynb", "extra.py"], [])
    q = {x["id"]: x for x in row["questions"]}
    assert q["Q2"]["location"] == {"files": [{"file": "extra.py", "lines": [[1, 11]]}]}
    assert q["Q2"]["found_by"] == "override" and q["Q2"]["score"] == 5.0
    assert q["Q1"]["location"] == {"files": [{"file": "hw.ipynb", "cells": [0]}]} and q["Q1"]["score"] == 5.0
    assert row["score"] == 10.0

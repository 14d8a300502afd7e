"""A student's folder with one file per question (q1.py ... q6.py): one submission, each answer
taken from the file its name (or, when the name gives none, its content) says."""

from __future__ import annotations

import json
from pathlib import Path

from grader.answers import Method
from grader.load import find_submissions, load
from grader.load.folder import question_number, read_folder
from grader.load.loader import _read_file
from grader.locate import cells_named, locate
from grader.program import build_program
from grader.submission import Format
from tests.locate.helpers import located, questions

PROCESS = ("import multiprocessing\n\ndef hello():\n    print('hello')\n\nif __name__ == '__main__':\n"
           "    p = multiprocessing.Process(target=hello)\n    p.start()\n    p.join()\n")
POOL = ("from multiprocessing import Pool\n\ndef square(n):\n    return n * n\n\nif __name__ == '__main__':\n"
        "    with Pool(4) as pool:\n        print(pool.map(square, [1, 2, 3]))\n")
FOUR = ("import multiprocessing\n\ndef show(n):\n    print(n)\n\nif __name__ == '__main__':\n"
        "    ps = [multiprocessing.Process(target=show, args=(i,)) for i in range(4)]\n"
        "    for p in ps:\n        p.start()\n    for p in ps:\n        p.join()\n")


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": kind, "metadata": {}, "source": src,
                                  **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                                 for kind, src in cells]})


def test_file_names_give_question_numbers() -> None:
    named = {"q3.py": 3, "Q3.py": 3, "question_3.py": 3, "Question3.py": 3, "3.py": 3, "03.ipynb": 3,
             "ans3.py": 3, "Answer-3.txt": 3, "Q.3.md": 3, "q3_pool.py": 3, "Question 3 - process.ipynb": 3,
             "task3.py": 3, "ex_3.py": 3}
    for name, n in named.items():
        assert question_number(Path(name)) == n, name
    for name in ("hw.ipynb", "Untitled.ipynb", "test.py", "15 Feb Assignment.ipynb", "q3a.py", "python3.py",
                 "assignment11.ipynb", "v2.py"):
        assert question_number(Path(name)) is None, name
    assert question_number(Path("3.py"), bare=False) is None  # a bare number could number students


def test_a_folder_of_per_question_files_is_one_submission(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / "q1.txt").write_text("Multiprocessing runs several processes at once on many cores, "
                              "so CPU-bound work is faster.\n")
    (d / "Q2.md").write_text("# Q2\n\nProcesses have their own memory; threads share it and the GIL.\n")
    (d / "question_3.py").write_text(PROCESS)
    (d / "4.py").write_text("# A pool is a set of worker processes that take tasks from a queue.\n")
    (d / "ans5.ipynb").write_text(notebook(("markdown", "Here is a pool:"), ("code", POOL)))
    (d / "Q6.py").write_text("# Q5 (reused from the last answer)\n" + FOUR)
    sub, answers = located(d)
    assert sub.format is Format.FOLDER
    assert [(f.path, f.number) for f in sub.files] == [
        ("q1.txt", 1), ("Q2.md", 2), ("question_3.py", 3), ("4.py", 4), ("ans5.ipynb", 5), ("Q6.py", 6)]
    assert sub.chosen is not None and sub.chosen.graded is None and len(sub.chosen.files) == 6
    for qid, name in (("Q1", "q1.txt"), ("Q2", "Q2.md"), ("Q3", "question_3.py"), ("Q4", "4.py"),
                      ("Q5", "ans5.ipynb"), ("Q6", "Q6.py")):
        a = answers[qid]
        assert a.answered and a.method is Method.FILE_NAME, (qid, a.reason)
        assert f"answer taken from {name}" in a.reason
        assert {sub.cells[c].origin.file for c in a.cells} == {name}
        assert a.location(sub)["files"][0]["file"] == name
    # The name wins over a label inside the file ('# Q5' in Q6.py), and each file is read as its kind.
    assert "print(n)" in answers["Q6"].code_parts()[0].text
    assert answers["Q5"].location(sub) == {"files": [{"file": "ans5.ipynb", "cells": [0, 1]}]}
    assert answers["Q3"].location(sub) == {"files": [{"file": "question_3.py", "lines": [[1, 9]]}]}
    assert sub.describe_cell(answers["Q5"].code_parts()[0].cell) == "ans5.ipynb code cell 1"


def test_a_file_whose_name_gives_no_question_is_placed_by_content(tmp_path: Path) -> None:
    d = tmp_path / "bob"
    d.mkdir()
    (d / "q1.py").write_text("# Processes run in parallel on several cores.\n")
    (d / "q3.py").write_text(PROCESS)
    (d / "pool_demo.py").write_text(POOL)
    (d / "q6.py").write_text(FOUR)
    sub, answers = located(d)
    assert [f.number for f in sub.files] == [1, 3, 6, None]
    q5 = answers["Q5"]
    assert q5.answered and {sub.cells[c].origin.file for c in q5.cells} == {"pool_demo.py"}
    assert "pool_demo.py, whose name gives no question: placed by content" in q5.reason
    assert not answers["Q2"].answered and not answers["Q4"].answered
    # A TA's answer override names the file (and lines in it): here q6.py is taken as Q5's answer.
    chosen = cells_named(sub, lines=[1], file="q6.py")
    assert chosen and all(sub.cells[c].origin.file == "q6.py" for c in chosen)
    assert not cells_named(sub, lines=[1], file="nothere.py")
    moved = {a.question: a for a in locate(sub, questions(), {"Q5": chosen})}
    assert moved["Q5"].method is Method.OVERRIDE and set(moved["Q5"].cells) == set(chosen)
    assert not moved["Q6"].answered


def test_each_file_runs_on_its_own(tmp_path: Path) -> None:
    """q5.py uses `multiprocessing` that only q3.py imports: separate scripts share nothing, so the
    program is q5.py's code alone (a NameError when run), not q3.py's import put before it."""
    d = tmp_path / "carol"
    d.mkdir()
    (d / "q3.py").write_text(PROCESS)
    (d / "q5.py").write_text("def square(n):\n    return n * n\n\nif __name__ == '__main__':\n"
                             "    with multiprocessing.Pool(2) as pool:\n        print(pool.map(square, [1]))\n")
    sub, answers = located(d)
    program = build_program(sub, answers["Q5"])
    assert program is not None and not program.prelude and "import multiprocessing" not in program.source


def test_a_notebook_with_scratch_files_is_graded_as_before(tmp_path: Path) -> None:
    d = tmp_path / "dave"
    d.mkdir()
    (d / "hw.ipynb").write_text(notebook(("markdown", "# Q3"), ("code", PROCESS), ("markdown", "# Q5"),
                                         ("code", POOL)))
    (d / "Untitled.ipynb").write_text(notebook(("code", "1 + 1")))
    (d / "test.py").write_text("print('scratch')\n")
    sub = load(d)
    assert sub.format is Format.NOTEBOOK and not sub.files
    assert sub.chosen is not None and sub.chosen.graded == "hw.ipynb"
    assert sub.chosen.not_graded == ("Untitled.ipynb",)


def test_a_class_folder_of_student_folders_and_a_student_folder_named_directly(tmp_path: Path) -> None:
    for student in ("alice", "bob"):
        d = tmp_path / "class" / student
        d.mkdir(parents=True)
        (d / "q3.py").write_text(PROCESS)
        (d / "q5.py").write_text(POOL)
    found = find_submissions([str(tmp_path / "class")])
    assert found.submissions == [str(tmp_path / "class" / s) for s in ("alice", "bob")]
    assert find_submissions([str(tmp_path / "class" / "alice")]).submissions == [str(tmp_path / "class" / "alice")]
    # Bare numbers can number students: such a folder is still a folder of submissions.
    numbered = tmp_path / "numbered"
    numbered.mkdir()
    for n in (1, 2, 3):
        (numbered / f"{n}.py").write_text(PROCESS)
    assert len(find_submissions([str(numbered)]).submissions) == 3


def test_a_file_that_cannot_be_read_is_named_and_the_others_are_graded(tmp_path: Path) -> None:
    d = tmp_path / "frank"
    d.mkdir()
    (d / "q3.py").write_text(PROCESS)
    (d / "q4.py").write_bytes(bytes(range(256)) * 4)
    (d / "q5.py").write_text(POOL)
    sub = load(d)
    assert [f.path for f in sub.files] == ["q3.py", "q5.py"]
    assert sub.chosen is not None and sub.chosen.not_graded == ("q4.py",)
    assert any(n.startswith("q4.py: binary file") and n.endswith("(not graded)") for n in sub.notes)


def test_a_whole_notebook_beside_some_per_question_files(tmp_path: Path) -> None:
    """q3.py and q5.py answer their questions; the notebook, whose name gives none, answers the others
    by its own labels, and what its Q3 label opens is a further answer beside q3.py (the best counts)."""
    d = tmp_path / "gina"
    d.mkdir()
    (d / "q3.py").write_text(PROCESS)
    (d / "q5.py").write_text(POOL)
    (d / "assignment.ipynb").write_text(notebook(
        ("markdown", "## Q1\nProcesses run in parallel on several cores, which speeds up CPU-bound work."),
        ("markdown", "## Q3"), ("code", "print('not the Q3 answer')"),
        ("markdown", "## Q6"), ("code", FOUR)))
    sub, answers = located(d)
    assert [(f.path, f.number) for f in sub.files] == [("q3.py", 3), ("q5.py", 5), ("assignment.ipynb", None)]
    q3 = answers["Q3"]
    assert [sub.cells[p.cell].origin.file for p in q3.code_parts()] == ["q3.py", "assignment.ipynb"]
    assert "a further answer beside q3.py, whose name gives Q3" in q3.reason
    assert {sub.cells[c].origin.file for c in answers["Q1"].cells} == {"assignment.ipynb"}
    q6 = answers["Q6"]
    assert q6.method is Method.MARKER and q6.location(sub) == {"files": [{"file": "assignment.ipynb", "cells": [4]}]}
    assert "whose name gives no question: placed by content" in q6.reason
    assert not answers["Q2"].answered and not answers["Q4"].answered


def test_a_scratch_file_beside_a_file_for_every_question_answers_nothing(tmp_path: Path) -> None:
    d = tmp_path / "hank"
    d.mkdir()
    for n in range(1, 7):
        (d / f"q{n}.py").write_text(PROCESS if n in (3, 5, 6) else "# Processes run on several cores at once.\n")
    (d / "test.py").write_text(POOL)
    sub, answers = located(d)
    assert sub.files[-1].path == "test.py" and sub.files[-1].number is None
    for n in range(1, 7):
        a = answers[f"Q{n}"]
        assert {sub.cells[c].origin.file for c in a.cells} == {f"q{n}.py"}, (n, a.reason)


def test_the_files_read_are_bounded_together(tmp_path: Path) -> None:
    """Forty files of the single-file limit each would be forty times that limit in memory: the files
    are read while their sizes together stay within it, and the others are named as not graded."""
    d = tmp_path / "ivan"
    d.mkdir()
    (d / "q3.py").write_text(PROCESS)
    (d / "q5.py").write_text(POOL + "#" * 2000 + "\n")
    (d / "q6.py").write_text(FOUR)
    files = sorted(d.iterdir())
    limit = len(PROCESS) + 1000  # q3.py fits, q5.py would pass the limit, q6.py fits again
    sub = read_folder(d, "ivan", files, lambda f, n: _read_file(f, n, None), limit)
    assert [f.path for f in sub.files] == ["q3.py", "q6.py"]
    assert sub.chosen is not None and sub.chosen.not_graded == ("q5.py",)
    assert any(n.startswith("q5.py: not read, as the folder's files would pass") for n in sub.notes)

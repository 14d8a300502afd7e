"""Text saved under a notebook's name, a question line over its program, and per-question files
named by a number in words: how a student's folder of '.ipynb' text files (FirstQuestion.ipynb ...
SixthQuestion.ipynb, seen in a real submission) is read as a TA reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SubmissionError
from grader.load import find_submissions, load
from grader.load.folder import question_number
from grader.locate import locate
from grader.pysource import compiles
from grader.submission import CellKind, Format
from tests.locate.helpers import located, questions

PROGRAM = ("import multiprocessing\n\ndef work():\n    print('child')\n\nif __name__ == \"__main__\":\n"
           "    p = multiprocessing.Process(target=work)\n    p.start()\n    p.join()\n")
Q3 = "Q3. Write a python code to create a process using the multiprocessing module.\n" + PROGRAM
Q1 = ("Q1. What is multiprocessing in python? Why is it useful?\n"
      "Multiprocessing runs several processes at once, each with its own memory.\n\n"
      "It is useful for a variety of reasons:\n1.Improve performance\n2.True Parallelism\n3.Fault Isolation\n")


def test_a_text_file_named_ipynb_is_read_by_its_content_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "answers.ipynb"
    path.write_text(Q1)
    sub = load(path)
    assert sub.format is Format.TEXT
    assert any("named answers.ipynb but not a notebook (not JSON)" in n for n in sub.notes)
    assert "Multiprocessing runs several processes" in "\n".join(c.source for c in sub.cells)


@pytest.mark.parametrize("data, expected", [
    ('{"cells": [ {"cell_type": "code", }], "nbformat": 4}', "invalid notebook JSON"),
    ("[1, 2, 3]", "not a notebook"),
])
def test_a_damaged_notebook_is_still_an_error(tmp_path: Path, data: str, expected: str) -> None:
    path = tmp_path / "hw.ipynb"
    path.write_text(data)
    with pytest.raises(SubmissionError, match=expected):
        load(path)


@pytest.mark.parametrize("name", ["ThirdQuestion.ipynb", "q3.txt", "q3.py", "answer"])
def test_a_question_line_over_a_program_is_an_answer_sheet_not_a_broken_script(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(Q3)
    sub = load(path)
    code = [c for c in sub.cells if c.kind is CellKind.CODE]
    assert len(code) == 1 and code[0].source.startswith("import multiprocessing") and compiles(code[0].source)
    assert code[0].origin.lines == (2, 10)
    assert any(c.kind is CellKind.MARKDOWN and c.source.startswith("Q3. Write") for c in sub.cells)


def test_a_program_with_a_typo_stays_a_program(tmp_path: Path) -> None:
    path = tmp_path / "q3.py"
    path.write_text("import multiprocessing\nprint('a' +)\n")
    assert load(path).format is Format.SCRIPT
    path.write_text("def f(x) return x\n" + PROGRAM)  # the first line is code-shaped: a typo, not a question
    assert load(path).format is Format.SCRIPT


def test_numbers_in_words_name_questions() -> None:
    named = {"FirstQuestion.ipynb": 1, "SecondQuestion.ipynb": 2, "SixthQuestion.ipynb": 6, "question_three.py": 3,
             "Question-Four.txt": 4, "fifth_answer.py": 5, "ThirdAnswer_pool.py": 3}
    for name, n in named.items():
        assert question_number(Path(name)) == n, name
    for name in ("first.py", "question.py", "someone.ipynb", "onetwo.py", "twelfth_question.py"):
        assert question_number(Path(name)) is None, name


def test_a_folder_of_text_files_named_ipynb_by_ordinal_is_one_student_answering_each_question(tmp_path: Path) -> None:
    d = tmp_path / "class" / "rani"
    d.mkdir(parents=True)
    (d / "FirstQuestion.ipynb").write_text(Q1)
    (d / "SecondQuestion.ipynb").write_text(
        "Q2. What are the differences between multiprocessing and multithreading?\nThey differ:\n\n"
        "Multiprocessing:\n Each process has its own memory space.\n\nMultithreading:\n Threads share memory.\n")
    (d / "ThirdQuestion.ipynb").write_text(Q3)
    assert find_submissions([str(tmp_path / "class")]).submissions == [str(d)]
    sub, answers = located(d)
    assert sub.format is Format.FOLDER
    assert [(f.path, f.number) for f in sub.files] == [
        ("FirstQuestion.ipynb", 1), ("SecondQuestion.ipynb", 2), ("ThirdQuestion.ipynb", 3)]
    # Every paragraph of a file is its question's answer (numbered reasons and sub-titles included).
    q1 = "\n".join(p.text for p in answers["Q1"].parts)
    assert "Fault Isolation" in q1 and "its own memory" in q1
    q2 = "\n".join(p.text for p in answers["Q2"].parts)
    assert "Threads share memory" in q2
    assert answers["Q3"].code_parts()[0].text.startswith("import multiprocessing")


def test_files_whose_names_give_no_question_but_each_labels_one_answer_it_whole(tmp_path: Path) -> None:
    # The same student's files under names that say nothing: each file labels one question, and its
    # later paragraphs (a numbered list, a 'Multithreading:' section) are that answer's, not the
    # next questions' by position.
    d = tmp_path / "rani"
    d.mkdir()
    (d / "processes.txt").write_text(Q1)
    (d / "threads.txt").write_text(
        "Q2. What are the differences between multiprocessing and multithreading?\nThey differ in several ways:\n\n"
        "Multiprocessing:\n Each process has its own memory space and runs on its own core.\n\n"
        "Multithreading:\n Threads share the memory of their process and take turns under the GIL.\n")
    (d / "create.txt").write_text(Q3)
    (d / "pool_theory.txt").write_text(
        "Q4. What is a multiprocessing pool in python? Why is it used?\nA pool is a group of worker processes.\n\n"
        "Efficiency: the tasks are spread over the workers, so that every core is kept busy.\n\n"
        "Scalability: a pool grows with the number of cores of the machine it runs on.\n")
    sub = load(d, questions=questions())
    answers = {a.question: a for a in locate(sub, questions())}
    q1 = "\n".join(p.text for p in answers["Q1"].parts)
    assert "Fault Isolation" in q1 and "its own memory" in q1
    assert "take turns under the GIL" in "\n".join(p.text for p in answers["Q2"].parts)
    assert "Scalability" in "\n".join(p.text for p in answers["Q4"].parts)
    assert not answers["Q5"].answered and not answers["Q6"].answered

"""Sections: repeated or mis-numbered labels, the rubric's `patterns`, labels fused onto code."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from grader.answers import Method
from grader.load import load
from grader.locate import locate
from grader.pysource import compiles
from tests.locate.helpers import located, notebook, questions

FILES = Path(__file__).resolve().parent.parent / "load" / "files"


def test_a_second_q5_label_holding_q6_code_is_resolved_by_content() -> None:
    _, answers = located(FILES / "repeated_label.txt")
    q5, q6 = answers["Q5"], answers["Q6"]
    assert "Pool" in q5.code_parts()[0].text and len(q5.code_parts()) == 1
    assert q6.method is Method.CONTENT and "Process(target=show" in q6.code_parts()[0].text
    assert "a second Q5 label; Q6 has no label of its own" in q6.reason


def test_a_repeated_label_stays_when_the_next_question_has_its_own(tmp_path: Path) -> None:
    text = (FILES / "repeated_label.txt").read_text() + "\n6.)\nprint('no processes here')\n"
    path = tmp_path / "sheet.txt"
    path.write_text(text)
    _, answers = located(path)
    assert len(answers["Q5"].code_parts()) == 2  # two tries at Q5: both stay Q5's
    assert answers["Q6"].code_parts()[0].text == "print('no processes here')"


def test_the_rubrics_patterns_change_placement() -> None:
    sub = load(FILES / "paraphrased_question.md")
    with_patterns = {a.question: a for a in locate(sub, questions())}
    without = {a.question: a for a in locate(sub, [replace(q, patterns=()) for q in questions()])}
    heading = 2  # "### Show four processes at work, each with its own number"
    assert with_patterns["Q6"].marker_cell == heading and with_patterns["Q6"].method is Method.QUESTION_TEXT
    assert "matching Q6's pattern" in with_patterns["Q6"].reason
    assert without["Q6"].marker_cell is None and without["Q6"].method is Method.POSITION
    assert heading in without["Q5"].cells  # the paraphrased question is read as Q5's prose


def test_a_label_fused_onto_code_in_a_notebook_cell(tmp_path: Path) -> None:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "Ans3.import multiprocessing\ndef f():\n    print('hi')\nif __name__ == '__main__':\n"
                   "    p = multiprocessing.Process(target=f)\n    p.start()\n    p.join()\n"}]}
    path = tmp_path / "fused.ipynb"
    path.write_text(json.dumps(nb))
    _, answers = located(path)
    part = answers["Q3"].code_parts()[0]
    assert part.text.startswith("import multiprocessing") and compiles(part.text)
    assert any("'Ans3' is fused onto the first code line" in n for n in part.notes)
    assert answers["Q3"].method is Method.MARKER


def code_cells_notebook(tmp_path: Path, *sources: str) -> Path:
    return notebook(tmp_path, *(("code", s) for s in sources))


def test_prose_and_code_typed_into_one_code_cell_are_told_apart(tmp_path: Path) -> None:
    # Real submission 043: a sentence, then the program, in one code cell (it does not compile as a whole).
    pool = ("Q5. Here is how to create a pool of worker processes with the Pool class:\n\nimport multiprocessing\n\n"
            "def square(x):\n    return x * x\n\nif __name__ == '__main__':\n"
            "    with multiprocessing.Pool(2) as pool:\n        print(pool.map(square, range(4)))\n")
    _, answers = located(code_cells_notebook(tmp_path, pool))
    (part,) = answers["Q5"].code_parts()
    assert part.text.startswith("import multiprocessing") and compiles(part.text)
    assert any("prose and code typed together" in n for n in part.notes)
    assert "create a pool of worker processes" in answers["Q5"].prose_text()


def test_a_program_with_a_typo_stays_a_program(tmp_path: Path) -> None:
    broken = ("# Q6\nimport multiprocessing\ndef show(n):\n    print(n)\nif __name__ == '__main__'\n"
              "    for n in range(4):\n        multiprocessing.Process(target=show, args=(n,)).start()\n")
    _, answers = located(code_cells_notebook(tmp_path, broken))
    (part,) = answers["Q6"].code_parts()
    assert "if __name__ == '__main__'" in part.text and not compiles(part.text)  # run as written: a SyntaxError


RESTATED = ("The differences between multiprocessing and multithreading are that each process has its own memory "
            "while threads share one, and that threads wait for the GIL.")
UNLABELLED_SHEET = """Multiprocessing runs several processes at once on several cores, which speeds up CPU-bound work.

RESTATED

Here is an example of how to create a process:
```python
import multiprocessing

def hello():
    print("hello")

if __name__ == "__main__":
    p = multiprocessing.Process(target=hello)
    p.start()
    p.join()
```

A pool is a set of worker processes that run tasks in parallel, used to spread work over the cores.

Here is an example of how to create a pool of worker processes:
```python
from multiprocessing import Pool

if __name__ == "__main__":
    with Pool(4) as pool:
        print(pool.map(abs, [-1, -2]))
```

Here is an example of how to create 4 processes, each printing its own number:
```python
import multiprocessing

if __name__ == "__main__":
    ps = [multiprocessing.Process(target=print, args=(n,)) for n in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
```
"""


def test_a_restated_question_that_goes_on_to_answer_is_the_answer_and_lead_ins_go_with_their_code(
        tmp_path: Path) -> None:
    # Real submission 046: no labels; Q2's answer opens with the question's words; each program is
    # introduced by a sentence ending with ':'.
    path = tmp_path / "assignment 11"
    path.write_text(UNLABELLED_SHEET.replace("RESTATED", RESTATED))
    sub, answers = located(path)
    first_line = {c.index: c.origin.lines[0] if c.origin.lines else None for c in sub.cells}
    lines = {q: [first_line[c] for c in a.cells] for q, a in answers.items()}
    assert lines["Q2"] == [3]  # the restating paragraph is Q2's answer, not only its label
    assert answers["Q2"].prose_text().startswith("The differences between multiprocessing")
    assert lines["Q3"] == [5, 6] and lines["Q5"] == [20, 21]  # each lead-in with the code it introduces
    assert lines["Q4"] == [18]
    assert "ends with ':' and introduces the code" in answers["Q5"].reason


PROSE_Q1 = "Q1. Multiprocessing runs several processes in parallel on several CPU cores."
PROSE_Q2 = ("Q2. Differences: processes have separate memory; threads share memory; multiprocessing suits "
            "CPU-bound work, threading I/O-bound work.")


def test_a_code_cell_of_prose_answers_is_cut_at_each_label(tmp_path: Path) -> None:
    # Real YuvrajRawat: answers to Q1 and Q2 typed as text into one code cell (it is not Python).
    cell = f"{PROSE_Q1}\n\n{PROSE_Q2}\n"
    _, answers = located(code_cells_notebook(tmp_path, cell, "# Q3\nimport multiprocessing\n"))
    assert answers["Q1"].prose_text() == PROSE_Q1.removeprefix("Q1. ")
    assert answers["Q2"].method is Method.MARKER and answers["Q2"].prose_text() == PROSE_Q2.removeprefix("Q2. ")
    # The same answers as comments were already cut (comment lines are read for labels).
    commented = f"# {PROSE_Q1}\n\n# {PROSE_Q2}\n"
    _, answers = located(code_cells_notebook(tmp_path, commented, "# Q3\nimport multiprocessing\n"))
    texts = {q: " ".join(p.text for p in answers[q].parts) for q in ("Q1", "Q2")}
    assert "separate memory" in texts["Q2"] and "separate memory" not in texts["Q1"]


def test_a_label_like_line_inside_a_program_does_not_cut_it(tmp_path: Path) -> None:
    program = ("import multiprocessing\nq2 = 'Q2. not a label'\nQ2 = multiprocessing.Queue()\n"
               "print('done')\n")
    _, answers = located(code_cells_notebook(tmp_path, "# Q3\n" + program))
    (part,) = answers["Q3"].code_parts()
    assert "Q2 = multiprocessing.Queue()" in part.text and answers["Q2"].method is not Method.MARKER
    # A broken program (not Python as a whole) is not cut at an `ans2 = "..."` line either.
    broken = "# Q3\nimport multiprocessing\nif True\n    pass\nans2 = 'Q2. not a label'\nprint(ans2)\n"
    _, answers = located(code_cells_notebook(tmp_path, broken))
    assert "print(ans2)" in answers["Q3"].parts[0].text and not answers["Q2"].parts


POOL_PROGRAM = ("import multiprocessing\n\ndef sq(x):\n    return x * x\n\nif __name__ == '__main__':\n"
                "    with multiprocessing.Pool(4) as pool:\n        print(pool.map(sq, [1, 2, 3]))\n")
FOUR_PROCESSES = ("import multiprocessing\n\nif __name__ == '__main__':\n"
                  "    ps = [multiprocessing.Process(target=print, args=(n,)) for n in range(4)]\n"
                  "    for p in ps:\n        p.start()\n")


def heading_then_code(tmp_path: Path, heading: str, code: str) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": heading},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": code}]}
    path = tmp_path / "sheet.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_a_labelled_code_question_keeps_the_code_after_its_shortened_question(tmp_path: Path) -> None:
    # The heading's words are no answer: the Pool program after it is Q5's, though Q6 has no label.
    _, answers = located(heading_then_code(tmp_path, "### Q5. How can we create a pool?", POOL_PROGRAM))
    assert answers["Q5"].cells == [0, 1] and "Pool(4)" in answers["Q5"].code_parts()[0].text
    assert not answers["Q6"].parts
    # Code that does what the next, unlabelled question asks (and not what Q5 asks) still goes there.
    _, answers = located(heading_then_code(tmp_path, "### Q5. How can we create a pool?", FOUR_PROCESSES))
    assert answers["Q6"].cells == [1] and not answers["Q5"].code_parts()


def test_a_comment_answer_on_its_label_s_line_is_prose(tmp_path: Path) -> None:
    """`# Q1. Multiprocessing runs ...` in a code cell: the label, then the answer as a comment (before, the
    answer lost its `#`, stopped being a comment and was read as code: "Only code was found")."""
    path = code_cells_notebook(
        tmp_path,
        "# Q1. Multiprocessing runs several processes at once, each on its own CPU core.",
        "# Q2. Processes have separate memory;\n# threads share the memory of one process.",
        "# Q3 create a process\nimport multiprocessing\ndef f():\n    print('hi')\n"
        "if __name__ == '__main__':\n    multiprocessing.Process(target=f).start()\n")
    _, answers = located(path)
    assert answers["Q1"].prose_text() == "Multiprocessing runs several processes at once, each on its own CPU core."
    assert " ".join(answers["Q2"].prose_text().split()) == \
        "Processes have separate memory; threads share the memory of one process."
    assert not answers["Q1"].code_parts() and not answers["Q2"].code_parts()
    q3 = answers["Q3"].code_parts()
    assert len(q3) == 1 and q3[0].text.startswith("# Q3 create a process\nimport multiprocessing")


def test_a_paragraph_with_indented_wrapped_lines_in_a_code_cell_is_prose(tmp_path: Path) -> None:
    """Real notebooks of this course type written answers into code cells with their wrapped lines indented;
    indentation alone does not make code (before, such a cell was code: "Only code was found"). A broken
    program, whose indented lines sit under a block opener, is still code."""
    from grader.pysource import looks_like_code

    prose = ("Q1. Multiprocessing runs several processes at the same time on multiple CPU cores.\n"
             "    Each process has its own memory and interpreter, so it bypasses the GIL.\n"
             "    That makes it useful for CPU-bound work.")
    broken = ("def square(n)\n    result = n * n\n    return result\nif __name__ == '__main__':\n"
              "    with multiprocessing.Pool(2) as pool:\n        print(pool.map(square, [1, 2]))\n")
    assert not looks_like_code(prose) and looks_like_code(broken)
    path = code_cells_notebook(tmp_path, prose, "# Q5\nimport multiprocessing\n" + broken)
    _, answers = located(path)
    assert "bypasses the GIL" in answers["Q1"].prose_text() and not answers["Q1"].code_parts()
    assert answers["Q1"].reason == "code cell 0: labelled by label 'Q1'"
    assert answers["Q5"].code_parts() and not answers["Q5"].prose_text()
    # the question copied, then the answer: the cell is cut at its label, and the answer is not said to follow itself
    path = code_cells_notebook(tmp_path, "Q1. What is multiprocessing in python? Why is it useful?\n\nA1. " + prose[4:])
    _, answers = located(path)
    assert "bypasses the GIL" in answers["Q1"].prose_text() and "follows" not in answers["Q1"].reason


POOL_EXAMPLE = ("import multiprocessing\n\ndef double(x):\n    return x * 2\n\nif __name__ == '__main__':\n"
                "    with multiprocessing.Pool(processes=2) as pool:\n        print(pool.map(double, [1, 2, 3]))\n")


# Q4's prose with a Pool example, then Q5's label
Q4_WITH_EXAMPLE = (
    ("code", "#Q4. What is a multiprocessing pool in python? Why is it used?"),
    ("code", "#A pool spreads the calls of one function over worker processes."),
    ("code", "#example\n\n" + POOL_EXAMPLE),
    ("code", "#Q5. How can we create a pool of worker processes in python using the multiprocessing module?"),
)


def test_code_moved_by_content_goes_to_the_code_question_it_fits_best(tmp_path: Path) -> None:
    # A real notebook's shape: Q4's prose and a Pool example, Q5 answered, Q6 labelled and left empty.
    # Q6's pattern (any Process or Pool) matches the example, but it answers Q5, which has its own.
    path = notebook(tmp_path,
                    *Q4_WITH_EXAMPLE,
                    ("code", POOL_EXAMPLE.replace("double", "triple").replace("* 2", "* 3")),
                    ("code", "#Q6. Write a python program to create 4 processes, each process should print a "
                             "different number using the multiprocessing module in python."),
                    ("code", ""))
    _, answers = located(path)
    assert not answers["Q6"].answered
    assert "nothing follows it" in answers["Q6"].reason
    assert [p.cell for p in answers["Q4"].parts] == [1, 2]
    # With Q5 left empty instead, the example is Q5's answer by content, as before.
    path = notebook(tmp_path,
                    *Q4_WITH_EXAMPLE,
                    ("code", ""), name="q5_empty.ipynb")
    _, answers = located(path)
    assert answers["Q5"].method is Method.CONTENT and [p.cell for p in answers["Q5"].code_parts()] == [2]

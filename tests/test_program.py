"""Building the program one question runs: the answer plus what it needs from earlier cells."""

from __future__ import annotations

import json
from pathlib import Path

from grader.answers import Answer, AnswerPart, PartKind
from grader.load import load
from grader.program import build_program, strip_magics
from tests.conftest import example
from tests.locate.helpers import located


def nb(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
             for s in sources]
    p = tmp_path / "nb.ipynb"
    p.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return p


def program_for_last_cell(path: Path) -> str:
    sub = load(path)
    last = sub.cells[-1]
    answer = Answer("Q9", [AnswerPart(last.index, PartKind.CODE, last.source)])
    program = build_program(sub, answer)
    assert program is not None
    return program.source


def test_seed_004_q5_gets_multiprocessing_and_square_from_earlier_cells() -> None:
    sub, answers = located(example("004"))
    program = build_program(sub, answers["Q5"])
    assert program is not None and program.syntax_error is None
    lines = program.source.split("\n")
    assert "import multiprocessing" in lines
    assert "def square(n):" in lines
    # Only definitions: Q3's process start and Q4's pool run are not copied.
    assert program.source.count("Process(") == 0
    assert program.source.count("if __name__") == 1
    assert any("square" in n for n in program.notes)
    # The answer's own lines are where the program says.
    answer_code = answers["Q5"].code_parts()[0].text
    first = program.answer_first_line
    assert lines[first - 1 : first - 1 + answer_code.count("\n") + 1] == answer_code.split("\n")


def test_only_needed_definitions_are_taken(tmp_path: Path) -> None:
    source = program_for_last_cell(nb(
        tmp_path,
        "import numpy_not_installed\nimport time\nimport os\nN = 4\nprint('earlier question')\ntime.sleep(5)",
        "def helper(x):\n    return x * N\n\ndef unused():\n    return os.getcwd()\n"
        "if __name__ == '__main__':\n    helper(1)",
        "print(helper(2), time.time() > 0)",
    ))
    assert "import numpy_not_installed" not in source
    assert "def unused" not in source and "import os" not in source
    assert "print('earlier question')" not in source and "time.sleep(5)" not in source
    for needed in ("import time", "N = 4", "def helper(x):"):
        assert needed in source


def test_later_definition_wins_and_calls_are_not_constants(tmp_path: Path) -> None:
    source = program_for_last_cell(nb(tmp_path, "X = 1", "X = 2\nY = compute()", "print(X, Y)"))
    assert "X = 2" in source and "X = 1" not in source
    assert "compute" not in source


def test_magics_become_pass_and_are_noted() -> None:
    code, notes = strip_magics("%timeit f()\nfor i in range(2):\n    !pip install x\nprint('%d' % 3)")
    assert code.split("\n") == ["pass  # removed by the grader: %timeit f()", "for i in range(2):",
                                "    pass  # removed by the grader: !pip install x", "print('%d' % 3)"]
    assert len(notes) == 2 and "line 1" in notes[0]


def test_syntax_error_is_recorded_with_the_answer_line(tmp_path: Path) -> None:
    sub = load(nb(tmp_path, "import os", "x = os.sep\nprint(x\nprint('y')"))
    answer = Answer("Q1", [AnswerPart(1, PartKind.CODE, sub.cells[1].source)])
    program = build_program(sub, answer)
    assert program is not None and program.syntax_error is not None
    assert program.syntax_error["line"] == 2
    assert "import os" in program.source


def test_no_code_no_program() -> None:
    sub, answers = located(example("001"))
    assert build_program(sub, answers["Q5"]) is None


def test_only_the_attempts_that_may_run_are_built(tmp_path: Path) -> None:
    """Hostile: 3,000 code cells under one question. A program was built for every one of them, each
    reading every earlier cell for its prelude: 320 s here. Only the first MAX_ATTEMPTS are built."""
    import time

    from grader.grade import MAX_ATTEMPTS, is_attempt, programs_for
    from tests.locate.helpers import notebook

    cells = [("code", "# Q6\nimport multiprocessing\ndef f():\n    print(1)")]
    cells += [("code", f"x{i} = {i}\nprint(x{i})") for i in range(3000)]
    sub, answers = located(notebook(tmp_path, *cells))
    answer = max(answers.values(), key=lambda a: len(a.code_parts()))
    assert len(answer.code_parts()) > 2000
    start = time.monotonic()
    programs = programs_for(sub, answer)
    assert time.monotonic() - start < 10
    assert len(programs) == MAX_ATTEMPTS
    attempts = [part for part in answer.code_parts() if is_attempt(part.text)]  # the definitions cell is not one
    assert [p.cell for p in programs] == [part.cell for part in attempts[:MAX_ATTEMPTS]]
    assert all(part.text in p.source for p, part in zip(programs, attempts, strict=False))

"""Every code attempt under a question is considered, within a time budget; one numbering everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from grader.grade import ATTEMPT_BUDGET, grade_submission, outcome_of
from grader.program import build_program
from grader.rubric import load_rubric
from grader.rubric.model import Rubric
from tests.conftest import RUBRIC
from tests.locate.helpers import located

pytestmark = pytest.mark.slow

Q6 = ("### Q6. Write a python program to create 4 processes, each process should print a different number "
      "using the multiprocessing module in python.")
GOOD = ("def show(n):\n    print(n)\nif __name__ == '__main__':\n"
        "    ps = [Process(target=show, args=(i,)) for i in range(4)]\n"
        "    for p in ps:\n        p.start()\n    for p in ps:\n        p.join()\n")


def notebook(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": Q6}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
              for s in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return path


def with_wall_time(seconds: float) -> Rubric:
    rubric = load_rubric(RUBRIC)
    return replace(rubric, questions=tuple(replace(q, limits=replace(q.limits, wall_time=seconds))
                                           for q in rubric.questions))


def test_the_fifth_code_part_can_be_the_answer_and_numbers_agree_with_grader_run(tmp_path: Path) -> None:
    path = notebook(tmp_path, "from multiprocessing import Process",
                    "for i in range(4):\n    Process(target=shw, args=(i,)).start()",
                    "pool.close",
                    "for i in range(4):\n    Process(target=show, args=(i,)).start()",
                    GOOD)
    rubric = with_wall_time(5)
    result = grade_submission(str(path), rubric)
    q6 = result.question("Q6")
    assert q6 is not None and q6.graded is not None
    sub, answers = located(path)
    assert len(answers["Q6"].code_parts()) == 5
    numbers = [a.program.attempt + 1 for a in q6.attempts]
    assert numbers == [2, 3, 4, 5]  # the import-only part is not run on its own: its import reaches the others
    best = q6.attempts[q6.graded]
    assert best.program.attempt + 1 == 5 and best.points == q6.question.points
    outcome = next(q for q in outcome_of(result, rubric).questions if q.id == "Q6")
    assert outcome.code_parts == 5 and [a.number for a in outcome.attempts] == numbers
    # `grader run --attempt k` runs exactly the program the results call attempt k.
    for attempt in q6.attempts:
        again = build_program(sub, answers["Q6"], attempt.program.attempt)
        assert again is not None and again.source == attempt.program.source
    proc = subprocess.run([sys.executable, "-m", "grader", "run", str(path), "-q", "Q6", "--attempt", "5",
                           "--wall-time", "5", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["program"]["source"] == best.program.source


def test_attempts_stop_when_the_questions_time_budget_is_spent(tmp_path: Path) -> None:
    hang = "import time\nif __name__ == '__main__':\n    time.sleep(60)\n"
    path = notebook(tmp_path, *[hang + f"# try {k}\n" for k in range(8)])
    wall = 1.0
    result = grade_submission(str(path), with_wall_time(wall))
    q6 = result.question("Q6")
    assert q6 is not None
    spent = [sum(t.wall_time for t in a.traces.values()) for a in q6.attempts]
    assert 1 <= len(q6.attempts) < 8
    assert sum(spent[:-1]) < ATTEMPT_BUDGET * wall  # every attempt started within the budget
    assert sum(spent) >= ATTEMPT_BUDGET * wall  # and the runs stopped because it was spent

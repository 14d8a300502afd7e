"""Notebook code is read as IPython read it; plain scripts and answer sheets run as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grader.program import build_program
from tests.locate.helpers import located

Q3_INDENTED = ("  import multiprocessing\n  def f():\n      print('child')\n  if __name__ == '__main__':\n"
               "      p = multiprocessing.Process(target=f)\n      p.start()\n      p.join()\n")


def notebook(tmp_path: Path, *sources: str) -> Path:
    heading = "### Q3. Write a python code to create a process using the multiprocessing module."
    cells = [{"cell_type": "markdown", "metadata": {}, "source": heading}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
              for s in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return path


def run(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=60)


def test_a_notebook_cell_with_common_leading_indent_runs_as_ipython_ran_it(tmp_path: Path) -> None:
    sub, answers = located(notebook(tmp_path, Q3_INDENTED))
    program = build_program(sub, answers["Q3"])
    assert program is not None and program.syntax_error is None
    assert any("leading-indent transform" in n for n in program.notes)
    proc = run(program.source)
    assert proc.returncode == 0 and proc.stdout == "child\n", proc.stderr


def test_a_plain_script_with_the_same_indent_runs_as_written(tmp_path: Path) -> None:
    path = tmp_path / "q3.py"
    path.write_text("# Q3. Create a process\n" + Q3_INDENTED)
    sub, answers = located(path)
    program = build_program(sub, answers["Q3"])
    assert program is not None and program.syntax_error is not None  # an IndentationError, as Python says
    assert not any("leading-indent" in n for n in program.notes)


def test_display_works_in_notebook_code_and_is_noted(tmp_path: Path) -> None:
    sub, answers = located(notebook(tmp_path, "import multiprocessing\ndisplay(multiprocessing.cpu_count() > 0, 'x')"))
    program = build_program(sub, answers["Q3"])
    assert program is not None and any("display()" in n for n in program.notes)
    proc = run(program.source)
    assert proc.returncode == 0 and proc.stdout == "True\n'x'\n", proc.stderr  # IPython's text/plain: reprs
    assert program.answer_line(program.source.split("\n").index("import multiprocessing") + 1) == 1


def test_display_is_not_supplied_when_the_code_imports_its_own(tmp_path: Path) -> None:
    code = "from pprint import pprint as display\ndisplay([1])"
    sub, answers = located(notebook(tmp_path, code))
    program = build_program(sub, answers["Q3"])
    assert program is not None and not any("display()" in n for n in program.notes)
    assert "def display" not in program.source


def test_magics_are_removed_from_notebook_code_only(tmp_path: Path) -> None:
    sub, answers = located(notebook(tmp_path, "!pip install nothing\nimport multiprocessing\nprint(1)"))
    program = build_program(sub, answers["Q3"])
    assert program is not None and program.syntax_error is None
    assert any("removed IPython/shell line" in n for n in program.notes)
    path = tmp_path / "q3.py"
    path.write_text("# Q3. Write a python code to create a process using the multiprocessing module.\n"
                    "!pip install nothing\nimport multiprocessing\nprint(1)\n")
    sub, answers = located(path)
    program = build_program(sub, answers["Q3"])
    assert program is not None and "!pip install nothing" in program.source  # a script runs as written
    assert program.syntax_error is not None


def test_a_cell_ipython_reads_without_error_carries_no_does_not_compile_note(tmp_path: Path) -> None:
    sub, answers = located(notebook(tmp_path, Q3_INDENTED))
    assert any(n.startswith("does not compile") for n in answers["Q3"].code_parts()[0].notes)  # as the text is
    program = build_program(sub, answers["Q3"])
    assert program is not None and not any(n.startswith("does not compile") for n in program.notes)

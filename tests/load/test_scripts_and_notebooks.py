"""Scripts (plain, `# %%`, nbconvert) and notebooks of every nbformat 4 minor version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.load import load
from grader.submission import CellKind, Format
from tests.conftest import CORPUS


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def notebook(cells: list[dict], major: int = 4, minor: int = 5) -> str:
    return json.dumps({"nbformat": major, "nbformat_minor": minor, "metadata": {}, "cells": cells})


def md(src: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": src}


def code(src: str, outputs: list | None = None, count: int | None = None) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": src, "outputs": outputs or [],
            "execution_count": count}


@pytest.mark.parametrize("minor", [0, 1, 2, 3, 4, 5])
def test_notebook_minor_versions(tmp_path: Path, minor: int) -> None:
    src = notebook([md("# Q1\nText"), code(["import os\n", "print(1)"], [
        {"output_type": "stream", "name": "stdout", "text": ["1\n"]}], 1)], minor=minor)
    sub = load(write(tmp_path, "a.ipynb", src))
    assert sub.format is Format.NOTEBOOK
    assert [c.kind for c in sub.cells] == [CellKind.MARKDOWN, CellKind.CODE]
    assert sub.cells[1].source == "import os\nprint(1)"
    assert sub.cells[1].output == "1\n"
    assert sub.cells[1].origin.cell == 1


def test_nbformat3_is_upgraded(tmp_path: Path) -> None:
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "Q1 text"},
        {"cell_type": "code", "metadata": {}, "input": "print('hi')", "language": "python",
         "outputs": [{"output_type": "stream", "stream": "stdout", "text": "hi\n"}], "prompt_number": 3},
    ]}]}
    sub = load(write(tmp_path, "old.ipynb", json.dumps(v3)))
    assert "upgraded from nbformat 3 to 4" in sub.notes
    assert sub.cells[1].source == "print('hi')"
    assert sub.cells[1].execution_count == 3
    assert sub.cells[1].output == "hi\n"


def test_format_is_detected_from_content_not_extension(tmp_path: Path) -> None:
    nb = write(tmp_path, "homework.txt", notebook([code("x = 1")]))
    assert load(nb).format is Format.NOTEBOOK
    text = write(tmp_path, "homework.ipynb.txt", "Q1\nAnswer\n\nIn [1]:\nprint(2)\n\n2\n")
    assert load(text).format is Format.TEXT
    script = write(tmp_path, "answers", "import multiprocessing\n\nprint(1)\n")
    assert load(script).format is Format.SCRIPT


def test_outputs_of_every_kind(tmp_path: Path) -> None:
    outs = [
        {"output_type": "execute_result", "data": {"text/plain": ["[1, 2]"]}, "metadata": {}, "execution_count": 1},
        {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad",
         "traceback": ["\x1b[0;31mValueError\x1b[0m: bad"]},
    ]
    sub = load(write(tmp_path, "o.ipynb", notebook([code("f()", outs, 1)])))
    assert sub.cells[0].output == "[1, 2]\n[image]\nValueError: bad\n"


def test_nbconvert_export(tmp_path: Path) -> None:
    text = ("#!/usr/bin/env python\n# coding: utf-8\n\n# # Q1\n# Multiprocessing is\n# \n# useful.\n\n"
            "# In[1]:\n\n\nimport os\n\n\ndef f():\n    pass\n\n# trailing comment of the code\n\n\n"
            "# Q4 answer as markdown\n\n# In[ ]:\n\n\n\n")
    sub = load(write(tmp_path, "x.py", text))
    kinds = [(c.kind, c.source) for c in sub.cells]
    assert kinds[0] == (CellKind.MARKDOWN, "# Q1\nMultiprocessing is\n\nuseful.")
    assert kinds[1][0] is CellKind.CODE and kinds[1][1].endswith("# trailing comment of the code")
    assert kinds[2] == (CellKind.MARKDOWN, "Q4 answer as markdown")
    assert kinds[3] == (CellKind.CODE, "")
    assert sub.cells[1].origin.lines == (9, 18)


def test_percent_script(tmp_path: Path) -> None:
    text = "# %% [markdown]\n# Q1. What is it?\n# It is...\n\n# %%\nimport os\nprint(os.sep)\n"
    sub = load(write(tmp_path, "p.py", text))
    assert [(c.kind, c.source) for c in sub.cells] == [
        (CellKind.MARKDOWN, "Q1. What is it?\nIt is..."), (CellKind.CODE, "import os\nprint(os.sep)")]


def test_plain_script_splits_at_comment_paragraphs(tmp_path: Path) -> None:
    text = ("# Q1\n# Multiprocessing runs processes.\n\n# Q3\nimport multiprocessing\n\ndef f():\n    pass\n\n"
            "# Q5\nx = 1\n")
    sub = load(write(tmp_path, "plain.py", text))
    assert [c.source.split("\n")[0] for c in sub.cells] == ["# Q1", "# Q3", "# Q5"]
    assert sub.cells[1].source.endswith("    pass")
    assert sub.cells[2].origin.lines == (10, 11)


def test_folder_holding_one_students_files(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / ".ipynb_checkpoints" / "hw-checkpoint.ipynb").write_text(notebook([code("old = 1")]))
    (folder / "data.csv").write_text("a,b\n")
    (folder / "hw.ipynb").write_text(notebook([code("x = 1")]))
    sub = load(folder)
    assert sub.name == "alice" and sub.path.endswith("hw.ipynb")
    assert sub.cells[0].source == "x = 1"


def test_every_corpus_file_loads() -> None:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".ipynb", ".py"))
    assert len(files) >= 15
    for path in files:
        sub = load(path)
        assert sub.cells, path.name


def test_a_folder_of_submissions_is_expanded_and_data_files_are_named(tmp_path: Path) -> None:
    from grader.load import find_submissions

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "hw.ipynb").write_text(notebook([code("x = 1")]))
    (tmp_path / "bob.py").write_text("print(1)\n")
    (tmp_path / "carol.pdf").write_bytes(b"%PDF-1.4 ...")
    (tmp_path / "roster.csv").write_text("name\nalice\n")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    found = find_submissions([str(tmp_path)])
    assert [Path(p).name for p in found.submissions] == ["alice", "bob.py", "carol.pdf"]
    assert [Path(p).name for p in found.skipped] == ["roster.csv"]
    # a student's own folder is one submission; a file named on the command line is always graded
    assert find_submissions([str(tmp_path / "alice")]).submissions == [str(tmp_path / "alice")]
    assert find_submissions([str(tmp_path / "roster.csv")]).submissions == [str(tmp_path / "roster.csv")]

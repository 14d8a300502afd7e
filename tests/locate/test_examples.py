"""The five example submissions: the answers the issue's table names, found for the right reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.answers import Method, PartKind, WrittenIn
from tests.conftest import example
from tests.locate.helpers import located

# file -> question -> (kind of the first part, what identifies it: markdown text start or code prompt)
TABLE = {
    "000": {"Q1": ("prose", "### Multiprocessing:"), "Q2": ("prose", "### Multithreading:"),
            "Q3": ("code", "In [3]:"), "Q4": ("prose", "The multiprocessing pool in python"),
            "Q5": ("code", "In [4]:"), "Q6": ("code", "In [5]:")},
    "001": {"Q1": ("prose", "In [1]:"), "Q2": ("prose", "In [2]:"), "Q3": ("code", "In [3]:"),
            "Q4": ("prose", "In [4]:"), "Q5": ("prose", "In [5]:"), "Q6": ("code", "In [7]:")},
    "002": {"Q1": ("prose", "Q1\nMultiprocessing in Python"), "Q2": ("prose", "Q2\nDifferences"),
            "Q3": ("code", "In [2]:"), "Q4": ("code", "#Q4"), "Q5": ("code", "#Q5"), "Q6": ("code", "#Q6")},
    "003": {"Q1": ("prose", "Multiprocessing in Python: Multiprocessing is"),
            "Q2": ("prose", "Differences between"), "Q3": ("code", "import logging"),
            "Q4": ("prose", "Multiprocessing Pool in Python"), "Q5": ("code", "import logging"),
            "Q6": ("code", "import logging")},
    "004": {"Q1": ("prose", "In [1]:"), "Q2": ("prose", "In [3]:"), "Q3": ("code", "In [2]:"),
            "Q4": ("code", "In [9]:"), "Q5": ("code", "In [6]:"), "Q6": ("code", "In [10]:")},
}


@pytest.mark.parametrize("file", sorted(TABLE))
def test_example_answers_match_the_table(file: str) -> None:
    sub, answers = located(example(file))
    for qid, (kind, ident) in TABLE[file].items():
        a = answers[qid]
        assert a.answered, f"{file} {qid}: {a.reason}"
        first = a.parts[0]
        assert first.kind is PartKind(kind), f"{file} {qid}: {a.parts}"
        cell = sub.cells[first.cell]
        got = f"{file} {qid}: got cell {cell.prompt} {cell.source[:40]!r}"
        assert ident == cell.prompt or cell.source.startswith(ident), got
        assert a.reason and a.method is not None


def test_q5_of_001_is_comments_without_code() -> None:
    _, answers = located(example("001"))
    q5 = answers["Q5"]
    assert [p.kind for p in q5.parts] == [PartKind.PROSE]
    assert q5.parts[0].written_in is WrittenIn.COMMENT
    assert "Create the Process Pool" in q5.prose_text()


def test_003_q6_has_no_heading_and_is_placed_by_position() -> None:
    _, answers = located(example("003"))
    q5, q6 = answers["Q5"], answers["Q6"]
    assert len(q5.code_parts()) == 1 and len(q6.code_parts()) == 1
    assert "Pool" in q5.code_parts()[0].text
    assert "print_number" in q6.code_parts()[0].text
    assert q6.method is Method.POSITION
    assert "no label for Q6" in q6.reason


def test_004_has_no_markers_at_all() -> None:
    _, answers = located(example("004"))
    assert all(a.method is Method.POSITION for a in answers.values())
    assert "no question labels" in answers["Q1"].reason


def test_002_labels_in_code_comments() -> None:
    _, answers = located(example("002"))
    assert answers["Q3"].method is Method.MARKER
    assert "'##Q3'" in answers["Q3"].reason
    assert answers["Q4"].code_parts()[0].text.startswith("#Q4\nimport multiprocessing")


def test_locations_are_line_ranges_for_text_exports() -> None:
    sub, answers = located(example("000"))
    assert answers["Q3"].location(sub) == {"lines": [[23, 45]]}
    assert answers["Q2"].location(sub) == {"lines": [[9, 12], [14, 18]]}


def test_a_ta_override_replaces_the_answer() -> None:
    from grader.load import load
    from grader.locate import locate
    from tests.locate.helpers import questions

    sub = load(example("003"))
    q5_cell = next(c.index for c in sub.cells if c.source.startswith("import logging") and "Pool" in c.source)
    answers = {a.question: a for a in locate(sub, questions(), {"Q6": [q5_cell]})}
    assert answers["Q6"].cells == [q5_cell] and answers["Q6"].reason.endswith("mapped by the TA (override)")
    assert q5_cell not in answers["Q5"].cells


def test_indented_prose_bullets_in_markdown_are_prose_not_code(tmp_path: Path) -> None:
    """Corpus 017's Q2: fifty lines of ' . Threads share...' bullets are a written answer."""
    from grader.answers import PartKind
    from tests.conftest import CORPUS

    _, answers = located(CORPUS / "017_utsah-singh-multiprocessing-assignment.ipynb")
    first = answers["Q2"].parts[0]
    assert first.kind is PartKind.PROSE and "Global Interpreter Lock" in first.text
    bare = tmp_path / "bare.ipynb"
    bare.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "Q3.\nimport os\nif True:\n    print(os.sep)\n"},
        {"cell_type": "markdown", "metadata": {}, "source": "Q6.\nimport os\nThis prints the separator\nprint(os.sep)"},
    ]}))
    _, answers = located(bare)
    assert answers["Q3"].parts[0].kind is PartKind.CODE and answers["Q3"].parts[0].from_markdown
    q6 = answers["Q6"].parts[0]
    assert q6.kind is PartKind.CODE and any("without line 2" in n for n in q6.notes)


def test_a_huge_submission_is_located_quickly(tmp_path: Path) -> None:
    """Every line a copy of a question: the costly comparison is bounded per cell."""
    import time

    from grader.load import load
    from grader.locate import locate
    from tests.locate.helpers import questions

    line = "What is multiprocessing in python? Why is it useful?"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "\n".join([line] * 20000)} for _ in range(3)]
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    sub = load(path)
    start = time.monotonic()
    answers = locate(sub, questions())
    assert time.monotonic() - start < 20  # unbounded, this took minutes
    assert answers[0].question == "Q1"

"""`main_guard` against the TA's labels on the real submissions and the examples.

The answer's code is taken from the labelled cells (read by the loader; the locator is not
used), with the imports of earlier code cells in front, as the program builder will do.
Prints the agreement and each disagreement.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from typing import Any

import pytest

from grader.checks import NoParams, Status
from grader.checks.static import main_guard
from grader.load import load
from grader.submission import Cell, CellKind, Submission
from tests.checks.helpers import code_context
from tests.conftest import LABELS, labelled_file


def _cells_at(sub: Submission, location: dict[str, Any], file: str | None = None) -> list[Cell]:
    if "files" in location:  # a folder of per-question files
        return [c for entry in location["files"] for c in _cells_at(sub, entry, entry["file"])]
    if "cells" in location:
        return [c for c in sub.cells if c.origin.cell in location["cells"] and c.origin.file == file]
    spans = [tuple(r) for r in location["lines"]]
    return [c for c in sub.cells if c.origin.lines is not None and c.origin.file == file
            and any(c.origin.lines[0] <= last and first <= c.origin.lines[1] for first, last in spans)]


def _imports(cells: list[Cell]) -> str:
    out = []
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        out += [ast.unparse(s) for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    return "\n".join(out)


# A fence may be indented as a whole, under a Markdown list item (file 054).
FENCE = re.compile(r"^[ \t]*```(?:python)?[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
QUOTED = re.compile(r'^"""[ \t]*\n(.*?)^"""', re.M | re.S)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _is_program(text: str) -> bool:
    """Code that does something: it parses and is more than string literals and comments."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in tree.body)


def _programs(sub: Submission, location: dict[str, Any]) -> list[str]:
    """The answer's program; for code in a markdown cell's fences, one program per fenced block (the
    attempts a student wrote, as the grader reads them: the best counts), since the prose around
    them is not code."""
    cells = _cells_at(sub, location)
    code = [c for c in cells if c.kind is CellKind.CODE] or cells  # code typed into markdown (files 006, 042)
    first = min(c.index for c in code)
    before = _imports([c for c in sub.cells if c.kind is CellKind.CODE and c.index < first
                       and sub.same_file(c.index, first)]) + "\n"
    # (fences typed into a code cell that is not Python as a whole count too: file 077's chat-style answers)
    fenced = [textwrap.dedent(block) for c in code if c.kind is not CellKind.CODE or not _parses(c.source)
              for block in FENCE.findall(c.source)]
    if fenced:
        return [before + block for block in fenced]
    # programs typed into markdown between """ lines, as if the cell were a .py file of strings (file 050)
    quoted = [block for c in code if c.kind is not CellKind.CODE for block in QUOTED.findall(c.source)
              if _is_program(block)]
    if quoted:
        return [before + block for block in quoted]
    return [before + "\n\n".join(c.source for c in code)]


def test_main_guard_agrees_with_labels(capsys: pytest.CaptureFixture[str]) -> None:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    total, disagree = 0, []
    for name, label in sorted(labels.items()):
        path = labelled_file(name)
        sub = load(str(path))
        for qid in ("Q3", "Q5", "Q6"):
            ql = label["questions"].get(qid, {})
            if not ql.get("answered") or "main_guard" not in ql:
                continue
            total += 1
            verdicts = [main_guard(code_context(p), NoParams()) for p in _programs(sub, ql["location"])]
            v = next((x for x in verdicts if x.status is Status.PASSED), verdicts[-1])
            if (v.status is Status.PASSED) != ql["main_guard"]:
                disagree.append(f"  {name} {qid}: label {ql['main_guard']}, check {v.status.value}: {v.message}")
    agreement = 1 - len(disagree) / total
    with capsys.disabled():
        print(f"\nmain_guard agrees with the labels on {total - len(disagree)}/{total} answers ({agreement:.0%})")
        print("\n".join(disagree))
    assert total >= 45
    assert agreement >= 0.95

"""Plain-text notebook exports: code kept exactly, recorded output separated from it."""

from __future__ import annotations

from pathlib import Path

from grader.load import load
from grader.pysource import compiles
from grader.submission import CellKind, Format
from tests.conftest import EXAMPLES, example


def code_cells(path: Path) -> list:
    return [c for c in load(path).cells if c.kind is CellKind.CODE]


def test_all_examples_are_text_exports_with_compiling_code() -> None:
    for path in sorted(EXAMPLES.iterdir()):
        sub = load(path)
        assert sub.format is Format.TEXT
        for cell in sub.cells:
            if cell.kind is CellKind.CODE and cell.source.strip():
                assert compiles(cell.source), f"{path.name} {cell.prompt} kept output as code:\n{cell.source}"


def test_code_is_exactly_the_file_lines() -> None:
    """Every code cell's source is a run of the file's own lines (the marker line stripped)."""
    for path in sorted(EXAMPLES.iterdir()):
        lines = path.read_text().split("\n")
        for cell in code_cells(path):
            if not cell.source:
                continue
            first = cell.source_first_line
            assert first is not None
            src = cell.source.split("\n")
            for k, line in enumerate(src):
                file_line = lines[first - 1 + k]
                assert file_line == line or file_line.endswith(line), (path.name, first + k, line)


def test_list_output_after_a_pool_is_output_not_code() -> None:
    cells = code_cells(example("000"))
    pool = next(c for c in cells if c.prompt == "In [4]:")
    assert pool.source.rstrip().endswith("print(result)")
    assert "[1, 8, 27" not in pool.source
    assert pool.output == "[1, 8, 27, 64, 125, 216, 343, 512, 729, 1000]\n"


def test_fenced_cell_with_marker_on_the_code_line() -> None:
    cells = code_cells(example("001"))
    cpu = next(c for c in cells if c.prompt == "In [3]:")
    assert cpu.source.split("\n")[0].startswith("import multiprocessing")
    assert "Number of CPU : 8" not in cpu.source
    assert cpu.output.strip() == "Number of CPU : 8"
    comments = next(c for c in cells if c.prompt == "In [1]:")
    assert comments.source.startswith("# Ans-The multiprocessing package")
    assert cells[-1].prompt == "In [ ]:" and cells[-1].source == ""


def test_unexecuted_cells_have_no_output_and_markdown_follows() -> None:
    sub = load(example("003"))
    kinds = [c.kind for c in sub.cells]
    assert kinds.count(CellKind.CODE) == 3
    q4 = next(c for c in sub.cells if c.source.startswith("Q4."))
    assert q4.kind is CellKind.MARKDOWN
    assert all(c.output == "" for c in sub.cells)


def test_recorded_output_is_kept_for_the_report() -> None:
    cells = code_cells(example("000"))
    first = next(c for c in cells if c.prompt == "In [3]:")
    assert first.output.split() == ["Hey!", "Bye!", "Hey!", "Bye!", "Hey!", "Bye!", "Done."]
    assert first.source.split("\n")[-1] == "    print('Done.')"


def test_cell_origins_are_line_ranges_in_order() -> None:
    sub = load(example("002"))
    ranges = [c.origin.lines for c in sub.cells]
    assert all(r is not None for r in ranges)
    starts = [r[0] for r in ranges if r]
    assert starts == sorted(starts)
    q3 = next(c for c in sub.cells if c.source.startswith("##Q3"))
    assert q3.origin.lines == (25, 46)

"""Markdown notebooks (nbconvert, jupytext/MyST, Quarto) and plain-text answer sheets."""

from __future__ import annotations

from pathlib import Path

from grader.load import load
from grader.pysource import compiles
from grader.submission import CellKind, Format
from tests.locate.helpers import located

FILES = Path(__file__).resolve().parent / "files"


def code_cells(path: Path) -> list[tuple[tuple[int, int] | None, str, str]]:
    sub = load(path)
    return [(c.origin.lines, c.source, c.output) for c in sub.cells if c.kind is CellKind.CODE]


def test_an_nbconvert_markdown_export_has_code_cells_with_their_output() -> None:
    sub = load(FILES / "nbconvert_export.md")
    assert sub.format is Format.MARKDOWN
    cells = code_cells(FILES / "nbconvert_export.md")
    assert len(cells) == 2
    (lines3, src3, out3), (lines6, src6, out6) = cells
    assert src3.startswith("import multiprocessing") and "```" not in src3 and compiles(src3)
    assert out3 == "child\n"  # the indented block after the fence is the recorded output
    assert lines3 == (10, 19)  # fences and output included
    assert out6 == "0\n1\n" and lines6 == (24, 33)  # a fence with no language right after: output
    prose = [c.source for c in sub.cells if c.kind is CellKind.MARKDOWN]
    assert "### Q1. What is multiprocessing in python? Why is it useful?" in prose
    _, answers = located(FILES / "nbconvert_export.md")
    assert answers["Q3"].code_parts()[0].text == src3
    assert answers["Q6"].code_parts()[0].text == src6


def test_myst_and_quarto_cells_are_code_and_front_matter_is_raw() -> None:
    myst = load(FILES / "jupytext_myst.md")
    assert [c.kind for c in myst.cells] == [CellKind.RAW, CellKind.MARKDOWN, CellKind.CODE]
    code = myst.cells[2].source
    assert code.startswith("from multiprocessing import Pool") and ":tags:" not in code  # MyST option left out
    assert myst.cells[2].source_first_line == 13
    qmd = load(FILES / "quarto.qmd")
    assert qmd.format is Format.MARKDOWN and "Quarto" in qmd.notes[0]
    assert [c.kind for c in qmd.cells] == [CellKind.RAW, CellKind.MARKDOWN, CellKind.CODE]
    _, answers = located(FILES / "quarto.qmd")
    assert "cpu_count" in answers["Q3"].code_parts()[0].text


def _sheet_checks(path: Path) -> None:
    sub, answers = located(path)
    assert sub.format is Format.TEXT
    code = [c for c in sub.cells if c.kind is CellKind.CODE]
    assert len(code) == 3  # Q3, Q5 and Q6: no prose line is read as code, no code as prose
    assert all(c.source.lstrip().startswith(("import", "6.import")) for c in code)
    q3 = answers["Q3"].code_parts()
    assert len(q3) == 1 and compiles(q3[0].text) and answers["Q3"].reason.endswith("follows label 'QUESTION:-3' "
                                                                                   "(line 11)")
    assert answers["Q4"].prose_text().startswith("A pool is a set of worker processes")
    assert answers["Q5"].code_parts()[0].text.rstrip().endswith("print(r)")  # kept whole, with its error
    q6 = answers["Q6"].code_parts()[0]
    assert q6.text.startswith("import multiprocessing") and compiles(q6.text)
    assert any("fused onto the first code line" in n for n in q6.notes)
    written = [answers[q].prose_text() for q in ("Q1", "Q2")]
    assert written[0].startswith("Multiprocessing refers") and "Involves creating" in written[1]


def test_a_plain_text_answer_sheet_is_split_into_prose_and_code() -> None:
    _sheet_checks(FILES / "answer_sheet.txt")


def test_a_py_file_that_is_really_an_answer_sheet_with_crlf_is_read_as_one(tmp_path: Path) -> None:
    text = (FILES / "answer_sheet.txt").read_text()
    path = tmp_path / "answers.py"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    assert not compiles(text)
    _sheet_checks(path)


def test_a_py_script_with_a_syntax_error_stays_a_script(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import multiprocessing\n\ndef f(:\n    print(1)\n")
    assert load(path).format is Format.SCRIPT


def test_an_export_with_answer_labels_tab_indented_code_and_an_empty_last_cell() -> None:
    sub, answers = located(FILES / "answer_labels_export.md")
    code = [c for c in sub.cells if c.kind is CellKind.CODE]
    assert [c.output for c in code] == ["Hello 1\n", "0\n1\n2\n3\n", ""]  # the empty ```python cell is kept
    assert "\tp.start()" in code[0].source and compiles(code[0].source)
    for qid in ("Q1", "Q2", "Q4", "Q5"):
        assert answers[qid].prose_parts() and not answers[qid].code_parts(), qid
    assert answers["Q3"].code_parts()[0].text == code[0].source
    assert answers["Q6"].code_parts()[0].text == code[1].source
    assert answers["Q5"].prose_text().startswith("Create it with multiprocessing.Pool")


INDENTED_SHEET = """Q3. Write a python code to create a process using the multiprocessing module.

    import multiprocessing

    def hello():
        print("hello from the child")

    if __name__ == "__main__":
        p = multiprocessing.Process(target=hello)
        p.start()
        p.join()

Q4. What is a multiprocessing pool in python? Why is it used?

    A pool is a set of worker processes that run tasks in parallel across the cores.
    It is used to spread the work of a function over many inputs.

Q5. How can we create a pool of worker processes in python using the multiprocessing module?

    from multiprocessing import Pool

    def square(x):
        return x * x

    if __name__ == "__main__":
        with Pool(4) as pool:
            print(pool.map(square, range(4)))
Q6. Write a python program to create 4 processes.
"""


def test_an_answer_sheet_whose_programs_are_indented_as_a_whole(tmp_path: Path) -> None:
    # Real submission 045 (a file with no extension): every program set off by four spaces, as
    # Markdown indents code, so none compiles as written.
    path = tmp_path / "Multiprocessing Assignment"
    path.write_text(INDENTED_SHEET)
    sub, answers = located(path)
    assert sub.format is Format.TEXT
    code = [c for c in sub.cells if c.kind is CellKind.CODE]
    assert [c.origin.lines for c in code] == [(3, 11), (20, 27)]  # the block ends at the line indented less
    assert all(compiles(c.source) and c.source.startswith(("import", "from")) for c in code)
    assert all("indented by '    ' as a whole" in c.notes[-1] for c in code)
    assert answers["Q4"].prose_text().startswith("A pool is a set of worker processes")  # indented prose stays prose
    assert "Process(target=hello)" in answers["Q3"].code_parts()[0].text
    assert "pool.map(square" in answers["Q5"].code_parts()[0].text


FUSED_MARKER_SHEET = """Q3. Write a python code to create a process using the multiprocessing module.
Ans.import multiprocessing

# the function the child runs
def greet():
    print("hello")

if __name__ == "__main__":
    p = multiprocessing.Process(target=greet)
    p.start()
    p.join()

Q5. How can we create a pool of worker processes in python using the multiprocessing module?
Ans. import multiprocessing
ans = None
if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        ans = pool.map(abs, [-1, -2])
    print(ans)
"""


def test_an_answer_marker_fused_onto_the_first_code_line_is_a_marker(tmp_path: Path) -> None:
    # Real submission 044: 'Ans.import multiprocessing' (and 'Ans. import ...') with no question number.
    path = tmp_path / "answers.txt"
    path.write_text(FUSED_MARKER_SHEET)
    sub, answers = located(path)
    code = [c for c in sub.cells if c.kind is CellKind.CODE]
    assert [c.origin.lines for c in code] == [(2, 11), (14, 19)]  # the import and the comment are code
    for qid in ("Q3", "Q5"):
        part = answers[qid].code_parts()[0]
        assert part.text.startswith("import multiprocessing") and compiles(part.text), qid
        assert any("answer marker 'Ans.' is fused onto the first code line" in n for n in part.notes), qid
    assert "ans = None" in answers["Q5"].code_parts()[0].text  # `ans = ...` is code, not a marker


def test_a_markdown_file_of_many_unclosed_fences_loads_at_once(tmp_path: Path) -> None:
    """Hostile: 5,000 opening fences that never close, one code line each (70 KB). Each was paired by
    scanning every line after it: 84 s here. The closing lines are indexed once now."""
    import time

    path = tmp_path / "flood.md"
    path.write_text("# Q1\n" + "```python\nx = 1\n" * 5000)
    start = time.monotonic()
    sub = load(path)
    assert time.monotonic() - start < 5 and sub.format is Format.MARKDOWN

"""How a markdown or raw cell's content is split into prose and code (made-up cells, each showing a
class of misreading seen in real notebooks of issue 9)."""

from __future__ import annotations

from pathlib import Path

from grader.answers import PartKind, WrittenIn
from grader.cli.inspect import render
from grader.pysource import compiles
from tests.locate.helpers import located, notebook

POOL = ("import multiprocessing\n\ndef sq(x):\n    return x * x\n\nif __name__ == \"__main__\":\n"
        "    # Create a pool of worker processes\n    with multiprocessing.Pool(4) as pool:\n"
        "        print(pool.map(sq, [1, 2, 3]))")


def indented(text: str, by: str) -> str:
    return "\n".join(by + ln if ln.strip() else ln for ln in text.split("\n"))


def test_a_fence_straight_after_a_copied_question_opens_the_code(tmp_path: Path) -> None:
    # The question's words (bold) and then the fence, with no blank line between: the fence line
    # was read as the question's second line, so the code became prose and later fences paired the wrong way.
    bold = ("**Creating a Pool of Worker Processes**\n```python\n" + POOL + "\n```\n\n"
            "The pool maps the function over its inputs.\n```python\nprint('and once more')\n```\n")
    _, answers = located(notebook(tmp_path, ("markdown", bold)))
    q5 = answers["Q5"]
    codes = [p.text for p in q5.code_parts()]
    assert codes == [POOL, "print('and once more')"]
    assert "maps the function" in q5.prose_text() and "```" not in q5.prose_text()


def test_a_fence_indented_in_a_list_item_loses_its_indentation(tmp_path: Path) -> None:
    # "5. **Title**:" then the fence indented as inside a numbered list item (real: jyotiprava99).
    item = "5. **Creating a Pool of Worker Processes**:\n" + indented("```python\n" + POOL + "\n```", "   ") + \
        "\n\n6. **Notes**:\n   the pool is closed by the with block\n"
    _, answers = located(notebook(tmp_path, ("markdown", item)))
    (part,) = answers["Q5"].code_parts()
    assert part.text == POOL and compiles(part.text)
    assert "closed by the with block" in answers["Q5"].prose_text()


def test_an_unclosed_fence_runs_to_the_end_of_the_cell(tmp_path: Path) -> None:
    # CommonMark: a fence never closed runs to the end of the block (real: riiyaa24 Q5).
    cell = "Q5. Use the Pool class:\n\n```python\n" + POOL + "\n"
    _, answers = located(notebook(tmp_path, ("markdown", cell)))
    (part,) = answers["Q5"].code_parts()
    assert part.text == POOL
    assert any("never closed" in n for n in part.notes)
    assert answers["Q5"].prose_text().strip() == "Use the Pool class:"


def test_a_comment_in_code_typed_into_markdown_is_not_a_heading(tmp_path: Path) -> None:
    # Unfenced code in a markdown cell: its indented '# Create a pool of worker processes' repeats
    # Q5's words; it is a comment, not a heading that cuts the answer (real: Arhat9844 Q5).
    cell = "# Q5. How can we create a pool of worker processes in python using the multiprocessing module?\n" + POOL
    _, answers = located(notebook(tmp_path, ("markdown", cell)))
    (part,) = answers["Q5"].code_parts()
    assert compiles(part.text) and part.text.rstrip().endswith("print(pool.map(sq, [1, 2, 3]))")
    assert not any("compile without line" in n for n in part.notes)
    assert not answers["Q6"].answered
    # At the margin between code lines, the question's words are a comment too; a real label still opens.
    two = ("# Q3.\nimport multiprocessing\n# Create a pool of worker processes\npool = multiprocessing.Pool(2)\n"
           "# Q6.\nimport os\nprint(os.getpid())\n")
    _, answers = located(notebook(tmp_path, ("markdown", two)))
    (q3,) = answers["Q3"].code_parts()
    assert q3.text.endswith("# Create a pool of worker processes\npool = multiprocessing.Pool(2)")
    (q6,) = answers["Q6"].code_parts()
    assert q6.text.rstrip().endswith("import os\nprint(os.getpid())") and "Pool" not in q6.text
    assert not answers["Q5"].answered


def test_code_quoted_whole_in_a_markdown_cell_is_the_answer(tmp_path: Path) -> None:
    # The student's habit of quoting (real: Arhat9844 Q3, Q6): the string's content is the code.
    cell = ("# Q1. What is multiprocessing in Python?\n\"\"\"\nMultiprocessing runs several processes at once, "
            "each on its own core.\n\"\"\"\n\n# Q5. How can we create a pool of worker processes?\n\"\"\"\n"
            + POOL + "\n\"\"\"\n")
    quoted_in_code = "# Q6.\n\"\"\"\n" + POOL + "\n\"\"\"\n"
    _, answers = located(notebook(tmp_path, ("markdown", cell), ("code", quoted_in_code)))
    (part,) = answers["Q5"].code_parts()
    assert part.text == POOL and part.from_markdown
    assert any("triple-quoted string" in n for n in part.notes)
    assert "its own core" in answers["Q1"].prose_text() and not answers["Q1"].code_parts()
    # In a code cell a string literal is what runs: prose by the existing rules, not code.
    assert not answers["Q6"].code_parts() and answers["Q6"].parts[0].written_in is WrittenIn.STRING


def test_a_raw_cell_of_prose_and_code_is_split_like_an_answer_sheet(tmp_path: Path) -> None:
    # Real: akash00kundu Q4, a paragraph, '###code###' and a Pool snippet in one raw cell.
    cell = ("Q4.\n\nA multiprocessing pool is a high-level abstraction that manages a pool of worker processes "
            "and spreads a function's inputs among them.\n\n\n###code###\n\n" + POOL + "\n")
    sub, answers = located(notebook(tmp_path, ("raw", cell)))
    q4 = answers["Q4"]
    prose = next(p for p in q4.parts if p.kind is PartKind.PROSE)
    assert prose.written_in is WrittenIn.RAW and "high-level abstraction" in prose.text
    assert [p.text for p in q4.code_parts()] == [POOL]
    assert all(any("raw cell" in n for n in p.notes) for p in q4.parts)
    shown = render(sub, list(answers.values()))
    assert "[code, from a raw cell]" in shown and "[prose, in raw-cell]" in shown and "from markdown" not in shown


def test_many_unclosed_fences_are_read_in_linear_time(tmp_path: Path) -> None:
    # Hostile: 20,000 opening fences that never close. Paired by a backtracking regex this took
    # 44 s here; read line by line, a fraction of a second.
    import time

    from grader.load import load
    from grader.locate import locate
    from tests.locate.helpers import questions

    sub = load(notebook(tmp_path, ("markdown", "\n".join(["```python"] * 20000))))
    start = time.monotonic()
    locate(sub, questions())
    assert time.monotonic() - start < 5


def test_a_line_starting_with_inline_triple_backtick_code_opens_no_fence(tmp_path: Path) -> None:
    # '```multiprocessing``` is ...' is inline code (a fence's info string holds no backtick). Read as a
    # fence that never closes, it hid every label after it: Q2's answer was Q1's.
    cell = ("Q1. What is multiprocessing in python? Why is it useful?\n"
            "```multiprocessing``` is a module that runs code in several processes at once, each on its own core.\n\n"
            "Q2. What are the differences between multiprocessing and multithreading?\n"
            "Processes have their own memory; threads share the memory of one process.\n")
    _, answers = located(notebook(tmp_path, ("markdown", cell)))
    assert "its own core" in answers["Q1"].prose_text() and "own memory" not in answers["Q1"].prose_text()
    assert "own memory" in answers["Q2"].prose_text()


def test_a_chat_answers_header_lines_before_unfenced_code_are_prose(tmp_path: Path) -> None:
    # Real: Ankit193200, answers pasted from a chat assistant into markdown cells, each program
    # under a 'python' / 'Copy code' header (what the page's code box showed) with no fence.
    # The cell did not compile as a whole, so the program was prose and Q3/Q5/Q6 had no code.
    cell = ("# Q5: How can we create a pool of worker processes?\n\npython\nCopy code\n" + POOL
            + "\n\nThe pool's workers share the inputs between them.")
    _, answers = located(notebook(tmp_path, ("markdown", cell)))
    q5 = answers["Q5"]
    assert [p.text for p in q5.code_parts()] == [POOL]
    prose = " ".join(p.text for p in q5.parts if p.kind is PartKind.PROSE)
    assert "Copy code" in prose and "share the inputs" in prose
    assert any("lines before and after it are prose" in n for p in q5.code_parts() for n in p.notes)
    # two programs with prose between them stay as they were (not one program): nothing is guessed
    two = cell.replace("\n\nThe pool's", "\n\nand then\n\n" + POOL + "\n\nThe pool's")
    (tmp_path / "two").mkdir()
    _, answers = located(notebook(tmp_path / "two", ("markdown", two)))
    assert not any("lines before and after it are prose" in n for p in answers["Q5"].parts for n in p.notes)

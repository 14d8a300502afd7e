"""Labels only the whole file shows: a cell listing the questions, numbered titles in sequence, `##1`."""

from __future__ import annotations

from pathlib import Path

from grader.answers import Method
from tests.locate.helpers import located, notebook, questions

PROCESS = """   ```python
   import multiprocessing

   def w():
       print("hi")

   if __name__ == "__main__":
       p = multiprocessing.Process(target=w)
       p.start()
       p.join()
   ```
"""
POOL = """   ```python
   import multiprocessing

   def sq(x):
       return x * x

   if __name__ == "__main__":
       with multiprocessing.Pool(4) as pool:
           print(pool.map(sq, [1, 2, 3]))
   ```
"""
ANSWERS = (f"1. **Multiprocessing in Python**:\n   - runs processes in parallel on several cores\n\n"
           f"3. **Create a Process**:\n{PROCESS}\n5. **Creating a Pool**:\n{POOL}")


def statement() -> str:
    return "\n\n".join(f"Q{q.number}. {q.text}" for q in questions())


def test_numbered_bold_titles_in_sequence_mark_questions(tmp_path: Path) -> None:
    _, answers = located(notebook(tmp_path, ("markdown", ANSWERS)))
    assert answers["Q1"].prose_text() == "- runs processes in parallel on several cores"
    assert "Process(target=w)" in answers["Q3"].code_parts()[0].text and len(answers["Q3"].code_parts()) == 1
    assert "Pool(4)" in answers["Q5"].code_parts()[0].text
    assert answers["Q5"].method is Method.MARKER and "numbered title '5. **Creating a Pool**:'" in answers["Q5"].reason
    assert not answers["Q2"].parts and not answers["Q4"].parts


def test_a_cell_listing_the_questions_is_the_statement_and_the_answers_follow_it(tmp_path: Path) -> None:
    _, answers = located(notebook(tmp_path, ("markdown", statement()), ("markdown", ANSWERS)))
    assert answers["Q1"].prose_text() == "- runs processes in parallel on several cores"
    assert "Process(target=w)" in answers["Q3"].code_parts()[0].text and len(answers["Q3"].code_parts()) == 1
    assert "Pool(4)" in answers["Q5"].code_parts()[0].text
    assert all(0 not in a.cells for a in answers.values())
    assert "nothing follows it" not in answers["Q1"].reason
    assert "markdown cell 0 only lists the questions: read as the assignment's statement" in answers["Q3"].reason


def test_a_cell_listing_the_questions_before_unlabelled_answers(tmp_path: Path) -> None:
    cells = [("markdown", statement()),
             ("markdown", "Multiprocessing runs several processes at once on several cores."),
             ("markdown", "Multiprocessing gives each process its own memory; multithreading shares it.")]
    _, answers = located(notebook(tmp_path, *cells))
    assert answers["Q1"].cells == [1] and answers["Q2"].cells == [2]
    assert not any("nothing follows it" in a.reason for a in answers.values())


def test_a_numbered_list_inside_an_answer_is_not_labels(tmp_path: Path) -> None:
    # After Q2's label, items numbered 1, 2, 3 go backwards: they are Q2's list.
    q2 = ("## Q2\n\n1. **Multiprocessing**:\n   - separate memory per process\n\n"
          "2. **Multithreading**:\n   - threads share memory\n\n3. **Processes and threads**:\n   - the GIL\n")
    _, answers = located(notebook(tmp_path, ("markdown", "## Q1\nMultiprocessing runs processes in parallel."),
                                  ("markdown", q2), ("markdown", f"## Q3\n{PROCESS}")))
    assert answers["Q2"].cells == [1] and "threads share memory" in answers["Q2"].prose_text()
    assert answers["Q1"].cells == [0]
    # With no labels at all: item 3 names a code question but no code follows it, so the list is
    # no numbering of the questions (two titles are too few).
    _, answers = located(notebook(tmp_path, ("markdown", q2.removeprefix("## Q2\n\n"))))
    assert all(a.method is not Method.MARKER for a in answers.values())


def test_titles_that_are_not_about_their_question_are_list_items(tmp_path: Path) -> None:
    items = "1. **Memory**:\n   - own space\n\n2. **Speed**:\n   - fast\n\n3. **Safety**:\n" + PROCESS
    _, answers = located(notebook(tmp_path, ("markdown", items)))
    assert all(a.method is not Method.MARKER for a in answers.values())


def test_headings_that_are_only_a_number(tmp_path: Path) -> None:
    # Real akash00kundu: `##1` headings in markdown, `##5` as the first comment of a code cell.
    cells = [("markdown", "##1\nMultiprocessing runs several processes at once."),
             ("markdown", "##2\nProcesses have separate memory; threads share it."),
             ("code", "##5\n" + POOL.replace("   ", "").replace("```python\n", "").replace("```\n", ""))]
    _, answers = located(notebook(tmp_path, *cells))
    assert answers["Q1"].method is Method.MARKER and answers["Q1"].cells == [0]
    assert answers["Q2"].cells == [1] and answers["Q5"].cells == [2] and answers["Q5"].method is Method.MARKER
    assert not answers["Q3"].parts

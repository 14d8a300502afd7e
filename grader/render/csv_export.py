"""grades.csv: one row per submission, for a spreadsheet or an LMS gradebook import.

Columns, in order (a header row names them):

    submission    the submission's id in the batch (its path relative to what was graded)
    score         the total, overrides included
    max_score     the rubric's total
    <question id> one column per rubric question, in rubric order: that question's score
    needs_review  "yes" when a TA should read an answer before the grade is final, else "no"
    error         why the submission could not be graded; empty when it was

Made for importing: comma-separated UTF-8 without a byte-order mark, RFC 4180 quoting and line
ends (the csv module's defaults), plain numbers with a dot and no trailing zeros (`12.5`, `20`).
Moodle's "Import grades: CSV file" and Canvas's "Import" both map a column that identifies the
student (here `submission`; rename or join it to the LMS's login or SIS id) and take each other
column as a grade item; Canvas asks for its own export as the template, so paste `score` (or the
question columns) into it. A submission that could not be graded has empty score cells, not 0:
an import then leaves its grade blank for the TA instead of recording a zero it may not deserve.

Formula injection: a cell of student-controlled text (an id, an error) that starts with `=`, `+`,
`-`, `@`, a tab or a carriage return is read as a formula by Excel, LibreOffice and Google Sheets;
such a cell gets a leading `'` (OWASP's advice), which spreadsheets show as text. Control and
bidi characters in those cells are shown as escapes (`grader.render.safe.printable`).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render.safe import printable, write_atomic

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(value: float) -> str:
    """`12.5`, `20`, `0.33`: what a spreadsheet and an LMS read as a number."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def text_cell(value: str) -> str:
    """Student-controlled text, made inert for a spreadsheet."""
    value = printable(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def header(book: Gradebook) -> list[str]:
    return ["submission", "score", "max_score", *(q.id for q in book.questions), "needs_review", "error"]


def row(book: Gradebook, outcome: SubmissionOutcome) -> list[str]:
    if outcome.error is not None:
        scores = ["" for _ in book.questions]
        total = ""
    else:
        scores = []
        for info in book.questions:
            question = outcome.question(info.id)
            scores.append(number(question.score) if question is not None else "")
        total = number(outcome.score)
    return [text_cell(outcome.id), total, number(book.max_score), *scores,
            "yes" if outcome.needs_review else "no", text_cell(outcome.error or "")]


def csv_lines(book: Gradebook) -> Iterator[str]:
    """The file a row at a time (the header first), in the gradebook's order."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for cells in itertools.chain([header(book)], (row(book, outcome) for outcome in book.submissions)):
        writer.writerow(cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def grades_csv(book: Gradebook) -> str:
    """The whole file as text, one row per submission in the gradebook's order."""
    return "".join(csv_lines(book))


def write_grades_csv(book: Gradebook, path: Path) -> None:
    write_atomic(path, csv_lines(book))  # streamed: a class of any size is never held whole

"""Every output of an output folder, derived from the results model.

`grade` and `rescore` both write through here, so every output comes from the same records:
per submission as soon as it is graded (`write_submission_outputs`), per class at the end
(`write_class_outputs`, rebuilt from every details file in the folder).

    DIR/results.json           the summary a course imports (stable across gradings)
    DIR/details/<id>.json      each submission's full record: what everything else is built from
    DIR/grades.csv             one row per submission, a column per question (spreadsheets, LMS)
    DIR/junit.xml              one testcase per check (CI)
    DIR/summary.md             the class in Markdown (CI job summaries)
    DIR/gradescope/<id>.json   each submission's results in Gradescope's format
"""

from __future__ import annotations

from pathlib import Path

from grader.outcome import Gradebook, SubmissionOutcome
from grader.results import file_stem, gradebook, stored, write_details, write_results_json
from grader.rubric.model import Rubric


def write_submission_outputs(out: Path, outcome: SubmissionOutcome) -> None:
    """The submission's record (first: it is what resume and rescore read), then what is rendered from it."""
    from grader.render import gradescope

    write_details(out, outcome)
    gradescope.write_results_json(outcome, out / "gradescope" / f"{file_stem(outcome.id)}.json")


def write_class_outputs(out: Path, rubric: Rubric, problems: list[str] | None = None) -> Gradebook:
    """results.json and the class exports from every submission graded in `out`."""
    from grader.render import csv_export, junit, markdown
    from grader.render.safe import write_atomic

    book = gradebook(rubric, [o.summary() for _, o in stored(out, problems) if o.rubric == rubric.id])
    write_results_json(out, book)
    csv_export.write_grades_csv(book, out / "grades.csv")
    junit.write_junit(book.submissions, out / "junit.xml")
    write_atomic(out / "summary.md", markdown.class_markdown(book))
    return book

"""Every output of an output folder, derived from the results model.

`grade` and `rescore` both write through here, so every output comes from the same records:
per submission as soon as it is graded (`write_submission_outputs`), per class at the end
(`write_class_outputs`, rebuilt from every details file in the folder).

    DIR/index.html             the class overview (for the TA: it lists every student)
    DIR/report/<id>.html       a submission's page for its student; <id>.ta.html the TA's page
    DIR/report/trace/<id>/     each run as a Chrome trace-event file (Perfetto, chrome://tracing)
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
from grader.results import file_stem, gradebook, stored_summaries, write_details, write_results_json
from grader.rubric.model import Rubric


def write_submission_outputs(out: Path, outcome: SubmissionOutcome, *, title: str = "") -> None:
    """The submission's record (first: it is what resume and rescore read), then what is rendered from it."""
    from grader.render import gradescope
    from grader.render.safe import write_file
    from grader.render.write import write_submission_pages

    write_details(out, outcome)
    write_file(out, f"gradescope/{file_stem(outcome.id)}.json", gradescope.results_text(outcome))
    write_submission_pages(out, outcome, rubric_title=title)


def write_class_outputs(out: Path, rubric: Rubric, problems: list[str] | None = None) -> Gradebook:
    """results.json and the class exports from every submission graded in `out`. The gradebook
    returned reads the summaries from a temporary file, one at a time: memory stays flat."""
    from grader.render import csv_export, junit, markdown
    from grader.render.safe import write_atomic
    from grader.render.write import write_index

    book = gradebook(rubric, stored_summaries(out, rubric.id, problems))
    write_results_json(out, book)
    csv_export.write_grades_csv(book, out / "grades.csv")
    junit.write_junit(book.submissions, out / "junit.xml")
    write_atomic(out / "summary.md", markdown.class_markdown_lines(book))
    write_index(out, book)
    return book

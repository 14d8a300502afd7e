"""Every output of an output folder, derived from the results model.

`grade` and `rescore` both write through here, so every output comes from the same records:
per submission as soon as it is graded (`write_submission_outputs`), per class at the end
(`write_class_outputs`, rebuilt from every details file in the folder).
"""

from __future__ import annotations

from pathlib import Path

from grader.outcome import Gradebook, SubmissionOutcome
from grader.results import gradebook, stored, write_details, write_results_json
from grader.rubric.model import Rubric


def write_submission_outputs(out: Path, outcome: SubmissionOutcome) -> None:
    """The submission's record (first: it is what resume and rescore read), then its pages."""
    write_details(out, outcome)


def write_class_outputs(out: Path, rubric: Rubric, problems: list[str] | None = None) -> Gradebook:
    """results.json (and the class reports) from every submission graded in `out`."""
    book = gradebook(rubric, [o.summary() for _, o in stored(out, problems) if o.rubric == rubric.id])
    write_results_json(out, book)
    return book

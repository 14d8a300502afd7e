"""The class-level outputs of an output folder, rebuilt from its details files.

`grade` and `rescore` both end here, so every output is always derived from the same records.
"""

from __future__ import annotations

from pathlib import Path

from grader.outcome import Gradebook
from grader.results import gradebook, stored, write_results_json
from grader.rubric.model import Rubric


def write_class_outputs(out: Path, rubric: Rubric, problems: list[str] | None = None) -> Gradebook:
    """results.json (and the class reports) from every submission graded in `out`."""
    book = gradebook(rubric, [o.summary() for _, o in stored(out, problems) if o.rubric == rubric.id])
    write_results_json(out, book)
    return book

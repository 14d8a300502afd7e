"""Writing the pages of a batch into the output folder, safely.

Layout (relative to the output folder):

    index.html                                   the class overview
    report/<slug>.html                           a submission's page for its student
    report/<slug>.ta.html                        the same submission for the TA
    report/trace/<slug>/<question>-<attempt>-<variant>.json   Chrome trace of one run (TA)

and the TA page links `details/<slug>.json` (the raw details, written by the batch). `slug` is
`page_slug(submission id)`, the same stem as the details file (`grader.results.file_stem`): a safe
file name, with a short hash of the id when making it safe changed it, so `sec1/hw.ipynb` and
`sec1_hw.ipynb` never share a page.

Every file is written atomically (a temporary file in the same folder, then a rename), and
nothing follows a symlink found inside the output folder: folders are opened with O_NOFOLLOW one
level at a time, files are created with O_EXCL|O_NOFOLLOW, and the rename replaces a planted link
instead of writing through it. (`grader.render.safe.write_file`, the one writer of every output.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render.chrome_trace import chrome_trace
from grader.render.html import Links, render_submission
from grader.render.overview import index_pieces
from grader.render.safe import write_file
from grader.results import file_stem, safe_name

REPORT_DIR = "report"
TRACE_DIR = "trace"
INDEX = "index.html"


def page_slug(submission_id: str) -> str:
    """The file name stem of a submission's pages: the same as its details file's."""
    return file_stem(submission_id)


def page_paths(submission_id: str) -> tuple[str, str]:
    """The (student, TA) pages of a submission, relative to the output folder."""
    slug = page_slug(submission_id)
    return f"{REPORT_DIR}/{slug}.html", f"{REPORT_DIR}/{slug}.ta.html"


def _trace_file(question: str, attempt: int, variant: str) -> str:
    return f"{safe_name(question)}-{attempt}-{safe_name(variant)}.json"


def write_submission_pages(out_dir: Path, outcome: SubmissionOutcome, *, rubric_title: str = "",
                           details: str | None = None) -> list[Path]:
    """Write a submission's student page, TA page and its runs' Chrome traces; returns the paths written.

    `details` is the raw details file relative to the output folder (default `details/<slug>.json`).
    """
    slug = page_slug(outcome.id)
    student, ta = page_paths(outcome.id)
    written: list[Path] = []
    traces: dict[tuple[str, int, str], str] = {}
    for q in outcome.questions:
        for a in q.attempts:
            for variant, trace in a.runs.items():
                name = _trace_file(q.id, a.number, variant)
                data = chrome_trace(trace, title=f"{outcome.id} {q.id} attempt {a.number} ({variant})")
                written.append(write_file(out_dir, f"{REPORT_DIR}/{TRACE_DIR}/{slug}/{name}",
                                            json.dumps(data, allow_nan=False)))
                traces[(q.id, a.number, variant)] = f"{TRACE_DIR}/{slug}/{name}"
    links = Links(details=f"../{details or f'details/{slug}.json'}", traces=traces,
                  student=student.rsplit("/", 1)[-1], ta=ta.rsplit("/", 1)[-1], index=f"../{INDEX}")
    written.append(write_file(out_dir, student, render_submission(outcome, "student", title=rubric_title)))
    written.append(write_file(out_dir, ta, render_submission(outcome, "ta", links=links, title=rubric_title)))
    return written


def write_index(out_dir: Path, gradebook: Gradebook) -> Path:
    """Write `index.html`, the class overview, linking every submission's pages."""
    return write_file(out_dir, INDEX, index_pieces(gradebook, lambda sub: page_paths(sub.id)))


def write_reports(out_dir: Path, gradebook: Gradebook, outcomes: Iterable[SubmissionOutcome]) -> list[Path]:
    """Every submission's pages (outcomes in full form, one at a time), then the overview."""
    written: list[Path] = []
    for outcome in outcomes:
        written += write_submission_pages(out_dir, outcome, rubric_title=gradebook.title)
    written.append(write_index(out_dir, gradebook))
    return written

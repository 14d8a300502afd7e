"""Gradescope: a submission as the `results.json` that Gradescope's autograder harness uploads.

Follows Gradescope's published autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"): a top-level
`score`, `execution_time`, `output`, `visibility`, `stdout_visibility`, and `tests`, each with
`name`, `number`, `score`, `max_score`, `status`, `output`, `tags`, `visibility`.

- One test per rubric check, named `Q6 · One number per process`, numbered `<n>.1`, `<n>.2`... for
  the rubric's n-th question, tagged with the question id and the check's type. Its output is the check's message
  (for the student); evidence and review notes, which are for the TA, are not written.
- The top-level `score` is the grade: it is the model's total, so a TA's override of a question
  counts even though the checks' own scores do not add up to it (the spec: a top-level score
  "overrides total of tests").
- Hidden checks get `visibility: "hidden"`: Gradescope "never shows" such a test to students, the
  instructors see it. A rubric's `hidden` means the student never learns what the check tests
  (the student view drops it for good, not until some date), which `after_published` and
  `after_due_date` would break once grades are published. Nothing about a hidden check reaches a
  visible field: the top-level output is built from the student view, and hidden tests are
  numbered after the visible ones of their question, so the visible numbering has no gaps; a
  visible check skipped because it requires a hidden one does not name it ("a hidden check").
  Their points still count in the top-level score, as in every view of the model.
- Every output is declared `text`, so a student's `<script>` in a message is shown, not rendered.
- A submission that could not be graded gets score 0, no tests, and an output that says why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from grader.outcome import CheckOutcome, QuestionOutcome, SubmissionOutcome, redact
from grader.render.csv_export import number
from grader.render.safe import printable, write_atomic

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
HiddenVisibility = Literal["hidden", "after_due_date", "after_published"]

_STATUS_WORD = {"error": "could not be checked", "timeout": "timed out", "skipped": "not checked"}


def _test(question: QuestionOutcome, check: CheckOutcome, number_: str, visibility: Visibility,
          secret: frozenset[str]) -> dict[str, Any]:
    output = printable(check.message if check.hidden else redact(check.message, secret), newlines=True)
    if check.status in _STATUS_WORD:
        output = f"({_STATUS_WORD[check.status]}) {output}"
    return {
        "name": f"{question.id} · {check.title}",
        "name_format": "text",
        "number": number_,
        "score": check.score,
        "max_score": check.max_score,
        # Gradescope infers a status from score == max_score when none is given; a check that
        # passed with partial credit (a written answer covering some ideas) is still a pass.
        "status": "passed" if check.status == "passed" else "failed",
        "output": output,
        "output_format": "text",
        "tags": [question.id, check.type] if check.type else [question.id],
        "visibility": visibility,
    }


def _overview(student: SubmissionOutcome) -> str:
    lines = [f"Score: {number(student.score)} / {number(student.max_score)}"]
    for q in student.questions:
        line = f"{q.id}: {number(q.score)} / {number(q.max_score)}"
        if not q.answered:
            line += " (no answer found)"
        if q.override is not None and q.override.score is not None:
            line += " (score set by a TA" + (f": {printable(q.override.comment)})" if q.override.comment else ")")
        lines.append(line)
    return "\n".join(lines)


def results_json(outcome: SubmissionOutcome, *, visibility: Visibility = "visible",
                 hidden_visibility: HiddenVisibility = "hidden") -> dict[str, Any]:
    """The results.json object for one submission.

    `visibility` is the result's and its visible tests' (a test's own visibility wins over the
    top-level one on Gradescope, so both are set); `hidden_visibility` is the hidden checks'.
    """
    seconds = math.ceil(outcome.seconds) if math.isfinite(outcome.seconds) else 0
    base: dict[str, Any] = {"execution_time": seconds, "visibility": visibility,
                            "stdout_visibility": "hidden", "output_format": "text",
                            "test_output_format": "text", "test_name_format": "text"}
    if outcome.error is not None:
        return base | {"score": 0.0, "tests": [],
                       "output": "This submission could not be graded: " + printable(outcome.error, newlines=True)}
    tests: list[dict[str, Any]] = []
    secret = outcome.hidden_ids()
    for index, question in enumerate(outcome.questions, start=1):
        shown = [c for c in question.checks if not c.hidden]
        hidden = [c for c in question.checks if c.hidden]
        for n, check in enumerate(shown + hidden, start=1):
            shown_when: Visibility = hidden_visibility if check.hidden else visibility
            tests.append(_test(question, check, f"{index}.{n}", shown_when, secret))
    return base | {"score": outcome.score, "tests": tests, "output": _overview(outcome.student_view())}


def results_text(outcome: SubmissionOutcome, **options: Any) -> str:
    return json.dumps(results_json(outcome, **options), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_results_json(outcome: SubmissionOutcome, path: Path, *, visibility: Visibility = "visible",
                       hidden_visibility: HiddenVisibility = "hidden") -> None:
    """Write one submission's results.json to `path` (for the harness: /autograder/results/results.json)."""
    write_atomic(path, results_text(outcome, visibility=visibility, hidden_visibility=hidden_visibility))

"""JUnit XML: a batch as test results that CI servers (GitLab, Jenkins, GitHub test reporters) show.

- One `<testsuite>` per submission, named by its id: a CI viewer then groups the results the way
  a TA reads them, one student at a time, and each suite's counts say how that submission did.
  (A suite per question would split one student over several suites and make no count answer a
  question a TA asks.) The suite's properties carry the score, the maximum, the rubric and
  whether a TA must review it.
- One `<testcase>` per rubric check: name the check id, classname `<submission id>::<question id>`
  (ids hold dots and slashes, so pytest's `::` separates them, as Python CI viewers expect).
- Status: a failed check is a `<failure>` with its message; a timeout is a `<failure
  type="timeout">` too (the student's program ran out of time: the submission's fault, not the
  grader's); `error` (the check could not judge) is an `<error>`; `skipped` is `<skipped>`. A
  passed check is a pass even with partial credit; every testcase's `<system-out>` gives its
  points and, for the TA, why it needs review.
- Hidden checks are included: this file is a TA's and CI's artefact, never a student's (the
  student-facing outputs are the student page, Gradescope's visible tests and the student
  Markdown). Their `<system-out>` says "hidden", so a TA knows not to paste them to a student.
- A submission that could not be graded is one testcase, `grading`, with an `<error>` saying why.

Student text is passed through `printable`: XML 1.0 cannot hold most control characters, and a
raw `\\x1b` would make the whole file unreadable to every parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from grader.outcome import CheckOutcome, SubmissionOutcome
from grader.render.csv_export import number
from grader.render.safe import printable, write_atomic

if TYPE_CHECKING:
    from junitparser import TestCase, TestSuite


def _case(outcome: SubmissionOutcome, qid: str, check: CheckOutcome) -> TestCase:
    from junitparser import Error, Failure, Skipped, TestCase

    case = TestCase(printable(check.id), f"{printable(outcome.id)}::{qid}")
    message = printable(check.message, newlines=True)
    if check.status == "failed":
        case.result = [Failure(message, "failed")]
    elif check.status == "timeout":
        case.result = [Failure(message, "timeout")]
    elif check.status == "error":
        case.result = [Error(message, "error")]
    elif check.status == "skipped":
        case.result = [Skipped(message)]
    notes = [f"{number(check.score)} / {number(check.max_score)} points", message]
    if check.hidden:
        notes.append("hidden: students never see this check")
    if check.needs_review:
        notes.append("needs review: " + printable(check.review_reason or "", newlines=True))
    case.system_out = "\n".join(notes)
    return case


def suite(outcome: SubmissionOutcome) -> TestSuite:
    from junitparser import Error, TestCase, TestSuite

    result = TestSuite(printable(outcome.id))
    result.add_property("score", number(outcome.score) if outcome.error is None else "")
    result.add_property("max_score", number(outcome.max_score))
    result.add_property("rubric", outcome.rubric)
    result.add_property("needs_review", "yes" if outcome.needs_review else "no")
    cases = []
    if outcome.error is not None:
        case = TestCase("grading", printable(outcome.id))
        case.result = [Error("could not be graded: " + printable(outcome.error, newlines=True), "error")]
        cases.append(case)
    cases += [_case(outcome, question.id, check) for question in outcome.questions for check in question.checks]
    # counted once: junitparser's add_testcase recounts every case of the suite at each one (quadratic, about
    # 40 % of the class outputs' CPU with bench/vs_nbgrader.py's ten notebooks of 30 checks each)
    result.add_testcases(cases)
    result.time = round(outcome.seconds, 3)
    return result


def counts(outcome: SubmissionOutcome) -> tuple[int, int, int, int]:
    """(tests, failures, errors, skipped) of the submission's suite, as junitparser counts them,
    without building it."""
    statuses = [check.status for question in outcome.questions for check in question.checks]
    graded = outcome.error is None
    return (len(statuses) + (not graded), statuses.count("failed") + statuses.count("timeout"),
            statuses.count("error") + (not graded), statuses.count("skipped"))


def junit_pieces(outcomes: Iterable[SubmissionOutcome]) -> Iterator[bytes]:
    """The file a suite at a time: `outcomes` is read twice (the counts on `<testsuites>` come
    first, counted without building the suites), and only one suite is ever built, so a class of
    any size costs the same memory."""
    from xml.etree import ElementTree

    from junitparser import JUnitXml

    tests = failures = errors = skipped = 0
    seconds = 0.0
    for outcome in outcomes:
        each = counts(outcome)
        tests, failures, errors, skipped = tests + each[0], failures + each[1], errors + each[2], skipped + each[3]
        seconds += round(outcome.seconds, 3)
    root = JUnitXml("grader")
    root.tests, root.failures, root.errors, root.skipped = tests, failures, errors, skipped
    root.time = round(seconds, 3)
    # `<testsuites ...></testsuites>` with nothing inside: the suites go between its two tags.
    empty = ElementTree.tostring(root._elem, encoding="utf-8", short_empty_elements=False)
    opening, closing = empty[:empty.index(b">") + 1], empty[empty.index(b">") + 1:]
    yield b'<?xml version="1.0" encoding="utf-8"?>\n' + opening
    for outcome in outcomes:
        yield ElementTree.tostring(suite(outcome)._elem, encoding="utf-8")
    yield closing


def junit_xml(outcomes: Iterable[SubmissionOutcome]) -> bytes:
    """The whole file: `<testsuites>` with one suite per submission."""
    return b"".join(junit_pieces(outcomes))


def write_junit(outcomes: Iterable[SubmissionOutcome], path: Path) -> None:
    write_atomic(path, junit_pieces(outcomes))

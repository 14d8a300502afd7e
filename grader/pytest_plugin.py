"""A pytest plugin for course CI: `pytest --grade SUBMISSION [--grade-rubric R]`.

Each rubric check becomes one test item, `<submission>::Q6::concurrent`, so CI gets a pass,
fail or skip per check, readable failure messages (the check's message for the student), and
pytest's own reports (`--junitxml`, `-k Q6`, `-rA`). The submission is graded once, when its first
item runs, through the same pipeline as `grader grade`; items show the student view (a hidden
check is no item; its points still count in the score printed at the end).

    passed                     passed (partial credit too, as in the check's verdict and on Gradescope)
    failed, error, timeout     failed ("failed, 0 / 4 points: <the check's message>")
    skipped                    skipped (its `requires` did not pass, or nothing to check)

Inert unless asked: registered through the `pytest11` entry point, it only adds its options;
without `--grade` it collects nothing and imports nothing of the grader.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from grader.outcome import SubmissionOutcome
    from grader.rubric.model import Rubric


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading submissions with the grader's rubric checks")
    group.addoption("--grade", action="append", default=[], metavar="SUBMISSION",
                    help="grade this submission (file or student folder): one test per rubric check (repeatable)")
    group.addoption("--grade-rubric", metavar="RUBRIC", default=None,
                    help="the rubric for --grade: a file, or the name of one that ships (default: multiprocessing)")


_COLLECTORS = pytest.StashKey[list["GradedSubmission"]]()


class CheckFailed(Exception):
    """A rubric check that did not pass; its message is the student's."""


class GradedSubmission(pytest.Collector):
    """One submission: its items are the rubric's visible checks; it is graded when first needed."""

    def __init__(self, *, submission: str, rubric: Rubric, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.submission = submission
        self.rubric = rubric
        self._outcome: SubmissionOutcome | None = None

    def outcome(self) -> SubmissionOutcome:
        if self._outcome is None:
            from grader.grade import grade_submission, outcome_of

            result = grade_submission(self.submission, self.rubric)
            self._outcome = outcome_of(result, self.rubric).student_view()
        return self._outcome

    def collect(self) -> Iterator[CheckItem]:
        for question in self.rubric.questions:
            for check in question.checks:
                if not check.hidden:
                    yield CheckItem.from_parent(self, name=f"{question.id}::{check.id}", question=question.id,
                                                check=check.id)


class CheckItem(pytest.Item):
    def __init__(self, *, question: str, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.check = check
        self.add_marker(pytest.mark.grader)

    def runtest(self) -> None:
        from grader.render.csv_export import number
        from grader.render.safe import printable

        parent = self.parent
        assert isinstance(parent, GradedSubmission)
        outcome = parent.outcome()
        if outcome.error is not None:
            raise CheckFailed(f"{outcome.id} could not be graded: {printable(outcome.error)}")
        question = outcome.question(self.question)
        found = next((c for c in question.checks if c.id == self.check), None) if question is not None else None
        if found is None:  # cannot happen for a rubric the submission was graded with; say so if it does
            raise CheckFailed(f"{self.question}.{self.check}: no verdict for this check")
        message = printable(found.message, newlines=True)
        if found.status == "skipped":
            pytest.skip(message)
        if found.status == "passed":  # partial credit (a written answer covering some ideas) is still a pass
            return
        raise CheckFailed(f"{found.status}, {number(found.score)} / {number(found.max_score)} points: {message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.question}.{self.check} {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        parent = self.parent
        assert isinstance(parent, GradedSubmission)
        return Path(parent.submission), None, f"{parent.submission}: {self.question}.{self.check}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "grader: a rubric check of a submission graded with --grade")


@pytest.hookimpl(tryfirst=True)  # before -k and -m select among the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    submissions: list[str] = config.getoption("grade") or []
    if not submissions:
        return
    from grader.cli.common import rubric_arg
    from grader.rubric.cache import load_rubric_cached
    from grader.rubric.load import ensure_gradable

    collectors = config.stash.setdefault(_COLLECTORS, [])
    rubric = load_rubric_cached(rubric_arg(config.getoption("grade_rubric")))
    ensure_gradable(rubric)
    for submission in submissions:
        if not Path(submission).exists():
            raise pytest.UsageError(f"--grade {submission}: no such file or folder")
        collector = GradedSubmission.from_parent(session, name=submission, nodeid=submission,
                                                 path=Path(submission).resolve(), submission=submission, rubric=rubric)
        collectors.append(collector)
        items.extend(collector.collect())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Each graded submission's score (hidden checks included, as in every view of the grade)."""
    from grader.render.csv_export import number

    for collector in config.stash.get(_COLLECTORS, []):
        o = collector._outcome
        if o is not None:
            terminalreporter.write_line(f"grade: {collector.submission}: {number(o.score)} / {number(o.max_score)}")

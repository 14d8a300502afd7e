"""Hand-built outcomes for the exports' and the terminal's fast tests: every status, a hidden check,
an override, a review, a submission that could not be graded, and hostile student text."""

from __future__ import annotations

from grader.checks.verdict import Verdict
from grader.outcome import CheckOutcome, Gradebook, QuestionInfo, QuestionOutcome, SubmissionOutcome
from grader.rubric.overrides import Override

FORMULA = "=cmd|' /C calc'!A0"
ANSI = "\x1b[31m"
SECRET_ID = "secret_probe"
SECRET_MESSAGE = "The hidden probe saw 17 workers"
REVIEW_REASON = "uses other words than the key ideas"


def check(id: str, verdict: Verdict, points: float, *, hidden: bool = False, type: str = "runs") -> CheckOutcome:
    return CheckOutcome.of(verdict.stamped(id, points), type=type, hidden=hidden)


def questions(prefix: str = "") -> tuple[QuestionOutcome, ...]:
    q1 = QuestionOutcome("Q1", "What is it?", "written", 10, True, (
        check("answered", Verdict.passed("Answered."), 2, type="answered"),
        check("concepts", Verdict.failed("Other words <script>alert(1)</script> | `rm -rf`",
                                         review=REVIEW_REASON), 8, type="concepts"),
    ))
    q6 = QuestionOutcome("Q6", "Four processes", "code", 20, True, (
        check("runs", Verdict.timeout(f"{prefix}Your program ran past 10 s: {ANSI}red"), 4),
        check("four_processes", Verdict.partial(0.5, "Two of four processes.", passed=False), 6),
        check("concurrent", Verdict.skipped("Not checked: four_processes did not pass."), 3),
        check("distinct", Verdict.error("Could not read the output."), 3),
        check(SECRET_ID, Verdict.failed(SECRET_MESSAGE), 4, hidden=True),
    ))
    return q1, q6


def graded(id: str = "sec1/hw.ipynb", *, prefix: str = "") -> SubmissionOutcome:
    """Q1: 2/10 (a review asked), Q6: 3/20 (timeout, partial, skipped, error, a failed hidden check)."""
    return SubmissionOutcome(id, f"/class/{id}", "mp", 30, questions(prefix), format="ipynb", seconds=3.2,
                             limits_hit=("wall",))


def overridden(id: str = "sec2/hw.ipynb") -> SubmissionOutcome:
    """Every check of Q6 passes, hidden one included; a TA set Q1 to 7."""
    q1, _ = questions()
    q6 = QuestionOutcome("Q6", "Four processes", "code", 20, True, (
        check("runs", Verdict.passed("Ran."), 4),
        check("four_processes", Verdict.passed("Four processes."), 6),
        check("concurrent", Verdict.passed("At the same time."), 3),
        check("distinct", Verdict.passed("Distinct."), 3),
        check(SECRET_ID, Verdict.passed(SECRET_MESSAGE), 4, hidden=True),
    ))
    return SubmissionOutcome(id, f"/class/{id}", "mp", 30, (q1, q6), seconds=1.0).with_overrides(
        {"Q1": Override(score=7, comment="Fine | said <b>differently</b>")})


def broken(id: str = FORMULA) -> SubmissionOutcome:
    """A submission that could not be graded, with a hostile name and error."""
    return SubmissionOutcome(id, f"/class/{id}", "mp", 30, (), error=f"@SUM(1+1) cannot read {ANSI}\u202eexe.txt")


def book(*submissions: SubmissionOutcome) -> Gradebook:
    infos = tuple(QuestionInfo(q.id, q.title, q.type, q.max_score, tuple((c.id, c.hidden) for c in q.checks))
                  for q in questions())
    return Gradebook("mp", "Multiprocessing", 1, 30, infos,
                     submissions or (graded(), overridden(), broken()))

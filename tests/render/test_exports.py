"""The exports: grades.csv, Gradescope's results.json, JUnit XML and the CI Markdown.

Fast tests on hand-built outcomes (every status, a hidden check, hostile student text), then one
slow test per format on really graded examples.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.checks.verdict import Verdict
from grader.outcome import Gradebook, QuestionInfo, QuestionOutcome, SubmissionOutcome, redact
from grader.render import csv_export, gradescope, junit, markdown
from grader.render.safe import printable, write_atomic
from tests.conftest import RUBRIC, example
from tests.render.sample_outcomes import (
    FORMULA,
    REVIEW_REASON,
    SECRET_ID,
    SECRET_MESSAGE,
    book,
    broken,
    check,
    graded,
    overridden,
)

# ---- safe.py -------------------------------------------------------------------------------------


def test_printable_shows_controls_escapes_and_bidi_as_escapes() -> None:
    hostile = "a\x1b[31mred\x9b2J\u202eevil\u2066x\u2069\x00\r\nend\x7f"
    shown = printable(hostile)
    assert shown == "a\\x1b[31mred\\x9b2J\\u202eevil\\u2066x\\u2069\\x00\\x0d\\x0aend\\x7f"
    assert shown.isprintable()
    assert printable("line one\n\tline two", newlines=True) == "line one\n\tline two"
    assert printable("née 学生 — ok") == "née 学生 — ok"
    assert printable("bad \udcff byte") == "bad \\udcff byte"  # a file name's undecodable byte


def test_write_atomic_replaces_a_planted_symlink_without_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").symlink_to(victim)
    write_atomic(out / "grades.csv", "a,b\n")
    assert victim.read_text() == "precious"
    assert not (out / "grades.csv").is_symlink() and (out / "grades.csv").read_text() == "a,b\n"
    assert sorted(p.name for p in out.iterdir()) == ["grades.csv"]  # no temporary file left


def test_redact_replaces_whole_ids_only() -> None:
    text = "requires secret_probe failed, not secret_probe_2 nor my-secret_probe; secret_probe."
    assert redact(text, ["secret_probe"]) == \
        "requires a hidden check failed, not secret_probe_2 nor my-secret_probe; a hidden check."
    assert redact(text, []) == text


def requiring_a_hidden_check() -> SubmissionOutcome:
    """A visible check skipped because the hidden one it requires failed: its message names it."""
    q6 = QuestionOutcome("Q6", "Four processes", "code", 10, True, (
        check(SECRET_ID, Verdict.failed(SECRET_MESSAGE), 4, hidden=True),
        check("after", Verdict.skipped(f"Not checked, because it requires {SECRET_ID} failed."), 6),
    ))
    return SubmissionOutcome("s.ipynb", "/s.ipynb", "mp", 10, (q6,))


def test_no_student_output_names_a_hidden_check_through_a_visible_one() -> None:
    outcome = requiring_a_hidden_check()
    shown = visible_text(gradescope.results_json(outcome))
    assert SECRET_ID not in shown and "Not checked, because it requires a hidden check failed." in shown
    student = markdown.submission_markdown(outcome)
    assert "secret" not in student and "requires a hidden check failed" in student


# ---- grades.csv -----------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_a_header_and_one_row_per_submission() -> None:
    rows = read_csv(csv_export.grades_csv(book()))
    assert list(rows[0]) == ["submission", "score", "max_score", "Q1", "Q6", "needs_review", "error"]
    assert [r["submission"] for r in rows] == ["sec1/hw.ipynb", "sec2/hw.ipynb", "'" + FORMULA]
    first, second, third = rows
    assert (first["score"], first["max_score"], first["Q1"], first["Q6"]) == ("5", "30", "2", "3")
    assert first["needs_review"] == "yes" and first["error"] == ""
    assert (second["score"], second["Q1"], second["needs_review"]) == ("27", "7", "no")  # the TA's override
    # Not graded: blank scores (an import leaves the grade for the TA), and why.
    assert (third["score"], third["Q1"], third["Q6"]) == ("", "", "")
    assert third["error"].startswith("'@SUM(1+1) cannot read \\x1b[31m\\u202eexe.txt")


@pytest.mark.parametrize("text", [FORMULA, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_neutralises_formulas_in_student_text(text: str) -> None:
    rows = read_csv(csv_export.grades_csv(book(broken(text), replace(graded(), id=text + "x"))))
    for row in rows:
        for cell in (row["submission"], row["error"]):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_csv_numbers_read_as_numbers() -> None:
    assert [csv_export.number(x) for x in (12.5, 20.0, 0.333, 0.0, -0.0, 7)] == ["12.5", "20", "0.33", "0", "0",
                                                                                 "7"]
    for row in read_csv(csv_export.grades_csv(book(graded(), overridden()))):
        for key in ("score", "max_score", "Q1", "Q6"):
            float(row[key])


# ---- Gradescope -----------------------------------------------------------------------------------

# Gradescope's autograder specification, "Output format":
# https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format
# field -> (JSON types allowed, allowed values or None). Every field is optional in the spec.
FORMATS = ("text", "html", "simple_format", "md", "ansi")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
SPEC_TOP: dict[str, tuple[tuple[type, ...], tuple[str, ...] | None]] = {
    "score": ((int, float), None),
    "execution_time": ((int, float), None),  # seconds
    "output": ((str,), None),
    "output_format": ((str,), FORMATS),
    "test_output_format": ((str,), FORMATS),
    "test_name_format": ((str,), FORMATS),
    "visibility": ((str,), VISIBILITIES),
    "stdout_visibility": ((str,), VISIBILITIES),
    "extra_data": ((dict,), None),
    "tests": ((list,), None),
    "leaderboard": ((list,), None),
}
SPEC_TEST: dict[str, tuple[tuple[type, ...], tuple[str, ...] | None]] = {
    "score": ((int, float), None),
    "max_score": ((int, float), None),
    "status": ((str,), ("passed", "failed")),  # "Test case status"
    "name": ((str,), None),
    "name_format": ((str,), FORMATS),
    "number": ((str,), None),  # e.g. "1.1"
    "output": ((str,), None),
    "output_format": ((str,), FORMATS),
    "tags": ((list,), None),  # of strings
    "visibility": ((str,), VISIBILITIES),
    "extra_data": ((dict,), None),
}


def validate(data: dict[str, Any]) -> None:
    """Every field Gradescope's spec names, with its type and allowed values; nothing else."""

    def fields(obj: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], tuple[str, ...] | None]]) -> None:
        for key, value in obj.items():
            assert key in spec, f"{key!r} is not in Gradescope's specification"
            types, allowed = spec[key]
            assert isinstance(value, types) and not isinstance(value, bool), (key, value)
            if allowed is not None:
                assert value in allowed, (key, value)

    fields(data, SPEC_TOP)
    assert "score" in data or all("score" in t for t in data.get("tests", []))  # "required if not on each test"
    for test in data.get("tests", []):
        fields(test, SPEC_TEST)
        assert all(isinstance(tag, str) for tag in test.get("tags", []))
    json.loads(json.dumps(data, allow_nan=False))


def visible_text(data: dict[str, Any]) -> str:
    """Everything of a results.json that a student can see."""
    shown = [t for t in data["tests"] if t["visibility"] != "hidden"]
    return json.dumps({k: v for k, v in data.items() if k != "tests"} | {"tests": shown})


def test_gradescope_follows_the_published_spec() -> None:
    for outcome in (graded(), overridden(), broken()):
        validate(gradescope.results_json(outcome))
        validate(json.loads(gradescope.results_text(outcome)))


def test_gradescope_has_one_test_per_check_with_its_status_and_points() -> None:
    data = gradescope.results_json(graded())
    assert data["score"] == 5.0
    tests = {t["name"]: t for t in data["tests"]}
    assert len(tests) == 7
    assert (tests["Q1 · Answered"]["score"], tests["Q1 · Answered"]["status"]) == (2.0, "passed")
    runs = tests["Q6 · Runs"]
    assert (runs["score"], runs["max_score"], runs["status"]) == (0.0, 4.0, "failed")
    assert runs["output"].startswith("(timed out) Your program ran past 10 s: \\x1b[31m")
    assert tests["Q6 · Four processes"]["score"] == 3.0  # partial credit
    assert [t["number"] for t in data["tests"]] == ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"]
    assert REVIEW_REASON not in json.dumps(data)  # review notes are the TA's


def test_gradescope_hidden_checks_are_hidden_and_leak_nowhere_visible() -> None:
    for outcome in (graded(), overridden()):
        data = gradescope.results_json(outcome)
        hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
        assert len(hidden) == 1 and SECRET_MESSAGE in hidden[0]["output"]  # the TA sees it on Gradescope
        assert hidden[0]["number"] == "2.5"  # after the visible ones: no gap in the visible numbering
        shown = visible_text(data)
        assert SECRET_ID not in shown and "Secret probe" not in shown and SECRET_MESSAGE not in shown
    # The hidden check's points count in the grade all the same.
    assert gradescope.results_json(overridden())["score"] == 27


def test_gradescope_visibility_of_the_result_and_of_hidden_checks() -> None:
    data = gradescope.results_json(graded(), visibility="after_due_date", hidden_visibility="after_published")
    validate(data)
    assert data["visibility"] == "after_due_date"
    assert {t["name"]: t["visibility"] for t in data["tests"] if "Secret" in t["name"]} == \
        {"Q6 · Secret probe": "after_published"}
    assert {t["visibility"] for t in data["tests"] if "Secret" not in t["name"]} == {"after_due_date"}


def test_gradescope_top_level_score_carries_a_ta_override() -> None:
    data = gradescope.results_json(overridden())
    assert data["score"] == 27
    assert "Q1: 7 / 10 (score set by a TA: Fine | said <b>differently</b>)" in data["output"]
    assert data["output_format"] == data["test_output_format"] == "text"  # student <b> shown, not rendered


def test_gradescope_a_submission_not_graded_scores_zero_and_says_why(tmp_path: Path) -> None:
    data = gradescope.results_json(broken())
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"] == "This submission could not be graded: @SUM(1+1) cannot read \\x1b[31m\\u202eexe.txt"
    gradescope.write_results_json(broken(), tmp_path / "results.json")
    assert json.loads((tmp_path / "results.json").read_text()) == data


# ---- JUnit ------------------------------------------------------------------------------------------


def test_junit_reads_back_with_the_right_counts(tmp_path: Path) -> None:
    from junitparser import Error, Failure, JUnitXml, Skipped

    path = tmp_path / "junit.xml"
    junit.write_junit(book().submissions, path)
    xml = JUnitXml.fromfile(str(path))
    # graded: 7 checks (1 failed + timeout + partial failed + hidden failed, 1 error, 1 skipped);
    # overridden: 7 checks, only Q1's concepts fails; broken: one error case.
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (15, 5, 2, 1)
    suites = {s.name: s for s in xml}
    assert list(suites) == ["sec1/hw.ipynb", "sec2/hw.ipynb", printable(FORMULA)]
    first = suites["sec1/hw.ipynb"]
    assert (first.tests, first.failures, first.errors, first.skipped) == (7, 4, 1, 1)
    props = {p.name: p.value for p in first.properties()}
    assert props == {"score": "5", "max_score": "30", "rubric": "mp", "needs_review": "yes"}
    cases = {(c.classname, c.name): c for c in first}
    runs = cases[("sec1/hw.ipynb::Q6", "runs")]
    (result,) = runs.result
    assert isinstance(result, Failure) and result.type == "timeout"
    assert result.message == "Your program ran past 10 s: \\x1b[31mred"  # no raw ESC: XML stays readable
    assert isinstance(cases[("sec1/hw.ipynb::Q6", "distinct")].result[0], Error)
    assert isinstance(cases[("sec1/hw.ipynb::Q6", "concurrent")].result[0], Skipped)
    assert cases[("sec1/hw.ipynb::Q6", "four_processes")].result[0].message == "Two of four processes."
    secret = cases[("sec1/hw.ipynb::Q6", SECRET_ID)]
    assert secret.result[0].message == SECRET_MESSAGE and "hidden" in secret.system_out  # the TA's file
    assert REVIEW_REASON in cases[("sec1/hw.ipynb::Q1", "concepts")].system_out
    (not_graded,) = list(suites[printable(FORMULA)])
    assert isinstance(not_graded.result[0], Error) and "could not be graded" in not_graded.result[0].message


def test_junit_counts_each_suite_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A suite's counts are made once, not again at each of its cases (junitparser's add_testcase
    recounts the whole suite: quadratic in the checks of a submission); the counts stay right."""
    from junitparser import TestSuite

    counted = 0
    count = TestSuite.update_statistics

    def once(self: TestSuite) -> None:
        nonlocal counted
        counted += 1
        count(self)

    monkeypatch.setattr(TestSuite, "update_statistics", once)
    made = junit.suite(graded())
    assert counted == 1 and (made.tests, made.failures, made.errors, made.skipped) == (7, 4, 1, 1)


def test_junit_builds_each_suite_once_and_counts_as_junitparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The totals on `<testsuites>` are counted from the checks' statuses, not from suites built
    for the purpose and thrown away; they are junitparser's counts of the suites written."""
    for outcome in (graded(), overridden(), broken()):
        made = junit.suite(outcome)
        assert junit.counts(outcome) == (made.tests, made.failures, made.errors, made.skipped)
    built = []
    real = junit.suite
    monkeypatch.setattr(junit, "suite", lambda outcome: built.append(outcome.id) or real(outcome))
    junit.junit_xml(book().submissions)
    assert sorted(built) == sorted(s.id for s in book().submissions)


def test_junit_survives_every_control_character() -> None:
    from junitparser import JUnitXml

    nasty = "".join(chr(c) for c in range(32)) + "\x7f\x9b\ud800\ufffe<&>\"'"
    outcome = graded(id="x" + nasty, prefix=nasty)
    xml = JUnitXml.fromstring(junit.junit_xml([outcome, broken(nasty)]))
    assert xml.tests == 8


# ---- Markdown ---------------------------------------------------------------------------------------


def test_class_markdown_has_the_table_pass_rates_and_what_needs_a_ta() -> None:
    text = markdown.class_markdown(book())
    lines = text.splitlines()
    assert "| Submission | Q1 | Q6 | Total |" in lines
    row = next(line for line in lines if line.startswith("| sec1/hw.ipynb"))
    assert row.count("|") == 5 and "**5** / 30" in row and "🔍" in row
    row = next(line for line in lines if line.startswith("| sec2/hw.ipynb"))
    assert "7 ✍️" in row and "**27** / 30" in row
    hostile = next(line for line in lines if "calc" in line and line.startswith("| "))
    assert hostile.count("|") - hostile.count("\\|") == 5  # the id's pipe cannot add a column
    assert "\\=cmd" not in hostile and "=cmd\\|' /C calc'\\!A0" in hostile
    assert "| Q6 | secret\\_probe (hidden) | 1 / 2 | 50% |" in lines  # the class summary is the TA's
    assert "| Q1 | concepts | 0 / 2 | 0% |" in lines
    assert f"- sec1/hw.ipynb, Q1 (concepts): {REVIEW_REASON}" in lines
    assert any("could not be graded" in line and "\\\\x1b\\[31m\\\\u202eexe" in line for line in lines)
    assert "<script>" not in text and "\x1b" not in text and "\u202e" not in text


def test_class_markdown_can_leave_hidden_checks_out() -> None:
    assert SECRET_ID.replace("_", "\\_") in markdown.class_markdown(book())
    text = markdown.class_markdown(book(), hidden=False)
    assert "secret" not in text and SECRET_MESSAGE not in text
    assert "| Q6 | runs | 1 / 2 | 50% |" in text.splitlines()


def test_markdown_escapes_student_text() -> None:
    assert markdown.md("a|b `c` <script> [x](http://e.com) $m$ @u") == \
        "a\\|b \\`c\\` &lt;script&gt; \\[x\\](http:\\/\\/e.com) \\$m\\$ \\@u"
    assert markdown.md("x" * 1000).endswith("…") and len(markdown.md("x" * 1000)) == markdown.CELL_LIMIT
    assert "\n" not in markdown.md("two\nlines")


def test_student_markdown_is_the_student_view() -> None:
    text = markdown.submission_markdown(graded())
    assert "**Score: 5 / 30**" in text and "| Q6 | 3 / 20 |" in text
    assert "⏱️ **Runs** (0 / 4): Your program ran past 10 s: \\\\x1b\\[31mred" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\`rm -rf\\`" in text
    assert SECRET_ID not in text and "Secret" not in text and SECRET_MESSAGE not in text
    assert REVIEW_REASON not in text
    over = markdown.submission_markdown(overridden())
    assert "Score set by a TA: Fine \\| said &lt;b&gt;differently&lt;/b&gt;" in over
    assert "could not be graded: \\@SUM" in markdown.submission_markdown(broken())


def test_step_summary_is_appended_only_when_github_asks(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    assert markdown.append_step_summary("# one\n", {}) is None and not summary.exists()
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert markdown.append_step_summary("# one\n", env) == summary
    markdown.append_step_summary(markdown.submission_markdown(graded()), env)
    text = summary.read_text()
    assert text.startswith("# one\n## sec1/hw.ipynb") and text.count("**Score") == 1


def test_step_summary_stays_within_githubs_limit(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("x" * 1000 + "\n")
    huge = "".join(f"line {i} é\n" for i in range(200_000))
    markdown.append_step_summary(huge, {"GITHUB_STEP_SUMMARY": str(summary)})
    data = summary.read_bytes()
    assert len(data) <= markdown.GITHUB_SUMMARY_LIMIT
    assert data.decode("utf-8").endswith("(cut: GitHub's step summary holds 1 MiB)\n")
    body = data.decode("utf-8").rsplit("\n… (cut", 1)[0]
    assert body.endswith(" é\n") and body.splitlines()[-1].startswith("line ")  # cut after a whole line


# ---- real graded examples ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Gradebook:
    """Three example submissions really graded, with Q6's `one_number_per_process` made hidden."""
    from grader.grade import grade_submission, outcome_of
    from grader.rubric.load import load_rubric

    rubric = load_rubric(str(RUBRIC))
    questions = tuple(replace(q, checks=tuple(replace(c, hidden=c.id == "one_number_per_process") for c in q.checks))
                      if q.id == "Q6" else q for q in rubric.questions)
    rubric = replace(rubric, questions=questions)
    outcomes = []
    for prefix in ("000", "003"):
        path = example(prefix)
        outcomes.append(outcome_of(grade_submission(str(path), rubric), rubric, submission_id=f"sec1/{path.name}"))
    missing = grade_submission("/nonexistent/hw.ipynb", rubric)
    outcomes.append(outcome_of(missing, rubric, submission_id="sec2/hw.ipynb"))
    infos = tuple(QuestionInfo(q.id, q.text, q.type.value, q.points, tuple((c.id, c.hidden) for c in q.checks))
                  for q in rubric.questions)
    return Gradebook(rubric.id, rubric.title, 1, rubric.max_score, infos, tuple(o.summary() for o in outcomes))


def hidden_failures(book: Gradebook) -> list[SubmissionOutcome]:
    return [s for s in book.submissions for q in s.questions for c in q.checks
            if c.hidden and c.status != "passed"]


@pytest.mark.slow
def test_real_csv(real: Gradebook, tmp_path: Path) -> None:
    csv_export.write_grades_csv(real, tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(real.submissions) == 3
    for row, outcome in zip(rows, real.submissions, strict=True):
        assert row["submission"] == outcome.id
        if outcome.error is None:
            assert float(row["score"]) == outcome.score > 0
            assert sum(float(row[q.id]) for q in real.questions) == pytest.approx(outcome.score)
        else:
            assert row["score"] == "" and row["error"] == printable(outcome.error)


@pytest.mark.slow
def test_real_gradescope(real: Gradebook, tmp_path: Path) -> None:
    assert hidden_failures(real), "the examples should fail the hidden check at least once"
    for outcome in real.submissions:
        path = tmp_path / "results.json"
        gradescope.write_results_json(outcome, path)
        data = json.loads(path.read_text())
        validate(data)
        assert data["score"] == outcome.score
        if outcome.error is None:
            assert len(data["tests"]) == sum(len(q.checks) for q in outcome.questions)
            assert "one_number_per_process" not in visible_text(data)
            assert "One number per process" not in visible_text(data)
            hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
            assert [t["name"] for t in hidden] == ["Q6 · One number per process"]
        else:
            assert data["tests"] == [] and "could not be graded" in data["output"]


@pytest.mark.slow
def test_real_junit(real: Gradebook, tmp_path: Path) -> None:
    from junitparser import JUnitXml

    junit.write_junit(real.submissions, tmp_path / "junit.xml")
    xml = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    checks = [c for s in real.submissions for q in s.questions for c in q.checks]
    errors = sum(c.status == "error" for c in checks) + sum(s.error is not None for s in real.submissions)
    assert xml.tests == len(checks) + 1
    assert xml.failures == sum(c.status in ("failed", "timeout") for c in checks) >= 1
    assert xml.errors == errors >= 1
    assert xml.skipped == sum(c.status == "skipped" for c in checks)
    assert [s.name for s in xml] == [s.id for s in real.submissions]


@pytest.mark.slow
def test_real_markdown(real: Gradebook, tmp_path: Path) -> None:
    text = markdown.class_markdown(real)
    for outcome in real.submissions:
        assert markdown.md(outcome.id) in text
    assert "one\\_number\\_per\\_process (hidden)" in text
    for outcome in real.submissions:
        student = markdown.submission_markdown(outcome)
        assert "one\\_number\\_per\\_process" not in student and "One number per process" not in student
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    markdown.append_step_summary(text, env)
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == text

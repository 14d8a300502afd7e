"""The pytest plugin (`pytest --grade SUBMISSION`): one item per visible rubric check, with the
verdicts `grader grade` gives, JUnit XML through pytest's own --junitxml, and nothing at all
without --grade. Each run is a real pytest in a subprocess (pytester), the plugin loaded through
its `pytest11` entry point."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.grade import grade_submission, outcome_of
from grader.rubric.load import load_rubric
from tests.conftest import ROOT, RUBRIC, example

pytest_plugins = ["pytester"]

WRONG = ROOT / "rubrics" / "multiprocessing" / "wrong"


def junit_statuses(path: Path) -> dict[str, str]:
    statuses = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        qid = case.get("classname", "").rsplit(".", 1)[-1]
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
            elif child.tag == "skipped":
                status = "skipped"
        statuses[f"{qid}.{case.get('name')}"] = status
    return statuses


@pytest.mark.slow
@pytest.mark.parametrize("name", ["q3_no_process.py", "q6_sequential.py", "example 003"])
def test_one_item_per_check_with_grades_verdicts(pytester: pytest.Pytester, name: str) -> None:
    submission = example("003") if name == "example 003" else WRONG / name
    result = pytester.runpytest_subprocess("--grade", str(submission), "--grade-rubric", str(RUBRIC),
                                           "--junitxml", "junit.xml", "-p", "no:cacheprovider")
    rubric = load_rubric(RUBRIC)
    outcome = outcome_of(grade_submission(str(submission), rubric), rubric)
    want = {}
    for q in outcome.questions:
        for c in q.checks:
            want[f"{q.id}.{c.id}"] = c.status if c.status in ("passed", "skipped") else "failed"
    assert len(want) == rubric.n_checks
    counts = {s: list(want.values()).count(s) for s in ("passed", "failed", "skipped")}
    result.assert_outcomes(**counts)
    # each case loses points: a failed check, or (example 003) partial credit on passed ones
    assert counts["failed"] >= 1 or (name == "example 003" and outcome.score < 100)
    assert junit_statuses(pytester.path / "junit.xml") == want
    for key, status in want.items():
        if status == "failed":  # the check's own message is the failure's text
            qid, cid = key.split(".")
            message = next(c.message for c in outcome.question(qid).checks if c.id == cid)  # type: ignore[union-attr]
            result.stdout.fnmatch_lines([f"{key} failed, * points: {message[:60]}*"])
    result.stdout.fnmatch_lines([f"grade: {submission}: {outcome.score:g} / 100"])


def test_inert_without_grade(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_ok():\n    assert True\n")
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    plain.assert_outcomes(passed=1)
    assert "grade:" not in plain.stdout.str()
    helped = pytester.runpytest_subprocess("--help")
    helped.stdout.fnmatch_lines(["*--grade=SUBMISSION*"])  # registered through the entry point
    # the plugin imports nothing of the grader but itself until --grade is given
    pytester.makeconftest("import sys\ndef pytest_sessionfinish():\n"
                          "    mods = sorted(m for m in sys.modules if m.startswith('grader'))\n"
                          "    print('GRADER MODULES', mods)\n")
    shown = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    assert "GRADER MODULES ['grader', 'grader.pytest_plugin']" in shown.stdout.str()


def test_a_missing_submission_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--grade", "nope.ipynb", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--grade nope.ipynb: no such file or folder*"])

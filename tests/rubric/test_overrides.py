"""TA overrides: the file format, its validation against the rubric, and applying it."""

from __future__ import annotations

import textwrap

import pytest

from grader.errors import RubricError
from grader.rubric import load_rubric, parse_overrides, parse_rubric
from grader.rubric.overrides import AnswerRef
from tests.conftest import RUBRIC as DEFAULT_RUBRIC

RUBRIC = parse_rubric(textwrap.dedent("""
    version: 1
    id: demo
    title: Demo
    questions:
      - id: Q1
        text: Write it.
        type: code
        checks: [{id: g, type: main_guard, points: 4}]
      - id: Q2
        text: Explain it.
        type: written
        checks: [{id: a, type: answered, points: 6}]
    """), "demo.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(RubricError) as info:
        parse_overrides(textwrap.dedent(text).lstrip("\n"), "o.yaml", RUBRIC)
    return info.value.problems


def test_valid_overrides() -> None:
    o = parse_overrides(textwrap.dedent("""
        version: 1
        rubric: demo
        submissions:
          alice.ipynb:
            Q1: {score: 3, comment: Creates the process in Q6 instead., by: ta1}
          "bob/":
            Q2: {score: 0, comment: Copied from the web.}
        """), "o.yaml", RUBRIC)
    got = o.get("alice.ipynb", "Q1")
    assert got is not None and (got.score, got.comment, got.by, got.line) == (3, "Creates the process in Q6 instead.",
                                                                             "ta1", 6)
    assert o.get("alice.ipynb", "Q2") is None and o.get("carol", "Q1") is None
    assert o.unused({"alice.ipynb", "bob"}) == ["o.yaml: submissions.bob/: no such submission was graded; "
                                                 "did you mean bob?"]


def test_problems_against_the_rubric() -> None:
    assert problems("""
        version: 1
        rubric: other
        submissions:
          alice.ipynb:
            Q3: {score: 1, comment: x}
            Q1: {score: 5, comment: too much}
            Q2: {score: 1, coment: typo}
        """) == [
        "o.yaml:2: rubric: these overrides are for rubric 'other', not 'demo' (demo.yaml)",
        "o.yaml:5: submissions.alice.ipynb.Q3: no question 'Q3' in rubric 'demo'",
        "o.yaml:6: submissions.alice.ipynb.Q1.score: 5 is more than the question's 4 points",
        "o.yaml:7: submissions.alice.ipynb.Q2.coment: unknown key; did you mean comment?",
        "o.yaml:7: submissions.alice.ipynb.Q2.comment: required key is missing",
    ]


def test_rubric_problems_once_the_file_is_valid() -> None:
    assert problems("""
        version: 1
        submissions:
          alice.ipynb:
            Q3: {score: 1, comment: x}
            Q1: {score: 5, comment: too much}
        """) == [
        "o.yaml:4: submissions.alice.ipynb.Q3: no question 'Q3' in rubric 'demo'",
        "o.yaml:5: submissions.alice.ipynb.Q1.score: 5 is more than the question's 4 points",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "o.yaml:1: empty file; expected overrides"),
    ("version: 1\n", "o.yaml:1: submissions: required key is missing"),
    ("version: 1\nsubmissions: {a: {Q1: {score: -1, comment: x}}}\n",
     "o.yaml:2: submissions.a.Q1.score: must be greater than or equal to 0; got an integer (-1)"),
    ("version: 1\nsubmissions: {a: {Q1: {score: 1, comment: ''}}}\n",
     "o.yaml:2: submissions.a.Q1.comment: must have at least 1 character; got a string ('')"),
])
def test_file_problems(text: str, expected: str) -> None:
    found = problems(text)
    assert found[0].startswith(expected), found


def test_an_answer_location_override() -> None:
    text = ("version: 1\nsubmissions:\n  s.txt:\n    Q6:\n      answer: {lines: [60]}\n"
            "      comment: The last program.\n"
            "  n.ipynb:\n    Q5: {answer: {cells: [12, 13]}, score: 10, comment: Both cells.}\n")
    o = parse_overrides(text, "o.yaml", load_rubric(DEFAULT_RUBRIC))
    assert o.mapping("s.txt") == {"Q6": AnswerRef(lines=(60,))}
    assert o.mapping("n.ipynb")["Q5"].cells == (12, 13)
    assert o.get("s.txt", "Q6").score is None  # type: ignore[union-attr]


def test_an_answer_override_names_a_file_of_a_per_question_folder() -> None:
    text = ("version: 1\nsubmissions:\n  erin:\n    Q5: {answer: {file: pool.py, lines: [3]}, comment: Its Pool.}\n"
            "    Q6: {answer: {file: four.ipynb}, comment: The whole notebook.}\n")
    o = parse_overrides(text, "o.yaml", load_rubric(DEFAULT_RUBRIC))
    assert o.mapping("erin") == {"Q5": AnswerRef(lines=(3,), file="pool.py"), "Q6": AnswerRef(file="four.ipynb")}
    assert o.mapping("erin")["Q5"].to_json() == {"lines": [3], "file": "pool.py"}


def test_an_override_must_say_something() -> None:
    bad = ("version: 1\nsubmissions:\n  s.txt:\n    Q6: {comment: nothing else}\n"
           "  t.txt:\n    Q5: {answer: {cells: [1], lines: [2]}, comment: both}\n")
    with pytest.raises(RubricError) as info:
        parse_overrides(bad, "o.yaml")
    text = "\n".join(info.value.problems)
    assert "o.yaml:4: submissions.s.txt.Q6: give a score, an answer location, or both" in text
    assert "give exactly one of cells or lines" in text

"""Every problem of a rubric, all at once, each one line `file:line: path: message`."""

from __future__ import annotations

import textwrap

import pytest

from grader.errors import RubricError
from grader.rubric import parse_rubric


def problems(text: str) -> list[str]:
    with pytest.raises(RubricError) as info:
        parse_rubric(textwrap.dedent(text).lstrip("\n"), "x.yaml")
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def test_everything_wrong_is_reported_with_its_line() -> None:
    found = problems("""
        version: 1
        id: demo
        title: Demo
        points: 50
        questions:
          - id: Q1
            text: What is it?
            type: writen
            points: 4
            checks:
              - id: answered
                type: answerd
                points: 1
              - id: concepts
                type: concepts
                points: 1
                requires: [answred]
                params:
                  concepts: [{name: a, phrases: [a]}]
                  full_credit: 0.5
              - id: concepts
                type: main_guard
                points: 1
                timout: 3
          - id: Q1
            text: Again
            type: code
            checks:
              - {id: a, type: imports, points: 2, params: {modules: multiprocessing}}
              - {id: b, type: calls, points: 2, requires: [c], params: {calls: [print]}}
              - {id: c, type: calls, points: 2, requires: [b], params: {calls: [print]}}
        """)
    assert found == [
        "x.yaml:4: points: is 50 but the questions add up to 10",
        "x.yaml:8: questions[0].type: must be 'written' or 'code'; got a string ('writen'); did you mean written?",
        "x.yaml:9: questions[0].points: is 4 but its checks add up to 3",
        "x.yaml:12: questions[0].checks[0].type: unknown check type 'answerd'; did you mean answered?",
        "x.yaml:17: questions[0].checks[1].requires[0]: no check 'answred' in this question; did you mean answered?",
        "x.yaml:20: questions[0].checks[1].params.full_credit: unknown key; did you mean full_credit_at?",
        "x.yaml:21: questions[0].checks[2].id: duplicate check id 'concepts' (also checks[1])",
        "x.yaml:24: questions[0].checks[2].timout: unknown key; allowed: hidden, id, messages, params, points, "
        "requires, type",
        "x.yaml:25: questions[1].id: duplicate question id 'Q1' (also questions[0])",
        "x.yaml:29: questions[1].checks[0].params.modules: expected a list, got a string ('multiprocessing')",
        "x.yaml:30: questions[1].checks[1].requires: requires form a cycle: b -> c -> b",
    ]


def test_unknown_key_gets_a_did_you_mean() -> None:
    found = problems("""
        version: 1
        id: demo
        title: Demo
        questions:
          - id: Q1
            text: Write it.
            type: code
            limts: {wall_time: 3}
            checks:
              - {id: g, type: main_guard, points: 1, mesages: {pass: ok}}
        """)
    assert found == [
        "x.yaml:8: questions[0].limts: unknown key; did you mean limits?",
        "x.yaml:10: questions[0].checks[0].mesages: unknown key; did you mean messages?",
    ]


def test_missing_keys_and_wrong_types() -> None:
    found = problems("""
        version: 1
        title: 5
        questions:
          - id: Q1
            type: code
            checks:
              - {id: g, type: main_guard, points: "2", hidden: maybe}
        """)
    assert found == [
        "x.yaml:1: id: required key is missing",
        "x.yaml:2: title: expected a string, got an integer (5)",
        "x.yaml:4: questions[0].text: required key is missing",
        "x.yaml:7: questions[0].checks[0].hidden: expected true or false, got a string ('maybe')",
        "x.yaml:7: questions[0].checks[0].points: expected a number, got a string ('2')",
    ]


def test_limits_sizes_durations_and_regexes() -> None:
    found = problems("""
        version: 1
        id: demo
        title: Demo
        limits: {memory: 12 parsecs, wall_time: -1, max_processes: 0}
        questions:
          - id: Q1
            text: Write it.
            type: code
            patterns: ['(unclosed']
            checks:
              - {id: g, type: main_guard, points: 1}
        """)
    assert found == [
        "x.yaml:4: limits.max_processes: must be greater than or equal to 1; got an integer (0)",
        "x.yaml:4: limits.memory: not a size: '12 parsecs'; write bytes as a number or e.g. '512 MiB', '1 GB'",
        "x.yaml:4: limits.wall_time: must be greater than 0; got an integer (-1)",
        "x.yaml:9: questions[0].patterns[0]: not a valid regular expression: missing ), unterminated "
        "subpattern at position 0",
    ]


def test_self_requirement_and_bad_ids() -> None:
    found = problems("""
        version: 1
        id: demo
        title: Demo
        questions:
          - id: "Q 1"
            text: Write it.
            type: code
            checks:
              - {id: g, type: main_guard, points: 1, requires: [g]}
        """)
    assert found == [
        "x.yaml:5: questions[0].id: 'Q 1' is not a valid id: use letters, digits, '_', '.' or '-', starting "
        "with a letter or digit",
        "x.yaml:9: questions[0].checks[0].requires[0]: a check cannot require itself",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "x.yaml:1: empty file; expected a rubric"),
    ("  \n\n", "x.yaml:1: empty file; expected a rubric"),
    ("# only a comment\n", "x.yaml:1: no content (only comments); expected a rubric"),
    ("- a\n- b\n", "x.yaml:1: top level is a list; expected a rubric"),
    ("just words\n", "x.yaml:1: top level is a string ('just words'); expected a rubric"),
    ("version: 1\nid: [unclosed\n", "x.yaml:3: YAML syntax error: while parsing a flow sequence"),
    ("version: 1\n\tid: x\n", "x.yaml:2: YAML syntax error"),
    ("version: 2\nid: x\nbogus: 1\n", "x.yaml:1: version: unsupported rubric version 2; this grader reads version 1"),
    ("version: 1\nid: a\nid: b\n", "x.yaml:3: id: duplicate key (first given on line 2)"),
])
def test_file_level_problems(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith(expected), found[0]


def test_unsupported_version_hides_the_rest() -> None:
    assert problems("version: 2\nid: 5\n") == [
        "x.yaml:1: version: unsupported rubric version 2; this grader reads version 1"]


def test_missing_file_and_directory(tmp_path: object) -> None:
    from pathlib import Path

    from grader.rubric import load_rubric

    base = Path(str(tmp_path))
    with pytest.raises(RubricError, match="no such file"):
        load_rubric(base / "nope.yaml")
    with pytest.raises(RubricError, match="is a directory"):
        load_rubric(base)
    bad = base / "latin1.yaml"
    bad.write_bytes(b"title: caf\xe9\n")
    with pytest.raises(RubricError, match="not UTF-8"):
        load_rubric(bad)


def test_scoring_is_validated_with_its_line() -> None:
    found = problems("""
        version: 1
        id: demo
        title: Demo
        scoring:
          round_to: -1
          hang_credit: 2
          round: 1
        questions:
          - {id: Q1, text: What is it, type: written, checks: [{id: a, type: answered, points: 1}]}
        """)
    assert [p.split(": ", 2)[:2] for p in found] == [["x.yaml:5", "scoring.round_to"],
                                                      ["x.yaml:6", "scoring.hang_credit"],
                                                      ["x.yaml:7", "scoring.round"]]
    assert "did you mean round_to?" in found[2]


def test_scoring_defaults_and_values_reach_every_question() -> None:
    head = "version: 1\nid: demo\ntitle: Demo\n"
    body = "questions:\n  - {id: Q1, text: What is it, type: written, checks: [{id: a, type: answered, points: 1}]}\n"
    default = parse_rubric(head + body)
    assert (default.scoring.round_to, default.scoring.hang_credit) == (0.5, 0.5)
    chosen = parse_rubric(head + "scoring: {round_to: 0, hang_credit: 0.25}\n" + body)
    assert (chosen.questions[0].scoring.round_to, chosen.questions[0].scoring.hang_credit) == (0, 0.25)

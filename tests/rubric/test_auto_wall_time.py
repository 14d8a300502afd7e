"""`wall_time: auto`: parsing and validation, merging, the limit's value and reason, and the stored times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import reftimes
from grader.errors import RubricError
from grader.rubric import load_rubric
from grader.rubric.load import parse_rubric
from grader.rubric.model import AutoWallTime, Limits
from tests.conftest import RUBRIC

BASE = """version: 1
id: x
title: X
limits:
  wall_time: {top}
questions:
  - id: Q1
    text: Write a program.
    type: code
    limits: {q1}
    checks:
      - {{id: runs, type: runs, points: 1}}
  - id: Q2
    text: Write another program.
    type: code
    checks:
      - {{id: runs, type: runs, points: 1}}
"""


def rubric_text(top: str = "10 s", q1: str = "{}") -> str:
    return BASE.format(top=top, q1=q1)


def problems(text: str) -> list[str]:
    with pytest.raises(RubricError) as info:
        parse_rubric(text, "x.yaml")
    return info.value.problems


def test_auto_and_its_parameters_parse() -> None:
    r = parse_rubric(rubric_text(top="auto"), "x.yaml")
    assert r.limits.wall_time is None and r.limits.wall_time_auto == AutoWallTime(5.0, 5.0, 10.0)
    assert r.auto_limits and r.questions[1].limits.unresolved
    assert r.questions[1].limits.as_dict()["wall_time"] == 10.0  # unresolved: the ceiling
    r = parse_rubric(rubric_text(q1="{wall_time: {factor: 3, floor: 500 ms, ceiling: 4 s}}"), "x.yaml")
    assert r.questions[0].limits.wall_time_auto == AutoWallTime(3.0, 0.5, 4.0)
    assert r.questions[1].limits == Limits(wall_time=10.0)  # the rubric's own, fixed
    r = parse_rubric(rubric_text(q1="{wall_time: {extend_to: 30 s, quiet: 2 s}}"), "x.yaml")
    auto = r.questions[0].limits.wall_time_auto
    assert auto == AutoWallTime(5.0, 5.0, 10.0, quiet=2.0, extend_to=30.0) and auto.most == 30.0
    assert AutoWallTime().most == 10.0  # a run still making progress gets the ceiling by default


def test_a_run_still_making_progress_may_go_on_up_to_extend_to() -> None:
    """The sandbox gets `wall_time_max` and the window of no progress that ends such a run: `quiet`,
    at most four fifths of the limit (what a program does as it starts never extends it)."""
    auto = AutoWallTime(factor=5, floor=5, ceiling=10, quiet=4, extend_to=20, reference=0.2)
    limits = Limits(wall_time=5.0, wall_time_auto=auto)
    assert limits.as_dict() == {"wall_time": 5.0, "wall_time_max": 20.0, "progress_window": 4.0}
    assert limits.reasons()["wall_time_max"] == "20 s: a run still making progress at 5 s goes on until it has " \
                                                "made none for 4 s"
    small = Limits(wall_time=1.0, wall_time_auto=AutoWallTime(factor=2, floor=1, ceiling=8, reference=0.1))
    assert small.as_dict() == {"wall_time": 1.0, "wall_time_max": 8.0, "progress_window": 0.8}
    # not measured: the ceiling, and still more for a run making progress
    unknown = Limits(wall_time_auto=AutoWallTime(extend_to=20))
    assert unknown.as_dict() == {"wall_time": 10.0, "wall_time_max": 20.0, "progress_window": 4.0}
    # a time fixed by other means (a test, --wall-time) is the only limit
    fixed = Limits(wall_time=3.0, wall_time_auto=auto)
    assert fixed.as_dict() == {"wall_time": 3.0} and fixed.reasons() == {}
    # the limit already at the most a run may get: nothing to extend
    top = Limits(wall_time=10.0, wall_time_auto=AutoWallTime(floor=10, reference=0.1))
    assert top.as_dict() == {"wall_time": 10.0} and set(top.reasons()) == {"wall_time"}


def test_a_question_decides_its_wall_time_over_the_rubrics() -> None:
    r = parse_rubric(rubric_text(top="auto", q1="{wall_time: 2 s, memory: 100 MiB}"), "x.yaml")
    assert r.questions[0].limits.wall_time == 2.0 and r.questions[0].limits.wall_time_auto is None
    assert r.questions[1].limits.wall_time_auto is not None
    r = parse_rubric(rubric_text(top="3 s", q1="{wall_time: auto}"), "x.yaml")
    assert r.questions[0].limits.wall_time is None and r.questions[0].limits.wall_time_auto is not None
    assert r.questions[1].limits.wall_time == 3.0


@pytest.mark.parametrize(("value", "message"), [
    ("soon", "x.yaml:5: limits.wall_time: not a duration: 'soon'"),
    ("true", "x.yaml:5: limits.wall_time: expected seconds, a duration such as '10 s', or auto; got a boolean"),
    ("-2", "x.yaml:5: limits.wall_time: must be greater than 0; got an integer (-2)"),
    ("{factr: 3}", "x.yaml:5: limits.wall_time.factr: unknown key"),
    ("{factor: 0}", "x.yaml:5: limits.wall_time.factor: must be greater than 0"),
    ("{floor: 20 s}", "x.yaml:5: limits.wall_time: floor (20 s) is above ceiling (10 s)"),
    ("{ceiling: forever}", "x.yaml:5: limits.wall_time.ceiling: not a duration: 'forever'"),
    ("{extend_to: 5 s}", "x.yaml:5: limits.wall_time: extend_to (5 s) is below ceiling (10 s)"),
    ("{quiet: 0}", "x.yaml:5: limits.wall_time.quiet: must be greater than 0"),
])
def test_bad_wall_times_are_reported_with_file_and_line(value: str, message: str) -> None:
    found = problems(rubric_text(top=value))
    assert len(found) == 1 and found[0].startswith(message), found


def test_the_limit_is_the_reference_time_times_the_factor_within_floor_and_ceiling() -> None:
    auto = AutoWallTime(factor=5, floor=2, ceiling=10)
    assert (auto.value(0.1), auto.value(1.0), auto.value(3.0)) == (2.0, 5.0, 10.0)
    assert replace_ref(auto, 0.1).why() == "auto: 5 × the reference solution's 0.10 s = 0.50 s, raised to the 2 s floor"
    assert replace_ref(auto, 1.0).why() == "auto: 5 × the reference solution's 1.00 s"
    assert replace_ref(auto, 3.0).why() == ("auto: 5 × the reference solution's 3.00 s = 15.00 s, "
                                            "cut to the 10 s ceiling")
    assert "the ceiling" in auto.why()  # not measured


def replace_ref(auto: AutoWallTime, ref: float) -> AutoWallTime:
    from dataclasses import replace

    return replace(auto, reference=ref)


def copy_rubric(tmp: Path, text: str) -> Path:
    """A rubric with a folder beside it: expected.yaml naming a reference solution."""
    path = tmp / "hw.yaml"
    path.write_text(text)
    (tmp / "hw").mkdir()
    (tmp / "hw" / "expected.yaml").write_text("version: 1\nrubric: ../hw.yaml\nreference: reference.py\n")
    (tmp / "hw" / "reference.py").write_text("# Q1\nprint(1)\n# Q2\nprint(2)\n")
    return path


def test_stored_times_are_keyed_by_the_rubric_and_the_reference(tmp_path: Path) -> None:
    path = copy_rubric(tmp_path, rubric_text(top="auto", q1="{wall_time: {factor: 4, floor: 1 s, ceiling: 6 s}}"))
    rubric = load_rubric(path)
    key = reftimes.keys(rubric)
    assert key is not None
    times = reftimes.ReferenceTimes(*key, seconds={"Q1": 0.5, "Q2": 0.1}, runs={"Q1": {"default": 0.5}})
    assert reftimes.store(rubric, times) == tmp_path / "hw" / "reference-times.json"
    assert reftimes.load(rubric) == times
    resolved = reftimes.apply(rubric, reftimes.load(rubric))
    assert not resolved.auto_limits
    q1, q2 = resolved.questions
    assert q1.limits.wall_time == 2.0 and q2.limits.wall_time == 5.0
    assert q1.limits.reasons() == {"wall_time": "2 s, auto: 4 × the reference solution's 0.50 s",
                                   "wall_time_max": "6 s: a run still making progress at 2 s goes on until it "
                                                    "has made none for 1.6 s"}
    assert q2.limits.reasons()["wall_time"].startswith("5 s, auto: 5 × the reference solution's 0.10 s = 0.50 s, "
                                                       "raised to the 5 s floor")
    # a fixed time given by other means (a test, --wall-time) wins over auto and claims no reason
    from dataclasses import replace

    fixed = replace(q1.limits, wall_time=3.0)
    assert fixed.reasons() == {} and not fixed.unresolved
    # a changed reference, or a changed rubric, is measured again: the stored times no longer apply
    (tmp_path / "hw" / "reference.py").write_text("# Q1\nprint(11)\n# Q2\nprint(2)\n")
    assert reftimes.load(rubric) is None
    (tmp_path / "hw" / "reference.py").write_text("# Q1\nprint(1)\n# Q2\nprint(2)\n")
    assert reftimes.load(rubric) == times
    path.write_text(path.read_text() + "# edited\n")
    assert reftimes.load(rubric) is None


@pytest.mark.parametrize("damage", ["{", '{"schema": "grader.reference-times/2"}', '{"schema": "grader.reference-'
                                    'times/1", "rubric_sha256": "a", "reference_sha256": "b", "questions": '
                                    '{"Q1": {"seconds": -1}}}', "[]"])
def test_a_damaged_times_file_is_ignored(tmp_path: Path, damage: str) -> None:
    rubric = load_rubric(copy_rubric(tmp_path, rubric_text(top="auto")))
    (tmp_path / "hw" / "reference-times.json").write_text(damage)
    assert reftimes.load(rubric) is None


def test_without_a_reference_auto_is_the_ceiling_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "alone.yaml"
    path.write_text(rubric_text(top="{ceiling: 7 s}"))
    rubric = reftimes.resolve(load_rubric(path))
    limits = rubric.questions[0].limits
    assert limits.as_dict()["wall_time"] == 7.0
    assert "the ceiling" in limits.reasons()["wall_time"] and limits.reasons()["wall_time"].startswith("7 s, auto")


def test_the_shipped_reference_times_are_current() -> None:
    """Editing rubrics/multiprocessing.yaml or its reference solution needs a new measurement:
    `grader rubric test rubrics/multiprocessing.yaml` (then commit reference-times.json)."""
    rubric = load_rubric(RUBRIC)
    assert rubric.auto_limits
    stored = reftimes.stored_path(rubric)
    data = json.loads(stored.read_text())
    assert reftimes.load(rubric) is not None, (
        f"{stored} was measured for another rubric or reference ({data['rubric_sha256'][:12]}, "
        f"{data['reference_sha256'][:12]} != {reftimes.keys(rubric)}): run `grader rubric test {RUBRIC}`")
    resolved = reftimes.resolve(rubric, measure_if_missing=False)
    for q in resolved.questions:
        if q.type.value == "code":
            assert q.limits.wall_time_auto is not None and q.limits.wall_time is not None
            assert q.limits.wall_time_auto.floor <= q.limits.wall_time <= q.limits.wall_time_auto.ceiling


def test_times_go_to_the_cache_when_they_cannot_be_stored_beside_the_rubric(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rubric = load_rubric(copy_rubric(tmp_path, rubric_text(top="auto")))
    key = reftimes.keys(rubric)
    assert key is not None
    times = reftimes.ReferenceTimes(*key, seconds={"Q1": 0.2}, runs={})
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "hw" / "reference-times.json").mkdir()  # in the way (a read-only install, for root too)
    where = reftimes.store(rubric, times)
    assert where is not None and where.is_relative_to(tmp_path / "cache")
    assert reftimes.load(rubric) == times


def test_the_reference_named_by_expected_yaml_is_remembered_by_its_bytes(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A self-check reads expected.yaml's `reference:` from a memo keyed by the file's bytes (no
    YAML reader): the same answer as parsing, a changed file is parsed again, a damaged memo is
    ignored."""
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_NO_CACHE", raising=False)
    rubric = load_rubric(copy_rubric(tmp_path, rubric_text(top="auto")))
    expected = tmp_path / "hw" / "expected.yaml"
    assert reftimes.reference_of(rubric) == tmp_path / "hw" / "reference.py"  # parsed, remembered
    memos = list((tmp_path / "cache" / "expected").iterdir())
    assert len(memos) == 1
    assert reftimes.reference_of(rubric) == tmp_path / "hw" / "reference.py"  # remembered
    (tmp_path / "hw" / "other.py").write_text("# Q1\nprint(1)\n")
    expected.write_text(expected.read_text().replace("reference.py", "other.py"))
    assert reftimes.reference_of(rubric) == tmp_path / "hw" / "other.py"  # new bytes: parsed again
    for memo in (tmp_path / "cache" / "expected").iterdir():
        memo.write_text('{"schema": "grader.reftimes.reference/1", "reference": 5}')
    assert reftimes.reference_of(rubric) == tmp_path / "hw" / "other.py"  # a damaged memo is not trusted
    expected.write_text("reference: [not, a, name]\n")
    assert reftimes.reference_of(rubric) is None
    assert reftimes.reference_of(rubric) is None  # remembered as naming none


def test_a_warm_memo_reads_no_yaml(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("GRADER_NO_CACHE", None)
    code = ("import sys; from grader import reftimes; from grader.rubric.cache import load_rubric_cached; "
            f"r = load_rubric_cached({str(RUBRIC)!r}); print(reftimes.reference_of(r), 'yaml' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    reference = RUBRIC.parent / "multiprocessing" / "reference.py"
    assert first.stdout.split() == [str(reference), "True"]  # parsed the first time
    assert again.stdout.split() == [str(reference), "False"]

"""`grader grade` end to end: real submissions, real sandbox runs, results.json as a course imports it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.grade import grade_submission, outcome_of
from grader.rubric import load_rubric
from tests.conftest import EXAMPLES, LABELS, RUBRIC, example, labelled_file

pytestmark = pytest.mark.slow
WALL = 5  # seconds: seed 000's Q3 sleeps 3 s; seed 001's Q6 blocks forever and must time out


def fast_rubric(tmp: Path) -> Path:
    """The default rubric with a shorter time limit, so a test waits 5 s for a hang, not 10."""
    text = RUBRIC.read_text(encoding="utf-8")
    assert "  wall_time: 10 s\n" in text
    path = tmp / "multiprocessing.yaml"
    path.write_text(text.replace("  wall_time: 10 s\n", f"  wall_time: {WALL} s\n"), encoding="utf-8")
    return path


def grade_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", "grade", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("grade")
    proc = grade_cli(str(EXAMPLES), "--rubric", str(fast_rubric(tmp)), "--out", str(tmp / "out"), "-j", "2")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads((tmp / "out" / "results.json").read_text())
    data["_tmp"] = str(tmp)
    return data


def verdicts(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """check name -> file prefix -> status"""
    out: dict[str, dict[str, str]] = {}
    for s in data["submissions"]:
        for q in s["questions"]:
            for c in q["checks"]:
                out.setdefault(f"{q['id']} {c['id']}", {})[s["submission"][:3]] = c["status"]
    return out


# The issue's table: ✓ passed, ✗ failed, timeout, · skipped ("·✗": either). Seed 001's Q6 never finishes:
# its four_distinct_numbers passes on what it printed before it was stopped, for half its points (issue 9).
TABLE = """
Q1 answered               ✓ ✓ ✓ ✓ ✓
Q2 answered               ✓ ✓ ✓ ✓ ✓
Q4 answered               ✓ ✓ ✓ ✓ ✓
Q3 process_created        ✓ ✗ ✓ ✓ ✓
Q3 main_guard             ✓ ✗ ✓ ✓ ✓
Q3 spawn_safe             ✓ ·✗ ✓ ✓ ✓
Q5 pool_used              ✓ ✗ ✓ ✓ ✓
Q5 main_guard             ✓ ✗ ✓ ✓ ✓
Q6 runs                   ✓ timeout ✓ ✓ ✓
Q6 four_processes         ✓ ✗ ✓ ✓ ✓
Q6 four_distinct_numbers  ✓ ✓ ✓ ✓ ✗
Q6 one_number_per_process ✗ ✗ ✗ ✓ ✗
Q6 concurrent             ✓ ✗ ✓ ✓ ✗
Q6 main_guard             ✓ ✓ ✓ ✓ ✓
"""
SYMBOL = {"✓": {"passed"}, "✗": {"failed"}, "timeout": {"timeout"}, "·✗": {"skipped", "failed"}}


def test_examples_get_the_issues_verdicts(graded: dict[str, Any]) -> None:
    got = verdicts(graded)
    wrong = []
    for row in TABLE.strip().splitlines():
        q, check, *cols = row.split()
        for prefix, want in zip(["000", "001", "002", "003", "004"], cols, strict=True):
            status = got[f"{q} {check}"][prefix]
            if status not in SYMBOL[want]:
                wrong.append(f"{prefix} {q} {check}: {status}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_results_json_has_the_agreed_shape(graded: dict[str, Any]) -> None:
    assert graded["rubric"] == {"id": "multiprocessing", "version": 1, "max_score": 100,
                                "title": "Python multiprocessing"}
    subs = {s["submission"]: s for s in graded["submissions"]}
    assert sorted(subs) == sorted(p.name for p in EXAMPLES.iterdir())
    for s in subs.values():
        assert s["error"] is None and s["max_score"] == 100
        assert s["score"] == pytest.approx(sum(q["score"] for q in s["questions"]))
        assert [q["id"] for q in s["questions"]] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
        for q in s["questions"]:
            assert set(q) >= {"id", "score", "max_score", "answered", "location", "checks"}
            assert list(q["location"]) == ["lines"] if q["answered"] else q["location"] is None
            for c in q["checks"]:
                assert set(c) >= {"id", "status", "score", "max_score", "message"}
                assert c["status"] in ("passed", "failed", "error", "timeout", "skipped")
    q3 = next(q for q in subs["000_a54be7d6b3609d4a.txt"]["questions"] if q["id"] == "Q3")
    assert q3["location"] == {"lines": [[23, 45]]} and q3["found_by"] == "marker"


def test_details_keep_the_traces_and_evidence(graded: dict[str, Any]) -> None:
    details = Path(graded["_tmp"]) / "out" / "details" / "002_7ff5858f08025dd0.txt.json"
    data = json.loads(details.read_text())
    q6 = next(q for q in data["questions"] if q["id"] == "Q6")
    trace = q6["attempts"][0]["runs"]["default"]
    workers = [p for p in trace["processes"] if p["kind"] == "pool_worker"]
    assert len(workers) == 4
    printed = {ln["text"] for ln in trace["lines"] if ln["pid"] in {w["pid"] for w in workers}}
    assert printed == {f"Process {n}: {n}" for n in range(1, 5)}


def timing_free(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    for s in data["submissions"]:
        s.pop("seconds")
    return data


def test_grading_three_times_gives_the_same_results(graded: dict[str, Any]) -> None:
    tmp = Path(graded["_tmp"])
    first = timing_free({k: v for k, v in graded.items() if k != "_tmp"})
    for n in (2, 3):
        proc = grade_cli(str(EXAMPLES), "--rubric", str(tmp / "multiprocessing.yaml"), "--out", str(tmp / f"out{n}"),
                         "-j", "2")
        assert proc.returncode == 0, proc.stderr
        again = timing_free(json.loads((tmp / f"out{n}" / "results.json").read_text()))
        assert again == first


def test_a_broken_rubric_never_runs_student_code(tmp_path: Path) -> None:
    rubric = tmp_path / "bad.yaml"
    rubric.write_text(RUBRIC.read_text(encoding="utf-8").replace("    type: code\n", "    type: cod\n", 1))
    slow = tmp_path / "slow.py"
    slow.write_text("# Q3\nimport time\ntime.sleep(20)\n")
    start = time.monotonic()
    proc = grade_cli(str(slow), "--rubric", str(rubric), "--out", str(tmp_path / "out"))
    assert time.monotonic() - start < 10
    assert proc.returncode == 2
    assert f"{rubric}:" in proc.stderr and "must be 'written' or 'code'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_broken_submissions_get_a_row_and_the_batch_goes_on(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "empty.ipynb").write_text("")
    (batch / "garbage.ipynb").write_bytes(bytes(range(256)) * 4)
    (batch / "truncated.ipynb").write_text('{"cells": [{"cell_type": "markdown", "source": "Q1')
    (batch / "nobody").mkdir()
    (batch / "good.py").write_text("# Q1\n# Multiprocessing runs several processes in parallel on many cores.\n")
    proc = grade_cli(str(batch), "--rubric", str(fast_rubric(tmp_path)), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr  # documented: some submissions could not be graded
    subs = {s["submission"]: s for s in json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]}
    assert sorted(subs) == ["empty.ipynb", "garbage.ipynb", "good.py", "nobody", "truncated.ipynb"]
    assert subs["empty.ipynb"]["error"] == "empty file"
    assert subs["garbage.ipynb"]["error"].startswith("binary file")
    assert "looks truncated" in subs["truncated.ipynb"]["error"]
    assert subs["nobody"]["error"] == "no notebook or Python script in this folder"
    for name in ("empty.ipynb", "garbage.ipynb", "nobody", "truncated.ipynb"):
        assert subs[name]["score"] == 0 and all(q["score"] == 0 for q in subs[name]["questions"])
    assert subs["good.py"]["error"] is None and subs["good.py"]["score"] > 0
    assert "4 submission(s) could not be graded" in proc.stderr


PAIRS = [("Q3", "process_created", "creates_process"), ("Q5", "pool_used", "uses_pool"),
         ("Q6", "four_processes", "four_processes"), ("Q6", "four_distinct_numbers", "four_distinct_numbers"),
         ("Q6", "one_number_per_process", "distinct_numbers")]


def test_verdicts_agree_with_the_ta_on_the_corpus() -> None:
    """process_created, pool_used, four_processes, four_distinct_numbers, one_number_per_process and
    whether each question is answered, against the TA's labels of the corpus and the examples. The
    rubric's own limits, as a grading has them: `auto` from the shipped reference times (a hang costs
    5 s), and up to 20 s for a program still making progress (corpus 041's Q6 takes 12 s)."""
    from grader import reftimes

    rubric = reftimes.resolve(load_rubric(RUBRIC), measure_if_missing=False)
    assert not rubric.auto_limits, "the shipped reference times are not current: see test_auto_wall_time"
    labels = json.loads(LABELS.read_text())
    names = sorted(labels)
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(names, pool.map(lambda n: grade_submission(str(labelled_file(n)), rubric), names),
                           strict=True))
    from tests.locate.test_corpus_agreement import origins

    # The examples and the shared corpus, and the real files the project found (issue 9): each at least 95%.
    group = {name: "project" if origins().get(name) == "project" else "shared" for name in names}
    counts = {"shared": [0, 0], "project": [0, 0]}
    problems = []
    for name in names:
        result, wanted = results[name], labels[name]["questions"]
        tally = counts[group[name]]
        for qid, check, key in PAIRS:
            qr = result.question(qid)
            assert qr is not None
            v = next(v for v in qr.score.verdicts if v.check == check)
            ok = (v.status.value == "passed") == bool(wanted[qid][key])
            tally[0], tally[1] = tally[0] + ok, tally[1] + 1
            if not ok:
                problems.append(f"{name} {qid}.{check}: TA {wanted[qid][key]}, grader {v.status.value}: {v.message}")
        for qid, label in wanted.items():
            qr = result.question(qid)
            assert qr is not None
            ok = qr.answer.answered == label["answered"]
            tally[0], tally[1] = tally[0] + ok, tally[1] + 1
            if not ok:
                problems.append(f"{name} {qid} answered: TA {label['answered']}, grader {qr.answer.answered}")
    agree, total = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    print(f"\nverdicts agree with the TA in {agree}/{total} = {agree / total:.1%} of cases")
    for kind, (a, t) in counts.items():
        print(f"  {kind} files: {a}/{t} = {a / t:.1%}")
    for line in problems:
        print("  disagree:", line)
    assert all(a / t >= 0.95 for a, t in counts.values()), "\n".join(problems)


def test_rescore_applies_score_overrides_without_running_anything(graded: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(Path(graded["_tmp"]) / "out", out)
    def runs() -> dict[str, Any]:
        """Every run's record (pids, times): identical only if nothing ran again."""
        return {p.name: [a["runs"] for q in json.loads(p.read_text())["questions"] for a in q["attempts"]]
                for p in sorted((out / "details").iterdir())}

    before = runs()
    overrides = tmp_path / "o.yaml"
    overrides.write_text("version: 1\nsubmissions:\n  001_f76795d35269b5a9.txt:\n"
                         "    Q3: {score: 5, comment: cpu_count is a start, by: ta}\n")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader", "rescore", str(out), "--overrides", str(overrides)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 5
    data = json.loads((out / "results.json").read_text())
    sub = next(s for s in data["submissions"] if s["submission"].startswith("001"))
    q3 = next(q for q in sub["questions"] if q["id"] == "Q3")
    assert q3["score"] == 5 and q3["graded_score"] == 0
    assert q3["override"] == {"score": 5, "comment": "cpu_count is a start", "by": "ta", "answer": None}
    assert sub["score"] == pytest.approx(sum(q["score"] for q in sub["questions"]))
    old = next(s for s in graded["submissions"] if s["submission"].startswith("001"))
    assert sub["score"] == pytest.approx(old["score"] + 5)
    assert runs() == before  # nothing re-ran
    detail = json.loads((out / "details" / "001_f76795d35269b5a9.txt.json").read_text())
    assert next(q for q in detail["questions"] if q["id"] == "Q3")["score"] == 5  # the details say so too
    assert "5*" in proc.stdout


def test_an_answer_override_changes_what_runs(tmp_path: Path) -> None:
    overrides = tmp_path / "o.yaml"
    overrides.write_text("version: 1\nsubmissions:\n  003_f0bdc852a37dd2ae.txt:\n"
                         "    Q6: {answer: {lines: [45]}, comment: grade the Pool program as Q6}\n")
    proc = grade_cli(str(EXAMPLES / "003_f0bdc852a37dd2ae.txt"), "--rubric", str(fast_rubric(tmp_path)),
                     "--overrides", str(overrides), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    sub = json.loads((tmp_path / "out" / "results.json").read_text())["submissions"][0]
    q5, q6 = (next(q for q in sub["questions"] if q["id"] == qid) for qid in ("Q5", "Q6"))
    assert q6["location"] == {"lines": [[41, 57]]} and q6["reason"].endswith("mapped by the TA (override)")
    assert not q5["answered"]  # the cell now answers Q6 only
    checks = {c["id"]: c["status"] for c in q6["checks"]}
    assert checks["one_number_per_process"] == "failed"  # the Pool program prints no numbers


def test_a_grading_error_is_the_submissions_row_but_ctrl_c_stops_the_batch() -> None:
    """An unexpected exception while grading one submission becomes its error row; the sandbox's
    Cancelled (Ctrl-C, grader/batch.py relies on it) is not an error of the submission: it goes up."""
    from grader.sandbox.cancel import Cancelled

    rubric = load_rubric(RUBRIC)
    path = str(EXAMPLES / "000_a54be7d6b3609d4a.txt")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a grader bug")

    def stopping(*_args: Any, **_kwargs: Any) -> Any:
        raise Cancelled("the grader is stopping")

    result = grade_submission(path, rubric, runner=broken)
    assert result.error is not None and result.error.startswith("grading failed: RuntimeError: a grader bug")
    assert result.name == "000_a54be7d6b3609d4a.txt" and result.score.error
    with pytest.raises(Cancelled):
        grade_submission(path, rubric, runner=stopping)


@pytest.mark.slow
def test_questions_graded_side_by_side_give_the_same_outcome(tmp_path: Path) -> None:
    """`parallel` (a self-check's cores) overlaps the questions' runs and changes nothing else."""
    from grader.sandbox import run_program

    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def runner(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        trace = run_program(*args, **kwargs)
        with lock:
            spans.append((start, time.monotonic()))
        return trace

    rubric = load_rubric(RUBRIC)
    first = outcome_of(grade_submission(str(example("002")), rubric, runner=runner), rubric)
    serial, spans[:] = list(spans), []
    second = outcome_of(grade_submission(str(example("002")), rubric, runner=runner, parallel=2), rubric)
    one, two = first.summary().to_json(), second.summary().to_json()
    overlaps = lambda runs: sum(1 for i, a in enumerate(runs) for b in runs[i + 1:]  # noqa: E731
                                if a[0] < b[1] and b[0] < a[1])
    assert overlaps(spans) > overlaps(serial)  # questions' runs side by side, not one after the other
    # The same runs were kept (a run started beside a default run that took over SPECULATE_AFTER on a
    # loaded machine, then found not needed, is made and dropped: it is in `spans`, not in the record).
    kept = lambda o: [(q.id, a.number, sorted(a.runs)) for q in o.questions for a in q.attempts]  # noqa: E731
    assert kept(second) == kept(first) and len(spans) >= len(serial) >= sum(len(r) for *_, r in kept(first))
    strip = lambda s: {k: v for k, v in s.items() if k != "seconds"}  # noqa: E731
    assert strip(two) == strip(one) and 0 < one["score"] < 100


def _with_gap(trace: Any) -> Any:
    """What a run looks like when strace's record has a gap (it cannot be made to happen on demand)."""
    from dataclasses import replace as swap

    from grader.trace import Issue

    return swap(trace, observed=False, issues=(*trace.issues, Issue("observation_gap", "strace's record was cut")))


@pytest.mark.slow
def test_a_run_not_observed_whole_is_made_again_once() -> None:
    from grader.sandbox import run_program

    calls: list[str] = []

    def first_has_a_gap(source: str, **kwargs: Any) -> Any:
        calls.append(source)
        trace = run_program(source, **kwargs)
        return _with_gap(trace) if calls.count(source) == 1 else trace

    made: list[tuple[str, str | None, int]] = []

    def always_gaps(source: str, **kwargs: Any) -> Any:
        made.append((source, kwargs.get("start_method"), kwargs.get("seed", 0)))
        return _with_gap(run_program(source, **kwargs))

    rubric = load_rubric(RUBRIC)
    plain = outcome_of(grade_submission(str(example("003")), rubric), rubric)
    again = outcome_of(grade_submission(str(example("003")), rubric, runner=first_has_a_gap), rubric)
    assert again.summary().to_json()["score"] == plain.summary().to_json()["score"] == plain.score
    q3 = again.question("Q3")
    assert q3 is not None
    default = q3.attempts[0].runs["default"]
    assert default.observed and [i.kind for i in default.issues].count("observation_gap_rerun") == 1

    gaps = outcome_of(grade_submission(str(example("003")), rubric, runner=always_gaps), rubric)
    from grader.checks.context import variant_run
    from grader.grade import RUN_SEED

    kept = set()
    for q in gaps.questions:
        for a in q.attempts:
            for variant in a.runs:
                method, offset = variant_run(variant)
                kept.add((a.source, method, RUN_SEED + offset))
    assert kept and all(made.count(run) == 2 for run in kept)  # every run kept was made twice
    # never more; a run started beside the default one and dropped as not needed is made once (not run again)
    assert all(made.count(run) == 1 for run in set(made) - kept)
    q3 = gaps.question("Q3")
    assert q3 is not None
    created = next(c for c in q3.checks if c.type == "process_created")
    assert created.status == "failed" and "could not observe the whole run" in created.message
    assert gaps.score < plain.score


@pytest.mark.slow
def test_a_run_beside_a_slow_default_run_is_made_again_only_when_needed() -> None:
    """A run started beside a default run still going after SPECULATE_AFTER (a loaded machine)
    that ends first with a gap is made again only once the default run says it is needed: it was
    made again at once, then dropped as not needed (a run too many, and the flaky failure of the
    test above under load)."""
    from grader.checks.context import DEFAULT_VARIANT, variant_run
    from grader.grade import RUN_SEED
    from grader.sandbox import run_program

    default = variant_run(DEFAULT_VARIANT)
    made: list[tuple[str, str | None, int]] = []

    def slow_default_with_gaps(source: str, **kwargs: Any) -> Any:
        key = (source, kwargs.get("start_method"), kwargs.get("seed", 0))
        made.append(key)
        if (key[1], key[2] - RUN_SEED) == default:
            time.sleep(1.0)  # longer than SPECULATE_AFTER: the other runs start beside it and end first
        return _with_gap(run_program(source, **kwargs))

    rubric = load_rubric(RUBRIC)
    gaps = outcome_of(grade_submission(str(example("003")), rubric, runner=slow_default_with_gaps), rubric)
    kept = {(a.source, *((lambda m, o: (m, RUN_SEED + o))(*variant_run(v)))) for q in gaps.questions
            for a in q.attempts for v in a.runs}
    assert kept and all(made.count(run) == 2 for run in kept)
    dropped = set(made) - kept
    assert dropped, "no run was started beside a default run"
    assert all(made.count(run) == 1 for run in dropped), [made.count(run) for run in dropped]

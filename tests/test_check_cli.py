"""`grader check`: a student's self-check prints the student view, writes the student's page, and
exits by --min-score; it never prompts (no stdin, CI=true) and keeps hidden checks hidden."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.cli.check import lines_for, show
from tests.conftest import ROOT, RUBRIC
from tests.render import sample_outcomes

REFERENCE = ROOT / "rubrics" / "multiprocessing" / "reference.py"
SEQUENTIAL = ROOT / "rubrics" / "multiprocessing" / "wrong" / "q6_sequential.py"
CONCURRENT_MESSAGE = "Start all 4 processes before joining them"


def check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true", "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "grader", "check", *args], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_full_marks_and_min_score(tmp_path: Path) -> None:
    done = check(tmp_path, str(REFERENCE), "--min-score", "100", "--rubric", str(RUBRIC))
    assert done.returncode == 0, done.stdout + done.stderr
    for q in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6"):
        assert f"PASS {q} " in done.stdout
    assert "FAIL" not in done.stdout and "\x1b[" not in done.stdout  # plain off a terminal
    assert "Score: 100 / 100" in done.stdout
    assert "Protections: " in done.stdout
    report = tmp_path / "grader-check" / "report" / "reference.py.html"
    assert f"Report: {report.relative_to(tmp_path)}" in done.stdout
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert not list((tmp_path / "grader-check" / "report").glob("*.ta.html"))  # nothing of the TA's

    above = check(tmp_path, str(REFERENCE), "--min-score", "100.5", "--out", "elsewhere")
    assert above.returncode == 1, above.stdout + above.stderr
    assert "Minimum score 100.5: NOT reached" in above.stdout
    assert (tmp_path / "elsewhere" / "report" / "reference.py.html").is_file()


@pytest.mark.slow
def test_a_hidden_check_stays_hidden(tmp_path: Path) -> None:
    text = RUBRIC.read_text(encoding="utf-8")
    marked = text.replace("      - id: concurrent\n", "      - id: concurrent\n        hidden: true\n", 1)
    assert marked != text
    (tmp_path / "rubric.yaml").write_text(marked, encoding="utf-8")
    shown = check(tmp_path, str(SEQUENTIAL), "--rubric", str(RUBRIC))
    hidden = check(tmp_path, str(SEQUENTIAL), "--rubric", "rubric.yaml", "--out", "hidden")
    assert shown.returncode == hidden.returncode == 0, shown.stderr + hidden.stderr
    # the visible rubric shows the failing check (so the assertions below can fail)...
    assert CONCURRENT_MESSAGE in shown.stdout and "FAIL Q6  17 / 20" in shown.stdout
    # ...the hidden one counts it in the score but never names it, nor in the page
    assert "FAIL Q6  17 / 20" in hidden.stdout and "Score: 97 / 100" in hidden.stdout
    assert CONCURRENT_MESSAGE not in hidden.stdout and "Concurrent" not in hidden.stdout
    page = (tmp_path / "hidden" / "report" / "q6_sequential.py.html").read_text(encoding="utf-8")
    assert CONCURRENT_MESSAGE not in page


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = check(tmp_path, "nope.ipynb")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    negative = check(tmp_path, str(REFERENCE), "--min-score", "-1")
    assert negative.returncode == 2
    (tmp_path / "taken").write_text("a file where the report folder goes", encoding="utf-8")
    blocked = check(tmp_path, str(REFERENCE), "--out", "taken")
    assert blocked.returncode == 2 and "Score:" not in blocked.stdout  # said before anything ran


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_plain_elsewhere() -> None:
    outcome = sample_outcomes.graded()
    tty = Terminal()
    show(outcome.student_view(), Path("r.html"), tty, environ={"TERM": "xterm-256color"})
    assert "\x1b[" in tty.getvalue() and "✗" in tty.getvalue()
    plain = io.StringIO()
    show(outcome.student_view(), Path("r.html"), plain, environ={"CI": "true"})
    text = plain.getvalue()
    assert "\x1b" not in text  # the student's own escape is shown as \\x1b, not sent to the terminal
    assert "\\x1b[31m" in text and "FAIL Q6" in text and "Report: r.html" in text


def test_student_view_only() -> None:
    outcome = sample_outcomes.graded()
    full = "\n".join(t for _, t in lines_for(outcome, Path("r.html")))
    student = "\n".join(t for _, t in lines_for(outcome.student_view(), Path("r.html")))
    assert sample_outcomes.SECRET_MESSAGE in full  # the hidden check is in the full outcome
    assert sample_outcomes.SECRET_MESSAGE not in student and sample_outcomes.SECRET_ID not in student
    assert sample_outcomes.REVIEW_REASON not in student


LINUX_ONLY = ("namespaces", "cgroups", "netlink")  # what macOS and Windows do not have


@pytest.mark.slow
def test_without_the_linux_only_protections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on macOS or Windows: namespaces, cgroups and kernel process events switched off. The
    check still grades, and says which protections the runs had (what the sandbox recorded)."""
    import argparse
    import dataclasses
    import functools

    from grader.cli import check as check_cli
    from grader.sandbox import runner

    fields = {f.name for f in dataclasses.fields(runner.Options)}
    options = runner.Options(**{name: False for name in LINUX_ONLY if name in fields})
    seen: list[dict[str, str]] = []

    # Without namespaces a root grader refuses to run student code as root: as root, the runs need an
    # interpreter an unprivileged uid can execute (this venv's may sit under /root).
    python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin") \
        if os.geteuid() == 0 else None

    def run(*args: object, **kwargs: object) -> object:
        trace = runner.run(*args, options=options, python=python, **kwargs)  # type: ignore[arg-type]
        seen.append(dict(trace.sandbox))
        return trace

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    out = io.StringIO()
    args = argparse.Namespace(path=str(REFERENCE), rubric=str(RUBRIC), min_score=100.0, out=str(tmp_path / "o"))
    assert check_cli.run(args, runner=functools.partial(run), stream=out, environ={"CI": "true"}) == 0
    text = out.getvalue()
    assert "PASS Q6" in text and "Score: 100 / 100" in text
    # strace observes in every mode (it needs no namespace), and the fallback says what it lacks
    assert seen and all(s.get("observer", "").startswith("strace") for s in seen)
    assert all(s.get("pid_namespace") == "no" for s in seen)
    (line,) = [x for x in text.splitlines() if x.startswith("Protections: ")]
    if "isolation" in seen[0]:
        assert line.startswith(f"Protections: {seen[0]['isolation']}") and "bwrap" not in line
    else:
        assert "observer: strace" in line


def test_protections_line_reads_the_trace() -> None:
    from dataclasses import replace

    from grader.cli.check import protections
    from grader.outcome import AttemptOutcome
    from grader.trace import Trace

    def with_sandbox(info: dict[str, str]) -> object:
        base = sample_outcomes.graded()
        trace = Trace(exit_code=0, sandbox=info)
        attempt = AttemptOutcome(1, 0, "cell 1", "print(1)", 1, 0.0, {"default": trace}, ())
        return replace(base, questions=(replace(base.questions[0], attempts=(attempt,)),))

    fallback = {"isolation": "session, rlimits and kill by uid", "namespaces_unavailable": "Linux-only (darwin)",
                "user": "uid 5 (a uid of its own)", "observer": "/proc polling"}
    assert protections(with_sandbox(fallback)) == ("session, rlimits and kill by uid "  # type: ignore[arg-type]
                                                   "(namespaces unavailable: Linux-only (darwin))")
    older = {"user": "uid 5 (a uid of its own)", "observer": "/proc polling"}
    assert protections(with_sandbox(older)) == "user: uid 5 (a uid of its own); observer: /proc polling"  # type: ignore[arg-type]
    assert protections(sample_outcomes.graded()) is None  # no runs: nothing to claim


@pytest.mark.slow
def test_each_example_as_grade_scores_it(tmp_path: Path) -> None:
    """Every example: the self-check's question lines and total are the scores `grader grade` gives."""
    import json

    from grader.render.csv_export import number
    from tests.conftest import EXAMPLES

    env = {**os.environ, "CI": "true", "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    graded = subprocess.run([sys.executable, "-m", "grader", "grade", str(EXAMPLES), "--out", "out", "-j", "2"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    assert graded.returncode == 0, graded.stderr
    rows = {s["submission"]: s for s in json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]}
    assert len(rows) == 5
    checks = {name: subprocess.Popen([sys.executable, "-m", "grader", "check", str(EXAMPLES / name), "--out", "c"],
                                     cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for name in rows}
    for name, proc in checks.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        row = rows[name]
        assert f"Score: {number(row['score'])} / 100" in out
        for q in row["questions"]:
            mark = "PASS" if q["score"] >= q["max_score"] else "FAIL"
            assert f"{mark} {q['id']}  {number(q['score'])} / {number(q['max_score'])}  " in out, (name, q["id"], out)
        assert (tmp_path / "c" / "report" / f"{name}.html").is_file()


def test_questions_go_side_by_side_only_on_free_cores() -> None:
    """A loaded machine (every core busy) gets one question at a time: time limits are wall time."""
    from grader.cli.check import usable_cpus

    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(len(os.sched_getaffinity(0)))]
    try:
        time.sleep(0.5)
        assert usable_cpus() == 1
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_the_page_is_prepared_from_the_first_run_on() -> None:
    """The page's preparation starts once the first run is under way (its stop rule's first look),
    or when that run ends if it had no rule: before, it would delay the first run's start."""
    import threading

    from grader.cli.check import starting

    seen: list[bool] = []

    def fake_runner(source: str, *, stop: object = None, **_: object) -> str:
        seen.append(page.ident is not None)  # not started before the run
        if stop is not None:
            assert stop(None) == "rule's answer"  # type: ignore[operator]
            seen.append(page.ident is not None)  # started at the first look
        return "trace"

    page = threading.Thread(target=lambda: None)
    run = starting(page, fake_runner)  # type: ignore[arg-type]
    assert run("x", stop=lambda live: "rule's answer") == "trace"
    assert seen == [False, True]
    assert run("y", stop=lambda live: "rule's answer") == "trace"  # started once only
    page = threading.Thread(target=lambda: None)
    run = starting(page, fake_runner)  # type: ignore[arg-type]
    seen.clear()
    assert run("x") == "trace" and seen == [False] and page.ident is not None


def test_the_check_command_reads_only_its_own_module() -> None:
    """`grader check` builds its own sub-command's parser only (the others' imports are not a
    self-check's), with the same options and help as in the whole command line."""
    from grader.cli import build_parser

    code = ("import sys, grader.cli; grader.cli.build_parser('check'); "
            "print(sorted(m for m in sys.modules if m.startswith('grader.cli.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['grader.cli.check', 'grader.cli.common']"
    argv = ["check", "nb.ipynb", "--min-score", "50", "--out", "o"]
    whole, alone = build_parser().parse_args(argv), build_parser("check").parse_args(argv)
    assert vars(whole) == vars(alone)

    def help_of(parser: object) -> str:
        out = io.StringIO()
        with pytest.raises(SystemExit), __import__("contextlib").redirect_stdout(out):
            parser.parse_args(["check", "--help"])  # type: ignore[attr-defined]
        return out.getvalue()

    assert help_of(build_parser()) == help_of(build_parser("check"))


def test_only_the_command_freezes_its_objects_at_exit(tmp_path: Path) -> None:
    """The `grader` process skips Python's last full collection at exit (gc.freeze); a caller of
    `main(argv)` in a process that goes on keeps its garbage collector as it was."""
    import gc

    from grader.cli import main

    before = gc.get_freeze_count()
    assert main(["check", str(tmp_path / "missing.ipynb")]) == 2
    assert gc.get_freeze_count() == before
    code = ("import gc, sys; from grader.cli import main; sys.argv = ['grader', 'checks']; "
            "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): main()\n"
            "print(gc.get_freeze_count() > 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"

"""The terminal: plain lines or a progress bar, a summary table, student text shown inert, and a
closed pipe that never breaks a batch."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import threading
from dataclasses import replace
from typing import TextIO

import pytest

from grader.outcome import SubmissionOutcome
from grader.render import terminal
from grader.render.terminal import Progress, print_summary, render_summary, wants_plain
from tests.conftest import ROOT
from tests.render.sample_outcomes import FORMULA, book, broken, graded, overridden

HOSTILE_ID = "[bold]x\x1b]0;pwned\x07\u202eyy.ipynb"  # rich markup, a terminal title escape, a bidi override
SHOWN_ID = "[bold]x\\x1b]0;pwned\\x07\\u202eyy.ipynb"


def closed_pipe() -> TextIO:
    read, write = os.pipe()
    os.close(read)
    return os.fdopen(write, "w", encoding="utf-8")


def read_all(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the pty's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("env", [{"CI": "true"}, {"TERM": "dumb"}, {"NO_COLOR": "1"}, {"CI": "1", "TERM": "xterm"}])
def test_plain_on_ci_dumb_terminals_and_no_color(env: dict[str, str]) -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        assert not wants_plain(tty, {"TERM": "xterm"})  # a terminal: the bar
        assert wants_plain(tty, env)
    os.close(master)
    assert wants_plain(io.StringIO(), {})  # not a terminal: plain lines


def test_plain_progress_prints_one_inert_line_per_submission() -> None:
    out = io.StringIO()
    with Progress(3, out, environ={}) as progress:
        assert progress.plain
        for outcome in (graded(), replace(overridden(), id=HOSTILE_ID), broken()):
            progress.started(outcome.id)
            progress.finished(outcome)
        progress.note("wrote grader-out/\x1b[2Jindex.html")
    lines = out.getvalue().splitlines()
    assert lines == [
        "[1/3] sec1/hw.ipynb: 5 / 30 (needs review: Q1; limits hit: wall) [3.2 s]",
        f"[2/3] {SHOWN_ID}: 27 / 30 (overridden) [1.0 s]",
        f"[3/3] {FORMULA}: could not be graded: @SUM(1+1) cannot read \\x1b[31m\\u202eexe.txt",
        "wrote grader-out/\\x1b[2Jindex.html",
    ]
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()


def test_progress_is_safe_from_many_threads() -> None:
    out = io.StringIO()
    progress = Progress(400, out, plain=True)

    def work(n: int) -> None:
        for i in range(50):
            outcome = replace(graded(), id=f"t{n}/s{i}")
            progress.started(outcome.id)
            progress.finished(outcome)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 400 and progress.done == 400
    assert sorted(int(line[1:line.index("/")]) for line in lines) == list(range(1, 401))  # each count once
    assert all(line.endswith("[3.2 s]") for line in lines)  # no line torn by another thread


@pytest.mark.parametrize("plain", [True, False])
def test_a_closed_pipe_stops_the_printing_and_never_raises(plain: bool) -> None:
    stream = closed_pipe()
    progress = Progress(3, stream, plain=plain)
    progress.started("a")
    for outcome in (graded(), broken(), overridden()):
        progress.finished(outcome)
    progress.note("interrupted")
    assert progress.dead and progress.done == 3
    progress.close()
    assert print_summary(book(), closed_pipe(), plain=plain) is False
    stream.close()  # what was buffered went to /dev/null: closing does not raise either


def test_a_bug_is_not_mistaken_for_a_closed_stream() -> None:
    progress = Progress(1, io.StringIO(), plain=True)
    with pytest.raises(AttributeError):
        progress.finished("not an outcome")  # type: ignore[arg-type]


def test_piping_a_batch_into_head_is_not_a_traceback() -> None:
    """A real process printing hundreds of lines into `head -1`: exit 0, nothing on stderr."""
    program = (
        "import sys\n"
        "from grader.render.terminal import Progress, print_summary\n"
        "from tests.render.sample_outcomes import graded, book\n"
        "progress = Progress(500, sys.stdout)\n"
        "for i in range(500):\n"
        "    progress.finished(graded())\n"
        "progress.close()\n"
        "print_summary(book(), sys.stdout)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", program], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert first.startswith(b"[  1/500] sec1/hw.ipynb: 5 / 30")
    assert err == ""


def test_the_bar_on_a_terminal_shows_progress_and_no_student_escape() -> None:
    master, slave = os.openpty()
    tty = os.fdopen(slave, "w", encoding="utf-8")
    progress = Progress(2, tty, environ={"TERM": "xterm"})
    assert not progress.plain
    hostile = replace(broken(), id=HOSTILE_ID)
    progress.started(HOSTILE_ID)
    progress.finished(hostile)
    progress.started("sec1/hw.ipynb")
    progress.finished(graded())
    progress.note("interrupted: resume with --resume [x]\x1b[2J")
    progress.close()
    tty.close()
    shown = read_all(master)
    os.close(master)
    assert "2/2" in shown
    assert "could not be graded" in shown and SHOWN_ID in shown  # the failure is printed above the bar
    assert "\x1b]0;pwned" not in shown and "\u202e" not in shown
    assert "interrupted: resume with --resume [x]\\x1b[2J" in shown  # a note: printable, not markup


def test_the_bar_on_stderr_leaves_stdout_alone() -> None:
    """`grader grade ... > file` on a terminal: the bar is on stderr, what goes to stdout stays there."""
    program = (
        "import sys\n"
        "from grader.render.terminal import Progress\n"
        "from tests.render.sample_outcomes import graded\n"
        "progress = Progress(2, sys.stderr, environ={'TERM': 'xterm'})\n"
        "progress.started('a')\n"
        "print('to stdout', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        "progress.finished(graded())\n"
        "progress.close()\n"
        "assert not progress.plain\n"
    )
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-c", program], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    err = read_all(master)
    os.close(master)
    assert proc.returncode == 0, err
    assert out == b"to stdout\n"
    assert "to stdout" not in err and "to stderr" in err and "1/2" in err


def test_summary_table_marks_reviews_overrides_and_errors() -> None:
    text = render_summary(book(graded(), replace(overridden(), id=HOSTILE_ID), broken()), width=160)
    assert "\x1b" not in text and "\u202e" not in text
    row = next(line for line in text.splitlines() if "sec1/hw.ipynb" in line)
    assert row.split() == ["sec1/hw.ipynb", "2!", "3", "5"]  # Q1 needs review
    assert "sec1/hw.ipynb: needs a TA: Q1" in text and "sec1/hw.ipynb: limits hit: wall" in text
    row = next(line for line in text.splitlines() if "[bold]x" in line)  # markup printed, not applied
    assert SHOWN_ID in row and row.split()[1:] == ["7*", "20", "27"]  # Q1 set by a TA
    row = next(line for line in text.splitlines() if "calc" in line)
    assert row.split()[-3:] == ["-", "-", "error"]
    assert f"{FORMULA}: could not be graded: @SUM(1+1) cannot read \\x1b[31m\\u202eexe.txt" in text
    assert "3 submission(s), mean 16 / 30, 1 could not be graded.\n! needs a TA   * score set by a TA" in text


def test_summary_is_coloured_only_on_a_terminal() -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "w", encoding="utf-8") as tty:
        assert print_summary(book(), tty, environ={"TERM": "xterm-256color"}, width=150)
    coloured = read_all(master)
    os.close(master)
    assert "\x1b[" in coloured  # rich's own colours: errors in red
    assert "could not be graded" in coloured and "\u202e" not in coloured
    plain = io.StringIO()
    print_summary(book(), plain, environ={"NO_COLOR": "1"}, width=150)
    assert "\x1b" not in plain.getvalue()


def test_importing_the_renderers_does_not_import_rich_or_junitparser() -> None:
    program = ("import sys\n"
               "import grader.render.terminal, grader.render.junit, grader.render.markdown\n"
               "import grader.render.gradescope, grader.render.csv_export\n"
               "print(sorted(m for m in ('rich', 'junitparser') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_line_bounds_a_huge_student_message() -> None:
    outcome = SubmissionOutcome("x" * 10_000, "/x", "mp", 30, (), error="y" * 1_000_000)
    assert len(terminal.line(outcome)) < 500

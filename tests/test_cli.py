"""The `grader` command as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "grader", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "inspect" in out


def test_unknown_command_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_run_prints_the_record_of_one_answer() -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "run", "submissions_example/002_7ff5858f08025dd0.txt",
                           "--question", "Q6"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "002_7ff5858f08025dd0.txt Q6, attempt 1 of 1" in proc.stdout
    assert proc.stdout.count("pool_worker") >= 4
    for n in range(1, 5):
        assert f"Process {n}: {n}" in proc.stdout


def test_run_json_fork_versus_spawn() -> None:
    """Seed 003's Q6 configures logging under the main guard: forked children inherit it and log
    their numbers to the file, spawned children start afresh and log nothing."""
    import json

    def record(method: str) -> dict:  # type: ignore[type-arg]
        proc = subprocess.run([sys.executable, "-m", "grader", "run", "submissions_example/003_f0bdc852a37dd2ae.txt",
                               "-q", "Q6", "--start-method", method, "--json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        trace: dict = json.loads(proc.stdout)["trace"]  # type: ignore[type-arg]
        assert trace["start_method"] == method
        assert [p["args"] for p in trace["processes"] if p["kind"] == "process"] == ["1", "2", "3", "4"]
        return trace

    fork = record("fork")
    by_pid = {p["pid"]: p["args"] for p in fork["processes"] if p["kind"] == "process"}
    logs = {ln["pid"]: ln for ln in fork["lines"] if ln["stream"] == "log"}
    assert set(logs) == set(by_pid)
    for pid, line in logs.items():
        assert line["text"] == f"root - INFO - Process {by_pid[pid]}: {by_pid[pid]}"
        assert line["dest"] == "multiprocessing.log"
    assert [ln for ln in record("spawn")["lines"] if ln["stream"] == "log"] == []


def test_run_unknown_question_is_one_clear_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "run", "submissions_example/002_7ff5858f08025dd0.txt",
                           "-q", "Q9"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "grader: no question 'Q9' in multiprocessing (questions: Q1, Q2, Q3, Q4, Q5, Q6)"


def test_run_with_a_wall_time_of_its_own_past_the_rubrics_most() -> None:
    """--wall-time is the limit, as given: above the rubric's `extend_to` too, and never extended."""
    import json

    proc = subprocess.run([sys.executable, "-m", "grader", "run", "submissions_example/002_7ff5858f08025dd0.txt",
                           "-q", "Q6", "--wall-time", "30", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    trace = json.loads(proc.stdout)["trace"]
    assert trace["limits"]["wall_time"] == 30 and "wall_time_max" not in trace["limits"]
    assert trace["limits_why"] == {} and not trace["wall_extended"]


# What a terminal would act on rather than show: C0/C1 controls but line feeds and tabs, bidi controls.
_ACTS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_HOSTILE = "\x1b]0;pwned\x07\x1b[2J\r\u202e\x9b31m"
_HOSTILE_Q3 = f'''# Q3 {_HOSTILE}
import ctypes, multiprocessing

def greet(name):
    ctypes.CDLL(None).prctl(15, {_HOSTILE!r}.encode(), 0, 0, 0)  # the process's own name
    print(name, flush=True)

if __name__ == "__main__":
    p = multiprocessing.Process(target=greet, args=({_HOSTILE!r},), name={_HOSTILE!r})
    p.start()
    p.join()
    raise ValueError({_HOSTILE!r})
'''


@pytest.mark.slow
def test_inspect_run_and_errors_show_student_text_as_escapes(tmp_path: Path) -> None:
    """A file name, its cells, what its program prints, names and raises, and a loader error quoting
    the name reach the TA's terminal as visible escapes, never as sequences it would act on."""
    sub = tmp_path / f"evil{_HOSTILE}.py"
    sub.write_text(_HOSTILE_Q3)
    broken = tmp_path / f"broken{_HOSTILE}.ipynb"
    broken.write_bytes(b"\x00\x01 not a notebook")
    for args in (["inspect", "--cells", str(sub)], ["run", str(sub), "-q", "Q3", "--show-program"],
                 ["inspect", str(broken)], ["run", str(broken), "-q", "Q3"]):
        proc = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True)
        shown = proc.stdout + proc.stderr
        assert not _ACTS.findall(shown), (args, _ACTS.findall(shown))
        assert "\\x1b]0;pwned\\x07" in shown, args  # shown, not dropped
    assert "ValueError" in shown or "binary file" in shown

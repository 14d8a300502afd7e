"""A batch that loses nothing: the ways a TA lost work before, each with a real run of `grader grade`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from grader.batch import plan
from grader.errors import GraderError
from tests.conftest import EXAMPLES, RUBRIC

pytestmark = pytest.mark.slow

SLOW_Q3 = """# Q3
import multiprocessing, os, sys

def work():
    print("child {n}", flush=True)
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep({sleep})", "{marker}"])

if __name__ == "__main__":
    p = multiprocessing.Process(target=work)
    p.start()
    p.join()
"""


def cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, **kw)


def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    for s in data["submissions"]:
        s.pop("seconds")
    return data


MARKER = f"grader-test-batch-{os.getpid()}"


def make_class(folder: Path, n: int, sleep: float = 0.5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        (folder / f"student{k}.py").write_text(SLOW_Q3.format(sleep=sleep, n=k, marker=MARKER))
    return folder


def test_a_mistyped_path_is_an_error_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = cli("grade", str(EXAMPLES / "000_a54be7d6b3609d4a.txt"), "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = (out / "results.json").read_bytes()
    proc = cli("grade", str(tmp_path / "corpus" / "rael"), "--out", str(out))
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr and "rael" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "results.json").read_bytes() == before  # the earlier batch is untouched


def test_out_pointing_at_a_file_fails_first_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "grades.txt"
    target.write_text("my notes\n")
    start = time.monotonic()
    proc = cli("grade", str(EXAMPLES), "--out", str(target))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"grader: --out {target}: exists and is not a folder"
    assert time.monotonic() - start < 10  # nothing was graded first
    assert target.read_text() == "my notes\n"


def test_same_file_names_in_two_folders_are_two_submissions(tmp_path: Path) -> None:
    for section, sleep in (("sec1", 0.0), ("sec2", 0.0)):
        (tmp_path / section).mkdir()
        (tmp_path / section / "hw.py").write_text(SLOW_Q3.format(sleep=sleep, n=section, marker=MARKER))
    (tmp_path / "sec2" / "hw.py").write_text("# Q1\nMultiprocessing runs several processes in parallel.\n")
    out = tmp_path / "out"
    proc = cli("grade", str(tmp_path / "sec1" / "hw.py"), str(tmp_path / "sec2" / "hw.py"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    subs = {s["submission"]: s for s in results(out)["submissions"]}
    assert sorted(subs) == ["sec1/hw.py", "sec2/hw.py"]
    assert subs["sec1/hw.py"] != subs["sec2/hw.py"]
    assert len(list((out / "details").glob("*.json"))) == 2


def test_ids_are_relative_to_what_was_given(tmp_path: Path) -> None:
    make_class(tmp_path / "class", 2)
    assert [e.id for e in plan([str(tmp_path / "class")]).entries] == ["student0.py", "student1.py"]
    assert [e.id for e in plan([str(tmp_path / "class" / "student1.py")]).entries] == ["student1.py"]
    with pytest.raises(GraderError, match="no such file or folder"):
        plan([str(tmp_path / "class"), str(tmp_path / "klass")])


def test_grading_into_a_folder_merges_by_id(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("grade", str(EXAMPLES / "000_a54be7d6b3609d4a.txt"), "--out", str(out)).returncode == 0
    assert cli("grade", str(EXAMPLES / "002_7ff5858f08025dd0.txt"), "--out", str(out)).returncode == 0
    ids = [s["submission"] for s in results(out)["submissions"]]
    assert ids == ["000_a54be7d6b3609d4a.txt", "002_7ff5858f08025dd0.txt"]


def interrupt_once_two_are_done(args: list[str], out: Path, within: float) -> None:
    """Run `grader ARGS`, press Ctrl-C (a real SIGINT) once two submissions are graded into `out`,
    and check it stops within `within` seconds, exits 130 and says how to finish."""
    # as from a terminal: a shell that started the test suite in the background made it ignore SIGINT,
    # and the batch would inherit that
    batch = subprocess.Popen([sys.executable, "-m", "grader", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while len(list((out / "details").glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert batch.poll() is None, "the batch ended before it could be interrupted"
    sent = time.monotonic()
    batch.send_signal(signal.SIGINT)
    _, err = batch.communicate(timeout=30)
    assert time.monotonic() - sent < within, f"Ctrl-C must stop the batch within {within:g} s"
    assert batch.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err


def test_ctrl_c_keeps_what_finished_and_resume_completes_it(tmp_path: Path) -> None:
    klass = make_class(tmp_path / "class", 5, sleep=0.6)
    whole = tmp_path / "whole"
    proc = cli("grade", str(klass), "--out", str(whole), "-j", "2")  # results do not depend on -j
    assert proc.returncode == 0, proc.stderr

    out = tmp_path / "out"
    interrupt_once_two_are_done(["grade", str(klass), "--out", str(out), "-j", "1"], out, within=3.0)
    kept = json.loads((out / "results.json").read_text())["submissions"]
    assert 2 <= len(kept) < 5  # what finished is on disk, and results.json lists it
    assert not _survivors(), "a run of the interrupted batch survived"

    resumed = cli("grade", str(klass), "--out", str(out), "-j", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(kept)} submission(s) already graded" in resumed.stderr
    assert f"grading {5 - len(kept)} submission(s)" in resumed.stderr
    assert results(out) == results(whole)


def _survivors() -> list[int]:
    """Processes still running a program of this test's batches (their command line has the marker)."""
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        if MARKER in (p.info["cmdline"] or []):
            found.append(p.pid)
    return found


def test_resume_regrades_what_changed(tmp_path: Path) -> None:
    klass = make_class(tmp_path / "class", 2, sleep=0.0)
    out = tmp_path / "out"
    assert cli("grade", str(klass), "--out", str(out)).returncode == 0
    again = cli("grade", str(klass), "--out", str(out), "--resume")
    assert "grading 0 submission(s)" in again.stderr
    (klass / "student1.py").write_text("# Q1\nMultiprocessing runs several processes in parallel.\n")
    changed = cli("grade", str(klass), "--out", str(out), "--resume")
    assert "grading 1 submission(s)" in changed.stderr
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC.read_text(encoding="utf-8").replace("wall_time: 10 s", "wall_time: 9 s"))
    regraded = cli("grade", str(klass), "--out", str(out), "--resume", "--rubric", str(rubric))
    assert "grading 2 submission(s)" in regraded.stderr


def test_a_symlink_planted_in_the_output_folder_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "details").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / "results.json").symlink_to(victim)
    (out / "details" / "000_a54be7d6b3609d4a.txt.json").symlink_to(victim)
    proc = cli("grade", str(EXAMPLES / "000_a54be7d6b3609d4a.txt"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    assert not (out / "results.json").is_symlink()
    assert json.loads((out / "results.json").read_text())["submissions"][0]["score"] > 0


def test_piping_into_head_is_not_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("grade", str(EXAMPLES / "000_a54be7d6b3609d4a.txt"), "--out", str(out)).returncode == 0
    overrides = tmp_path / "o.yaml"
    overrides.write_text("version: 1\nsubmissions: {}\n")
    for args in (["rescore", str(out), "--overrides", str(overrides)], ["checks"], ["rubric", "schema"],
                 ["grade", str(EXAMPLES / "000_a54be7d6b3609d4a.txt"), "--out", str(out)]):
        shell = subprocess.run(f"{sys.executable} -m grader {' '.join(args)} 2>&1 | head -c 20",
                               shell=True, capture_output=True, text=True)
        assert "Traceback" not in shell.stdout and "BrokenPipe" not in shell.stdout, (args, shell.stdout)


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("evil\x1b[2J\x1b]0;pwned\x07.py", "plain.py"):
        (klass / name).write_text("# Q1\nMultiprocessing runs processes in parallel.\n")
    proc = cli("grade", str(klass), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "evil\\x1b[2J" in proc.stderr

"""A student's folder holds what an archive can: symlinks out of it (to a secret, to the TA's reference
solution, to /dev/zero), named pipes, sockets, devices, folder loops. Nothing outside the submission is
read, nothing blocks, and the TA is told what was not read and why."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.batch import digest, plan
from grader.errors import SubmissionError
from grader.load import find_submissions, load
from grader.load.files import read_regular
from grader.rubric.load import load_rubric
from tests.conftest import RUBRIC

SECRET = "SECRET-7f3a the TA's private key"
ANSWER = "# Q1\nMultiprocessing runs processes in parallel on several cores.\n"


def _bounded(fn, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    """Call fn in a thread; fail (rather than hang the suite) if it blocks, as a FIFO's open would."""
    box: dict[str, object] = {}

    def call() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "blocked"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_text(SECRET)
    (outside / "solution.py").write_text(f"# {SECRET}\n" + ANSWER)
    return outside


def _special(folder: Path, name: str, what: str) -> None:
    path = folder / name
    if what == "fifo":
        os.mkfifo(path)
    elif what == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif what == "zero":
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize(("what", "reason"), [("fifo", "a named pipe"), ("socket", "a socket"),
                                              ("zero", "a symbolic link (to /dev/zero)")])
def test_a_pipe_socket_or_endless_device_is_named_and_never_read(tmp_path: Path, what: str, reason: str) -> None:
    student = tmp_path / "class" / "sam"
    student.mkdir(parents=True)
    _special(student, "hw.py", what)
    with pytest.raises(SubmissionError, match=re.escape(f"hw.py: {reason}")):
        _bounded(lambda: load(student))
    single = tmp_path / "class" / f"top-{what}.py"  # an entry of the class folder itself
    _special(single.parent, single.name, what)
    with pytest.raises(SubmissionError):
        _bounded(lambda: load(single))
    rubric = load_rubric(RUBRIC)
    for entry in _bounded(lambda: plan([str(tmp_path / "class")])).entries:  # --resume's digest neither
        _bounded(lambda e=entry: digest(e.path, rubric, None, e.id))


def test_links_out_of_a_students_folder_are_not_followed(tmp_path: Path, secret: Path) -> None:
    student = tmp_path / "sam"
    student.mkdir()
    (student / "hw.py").write_text(ANSWER)
    (student / "notes").symlink_to(secret)  # a folder link: not entered
    (student / "key.txt").symlink_to(secret / "id_rsa")
    (student / "loop").symlink_to("..")
    sub = _bounded(lambda: load(student))
    assert SECRET not in "".join(c.source for c in sub.cells)
    assert any("key.txt: a symbolic link" in n and "not followed" in n for n in sub.notes), sub.notes
    assert any(n.startswith("notes: a symbolic link") for n in sub.notes), sub.notes

    only_links = tmp_path / "kim"
    only_links.mkdir()
    (only_links / "q5.py").symlink_to(secret / "solution.py")  # the TA's reference, answering by name
    (only_links / "q6.py").symlink_to(secret / "solution.py")
    with pytest.raises(SubmissionError, match=r"q5\.py: a symbolic link") as info:
        load(only_links)
    assert SECRET not in str(info.value)


def test_a_link_the_ta_names_is_followed_and_a_class_entry_leading_out_is_refused(tmp_path: Path,
                                                                                  secret: Path) -> None:
    named = tmp_path / "named.py"
    named.symlink_to(secret / "solution.py")
    assert SECRET in load(named).cells[0].source  # the TA's own choice
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "ann.py").write_text(ANSWER)
    (klass / "ann-again.py").symlink_to("ann.py")  # inside the class folder: the TA's
    (klass / "zed").symlink_to(secret)
    found = find_submissions([str(klass)])
    assert sorted(Path(s).name for s in found.submissions) == ["ann-again.py", "ann.py"]
    assert len(found.refused) == 1 and "zed: a symbolic link" in found.refused[0], found.refused


def test_read_regular_reads_no_more_than_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"x" * 5000)
    assert read_regular(big, 5000, follow=False) == b"x" * 5000
    with pytest.raises(SubmissionError, match="too large"):
        read_regular(big, 4999, follow=False)


@pytest.mark.slow
def test_grade_goes_on_past_links_and_pipes_and_says_why(tmp_path: Path, secret: Path) -> None:
    klass = tmp_path / "class"
    for name in ("ann", "bob", "cid"):
        (klass / name).mkdir(parents=True)
    (klass / "ann" / "hw.py").write_text(ANSWER)
    (klass / "bob" / "hw.py").symlink_to(secret / "id_rsa")
    os.mkfifo(klass / "cid" / "hw.py")
    os.mkfifo(klass / "dan.py")
    (klass / "eve").symlink_to(secret)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(klass), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # some could not be graded; every row is there
    assert "eve: a symbolic link" in proc.stderr and "name it on the command line" in proc.stderr
    assert "bob: could not be graded" in proc.stderr and "a symbolic link" in proc.stderr
    assert "cid: could not be graded" in proc.stderr and "a named pipe" in proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path

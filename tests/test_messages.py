"""Messages and scores a student can trust, through the real CLI and real runs (issue 9): a hang is
reported as a hang and does not keep its points, an unguarded Process under spawn shows Python's
bootstrapping error, an exception in a Pool answer comes first, partial credit is in half points,
and a folder's results say which file was graded. Terminal output and the HTML report both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RUBRIC

pytestmark = pytest.mark.slow
WALL = 1  # seconds: the hanging programs are stopped after this

HANGS = '''\
# %%
# Q3. Write a python code to create a process using the multiprocessing module.
import multiprocessing


def wait_forever(queue):
    print("child waiting", flush=True)
    queue.get()  # nothing is ever put


if __name__ == "__main__":
    queue = multiprocessing.Queue()
    p = multiprocessing.Process(target=wait_forever, args=(queue,))
    p.start()
    p.join()

# %%
# Q5. How can we create a pool of worker processes in python using the multiprocessing module?
import multiprocessing
import time


def square(n):
    time.sleep(60)
    return n * n


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.map(square, [1, 2, 3]))

# %%
# Q6. Write a python program to create 4 processes, each process should print a different number using the
# multiprocessing module in python.
import multiprocessing


def show(n, queue):
    print(n, flush=True)
    queue.get()


if __name__ == "__main__":
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=show, args=(n, queue)) for n in (1, 2, 3, 4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
'''

MISTAKES = '''\
# %%
# Q2. What are the differences between multiprocessing and multithreading?
# Processes have separate memory while threads share memory; threads are held back by the GIL,
# processes run in parallel.

# %%
# Q3. Write a python code to create a process using the multiprocessing module.
import multiprocessing


def hello():
    print("hello from the child")


p = multiprocessing.Process(target=hello)
p.start()
p.join()

# %%
# Q5. How can we create a pool of worker processes in python using the multiprocessing module?
import multiprocessing


def square(n):
    return n * n


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.map(squre, [1, 2, 3]))
'''


def short_rubric(tmp: Path) -> Path:
    text = RUBRIC.read_text(encoding="utf-8")
    path = tmp / "rubric.yaml"
    text = text.replace("wall_time: 10 s", f"wall_time: {WALL} s")
    assert "wall_time: {extend_to: 20 s}" in text  # the code questions' auto limits: fixed here
    text = text.replace("wall_time: {extend_to: 20 s}", f"wall_time: {WALL} s")
    path.write_text(text, encoding="utf-8")
    return path


def grader(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true", "GRADER_CACHE_DIR": str(tmp / "cache")}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def check_lines(out: str, qid: str) -> list[str]:
    """The terminal lines of one question in `grader check`'s plain output."""
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[1:2] == [qid])
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:4] in ("PASS", "FAIL", "Scor")), len(lines))
    return lines[start:end]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("messages")
    rubric = short_rubric(tmp)
    got: dict[str, Any] = {"tmp": tmp}
    for name, text in (("hangs.py", HANGS), ("mistakes.py", MISTAKES)):
        (tmp / name).write_text(text, encoding="utf-8")
        done = grader(tmp, "check", name, "--rubric", str(rubric))
        assert done.returncode in (0, 1), done.stderr
        page = tmp / "grader-check" / "report" / f"{name}.html"
        got[name] = (done.stdout, page.read_text(encoding="utf-8"))
    return got


def test_a_hang_is_reported_as_a_hang_and_keeps_no_full_credit(checked: dict[str, Any]) -> None:
    out, page = checked["hangs.py"]
    q3, q5, q6 = (check_lines(out, q) for q in ("Q3", "Q5", "Q6"))
    # Q3 was 15/20 before: a process started (half of 10 now), the guard is there, spawn not judged
    assert q3[0].startswith("FAIL Q3  10 / 20"), q3
    # Q3's child waits on a queue nobody fills: stopped early, as it could never finish
    assert any("PARTIAL  Process created (5 / 10): The program would never finish: it was stopped before its time "
               "limit, so this check earns half" in ln
               and "stopped early: every process of the run was waiting" in ln
               for ln in q3), q3
    spawn = next(ln for ln in q3 if "Spawn safe" in ln)
    assert "Spawn safe (0 / 5): The program would never finish" in spawn and "default start method either" in spawn
    assert "It does not work with the spawn start method" not in spawn  # the hang is not blamed on spawn
    # Q5 was 12/15: the pool ran its tasks, but they never ended
    assert q5[0].startswith("FAIL Q5  8 / 15"), q5
    assert any("PARTIAL  Pool used (4 / 8): The program never finished" in ln for ln in q5)
    # Q6 was 18/20: runs times out first, every behaviour check is at most half
    assert q6[0].startswith("FAIL Q6  10.5 / 20"), q6
    assert "TIMEOUT  Runs (0 / 2): The program would never finish: it was stopped before its time limit." in q6[1]
    for text in ("The program never finished: it was stopped after 1 s, so this check earns half of its points",  # Q5
                 "It does not finish with the default start method either, so it cannot be judged under spawn."):
        assert text in page


def test_an_unguarded_process_under_spawn_shows_the_bootstrapping_error(checked: dict[str, Any]) -> None:
    out, page = checked["mistakes.py"]
    q3 = " ".join(check_lines(out, "Q3"))
    said = ("Under spawn, a child process failed as it started: RuntimeError: An attempt has been made to start a "
            "new process before the current process has finished its bootstrapping phase.")
    assert said in q3 and "RuntimeError: ." not in q3
    assert said in page and "RuntimeError: ." not in page


def test_an_exception_in_a_pool_answer_is_reported_first(checked: dict[str, Any]) -> None:
    out, page = checked["mistakes.py"]
    pool = next(ln for ln in check_lines(out, "Q5") if "Pool used" in ln)
    assert "Pool used (0 / 8): An uncaught exception in the main process (line " in pool
    assert "NameError: name 'squre' is not defined" in pool and "no task was given" not in pool
    assert pool.index("NameError") < pool.index("Your program should create a multiprocessing Pool")
    assert "NameError: name &#39;squre&#39; is not defined" in page


def test_concepts_credit_is_in_half_points(checked: dict[str, Any]) -> None:
    out, page = checked["mistakes.py"]
    concepts = next(ln for ln in check_lines(out, "Q2") if "Concepts" in ln)
    assert "Concepts (7.5 / 10)" in concepts, concepts  # 3 of 6 ideas at full_credit_at 0.67: 7.46 before
    assert "7.46" not in page


def test_a_folder_says_which_file_was_graded(tmp_path: Path) -> None:
    folder = tmp_path / "subs" / "alice"
    folder.mkdir(parents=True)
    (folder / "hw.py").write_text("# Q1. What is multiprocessing in python?\n# It runs separate processes in "
                                  "parallel on several cores, which helps.\n" * 3, encoding="utf-8")
    (folder / "draft.py").write_text("# Q1. draft\n", encoding="utf-8")
    done = grader(tmp_path, "grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "alice: graded hw.py; not graded: draft.py" in done.stdout
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]
    assert (row["submission"], row["graded_file"], row["not_graded"]) == ("alice", "hw.py", ["draft.py"])
    (details,) = (tmp_path / "out" / "details").glob("*.json")
    record = json.loads(details.read_text())
    assert (record["graded_file"], record["not_graded"]) == ("hw.py", ["draft.py"])
    pages = list((tmp_path / "out").rglob("alice*.html"))
    assert pages and all("Graded file:</strong> <code>hw.py</code>" in p.read_text() for p in pages)
    checked = grader(tmp_path, "check", str(folder))
    assert "graded file: hw.py; also in the folder, not graded: draft.py" in checked.stdout


def test_a_folder_of_per_question_files_is_graded_as_one_submission(tmp_path: Path) -> None:
    """A class folder whose student folder holds q1.py ... q5.py: one row, each answer from its file,
    and every output says which file an answer was taken from."""
    folder = tmp_path / "class" / "erin"
    folder.mkdir(parents=True)
    (folder / "q1.py").write_text("# Multiprocessing runs separate processes in parallel on several cores.\n")
    (folder / "q3.py").write_text("import multiprocessing\n\ndef hello():\n    print('hello')\n\n"
                                  "if __name__ == '__main__':\n    p = multiprocessing.Process(target=hello)\n"
                                  "    p.start()\n    p.join()\n")
    (folder / "q5.py").write_text("import multiprocessing\n\ndef sq(n):\n    return n * n\n\n"
                                  "if __name__ == '__main__':\n    with multiprocessing.Pool(2) as pool:\n"
                                  "        print(pool.map(sq, [1, 2]))\n")
    (folder / "notes.bin").write_bytes(b"\0" * 10)  # neither code nor text: not a candidate at all
    done = grader(tmp_path, "grade", str(tmp_path / "class"), "--rubric", str(short_rubric(tmp_path)),
                  "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]
    assert row["submission"] == "erin" and row["graded_file"] is None
    assert row["graded_files"] == ["q1.py", "q3.py", "q5.py"]
    q = {x["id"]: x for x in row["questions"]}
    assert q["Q3"]["location"] == {"files": [{"file": "q3.py", "lines": [[1, 9]]}]}
    assert q["Q3"]["found_by"] == "file-name" and "answer taken from q3.py" in q["Q3"]["reason"]
    assert {c["id"]: c["status"] for c in q["Q3"]["checks"]}["process_created"] == "passed"
    assert {c["id"]: c["status"] for c in q["Q5"]["checks"]}["pool_used"] == "passed"
    assert not q["Q2"]["answered"] and not q["Q6"]["answered"]
    pages = list((tmp_path / "out").rglob("erin*.html"))
    assert pages and all("answer taken from q3.py" in p.read_text() for p in pages)
    assert all("Graded files:" in p.read_text() for p in pages)
    checked = grader(tmp_path, "check", str(folder), "--rubric", str(short_rubric(tmp_path)))
    assert "graded files: q1.py, q3.py, q5.py" in checked.stdout

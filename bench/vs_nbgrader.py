"""The grader against nbgrader, side by side, on the same ten student notebooks of this homework.

    .venv/bin/python bench/vs_nbgrader.py [--rounds 3] [--nbgrader-venv DIR] [--keep DIR]

1. Installs nbgrader (`pip install nbgrader`) into a throwaway venv (or uses `--nbgrader-venv`).
2. Builds an nbgrader version of the homework of `rubrics/multiprocessing.yaml`: its six questions
   (Q1, Q2, Q4 written, graded by hand in nbgrader; Q3, Q5, Q6 code), an autograder test per code
   question (hidden tests, as courses write them: the answer cell's code is re-run as a
   `python3` script in its own session with a 10 s limit, its output and its imports checked),
   and ten student notebooks: five correct in different styles, one without the `__main__`
   guard, one with threads, one whose Q6 workers block forever on a queue, one with a syntax
   error in Q5 and an empty Q2, one whose Q6 workers sleep 2 s (the kinds of
   ../shared/peers-bench/gen/content.py, whose answers these are, renumbered to this homework).
3. Times, interleaved, `rounds` times each: `nbgrader autograde` over the ten (one batch call,
   a 30 s cell timeout, as the peers-bench figures), and `grader grade` over the same ten
   notebooks with `-j 1` and `-j 2` (the default rubric, fresh output folder each time). Each
   measurement is a whole command, start-up included; its CPU-seconds (the command and every
   process it started) are shown beside it. The grader's bytecode is compiled first, as an install
   leaves it (an editable checkout under PYTHONDONTWRITEBYTECODE would compile it at every start).
4. Prints each round, the medians and nbgrader's time over the grader's (its throughput
   multiple), and each notebook's grading time from the grader's results (where the time goes).

Both tools' scores are printed once, so one can see they graded the same thing. The machine's
load is shown with each round: these figures mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRADER = [sys.executable, "-m", "grader"]
ASSIGNMENT = "mp"

QUESTIONS = {  # this homework's questions (rubrics/multiprocessing.yaml)
    "Q1": ("written", "What is multiprocessing in python? Why is it useful?"),
    "Q2": ("written", "What are the differences between multiprocessing and multithreading?"),
    "Q3": ("code", "Write a python code to create a process using the multiprocessing module."),
    "Q4": ("written", "What is a multiprocessing pool in python? Why is it used?"),
    "Q5": ("code", "How can we create a pool of worker processes in python using the multiprocessing module?"),
    "Q6": ("code", "Write a python program to create 4 processes, each process should print a different number "
                   "using the multiprocessing module in python."),
}

PROSE = {
    "Q1": "Multiprocessing runs parts of a program in separate processes, each with its own interpreter and "
          "memory, so they run in parallel on several CPU cores and are not limited by the GIL; useful for "
          "CPU-bound work.",
    "Q2": "Processes have separate memory, threads share the memory of one process. Threads are limited by the "
          "GIL, processes run in true parallel on multiple cores. Processes cost more to start and communicate "
          "through queues and pipes; threads suit I/O-bound work.",
    "Q4": "A pool is a fixed number of reusable worker processes; tasks are distributed to the workers with map "
          "or apply, so one function runs in parallel over many inputs.",
}

SOLUTION = {
    "Q3": """import multiprocessing

def worker(n):
    print(n)

if __name__ == '__main__':
    p = multiprocessing.Process(target=worker, args=(42,))
    p.start()
    p.join()""",
    "Q5": """import multiprocessing

def square(x):
    return x * x

if __name__ == '__main__':
    with multiprocessing.Pool(4) as pool:
        print(pool.map(square, [1, 2, 3]))""",
    "Q6": """import multiprocessing

def worker(n):
    print(n)

if __name__ == '__main__':
    ps = [multiprocessing.Process(target=worker, args=(i,)) for i in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()""",
}


def _answers(**code: str) -> dict[str, str]:
    return {**PROSE, **SOLUTION, **code}


STUDENTS: dict[str, dict[str, str]] = {
    "s01_correct": _answers(),
    "s02_correct_from_import": _answers(
        Q3="""from multiprocessing import Process

def show(n):
    print('got', n)

if __name__ == '__main__':
    p = Process(target=show, args=(7,))
    p.start(); p.join()""",
        Q5="""from multiprocessing import Pool

def square(x):
    return x ** 2

if __name__ == '__main__':
    with Pool(processes=2) as pool:
        print(pool.map(square, [1, 2, 3]))""",
        Q6="""from multiprocessing import Process

def worker(n):
    print('worker', n)

if __name__ == '__main__':
    procs = []
    for i in range(1, 5):
        p = Process(target=worker, args=(i,))
        procs.append(p)
        p.start()
    for p in procs:
        p.join()"""),
    "s03_correct_alias": _answers(
        Q3=SOLUTION["Q3"].replace("import multiprocessing", "import multiprocessing as mp")
        .replace("multiprocessing.Process", "mp.Process"),
        Q5=SOLUTION["Q5"].replace("import multiprocessing", "import multiprocessing as mp")
        .replace("multiprocessing.Pool(4)", "mp.Pool()"),
        Q6=SOLUTION["Q6"].replace("import multiprocessing", "import multiprocessing as mp")
        .replace("multiprocessing.Process", "mp.Process").replace("args=(i,)", "args=(i * 10,)")),
    "s04_correct_flush": _answers(Q6=SOLUTION["Q6"].replace("print(n)", "print(f'number {n}', flush=True)")),
    "s05_correct_range": _answers(Q5=SOLUTION["Q5"].replace("[1, 2, 3]", "range(1, 4)")),
    "s06_missing_guard": _answers(
        Q3="""import multiprocessing

def worker(n):
    print(n)

p = multiprocessing.Process(target=worker, args=(42,))
p.start()
p.join()""",
        Q5="""import multiprocessing

def square(x):
    return x * x

with multiprocessing.Pool(4) as pool:
    print(pool.map(square, [1, 2, 3]))""",
        Q6="""import multiprocessing

def worker(n):
    print(n)

ps = [multiprocessing.Process(target=worker, args=(i,)) for i in range(4)]
for p in ps: p.start()
for p in ps: p.join()"""),
    "s07_threading": _answers(
        Q3="""import threading

def worker(n):
    print(n)

if __name__ == '__main__':
    t = threading.Thread(target=worker, args=(42,))
    t.start()
    t.join()""",
        Q5="""from multiprocessing.pool import ThreadPool

def square(x):
    return x * x

if __name__ == '__main__':
    with ThreadPool(4) as pool:
        print(pool.map(square, [1, 2, 3]))""",
        Q6="""import threading

def worker(n):
    print(n)

if __name__ == '__main__':
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()"""),
    "s08_hang_queue_get": _answers(
        Q6="""import multiprocessing

def worker(q):
    n = q.get()          # waits forever: nobody ever puts anything
    print(n)

if __name__ == '__main__':
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=worker, args=(q,)) for i in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()"""),
    "s09_syntax_error": _answers(
        Q2="",
        Q5="""import multiprocessing

def square(x)
    return x * x

if __name__ == '__main__':
    with multiprocessing.Pool(4) as pool:
        print(pool.map(square, [1, 2, 3]))"""),
    "s10_sleep_2s": _answers(
        Q6="""import multiprocessing, time

def worker(n):
    time.sleep(2)
    print(n)

if __name__ == '__main__':
    ps = [multiprocessing.Process(target=worker, args=(i,)) for i in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()"""),
}

# The autograder test of a code question (peers-bench's, unchanged but for the names): find the
# answer cell's source in IPython's history, re-run it as a script in its own session with a 10 s
# limit (child processes' output comes through the pipe; a hang is killed as a group), check it.
TEST = '''def test_{q}(In):
    import ast, os, re, signal, subprocess, sys, tempfile
    srcs = [s for s in (In or []) if s.lstrip().startswith('# ANSWER {q}')]
    assert srcs, '{q}: answer cell was not executed'
    src = srcs[-1]
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(src)
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    proc = subprocess.Popen([sys.executable, f.name], stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError('{q}: answer did not finish within 10 s')
    finally:
        os.unlink(f.name)
    assert proc.returncode == 0, '{q}: exit code %s: %s' % (proc.returncode, out[-300:])
    tree = ast.parse(src)
    mods, names = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            mods |= {{a.name.split('.')[0] for a in n.names}}
        elif isinstance(n, ast.ImportFrom) and n.module:
            mods.add(n.module.split('.')[0])
            names |= {{a.name for a in n.names}}
        elif isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
    assert 'multiprocessing' in mods and 'threading' not in mods, '{q}: must use multiprocessing, not threads'
    nums = re.findall(r'-?\\d+', out)
{checks}
test_{q}(In)'''
CHECKS = {
    "Q3": """    assert 'Process' in names, 'Q3: create a multiprocessing.Process'
    assert len(nums) == 1, 'Q3: expected one number, got %r' % out""",
    "Q5": """    assert 'Pool' in names and 'ThreadPool' not in names, 'Q5: use multiprocessing.Pool'
    assert '[1, 4, 9]' in out, 'Q5: expected [1, 4, 9], got %r' % out""",
    "Q6": """    assert 'Process' in names, 'Q6: create multiprocessing.Process objects'
    assert len(nums) == 4 and len(set(nums)) == 4, 'Q6: expected 4 different numbers, got %r' % out""",
}
CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = 'mpcourse'
c.Execute.timeout = 30
"""


# -- building ---------------------------------------------------------------------------------------


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
          points: float | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                          "schema_version": 3, "task": False}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


def _cell(kind: str, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def source_notebook() -> dict[str, Any]:
    """The instructor's notebook: questions, solutions, hidden autograder tests."""
    cells = [_cell("markdown", "# Python multiprocessing\nAnswer Q1, Q2 and Q4 in words, Q3, Q5 and Q6 in code.",
                   _meta("intro", locked=True))]
    for qid, (kind, text) in QUESTIONS.items():
        cells.append(_cell("markdown", f"## {qid}. {text}", _meta(f"{qid}_prompt", locked=True)))
        if kind == "written":
            cells.append(_cell("markdown", PROSE[qid], _meta(f"{qid}_answer", grade=True, solution=True, points=5)))
            continue
        cells.append(_cell("code", f"# ANSWER {qid}\n### BEGIN SOLUTION\n{SOLUTION[qid]}\n### END SOLUTION",
                           _meta(f"{qid}_answer", solution=True)))
        test = TEST.format(q=qid, checks=CHECKS[qid])
        cells.append(_cell("code", f"# autograder test of {qid}\n### BEGIN HIDDEN TESTS\n{test}\n### END HIDDEN TESTS",
                           _meta(f"{qid}_test", grade=True, locked=True, points=5)))
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def student_notebook(release: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_answer"):
            qid = grade_id.split("_")[0]
            if cell["cell_type"] == "code":
                cell["source"] = f"# ANSWER {qid}\n{answers[qid]}"
            else:
                cell["source"] = answers[qid] or "YOUR ANSWER HERE"
    return nb


def build(work: Path, nbgrader: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """The nbgrader course (source, release, submitted) and a folder of the same ten notebooks for the grader."""
    course = work / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
    (course / "source" / ASSIGNMENT / "mp.ipynb").write_text(json.dumps(source_notebook(), indent=1))
    run([str(nbgrader), "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env, ok=(0,))
    release = json.loads((course / "release" / ASSIGNMENT / "mp.ipynb").read_text())
    flat = work / "notebooks"
    flat.mkdir()
    for student, answers in STUDENTS.items():
        text = json.dumps(student_notebook(release, answers), indent=1)
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "mp.ipynb").write_text(text)
        (flat / f"{student}.ipynb").write_text(text)
    return course, flat


# -- running ----------------------------------------------------------------------------------------


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and everything it started)."""
    start, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    took, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return took, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def compile_grader() -> None:
    """The grader's bytecode, as installing it (pip) leaves it: an editable checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise compile its modules from source at every start
    (about 0.25 s of each `grader grade`); nbgrader's venv has its bytecode from pip."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "grader")], check=True,
                   stdout=subprocess.DEVNULL)


def nbgrader_venv(given: str | None, scratch: Path) -> Path:
    if given:
        venv = Path(given)
        if not (venv / "bin" / "nbgrader").exists():
            sys.exit(f"{venv}: no bin/nbgrader there")
        return venv
    venv = scratch / "nbgrader-venv"
    print(f"installing nbgrader into a throwaway venv ({venv})...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "nbgrader"], check=True)
    return venv


def version_of(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import nbgrader; print(nbgrader.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def grader_scores(out: Path) -> dict[str, tuple[float, float]]:
    data = json.loads((out / "results.json").read_text())
    return {s["submission"]: (s["score"], s.get("seconds", 0.0)) for s in data["submissions"]}


def grader_runs(out: Path, sid: str) -> list[tuple[str, float, str]]:
    """(question/variant, wall seconds, how it ended) of every run of one submission."""
    details = json.loads((out / "details" / f"{sid}.json").read_text())
    runs = []
    for q in details["questions"]:
        for a in q["attempts"]:
            for variant, t in a["runs"].items():
                end = "stopped early" if t.get("stopped") else "timeout" if t.get("timed_out") else ""
                runs.append((f"{q['id']}/{variant}", t["wall_time"], end))
    return runs


def nbgrader_scores(venv: Path, course: Path) -> dict[str, float]:
    code = ("from nbgrader.api import Gradebook\n"
            "import json\n"
            "with Gradebook('sqlite:///gradebook.db') as gb:\n"
            "    print(json.dumps({s.student.id: s.score for s in gb.assignment_submissions('mp')}))\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=course, capture_output=True, text=True)
    try:
        return {k: float(v) for k, v in json.loads(out.stdout).items()}
    except ValueError:
        return {}


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nbgrader-venv", metavar="DIR", help="use nbgrader from this venv instead of installing it")
    ap.add_argument("--keep", metavar="DIR", help="build and grade in DIR and keep it (default: a temporary folder)")
    ap.add_argument("--jobs", default="1,2", help="the grader's -j values to time (default 1,2)")
    args = ap.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vs-nbgrader-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        venv = nbgrader_venv(args.nbgrader_venv, scratch)
        work = scratch / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
        course, flat = build(work, venv / "bin" / "nbgrader", env)
        print(f"{platform.node()}: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
              f"Python {platform.python_version()}, nbgrader {version_of(venv)}; {len(STUDENTS)} notebooks, "
              f"{args.rounds} rounds, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
        tools: dict[str, list[str]] = {"nbgrader autograde": [str(venv / "bin" / "nbgrader"), "autograde", ASSIGNMENT,
                                                              "--force"]}
        for j in jobs:
            tools[f"grader grade -j {j}"] = [*GRADER, "grade", str(flat), "--out", str(work / f"out-j{j}"), "-j",
                                             str(j)]
        compile_grader()
        times: dict[str, list[float]] = {name: [] for name in tools}
        cpu: dict[str, list[float]] = {name: [] for name in tools}
        names = list(tools)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # interleaved, each first in turn
            row = []
            for name in order:
                if name.startswith("grader"):
                    shutil.rmtree(work / f"out-j{name.rsplit(' ', 1)[1]}", ignore_errors=True)
                before = load()
                took, used = run(tools[name], cwd=course if name.startswith("nbgrader") else ROOT,
                                 env=env if name.startswith("nbgrader") else None)
                times[name].append(took)
                cpu[name].append(used)
                row.append(f"{name} {took:.1f} s, {used:.1f} CPU-s (load {before})")
            print(f"round {r + 1}: " + "; ".join(row), flush=True)
        base = statistics.median(times["nbgrader autograde"])
        print("\nmedians:")
        for name in names:
            med = statistics.median(times[name])
            ratio = "" if name.startswith("nbgrader") else f"  -> {base / med:.1f}x nbgrader's throughput"
            print(f"  {name:22} {med:6.1f} s ({statistics.median(cpu[name]):.1f} CPU-s){ratio}")
        ours = grader_scores(work / f"out-j{jobs[-1]}")
        theirs = nbgrader_scores(venv, course)
        print("\nper notebook (grader: score /100 and seconds of its last -j "
              f"{jobs[-1]} run; nbgrader: autograded points /15):")
        total_runs, run_seconds, graded_seconds = 0, 0.0, 0.0
        for student in STUDENTS:
            score, secs = ours.get(f"{student}.ipynb", (float("nan"), 0.0))
            points = theirs.get(student, float("nan"))
            runs = grader_runs(work / f"out-j{jobs[-1]}", f"{student}.ipynb")
            total_runs += len(runs)
            run_seconds += sum(r[1] for r in runs)
            graded_seconds += secs
            shown = ", ".join(f"{name} {t:.2f}{' ' + end if end else ''}" for name, t, end in runs)
            print(f"  {student:26} grader {score:6.2f} in {secs:5.2f} s   nbgrader {points:g}   runs: {shown}")
        print(f"\ngrader, last -j {jobs[-1]} run: {total_runs} runs took {run_seconds:.1f} s of wall time "
              f"(program and sandbox), of {graded_seconds:.1f} s spent grading the submissions")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: wall time of each example code answer, bare versus through the grader's sandbox.

For every code answer of the example submissions (the program the grader would run: the answer
plus what it needs from earlier cells), this runs, side by side and interleaved,

    bare:    python answer.py            (the interpreter the sandbox uses, fresh temp dir, stdin empty)
    grader:  grader.sandbox.run_program  (isolation, limits, event recording, cleanup)

several times each, and prints the median wall time of both per answer, their ratio, and the
median ratio over all answers. The target is a median ratio of 1.3 or less. Answers that hit
the time limit (seed 001's Q6 blocks forever) are reported but left out of the ratio: both
sides only measure the limit there.

    python bench/run_overhead.py [--repeat 5] [--wall-time 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.load import load  # noqa: E402
from grader.locate import locate, questions_from_rubric  # noqa: E402
from grader.program import build_program  # noqa: E402
from grader.rubric.load import load_rubric  # noqa: E402
from grader.sandbox import Limits, run_program, student_python  # noqa: E402

PYTHON = student_python()  # the interpreter student code runs with, so both sides start the same Python


@dataclass
class Case:
    name: str
    source: str


def cases() -> list[Case]:
    rubric = load_rubric(ROOT / "rubrics" / "multiprocessing.yaml")
    questions = questions_from_rubric(rubric)
    found = []
    for path in sorted((ROOT / "submissions_example").iterdir()):
        sub = load(path)
        for answer in locate(sub, questions):
            program = build_program(sub, answer)
            if program is not None and program.syntax_error is None:
                found.append(Case(f"{path.name[:3]} {answer.question}", program.source))
    return found


def run_bare(source: str, wall_time: float) -> tuple[float, bool]:
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        script = Path(tmp) / "answer.py"
        script.write_text(source)
        start = time.perf_counter()
        proc = subprocess.Popen([PYTHON, "answer.py"], cwd=tmp, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # A blocking wait plus a kill timer: Popen.wait(timeout=...) polls with sleeps of up to
        # 50 ms, which would add up to 50 ms to every bare run.
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, 9)

        timer = threading.Timer(wall_time, kill)
        timer.start()
        proc.wait()
        elapsed = time.perf_counter() - start
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)  # whatever it left behind
        return elapsed, killed.is_set()


def run_grader(source: str, wall_time: float) -> tuple[float, bool]:
    start = time.perf_counter()
    trace = run_program(source, limits=Limits(wall_time=wall_time))
    return time.perf_counter() - start, bool(trace.timed_out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--wall-time", type=float, default=10.0)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()

    rows = []
    for case in cases():
        bare: list[float] = []
        graded: list[float] = []
        timed_out = False
        for _ in range(args.repeat):  # interleaved, so drift on the machine hits both sides alike
            t, to1 = run_bare(case.source, args.wall_time)
            bare.append(t)
            t, to2 = run_grader(case.source, args.wall_time)
            graded.append(t)
            timed_out = timed_out or to1 or to2
        b, g = statistics.median(bare), statistics.median(graded)
        rows.append({"answer": case.name, "bare_s": round(b, 4), "grader_s": round(g, 4),
                     "ratio": round(g / b, 3), "timed_out": timed_out})
        flag = "  (time limit: left out)" if timed_out else ""
        print(f"{case.name:8} bare {b * 1000:8.1f} ms   grader {g * 1000:8.1f} ms   ratio {g / b:5.2f}{flag}",
              flush=True)
    ratios = [r["ratio"] for r in rows if not r["timed_out"]]
    median = statistics.median(ratios)
    print(f"\nmedian ratio grader/bare over {len(ratios)} answers: {median:.2f}  (target <= 1.3; "
          f"{args.repeat} runs each, interleaved, {PYTHON}, {os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps({"median_ratio": median, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: what the grader costs on top of the student's programs.

Two figures, each side by side with the same programs run bare (`bench/bare.py`: `python
answer.py` with the interpreter student code runs with), interleaved so that drift on the
machine hits both sides alike, several rounds, medians:

1. Per run (`--runs`, the default): every code answer of the submissions (the program the grader
   would run: the answer plus what it needs from earlier cells), once through
   `grader.sandbox.run_program` (isolation, the kernel observer, limits, recording, clean-up) and
   once bare. Prints each answer's ratio and the median ratio. Answers that hit the time limit
   are reported but left out of the median: both sides only measure the limit there.
2. Whole grading (`--grading`): each submission graded in this process (`grade_submission`:
   locating, every run it makes, checks, scoring; the imports are paid once, as in a batch)
   against the runs it made done bare one after the other, each under the start method the grader
   used. Prints each file's ratio, the total ratio over all files, and the median ratio over the
   files none of whose runs hit a time limit. Issue 11's target: 1.2 on the twenty shared files.
   By default a file's questions are graded one after another, so the figure is the grader's own
   cost; `--side-by-side` grades them as `grader check` does, side by side on the usable cores.

    python bench/run_overhead.py [--runs] [--grading [--side-by-side]] [--shared] [FILE...]
                                 [--repeat 5] [--json out.json]

Files: the given ones, else with `--shared` the twenty files of ../shared (corpus/real and
seeds), else the example submissions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare import PYTHON, ROOT, run_bare

from grader.grade import grade_submission, outcome_of
from grader.load import load
from grader.locate import locate, questions_from_rubric
from grader.program import build_program
from grader.rubric.load import load_rubric
from grader.sandbox import Limits, run_program

RUBRIC = ROOT / "rubrics" / "multiprocessing.yaml"


@dataclass
class Case:
    name: str
    source: str


def shared_files() -> list[Path]:
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if (shared / "seeds").is_dir():
            return sorted([*(shared / "corpus" / "real").glob("[0-9]*"), *(shared / "seeds").iterdir()])
    raise SystemExit("no ../shared folder with corpus/real and seeds next to this checkout")


def cases(files: list[Path]) -> list[Case]:
    rubric = load_rubric(RUBRIC)
    questions = questions_from_rubric(rubric)
    found = []
    for path in files:
        sub = load(path)
        for answer in locate(sub, questions):
            program = build_program(sub, answer)
            if program is not None and program.syntax_error is None:
                found.append(Case(f"{path.name[:3]} {answer.question}", program.source))
    return found


def run_grader(source: str, wall_time: float) -> tuple[float, bool]:
    start = time.perf_counter()
    trace = run_program(source, limits=Limits(wall_time=wall_time))
    return time.perf_counter() - start, bool(trace.timed_out)


def per_run(files: list[Path], repeat: int, wall_time: float) -> dict[str, object]:
    rows = []
    for case in cases(files):
        bare: list[float] = []
        graded: list[float] = []
        timed_out = False
        for _ in range(repeat):
            t, to1 = run_bare(case.source, wall_time)
            bare.append(t)
            t, to2 = run_grader(case.source, wall_time)
            graded.append(t)
            timed_out = timed_out or to1 or to2
        b, g = statistics.median(bare), statistics.median(graded)
        rows.append({"answer": case.name, "bare_s": round(b, 4), "grader_s": round(g, 4),
                     "ratio": round(g / b, 3), "timed_out": timed_out})
        flag = "  (time limit: left out)" if timed_out else ""
        print(f"{case.name:8} bare {b * 1000:8.1f} ms   grader {g * 1000:8.1f} ms   ratio {g / b:5.2f}{flag}",
              flush=True)
    ratios = [r["ratio"] for r in rows if not r["timed_out"]]
    extra = [(r["grader_s"] - r["bare_s"]) * 1000 for r in rows if not r["timed_out"]]  # type: ignore[operator]
    median = statistics.median(ratios)
    print(f"\nper run: median ratio grader/bare over {len(ratios)} answers: {median:.2f}, median extra "
          f"{statistics.median(extra):.0f} ms per run  ({repeat} runs each, interleaved)\n", flush=True)
    return {"median_ratio": median, "median_extra_ms": statistics.median(extra), "rows": rows}


def grading(files: list[Path], repeat: int, parallel: int = 1) -> dict[str, object]:
    rubric = load_rubric(RUBRIC)
    grade_submission(str(files[0]), rubric, parallel=parallel)  # imports and caches paid once, as in a batch
    rows = []
    for path in files:
        graded: list[float] = []
        bare: list[float] = []
        runs = 0
        timed_out = False
        for _ in range(repeat):
            start = time.perf_counter()
            outcome = outcome_of(grade_submission(str(path), rubric, parallel=parallel), rubric)
            graded.append(time.perf_counter() - start)
            made = [(a.source, t) for q in outcome.questions for a in q.attempts for t in a.runs.values()]
            runs = len(made)
            total = 0.0
            for source, trace in made:
                t, hit = run_bare(source, trace.limits.get("wall_time", 10.0), trace.start_method_requested)
                total += t
                timed_out = timed_out or hit or trace.timed_out
            bare.append(total)
        g, b = statistics.median(graded), statistics.median(bare)
        rows.append({"file": path.name, "runs": runs, "grading_s": round(g, 3), "bare_s": round(b, 3),
                     "ratio": round(g / b, 3) if b else None, "timed_out": timed_out})
        flag = "  (a run hit its time limit)" if timed_out else ""
        print(f"{path.name[:40]:40} {runs:2} runs  bare {b:6.3f} s  grading {g:6.3f} s  "
              f"ratio {g / b if b else float('nan'):5.2f}{flag}", flush=True)
    total_g = sum(r["grading_s"] for r in rows)  # type: ignore[misc]
    total_b = sum(r["bare_s"] for r in rows)  # type: ignore[misc]
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None and not r["timed_out"]]
    median = statistics.median(ratios) if ratios else float("nan")
    print(f"\nwhole grading: total {total_g:.2f} s against {total_b:.2f} s bare, ratio {total_g / total_b:.2f}; "
          f"median ratio over the {len(ratios)} files without a time-limit run: {median:.2f} (target <= 1.2)",
          flush=True)
    return {"total_ratio": total_g / total_b, "median_ratio": median, "parallel": parallel, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--runs", action="store_true", help="the per-run figure (default when neither is asked)")
    ap.add_argument("--grading", action="store_true", help="the whole-grading figure")
    ap.add_argument("--shared", action="store_true", help="the twenty files of ../shared (corpus/real, seeds)")
    ap.add_argument("--side-by-side", action="store_true",
                    help="with --grading: grade each file's questions side by side on the usable cores, as "
                         "`grader check` does (default: one question after another, the grader's own cost alone)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--wall-time", type=float, default=10.0)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    files = args.files or (shared_files() if args.shared else sorted((ROOT / "submissions_example").iterdir()))
    out: dict[str, object] = {"python": PYTHON, "cpus": os.cpu_count(), "repeat": args.repeat,
                              "files": [str(f) for f in files]}
    if args.runs or not args.grading:
        out["per_run"] = per_run(files, args.repeat, args.wall_time)
    if args.grading:
        from grader.cli.check import usable_cpus

        out["grading"] = grading(files, args.repeat, usable_cpus() if args.side_by_side else 1)
    print(f"({PYTHON}, {os.cpu_count()} CPUs, {args.repeat} rounds, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

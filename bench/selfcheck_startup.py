"""Benchmark: what a student's self-check adds to the time their own code takes.

For a submission (default: the rubric's reference solution and the example submissions that do
not hit a time limit) this measures, interleaved, several times each:

    bare:   every program the self-check runs, as `python answer.py`, one after the other (the
            same programs, as many times as the grader runs them: once per run variant, each
            under the start method that run used: bench/bare.py)
    check:  `grader check SUBMISSION` as a student types it (a fresh process, rubric cache warm)

and prints the median of both and the median difference: the self-check's overhead (start-up,
imports, rubric, locating the answers, the sandbox, the checks, the report). The target is 0.5 s.

`--against PYTHON` also times another grader (the interpreter of another checkout's venv, say
main's: `--against ../main/.venv/bin/python`) in the same rounds, the two checks in alternating
order beside the same bare runs, so a before/after comparison sees the same load.

    python bench/selfcheck_startup.py [SUBMISSION...] [--repeat 5] [--against PYTHON] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare import ROOT, run_bare

from grader.grade import grade_submission, outcome_of
from grader.rubric.load import load_rubric

RUBRIC = ROOT / "rubrics" / "multiprocessing.yaml"
DEFAULTS = [ROOT / "rubrics" / "multiprocessing" / "reference.py",
            *[p for p in sorted((ROOT / "submissions_example").iterdir()) if not p.name.startswith("001_")]]


def programs(path: Path) -> list[tuple[str, str | None]]:
    """The programs a self-check of `path` runs, one entry per run (each variant of each attempt),
    with the start method the run used."""
    rubric = load_rubric(RUBRIC)
    outcome = outcome_of(grade_submission(str(path), rubric), rubric)
    return [(a.source, t.start_method_requested) for q in outcome.questions for a in q.attempts
            for t in a.runs.values()]


def bare(runs: list[tuple[str, str | None]]) -> float:
    return sum(run_bare(source, 60.0, method)[0] for source, method in runs)


def check(path: Path, folder: Path, env: dict[str, str], python: str = sys.executable) -> float:
    start = time.perf_counter()
    done = subprocess.run([python, "-m", "grader", "check", str(path), "--rubric", str(RUBRIC), "--out",
                           str(folder / "out")], cwd=folder, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1) or "Score: " not in done.stdout:
        raise SystemExit(f"grader check {path} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=lambda p: Path(p).resolve(), default=DEFAULTS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", metavar="PYTHON", help="also time the grader this interpreter runs, interleaved")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    # As a pip-installed grader runs: with its modules byte-compiled (this machine sets
    # PYTHONDONTWRITEBYTECODE, which would make every start compile ~80 modules from source).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"CI": "true"}
    graders = {"this": sys.executable} | ({"against": args.against} if args.against else {})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in args.paths:
            sources = programs(path)
            for python in graders.values():
                check(path, folder, env, python)  # warms the rubric cache and the OS's file cache, as a 2nd run
            times: dict[str, list[float]] = {"bare": [], **{name: [] for name in graders}}
            for k in range(args.repeat):
                times["bare"].append(bare(sources))
                for name in sorted(graders, reverse=k % 2 == 1):  # alternate which goes first
                    times[name].append(check(path, folder, env, graders[name]))
            row: dict[str, object] = {"submission": path.name, "runs": len(sources),
                                      "bare": round(statistics.median(times["bare"]), 3)}
            line = f"{path.name:32} {len(sources):2} runs  bare {row['bare']:6.3f} s"
            for name in graders:
                diffs = [ck - bk for bk, ck in zip(times["bare"], times[name], strict=True)]
                check_s, overhead = statistics.median(times[name]), statistics.median(diffs)
                row[name] = {"check": round(check_s, 3), "overhead": round(overhead, 3)}
                line += f"  {name}: check {check_s:6.3f} s overhead {overhead:6.3f} s"
            rows.append(row)
            print(line, flush=True)
    summary = {}
    for name, python in graders.items():
        overall = statistics.median(r[name]["overhead"] for r in rows)  # type: ignore[index]
        summary[name] = overall
        print(f"median overhead of a self-check ({name}: {python}): {overall:.3f} s (target: 0.5 s)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "median_overhead": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a class of 50 and of 1,000 submissions, graded side by side: throughput and memory.

The class is made of renamed copies of the example submissions and the real corpus
(tests/corpus/real), so every kind of answer is in it, hangs included; `--from FILE...` makes it
of copies of those files instead (e.g. the examples that grade in about a second, for a large
class on a small machine). For each size, this runs `grader grade CLASS --out OUT -j JOBS` as a
subprocess, checks that results.json has a row for every submission, and reports

    submissions per minute   (wall time of the whole command)
    peak memory of the grader process itself (RSS, sampled every 20 ms; student programs are
                             separate processes and not counted)

and the ratio of peak memory at the largest size to the smallest: the grader keeps only each
submission's summary in memory, so the target is a ratio within 1.10.

    python bench/batch_scale.py [--sizes 50 1000] [--jobs 2] [--wall-time 3] [--from FILE...] [--json out.json]

`--wall-time` lowers the rubric's time limit (10 s) so that hanging answers cost less; both
sizes use the same rubric, so the comparison holds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "submissions_example").iterdir()) + sorted(
    p for p in (ROOT / "tests" / "corpus" / "real").iterdir() if p.suffix in (".ipynb", ".py", ".txt"))


def make_class(folder: Path, n: int, sources: list[Path]) -> None:
    folder.mkdir(parents=True)
    for k in range(n):
        src = sources[k % len(sources)]
        shutil.copyfile(src, folder / f"student{k:04d}{src.suffix}")


def rubric_with(wall_time: float, folder: Path) -> Path:
    text = (ROOT / "rubrics" / "multiprocessing.yaml").read_text(encoding="utf-8")
    path = folder / "rubric.yaml"
    path.write_text(text.replace("  wall_time: 10 s\n", f"  wall_time: {wall_time:g} s\n"), encoding="utf-8")
    return path


def measure(klass: Path, out: Path, rubric: Path, jobs: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "grader", "grade", str(klass), "--out", str(out), "-j", str(jobs),
           "--rubric", str(rubric)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    peak = 0
    me = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, me.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    seconds = time.monotonic() - start
    done.set()
    sampler.join()
    if code not in (0, 1):
        raise SystemExit(f"grader exited with {code}")
    n = len(json.loads((out / "results.json").read_text())["submissions"])
    if n != len(list(klass.iterdir())):
        raise SystemExit(f"results.json has {n} rows for {len(list(klass.iterdir()))} submissions")
    return {"submissions": n, "seconds": round(seconds, 1), "per_minute": round(60 * n / seconds, 1),
            "peak_rss_mib": round(peak / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 1000])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--wall-time", type=float, default=3.0)
    ap.add_argument("--from", dest="sources", type=Path, nargs="+", metavar="FILE",
                    help="make the class of copies of these files (default: the examples and the real corpus)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rubric = rubric_with(args.wall_time, Path(tmp))
        for size in args.sizes:
            klass = Path(tmp) / f"class{size}"
            make_class(klass, size, [p.resolve() for p in args.sources] if args.sources else SOURCES)
            row = {"size": size, **measure(klass, Path(tmp) / f"out{size}", rubric, args.jobs)}
            rows.append(row)
            print(f"{size:>5} submissions: {row['seconds']:>7} s, {row['per_minute']:>6} per minute, "
                  f"grader peak {row['peak_rss_mib']} MiB", flush=True)
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    print(f"peak memory at {rows[-1]['size']} / at {rows[0]['size']}: {ratio:.2f} (target <= 1.10)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "memory_ratio": round(ratio, 3)}, indent=2) + "\n")


if __name__ == "__main__":
    main()

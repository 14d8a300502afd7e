"""Check: the same results.json as root and as an ordinary user, grading after grading, under load.

Grades the example submissions (with --corpus, the real corpus too) N times as root and N times
as `nobody` (through an interpreter and an install every user can read), alternating, while CPU
hogs keep every core busy, and compares each results.json (without the `seconds` timings) with
the first one. Prints every difference and exits non-zero if there is one.

    python bench/same_verdicts.py [--times 10] [--hogs 2] [--python /usr/bin/python3.11] [--corpus]

Needs root (it switches to `nobody` with runuser). It makes a venv in a world-readable
temporary folder and installs this checkout into it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def hog() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def timing_free(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    for s in data["submissions"]:
        s.pop("seconds", None)
    return data


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for sa, sb in zip(a["submissions"], b["submissions"], strict=False):
        for qa, qb in zip(sa["questions"], sb["questions"], strict=False):
            for ca, cb in zip(qa["checks"], qb["checks"], strict=False):
                if ca != cb:
                    out.append(f"{sa['submission']} {qa['id']} {ca['id']}: {ca['status']} vs {cb['status']}: "
                               f"{ca['message'][:90]} | {cb['message'][:90]}")
    return out or (["(differ outside the checks)"] if a != b else [])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--times", type=int, default=10)
    ap.add_argument("--hogs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--python", default=f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    ap.add_argument("--corpus", action="store_true",
                    help="grade the real corpus (tests/corpus/real: the shared files and those the project found) too")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it grades as root and as nobody")
    tmp = Path(tempfile.mkdtemp(prefix="same-verdicts-"))
    os.chmod(tmp, 0o755)
    venv = tmp / "venv"
    subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    examples = tmp / "examples"
    shutil.copytree(ROOT / "submissions_example", examples)
    if args.corpus:
        for f in sorted((ROOT / "tests" / "corpus" / "real").iterdir()):
            if f.is_file() and f.name != "SOURCES.tsv":
                shutil.copyfile(f, examples / f.name)
            elif f.is_dir():  # a student's folder of per-question files
                shutil.copytree(f, examples / f.name)
    subprocess.run(["chmod", "-R", "a+rX", str(examples)], check=True)
    hogs = [hog() for _ in range(args.hogs)]
    first: dict[str, Any] | None = None
    failures = 0
    try:
        for k in range(args.times):
            for user in ("root", "nobody"):
                out = tmp / f"out-{user}-{k}"
                out.mkdir()
                if user == "nobody":
                    shutil.chown(out, "nobody")
                cmd = [str(venv / "bin" / "grader"), "grade", str(examples), "--out", str(out)]
                if user == "nobody":
                    cmd = ["runuser", "-u", "nobody", "--", *cmd]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
                if proc.returncode not in (0, 1):
                    print(f"{user} #{k}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
                    failures += 1
                    continue
                data = timing_free(out / "results.json")
                if first is None:
                    first = data
                diff = differences(first, data)
                print(f"{user} #{k}: " + ("same" if not diff else f"{len(diff)} difference(s)"), flush=True)
                for line in diff:
                    print("   ", line)
                failures += bool(diff)
    finally:
        for h in hogs:
            h.kill()
    print(f"{2 * args.times} gradings under {args.hogs} CPU hog(s): {failures} differed from the first")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`grader grade`: grade submissions and write results.json."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.cli.common import add_rubric_option


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "grade",
        help="grade submissions and write results.json",
        description="Grade files and folders of submissions: each code answer runs in its own sandbox, "
                    "checks judge what was observed, and DIR/results.json gets every score.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="submission files, student folders, or a folder of them")
    add_rubric_option(p)
    p.add_argument("--out", metavar="DIR", default="grader-out", help="where to write results (default: grader-out)")
    p.add_argument("--overrides", metavar="FILE", help="TA overrides of scores and answer locations")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="submissions graded at once (default 1)")
    p.add_argument("--encoding", metavar="NAME", help="read text submissions with this encoding instead of UTF-8")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="as root, run student code as root when it can be isolated neither by namespaces "
                        "(bubblewrap) nor by a uid of its own (default: refuse)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.cli.common import rubric_arg
    from grader.grade import Result, grade_submission
    from grader.load import find_submissions
    from grader.results import score_table, write_results
    from grader.rubric.load import ensure_gradable, load_rubric
    from grader.rubric.overrides import load_overrides

    rubric = load_rubric(rubric_arg(args.rubric))
    ensure_gradable(rubric)  # before any student code runs
    overrides = load_overrides(args.overrides, rubric) if args.overrides else None
    found = find_submissions(args.paths)
    paths = found.submissions
    if found.skipped:
        print(f"not graded (data or media, not submissions): {', '.join(found.skipped)}", file=sys.stderr)
    if not paths:
        print("grader: no submissions found", file=sys.stderr)
        return 2
    jobs = max(1, args.jobs)
    from functools import partial

    from grader.sandbox import preflight, run_program

    protections = preflight(unsafe_no_sandbox=args.unsafe_no_sandbox)  # refuses before any student code runs
    if protections["isolation"] == "none":
        print("grader: WARNING: student code runs as root, unprotected (--unsafe-no-sandbox)", file=sys.stderr)
    runner = partial(run_program, unsafe_no_sandbox=args.unsafe_no_sandbox)

    def one(path: str) -> Result:
        result = grade_submission(path, rubric, overrides=overrides, encoding=args.encoding, runner=runner,
                                  mapping=overrides.mapping(Path(path).name) if overrides else None)
        line = f"  {result.name}: "
        line += f"error: {result.error}" if result.error else f"{result.score.score:g} / {result.score.max_score:g}"
        print(line, file=sys.stderr, flush=True)
        return result

    print(f"grading {len(paths)} submission(s) with {rubric.id} ({rubric.max_score:g} points)", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, paths))
    data = write_results(Path(args.out), rubric, results)
    print(score_table(data))
    if overrides:
        for line in overrides.unused({r.name for r in results}):
            print(f"grader: warning: {line}", file=sys.stderr)
    errors = sum(1 for r in results if r.error)
    print(f"wrote {Path(args.out) / 'results.json'}" + (f" ({errors} submission(s) could not be graded)" if errors
                                                        else ""), file=sys.stderr)
    return 0


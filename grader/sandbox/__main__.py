"""Developer entry point: run one script in the sandbox and print its record.

    python -m grader.sandbox FILE.py [--start-method spawn] [--json] [--wall-time S] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.errors import GraderError
from grader.sandbox import START_METHODS, Limits, format_trace, run_program


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the Python script to run")
    parser.add_argument("--start-method", choices=START_METHODS, default=None)
    parser.add_argument("--wall-time", type=float, default=Limits.wall_time, metavar="S")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--python", default=None, help="interpreter to run the script with")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    args = parser.parse_args(argv)
    try:
        source = args.file.read_text(encoding="utf-8")
        trace = run_program(source, limits=Limits(wall_time=args.wall_time), start_method=args.start_method,
                            seed=args.seed, python=args.python)
    except (OSError, ValueError, GraderError) as exc:
        print(f"grader.sandbox: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(trace.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_trace(trace))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

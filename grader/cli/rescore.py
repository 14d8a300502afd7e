"""`grader rescore`: apply a TA's overrides to graded results, without running any code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grader.cli.common import add_rubric_option


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rescore",
        help="apply TA score overrides to DIR/results.json without running anything",
        description="Read DIR/results.json (written by `grader grade`), apply the overrides file's scores and "
                    "comments, and write it back. Nothing is re-run; answer-location overrides need `grader grade`.",
    )
    p.add_argument("dir", metavar="DIR", help="the output folder of `grader grade`")
    p.add_argument("--overrides", required=True, metavar="FILE", help="the TA overrides file")
    add_rubric_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.cli.common import rubric_arg
    from grader.errors import GraderError
    from grader.results import rescore, save, score_table
    from grader.rubric import load_overrides, load_rubric

    out = Path(args.dir)
    path = out / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GraderError(f"{path}: cannot read results ({exc})") from None
    rubric = load_rubric(rubric_arg(args.rubric))
    if data.get("rubric", {}).get("id") != rubric.id:
        raise GraderError(f"{path} was graded with rubric {data.get('rubric', {}).get('id')!r}, not {rubric.id!r}")
    overrides = load_overrides(args.overrides, rubric)
    for note in rescore(data, overrides):
        print(f"grader: note: {note}", file=sys.stderr)
    for line in overrides.unused({s["submission"] for s in data["submissions"]}):
        print(f"grader: warning: {line}", file=sys.stderr)
    save(out, data)
    print(score_table(data))
    print(f"rewrote {path}", file=sys.stderr)
    return 0

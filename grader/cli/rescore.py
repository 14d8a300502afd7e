"""`grader rescore`: apply a TA's overrides to graded results, without running any code.

Every submission's record (details/<id>.json) is re-scored through the same scoring code as
`grade`, written back, and every output of the folder is rebuilt from the records.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from grader.cli.common import add_rubric_option


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rescore",
        help="apply TA score overrides to a graded folder without running anything",
        description="Re-score every submission graded in DIR (by `grader grade`) with the overrides file's scores "
                    "and comments, and rewrite results.json, the details and the reports. Nothing is re-run; "
                    "answer-location overrides need `grader grade`.",
    )
    p.add_argument("dir", metavar="DIR", help="the output folder of `grader grade`")
    p.add_argument("--overrides", required=True, metavar="FILE", help="the TA overrides file")
    add_rubric_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.cli.common import rubric_arg
    from grader.cli.grade import say
    from grader.cli.outputs import write_class_outputs, write_submission_outputs
    from grader.errors import GraderError
    from grader.render.safe import printable
    from grader.render.terminal import print_summary
    from grader.results import stored
    from grader.rubric import load_overrides, load_rubric

    out = Path(args.dir)
    if not (out / "details").is_dir():
        raise GraderError(f"{out}: no graded results here (no details folder); run `grader grade` first")
    rubric = load_rubric(rubric_arg(args.rubric))
    overrides = load_overrides(args.overrides, rubric)
    seen: set[str] = set()
    for _path, outcome in stored(out):
        if outcome.rubric != rubric.id:
            raise GraderError(f"{out}: {outcome.id} was graded with rubric {outcome.rubric!r}, not {rubric.id!r}")
        seen.add(outcome.id)
        mine = {q.id: overrides.get(outcome.id, q.id) for q in outcome.questions}
        for qid, o in mine.items():
            if o is not None and o.answer is not None:
                say(f"grader: note: {printable(outcome.id)} {qid}: the answer location override needs "
                    "`grader grade` (it changes what runs)")
        write_submission_outputs(out, outcome.with_overrides(mine), title=rubric.title)
    book = write_class_outputs(out, rubric)
    for line in overrides.unused(seen):
        say(f"grader: warning: {line}")
    print_summary(book, sys.stdout)
    say(f"rewrote {out / 'results.json'}")
    return 0

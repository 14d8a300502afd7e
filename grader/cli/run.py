"""`grader run`: run one question's answer in the sandbox and show what happened."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from grader.cli.common import add_rubric_option


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run one answer in the sandbox and print the record of the run",
        description="Locate a question's answer, build its program (the answer plus what it needs from earlier "
                    "cells), run it in a fresh sandbox and print what was observed: processes, pools, output "
                    "by process, exceptions.",
    )
    p.add_argument("path", metavar="FILE", help="a submission file or folder")
    p.add_argument("--question", "-q", required=True, metavar="ID", help="question id, e.g. Q6")
    add_rubric_option(p)
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], help="multiprocessing start method")
    p.add_argument("--attempt", type=int, default=1, metavar="N", help="which code attempt to run (default 1)")
    p.add_argument("--wall-time", type=float, metavar="S", help="time limit in seconds (default: the rubric's)")
    p.add_argument("--json", action="store_true", help="print the program and the record as JSON")
    p.add_argument("--show-program", action="store_true", help="also print the program that runs")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="as root, run student code as root when it can be isolated neither by namespaces "
                        "(bubblewrap) nor by a uid of its own (default: refuse)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from grader.cli.common import rubric_arg
    from grader.errors import GraderError
    from grader.load import load
    from grader.locate import locate, questions_from_rubric
    from grader.program import build_program
    from grader.rubric.load import load_rubric
    from grader.sandbox import Limits, format_trace, run_program

    rubric = load_rubric(rubric_arg(args.rubric))
    if rubric.auto_limits and not args.wall_time:  # `wall_time: auto`: from the reference's stored times
        from grader.reftimes import resolve

        rubric = resolve(rubric)
    try:
        question = rubric.question(args.question)
    except KeyError:
        raise GraderError(f"no question {args.question!r} in {rubric.id} "
                          f"(questions: {', '.join(q.id for q in rubric.questions)})") from None
    sub = load(args.path, questions=questions_from_rubric(rubric))
    answer = next(a for a in locate(sub, questions_from_rubric(rubric)) if a.question == question.id)
    n_code = len(answer.code_parts())
    if not n_code:
        from grader.render.safe import printable

        print(printable(f"{sub.name} {question.id}: no code to run ({answer.reason})"), file=sys.stderr)
        return 1
    if not 1 <= args.attempt <= n_code:
        raise GraderError(f"{question.id} has {n_code} code attempt(s); --attempt must be 1..{n_code}")
    program = build_program(sub, answer, args.attempt - 1)
    assert program is not None
    limits = Limits(**question.limits.as_dict())
    if args.wall_time:
        limits = replace(limits, wall_time=args.wall_time, wall_time_max=None)  # the limit, as given
    from grader.grade import readers, stop_rule

    variant = args.start_method if args.start_method in ("spawn", "forkserver") else "default"
    trace = run_program(program.source, limits=limits, start_method=args.start_method,
                        unsafe_no_sandbox=args.unsafe_no_sandbox, stop=stop_rule(readers(question).get(variant, [])))
    if not args.wall_time and question.limits.reasons():
        trace = replace(trace, limits_why=question.limits.reasons())
    if args.json:
        json.dump({"submission": sub.name, "question": question.id, "answer": answer.to_json(sub),
                   "program": program.to_json(), "trace": trace.to_json()}, sys.stdout, indent=2)
        print()
        return 0
    from grader.render.safe import printable

    out = [f"{sub.name} {question.id}, attempt {args.attempt} of {n_code}: {sub.describe_cell(program.cell)}",
           f"found: {answer.reason}"]
    out.extend(f"note: {note}" for note in program.notes)
    if args.show_program:
        out.append("--- program ---")
        out.extend(f"{n:4} | {line}" for n, line in enumerate(program.source.rstrip("\n").split("\n"), start=1))
        out.append("---")
    print(printable("\n".join(out), newlines=True))  # the file's name, its cells and notes are the student's
    print(format_trace(trace))
    return 0

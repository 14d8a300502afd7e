"""`grader rubric`: validate rubric files, print their JSON Schema.

    grader rubric check R...              one line per rubric: ok with a summary, or every problem
    grader rubric check R --overrides O   also validate an overrides file against the rubric
    grader rubric schema                  the rubric JSON Schema (rubrics/rubric.schema.json)
    grader rubric schema --overrides      the overrides JSON Schema
    grader rubric test R                  grade R's reference solution and known-wrong variants
    grader rubric list                    the rubrics that ship with the grader (`--rubric NAME` takes one)

`check` exits 0 when every rubric is valid and can grade; 1 when a rubric has problems, or
uses a check type that is declared but not implemented yet (it says which).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("rubric", help="validate rubrics, print the rubric JSON Schema",
                              description="Work with rubric files. Nothing here runs student code.")
    sub = p.add_subparsers(dest="rubric_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="validate rubric files",
                           description="Validate rubric files and report every problem as file:line: path: "
                                       "message. Exit 1 if any rubric is invalid or cannot grade yet.")
    check.add_argument("rubrics", nargs="+", metavar="RUBRIC", help="rubric YAML files")
    check.add_argument("--overrides", metavar="FILE", help="also validate this overrides file against "
                                                           "the (single) rubric")
    check.set_defaults(handler=run_check)
    schema = sub.add_parser("schema", help="print the JSON Schema of rubric files",
                            description="Print the JSON Schema generated from the rubric format and every "
                                        "check type's parameters (rubrics/rubric.schema.json is this output).")
    schema.add_argument("--overrides", action="store_true", help="the overrides file schema instead")
    schema.set_defaults(handler=run_schema)
    test = sub.add_parser("test", help="grade the rubric's reference solution and known-wrong variants",
                          description="Grade rubrics/NAME/expected.yaml's reference solution (it must get full "
                                      "marks) and each wrong variant (it must lose exactly the checks it names). "
                                      "This runs student code in the sandbox.")
    test.add_argument("rubric", metavar="RUBRIC", help="rubric YAML file")
    test.add_argument("--wall-time", type=float, metavar="S", help="time limit per run instead of the rubric's")
    test.set_defaults(handler=run_test)
    listing = sub.add_parser("list", help="the rubrics that ship with the grader",
                             description="List the rubrics installed with the grader: name, title, questions, "
                                         "points and file. `--rubric NAME` (grade, check...) takes the name.")
    listing.set_defaults(handler=run_list)


def run_check(args: argparse.Namespace) -> int:
    from grader.errors import RubricError
    from grader.rubric import load_overrides, load_rubric, unimplemented

    if args.overrides and len(args.rubrics) != 1:
        print("grader: --overrides needs exactly one rubric", file=sys.stderr)
        return 2
    status = 0
    for path in args.rubrics:
        try:
            rubric = load_rubric(path)
        except RubricError as exc:
            status = 1
            for problem in exc.problems:
                print(problem)
            print(f"{path}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}")
            continue
        summary = (f"{len(rubric.questions)} questions, {rubric.n_checks} checks, "
                   f"{rubric.max_score:g} points")
        missing = unimplemented(rubric)
        if missing:
            status = 1
            for line in missing:
                print(line)
            print(f"{path}: valid, {summary}; cannot grade yet: {len(missing)} checks use check types "
                  "that are not implemented")
        else:
            print(f"{path}: ok, {summary}")
        if args.overrides:
            try:
                overrides = load_overrides(args.overrides, rubric)
            except RubricError as exc:
                status = 1
                for problem in exc.problems:
                    print(problem)
                continue
            n = sum(len(q) for q in overrides.submissions.values())
            print(f"{args.overrides}: ok, {n} overrides for {len(overrides.submissions)} submissions")
    return status


def run_schema(args: argparse.Namespace) -> int:
    from grader.rubric.schema import dumps, overrides_schema, rubric_schema

    sys.stdout.write(dumps(overrides_schema() if args.overrides else rubric_schema()))
    return 0


def run_test(args: argparse.Namespace) -> int:
    from grader.reftimes import ReferenceTimes
    from grader.rubric import ensure_gradable, load_rubric
    from grader.selftest import Outcome, run_selftest

    rubric = load_rubric(args.rubric)
    ensure_gradable(rubric)

    def show(o: Outcome) -> None:
        score = f"{o.result.score.score:g}/{o.result.score.max_score:g}"
        print(f"{'ok  ' if o.ok else 'FAIL'} {o.file}: {score}", flush=True)
        for problem in o.problems:
            print(f"       {problem}")

    def measured(times: ReferenceTimes, where: Path | None) -> None:
        shown = ", ".join(f"{q} {s:.2f} s" for q, s in times.seconds.items())
        print(f"reference run times (for wall_time: auto): {shown}; "
              + (f"stored in {where}" if where is not None else "could not be stored"), flush=True)

    outcomes = run_selftest(rubric, wall_time=args.wall_time, progress=show, measured=measured)
    bad = sum(1 for o in outcomes if not o.ok)
    print(f"{args.rubric}: {len(outcomes) - bad} of {len(outcomes)} solutions graded as expected")
    return 1 if bad else 0


def run_list(args: argparse.Namespace) -> int:
    from grader.cli.common import builtin_rubrics
    from grader.errors import RubricError
    from grader.rubric.cache import load_rubric_cached

    found = builtin_rubrics()
    if not found:
        print("grader: no rubrics ship with this installation", file=sys.stderr)
        return 1
    for path in found:
        try:
            rubric = load_rubric_cached(path)
        except RubricError as exc:
            print(f"{path.stem}: invalid ({len(exc.problems)} problems)  {path}")
            continue
        print(f"{path.stem}: {rubric.title}, {len(rubric.questions)} questions, {rubric.max_score:g} points  {path}")
    return 0

"""The `grader` command. Each sub-command lives in its own module with `add_parser(subparsers)`.

Heavy imports happen inside the command handlers, so `grader --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grader import __version__
from grader.errors import GraderError

# Modules under grader.cli that define a sub-command, in the order `--help` lists them.
COMMANDS = ("check", "inspect", "run", "grade", "rescore", "rubric", "checks", "gradescope")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade Python homework by running each answer in isolation and observing it.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    import importlib

    for name in COMMANDS:
        module = importlib.import_module(f"grader.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except GraderError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `grader ... | head`: the reader has all it wanted
        from grader.cli.grade import stdout_gone

        stdout_gone()
        return 0
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    return code

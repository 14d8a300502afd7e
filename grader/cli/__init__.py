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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, just that sub-command (`grader check ...` need not
    import the other commands' modules: a self-check's start-up)."""
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade Python homework by running each answer in isolation and observing it.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    import importlib

    for name in COMMANDS if only is None else (only,):
        module = importlib.import_module(f"grader.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    whole_process = argv is None  # the `grader` command, not a caller in a process that goes on
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except GraderError as exc:
        from grader.render.safe import printable

        print(printable(f"grader: {exc}", newlines=True), file=sys.stderr)  # it may quote a file's name
        return 2
    except BrokenPipeError:  # `grader ... | head`: the reader has all it wanted
        from grader.cli.grade import stdout_gone

        stdout_gone()
        return 0
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    finally:
        if whole_process:
            ending()
    return code


def ending() -> None:
    """The process ends now. Python's last full garbage collection at exit walks every object the
    grader made (30 to 50 ms of a self-check, measured) to free what the exit frees anyway:
    freezing them skips that walk. Exit handlers, flushing and closing still happen."""
    import gc

    gc.freeze()

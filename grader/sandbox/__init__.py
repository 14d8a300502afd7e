"""Running one program in isolation and recording what really happened.

    from grader.sandbox import Limits, run_program
    trace = run_program(source, limits=Limits(wall_time=2), start_method="spawn")

`run_program` writes the source to `answer.py` in a fresh temporary directory and runs it as
`python answer.py` (so `if __name__ == "__main__":` behaves as for a student) in a fresh
interpreter, in its own session, with a scrubbed environment, empty stdin and resource limits.
It returns a `grader.trace.Trace`. A failing, crashing or looping program is a Trace, never an
exception; `grader.errors.SandboxError` means the grader itself could not run anything.

See docs/sandbox.md for how it works and why.
"""

from __future__ import annotations

from grader.sandbox.decide import StopRule
from grader.sandbox.format import format_trace
from grader.sandbox.limits import Limits
from grader.sandbox.runner import START_METHODS, Options, preflight, run, student_python
from grader.trace import Trace

__all__ = ["START_METHODS", "Limits", "Trace", "format_trace", "preflight", "run_program", "student_python"]


def run_program(
    source: str,
    *,
    limits: Limits | None = None,
    start_method: str | None = None,
    seed: int = 0,
    filename: str = "answer.py",
    python: str | None = None,
    unsafe_no_sandbox: bool = False,
    stop: StopRule | None = None,
) -> Trace:
    """Run `source` as the `__main__` script `filename` and return the record of the run.

    limits        resource limits (default `Limits()`).
    start_method  None for the platform default, or "fork", "spawn", "forkserver": applied
                  before the program runs; a program that calls set_start_method itself wins,
                  and `trace.start_method` says which method was really in effect.
    seed          run seed: every process's `random` is seeded from it and the process's
                  identity, and PYTHONHASHSEED is set from it, so two runs record the same.
    python        interpreter to run the program with (default: `student_python()`: the grader's
                  own, whose prefix and site-packages are bound read-only into the sandbox).
    unsafe_no_sandbox  a root grader that can isolate the program neither with namespaces nor with
                  a uid of its own runs it as root instead of refusing (grader.errors.UnsafeToRun).
    stop          a rule (grader.sandbox.decide) that may end the run early once what it could still
                  show no longer matters; `trace.stopped` then says why.
    """
    return run(source, limits=limits, start_method=start_method, seed=seed, filename=filename, python=python,
               options=Options(unsafe_no_sandbox=unsafe_no_sandbox), stop=stop)

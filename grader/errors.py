"""The grader's exceptions, in one tree.

    GraderError                 anything the grader itself cannot do
    ├── SubmissionError         a file or folder cannot be read as a submission
    ├── RubricError             a rubric file is invalid (carries file, line and path)
    └── SandboxError            the machine cannot run a program (no interpreter, no temp dir)
        └── UnsafeToRun         running it would give student code the grader's privileges

A student's mistake is never an exception: failing code, a timeout or a missing answer is a
value (a Trace, a Verdict). These exceptions are for the grader's own inputs and environment;
the batch turns a SubmissionError into a result row with `error` set and goes on.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""


class SubmissionError(GraderError):
    """A file or folder could not be read as a submission. The message is one clear line."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class RubricError(GraderError):
    """A rubric is invalid. Each problem is `file:line: path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class SandboxError(GraderError):
    """The grader could not start or supervise a run (not the student's fault)."""


class UnsafeToRun(SandboxError):
    """A root grader could isolate the program neither with namespaces nor with a uid of its own,
    and was not told to run it as root anyway (`--unsafe-no-sandbox`)."""

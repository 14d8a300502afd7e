"""Why a run went wrong, in words a student can act on: hangs and uncaught exceptions.

The reason of an exception is read from what the kernel saw the failing process write to its
stderr (the Trace's stderr lines carry the pid that wrote them), not from the recorder's claim,
which the program could forge or leave empty: Python's own report of an unguarded `Process`
under spawn is a `RuntimeError` whose message starts with a blank line, so the first line of the
claimed message is empty ("RuntimeError: ."). The last traceback a process printed gives the
exception's type and full message; when there is none, or its message is empty, the claim's text
and then the process's last meaningful stderr lines are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.trace import ExceptionInfo, Trace

# Evidence of a verdict whose failure is not about what the check tests (spawn_safe when the default
# run fails as well): the rubric's fail message, which blames that, is then not shown.
FAILS_BY_DEFAULT_TOO = "fails_by_default_too"
MAX_REASON = 300  # characters of an exception's message shown to the student
_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
_FRAME = re.compile(r'File "[^"]*/answer\.py", line (\d+)')
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::(?P<message>.*))?$")


@dataclass(frozen=True)
class Reason:
    """An exception as the student should read it: its type and the first paragraph of its message."""

    type: str
    text: str  # may be empty: an exception raised without a message
    source: str  # "stderr" (the kernel saw the process write it), "claim" or "stderr-tail"

    def __str__(self) -> str:
        return f"{self.type}: {self.text}" if self.text else self.type


def hang_sentence(trace: Trace) -> str:
    """The plain words for a run its wall-time limit stopped, or that was stopped early because it
    could never finish (every process waiting for another: grader.sandbox.decide)."""
    if trace.stopped:  # (no elapsed time: messages go into results.json, which must not depend on timing)
        return "The program would never finish: it was stopped before its time limit."
    limits = trace.limits
    if "wall_time_max" in limits:  # a run still making progress could go on (grader.sandbox.progress)
        # the same words whether it did or not: whether a run made its last sign just before or
        # just after the window opened is timing, and results.json must not depend on it
        return (f"The program never finished: it was stopped at its time limit ({_seconds(limits.get('wall_time'))}, "
                f"or up to {_seconds(limits.get('wall_time_max'))} while it still made progress).")
    return f"The program never finished: it was stopped after {_seconds(limits.get('wall_time'))}."


def _seconds(value: object) -> str:
    if isinstance(value, (int, float)):
        return f"{value:g} s"
    return "its time limit"


def stderr_of(trace: Trace, pid: int | None) -> list[str]:
    """The stderr lines the kernel saw process `pid` write, in order."""
    return [ln.text for ln in trace.lines if ln.stream == "stderr" and ln.pid == pid]


def last_traceback(lines: list[str]) -> tuple[str, str] | None:
    """(type, message) of the last traceback in `lines`, as Python printed it; None if none is there.

    Frames are indented; the exception line is the first line at column 0 after them, and a
    message that spans lines continues until the end (or a chained traceback's separator)."""
    starts = [i for i, ln in enumerate(lines) if ln.startswith(_TRACEBACK)]
    if not starts:
        return None
    i = starts[-1] + 1
    while i < len(lines) and (not lines[i].strip() or lines[i][:1] in (" ", "\t")):
        i += 1
    if i >= len(lines):
        return None
    m = _EXCEPTION_LINE.match(lines[i].rstrip())
    if m is None:
        return None
    body = [m.group("message") or ""]
    for ln in lines[i + 1:]:
        if ln.startswith(_CHAINED):
            break
        body.append(ln)
    return m.group("type"), "\n".join(body)


def first_paragraph(message: str, limit: int = MAX_REASON) -> str:
    """The message's first paragraph with its whitespace collapsed, cut at `limit` characters."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    text = " ".join(paragraphs[0].split()) if paragraphs else ""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def meaningful_tail(lines: list[str], n: int = 2) -> str:
    """The last `n` stderr lines that say something (no frames, no caret markers, no blank lines)."""
    kept = [ln.strip() for ln in lines if ln.strip() and not ln.startswith((" ", "\t", _TRACEBACK))
            and set(ln.strip()) - set("^~ ")]
    return first_paragraph(" ".join(kept[-n:])) if kept else ""


def reason(trace: Trace, exc: ExceptionInfo) -> Reason:
    """Why `exc` happened, from the kernel-attributed stderr of its process first."""
    lines = stderr_of(trace, exc.pid)
    printed = last_traceback(lines)
    if printed is not None:
        kind, message = printed
        text = first_paragraph(message)
        if text:
            return Reason(kind, text, "stderr")
    claimed = first_paragraph(exc.message)
    if claimed:
        return Reason(printed[0] if printed else exc.type, claimed, "claim")
    return Reason(printed[0] if printed else exc.type, meaningful_tail(lines), "stderr-tail")


def said_by(trace: Trace, pid: int | None) -> str:
    """What a process that ended badly last said on its stderr: the exception of its last traceback,
    else its last meaningful lines ("" when it said nothing)."""
    lines = stderr_of(trace, pid)
    printed = last_traceback(lines)
    if printed is not None and first_paragraph(printed[1]):
        return f"{printed[0]}: {first_paragraph(printed[1])}"
    return meaningful_tail(lines)


def uncaught(trace: Trace) -> ExceptionInfo | None:
    """The exception that stopped the program (or one of its processes or threads) early: uncaught in
    the main process first. A pool task's exception goes back to the caller, which may handle it."""
    stopped = [e for e in trace.exceptions if e.where != "task"]
    return next((e for e in stopped if e.where == "main"), stopped[0] if stopped else None)


WHERE = {"main": "the main process", "process": "a child process", "startup": "a child process as it started",
         "thread": "a thread", "task": "a pool task"}
SYNTAX = ("SyntaxError", "IndentationError", "TabError")


def sentence(text: str) -> str:
    """`text` ending as a sentence."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def line_of(trace: Trace, exc: ExceptionInfo) -> int | None:
    """The line of the student's program where the exception was raised: its last frame in the
    program file, from the traceback the process printed (else the claimed one)."""
    lines = stderr_of(trace, exc.pid)
    starts = [i for i, ln in enumerate(lines) if ln.startswith(_TRACEBACK)]
    printed = "\n".join(lines[starts[-1]:]) if starts else ""
    for text in (printed, exc.traceback):
        found = _FRAME.findall(text)
        if found:
            return int(found[-1])
    return None

"""What every renderer of a run shares: clean text, which processes are drawn, their labels and colours.

The output lanes, the timeline and the Chrome trace all name and colour a process the same way,
so a reader can follow one process from the picture to its output.
"""

from __future__ import annotations

import re

from grader.trace import Process, Trace

# C0/C1 control characters except tab and newline: a student's program may print terminal escapes
# or NULs; a page shows the text, never what a terminal would do with it. Then the direction
# overrides that make text lie about itself. (One pattern: every string of a page goes through it.)
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Colour-blind safe (Okabe-Ito, then Tol's muted), dark enough for white text and for lines on white.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56b4e9", "#6b4c9a", "#882255",
           "#117733", "#44aa99", "#aa4499", "#332288")
UNCLAIMED = "#6b6b6b"
MAX_LANES = 64  # the sandbox's default process limit; more are summarised in one line


def clean(text: object) -> str:
    """`text` as a string without control characters (tab and newline kept) or bidi overrides."""
    return _UNSAFE.sub("\ufffd", str(text))


def shown_processes(trace: Trace, *, include_internal: bool = False) -> list[Process]:
    """The processes a picture of the run has a lane for: the main process first, then by start time.

    multiprocessing's own helpers (resource tracker, forkserver) only when asked: they are not the
    student's processes, and would make "ran at the same time" harder to read.
    """
    procs = [p for p in trace.processes if include_internal or not p.internal]
    main = [p for p in procs if p.kind == "main"]
    rest = sorted((p for p in procs if p.kind != "main"),
                  key=lambda p: (p.start if p.start is not None else float("inf"), p.pid))
    return main + rest


def colours(trace: Trace) -> dict[int | None, str]:
    """A colour per pid (every process of the trace, internal ones included), stable within a run."""
    out: dict[int | None, str] = {None: UNCLAIMED}
    for k, p in enumerate(shown_processes(trace, include_internal=True)):
        out[p.pid] = PALETTE[k % len(PALETTE)]
    return out


_KIND = {
    "main": "main program",
    "process": "Process",
    "pool_worker": "Pool worker",
    "executor_worker": "ProcessPoolExecutor worker",
    "fork": "os.fork()",
    "subprocess": "subprocess",
    "forkserver": "forkserver (multiprocessing)",
    "resource_tracker": "resource tracker (multiprocessing)",
    "spawn": "child that died starting",
    "unknown": "process seen from outside",
}


_MACHINERY = ("multiprocessing.", "concurrent.futures.")  # a pool worker's target is the pool's own loop
_POOL_KINDS = ("pool_worker", "executor_worker")


def pool_stopped(p: Process) -> bool:
    """A pool worker ended by SIGTERM: Pool.terminate() (and `with Pool(...)`) stops workers that way."""
    return p.kind in _POOL_KINDS and p.signal == "SIGTERM" and p.limit is None and not p.survived


def how_made(p: Process) -> str:
    """How the process was made, in words: "multiprocessing.Process (spawn)", "Pool worker"."""
    words = _KIND.get(p.kind, p.kind)
    if p.kind == "subprocess" and p.command:
        words = f"subprocess: {p.command[0].rsplit('/', 1)[-1]}"
    if p.start_method and p.kind not in ("main", "subprocess"):
        words += f" ({p.start_method})"
    return clean(words)


def short_label(p: Process) -> str:
    """One short line naming the process: its name or kind, and its target."""
    if p.kind == "main":
        return "main"
    name = p.name or _KIND.get(p.kind, p.kind)
    if p.target and not p.target.startswith(_MACHINERY):
        name += f" → {p.target}()"
    return clean(name)


def end_words(p: Process) -> str:
    """How the process ended, in words."""
    if pool_stopped(p):
        return "stopped by its pool (SIGTERM)"
    if p.signal:
        return f"killed by {p.signal}" + (f" ({p.limit} limit)" if p.limit else "")
    if p.survived:
        return "still running when the run ended (killed)"
    if p.exit_code is None:
        return "end not seen"
    return f"exit {p.exit_code}"


def end_mark(p: Process) -> str:
    """How the process ended, in one or two words for a picture."""
    if pool_stopped(p):
        return "pool stop"
    if p.signal:
        return p.signal
    if p.survived:
        return "killed"
    return "?" if p.exit_code is None else f"exit {p.exit_code}"


def failed(p: Process) -> bool:
    if pool_stopped(p):
        return False
    return bool(p.signal) or p.survived or (p.exit_code not in (0, None)) or p.limit is not None


def run_end(trace: Trace) -> float:
    """The time the picture ends at: the last thing seen, at least the run's wall time."""
    times = [trace.wall_time]
    times += [t for p in trace.processes for t in (p.start, p.end, p.joined) if t is not None]
    times += [ln.t for ln in trace.lines if ln.t is not None]
    times += [e.t for e in trace.exceptions if e.t is not None]
    return max(max(times), 1e-3)

"""Running a program bare, as the benchmarks' yardstick: `python answer.py` with the interpreter
student code runs with, in a fresh folder, stdin empty, its own session, a kill at the time limit.

A run the grader makes under another start method (the `spawn` re-run of `spawn_safe`) is done
bare under the same one: a tiny `sitecustomize` makes it multiprocessing's default, as the
sandbox's recorder does (the program may still choose another itself), so both sides run the same
processes. Without that a spawn re-run would be compared with a fork run, which is much cheaper.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.sandbox import student_python  # noqa: E402

PYTHON = student_python()  # the interpreter student code runs with, so both sides start the same Python

_DEFAULT_METHOD = """import os
_method = os.environ.pop("BENCH_START_METHOD", "")
if _method:
    import multiprocessing.context as _context
    _context._default_context._default_context = _context._concrete_contexts[_method]
"""


def run_bare(source: str, wall_time: float, start_method: str | None = None) -> tuple[float, bool]:
    """(seconds, hit the time limit) of `python answer.py` for `source`."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        (Path(tmp) / "answer.py").write_text(source, encoding="utf-8")
        env = dict(os.environ)
        if start_method:
            (Path(tmp) / "site").mkdir()
            (Path(tmp) / "site" / "sitecustomize.py").write_text(_DEFAULT_METHOD)
            env |= {"PYTHONPATH": str(Path(tmp) / "site"), "BENCH_START_METHOD": start_method}
        start = time.perf_counter()
        proc = subprocess.Popen([PYTHON, "answer.py"], cwd=tmp, stdin=subprocess.DEVNULL, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # A blocking wait plus a kill timer: Popen.wait(timeout=...) polls with sleeps of up to
        # 50 ms, which would add up to 50 ms to every bare run.
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)

        timer = threading.Timer(wall_time, kill)
        timer.start()
        proc.wait()
        elapsed = time.perf_counter() - start
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)  # whatever it left behind
        return elapsed, killed.is_set()

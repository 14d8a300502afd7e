"""Running hostile programs so that a sandbox that fails cannot hurt the test runner.

`run_contained` runs the grader itself (a small driver that calls grader.sandbox's run for each
source, one after the other, like a batch) inside a PID namespace of its own, made by bwrap
around the driver. A program that escaped the grader's sandbox and called kill(-1) would kill
that namespace only: the driver and a sentinel process it started beside itself, not the test
runner. The test then asserts the sentinel lived, and looks for survivors from outside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import bwrap
from grader.trace import Trace
from tests.sandbox.helpers import survivors

ROOT = Path(__file__).resolve().parents[2]

_DRIVER = '''import json, subprocess, sys, time
from grader.sandbox import Limits
from grader.sandbox.runner import Options, run
args = json.loads(sys.stdin.read())
sentinel = subprocess.Popen(["sleep", "120"])  # the grader's own process, beside it
out = []
for source in args["sources"]:
    trace = run(source, limits=Limits(**args["limits"]), options=Options(**args["options"]))
    out.append({"trace": trace.to_json(), "ended": time.time()})
alive = sentinel.poll() is None
sentinel.kill()
print(json.dumps({"traces": out, "sentinel_alive": alive}))
'''


def harness() -> list[str]:
    """bwrap around the driver: a PID namespace of its own, the rest of the machine as it is."""
    found = bwrap.probe()
    if not isinstance(found, bwrap.Bwrap):
        pytest.skip(f"no PID namespace to contain a failing sandbox in: {found}")
    argv = [found.path, "--unshare-pid", "--dev-bind", "/", "/", "--proc", "/proc", "--die-with-parent"]
    if os.geteuid() != 0:
        argv.append("--unshare-user")
    return [*argv, "--"]


def run_contained(sources: list[str], *, limits: dict[str, Any] | None = None,
                  options: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                  timeout: float = 120.0) -> list[Trace]:
    """Grade `sources` one after the other in a contained grader; assert the grader and its
    sentinel lived and that no process of any run is left on the machine."""
    payload = json.dumps({"sources": sources, "limits": limits or {"wall_time": 5.0}, "options": options or {}})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8",
           "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    proc = subprocess.run([*harness(), sys.executable, "-c", _DRIVER], input=payload, capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=timeout, check=False)
    assert proc.returncode == 0, f"the contained grader died (status {proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(proc.stdout)
    assert result["sentinel_alive"], "a process beside the grader was killed: the sandbox leaked a signal"
    traces = []
    for item in result["traces"]:
        trace = Trace.from_json(item["trace"])
        left = survivors(trace, item["ended"])
        assert not left, f"processes survived the run: {left}"
        traces.append(trace)
    return traces

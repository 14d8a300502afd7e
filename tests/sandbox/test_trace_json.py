"""The Trace is plain data: JSON round trip, helpers for checks, and input validation."""

from __future__ import annotations

import json

import pytest

from grader.errors import SandboxError
from grader.sandbox import Limits, run_program
from grader.sandbox.limits import GIB, MIB
from grader.trace import (
    SCHEMA_VERSION,
    Capture,
    ExceptionInfo,
    File,
    InputCall,
    Issue,
    Line,
    Pool,
    Process,
    Task,
    Thread,
    Trace,
)


def hand_made() -> Trace:
    return Trace(
        exit_code=None, signal="SIGKILL", timed_out=True, limit="wall", limits_hit=("output", "wall"),
        wall_time=1.0, cpu_time=0.5, stdout=Capture("1\n2\n", 4, False), stderr=Capture("", 0, False),
        processes=(
            Process(pid=10, ppid=1, kind="main", start=0.0, end=1.0, times="observed", signal="SIGKILL",
                    claimed=True, observed=True, survived=True),
            Process(pid=11, ppid=10, started_by=10, kind="pool_worker", name="ForkPoolWorker-1",
                    target="multiprocessing.pool.worker", start_method="fork", pool="10:1", start=0.1, end=0.2,
                    exit_code=0, random_draws=3, command=("python", "-c", "x")),
            Process(pid=12, ppid=10, kind="process", start=0.3, end=0.4, exit_code=0),
        ),
        pools=(Pool(id="10:1", kind="Pool", pid=10, size=1, start_method="fork", workers=(11,),
                    tasks=(Task(pool="10:1", function="f", args="1", pid=11, start=0.1, end=0.15, ok=True),)),),
        threads=(Thread(pid=10, number=1, name="T", target="g", kind="thread", start=0.1, end=0.2),),
        lines=(Line(pid=11, stream="stdout", text="1", t=0.1, thread=0, verified=True, offset=0),
               Line(pid=None, stream="stdout", text="2", offset=2),
               Line(pid=12, stream="log", text="root - INFO - x", level="INFO", logger="root", dest="a.log")),
        exceptions=(ExceptionInfo(pid=11, where="task", type="ValueError", message="m", traceback="tb"),),
        files=(File(path="a.log", size=3, head="abc"), File(path="l", size=0, link="/etc")),
        inputs=(InputCall(pid=10, prompt="? ", result="eof"),),
        start_method="fork", start_method_requested=None, seed=3,
        issues=(Issue("unattributed_output", "1 line"),),
        limits=Limits().to_json(), sandbox={"python": "/usr/bin/python3"},
    )


def test_round_trip_of_a_hand_made_trace() -> None:
    trace = hand_made()
    data = json.loads(json.dumps(trace.to_json()))
    assert Trace.from_json(data) == trace
    assert data["version"] == SCHEMA_VERSION and data["processes"][1]["command"] == ["python", "-c", "x"]


def test_round_trip_of_a_real_trace() -> None:
    trace = run_program("import multiprocessing\nwith multiprocessing.Pool(2) as p:\n    print(p.map(abs, [-1]))\n")
    assert trace.ok and trace.pools and trace.lines
    assert Trace.from_json(json.loads(json.dumps(trace.to_json()))) == trace


def test_unknown_schema_version_is_refused() -> None:
    data = hand_made().to_json()
    data["version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema version"):
        Trace.from_json(data)


def test_helpers_for_checks() -> None:
    trace = hand_made()
    assert trace.main() is trace.processes[0] and not trace.ok
    assert [p.pid for p in trace.children()] == [11, 12]
    assert trace.process(12) is trace.processes[2] and trace.process(99) is None
    assert {k: [ln.text for ln in v] for k, v in trace.lines_by_pid().items()} == {
        11: ["1"], None: ["2"], 12: ["root - INFO - x"]}
    assert [ln.text for ln in trace.lines_of(12, ("stdout",))] == []
    assert trace.processes[1].overlaps(trace.processes[2]) is False
    assert trace.processes[0].overlaps(trace.processes[1]) is True
    assert trace.processes[1].used_random and not trace.processes[2].used_random
    assert [t.args for t in trace.tasks()] == ["1"]
    assert trace.exceptions_in(11)[0].type == "ValueError"
    assert trace.issues_of("unattributed_output") and trace.file("a.log") is not None


@pytest.mark.parametrize("kwargs", [
    {"wall_time": 0}, {"wall_time": -1}, {"wall_time": float("inf")}, {"cpu_time": "10"}, {"wall_time": True},
    {"memory": 1.5 * GIB}, {"memory": 1024}, {"max_processes": 0}, {"file_size": 10}, {"output": 0},
])
def test_invalid_limits_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="invalid limits"):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_limits_defaults() -> None:
    assert Limits().to_json() == {"wall_time": 10.0, "cpu_time": 10.0, "memory": GIB, "max_processes": 64,
                                  "file_size": 16 * MIB, "output": MIB}


@pytest.mark.parametrize("kwargs", [
    {"start_method": "threads"}, {"filename": "../x.py"}, {"filename": "a.txt"}, {"filename": "my-answer.py"},
])
def test_invalid_arguments_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        run_program("pass", **kwargs)  # type: ignore[arg-type]


def test_missing_interpreter_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="not found"):
        run_program("pass", python="/nonexistent/python3")


def test_public_api_is_as_documented() -> None:
    import inspect

    import grader.sandbox

    assert sorted(grader.sandbox.__all__) == ["Limits", "START_METHODS", "Trace", "format_trace", "preflight",
                                              "run_program", "student_python"]
    assert all(hasattr(grader.sandbox, name) for name in grader.sandbox.__all__)
    params = inspect.signature(run_program).parameters
    assert list(params) == ["source", "limits", "start_method", "seed", "filename", "python", "unsafe_no_sandbox",
                            "stop"]
    assert [p.kind for p in params.values()][1:] == [inspect.Parameter.KEYWORD_ONLY] * 7
    assert (params["seed"].default, params["filename"].default) == (0, "answer.py")
    assert grader.sandbox.START_METHODS == ("fork", "spawn", "forkserver")

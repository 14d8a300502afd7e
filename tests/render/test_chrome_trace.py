"""The Chrome trace-event export: the Trace Event Format's structure, one process per pid."""

from __future__ import annotations

import json

from grader.render.chrome_trace import MAX_LINE_EVENTS, UNCLAIMED_PID, chrome_trace
from tests.render.traces import HOSTILE, MAIN, concurrent, crashed, huge


def events(trace_json: dict[str, object], ph: str, name: str | None = None) -> list[dict[str, object]]:
    evs = trace_json["traceEvents"]
    assert isinstance(evs, list)
    return [e for e in evs if e["ph"] == ph and (name is None or e["name"] == name)]


def test_event_format() -> None:
    data = json.loads(json.dumps(chrome_trace(concurrent(), title="sub Q3"), allow_nan=False))
    assert data["displayTimeUnit"] == "ms"
    for e in data["traceEvents"]:
        assert e["ph"] in {"M", "X", "i"}
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str)
        if e["ph"] != "M":
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
        if e["ph"] == "i":
            assert e["s"] in {"t", "p", "g"}
    names = {e["pid"]: e["args"]["name"] for e in events(data, "M", "process_name")}
    assert set(names) == {MAIN, 101, 102, 103, 104}
    assert names[101].startswith("Process-1 → work()")
    lifetimes = {e["pid"]: e for e in events(data, "X") if e["cat"] == "process"}
    assert set(lifetimes) == set(names)
    assert lifetimes[101]["ts"] == 51000.0 and lifetimes[101]["dur"] == 849000.0  # µs since the run started


def test_lines_and_joins_are_instants_on_the_right_lane() -> None:
    trace = concurrent()
    data = chrome_trace(trace)
    outs = [e for e in events(data, "i") if e["cat"] == "stdout"]
    assert len(outs) == len(trace.lines)
    assert {(e["pid"], e["args"]["text"]) for e in outs} == {(ln.pid, ln.text) for ln in trace.lines}  # type: ignore[index]
    joins = [e for e in events(data, "i") if e["cat"] == "join"]
    assert len(joins) == 4 and all(e["pid"] == MAIN for e in joins)
    assert sorted(e["args"]["child"] for e in joins) == [101, 102, 103, 104]  # type: ignore[index]


def test_crash_limit_tasks_and_unclaimed_output() -> None:
    data = chrome_trace(crashed())
    cats = [e.get("cat") for e in data["traceEvents"]]
    assert cats.count("task") == 2 and cats.count("exception") == 1 and cats.count("limit") == 1
    assert any(e["pid"] == UNCLAIMED_PID and e["ph"] == "M" for e in data["traceEvents"])
    killed = next(e for e in events(data, "X") if e["pid"] == 102)
    assert killed["dur"] > 0 and "SIGKILL" in killed["args"]["ended"]  # type: ignore[operator,index]
    text = json.dumps(data)
    assert "\\u001b" not in text and "\\u202e" not in text and HOSTILE not in text


def test_bounded() -> None:
    data = chrome_trace(huge(n_procs=3, n_lines=MAX_LINE_EVENTS + 500))
    assert len([e for e in data["traceEvents"] if e.get("cat") == "stdout"]) == MAX_LINE_EVENTS
    assert data["otherData"]["lines_dropped"] == 500

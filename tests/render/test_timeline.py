"""The timeline SVG: one lane per process, concurrency visible, marks where things happened, all escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.render.timeline import timeline_svg
from tests.render.traces import MAIN, concurrent, crashed, huge, one_by_one

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def lanes(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "lane"]


def bar_spans(root: ET.Element) -> dict[int, tuple[float, float]]:
    out = {}
    for lane in lanes(root):
        for rect in lane.iter(f"{SVG}rect"):
            if rect.get("class") == "bar":
                x = float(rect.get("x", "0"))
                out[int(lane.get("data-pid", "0"))] = (x, x + float(rect.get("width", "0")))
    return out


def test_one_lane_per_process_main_first() -> None:
    root = parse(timeline_svg(concurrent()))
    pids = [int(g.get("data-pid", "0")) for g in lanes(root)]
    assert pids == [MAIN, 101, 102, 103, 104]
    assert root.get("data-lanes") == "5"


def test_concurrent_bars_overlap_and_one_by_one_bars_do_not() -> None:
    together = bar_spans(parse(timeline_svg(concurrent())))
    kids = [together[p] for p in (101, 102, 103, 104)]
    assert all(a[0] < b[1] and b[0] < a[1] for a in kids for b in kids)
    staircase = bar_spans(parse(timeline_svg(one_by_one())))
    kids = [staircase[p] for p in (101, 102, 103, 104)]
    assert all(kids[k][1] <= kids[k + 1][0] for k in range(3)), kids


def test_output_and_join_marks() -> None:
    root = parse(timeline_svg(one_by_one()))
    outs = [ln for ln in root.iter(f"{SVG}line") if "out" in (ln.get("class") or "").split()]
    assert len(outs) == 4
    joins = [g for g in root.iter(f"{SVG}g") if g.get("class") == "join"]
    assert len(joins) == 4
    links = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "join-link"]
    assert len(links) == 4  # each drawn from the parent's lane


def test_crashes_limits_and_tasks_shown() -> None:
    svg = timeline_svg(crashed())
    root = parse(svg)
    crashes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "crash"]
    # the child that exited 1, the one killed at the limit, the main process: the pool worker stopped by
    # its pool (SIGTERM) is not a crash
    assert len(crashes) == 3
    assert "stopped by its pool" in svg
    assert [g for g in root.iter(f"{SVG}g") if g.get("class") == "limit"]
    assert "wall limit" in svg
    tasks = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "task"]
    assert len(tasks) == 2 and "ZeroDivisionError" in svg
    assert [g for g in root.iter(f"{SVG}g") if g.get("class") == "exception"]
    assert len(lanes(root)) == 4  # the resource tracker is not the student's
    assert len(lanes(parse(timeline_svg(crashed(), include_internal=True)))) == 5


def test_student_text_is_escaped_and_cleaned() -> None:
    svg = timeline_svg(crashed())
    assert "<script" not in svg and "\x1b" not in svg and "\u202e" not in svg
    assert "&lt;script&gt;" in svg
    parse(svg)


def test_size_is_bounded() -> None:
    svg = timeline_svg(huge())
    root = parse(svg)
    assert len(lanes(root)) == 64
    assert "137 more processes" in svg
    assert len(svg) < 1_000_000, len(svg)  # 100 000 lines become a few thousand marks

"""The timeline of one run as an inline SVG picture.

One lane per process (the main program first, then children by start time), each labelled with
its name, target and how it was made; a bar from its start to its end (hatched when the run had to
kill it), pool tasks as a thin strip under the bar, a tick above the bar where it printed (red for
stderr), a diamond where its parent started waiting for it (join) joined to the parent's lane by a
dashed line, a red cross where it crashed, and a red line where a limit ended the run. Two
processes that ran at the same time have bars one above the other; processes started and joined
one by one make a staircase.

Everything written by the student (names, targets, printed text) is escaped and cleaned; the
number of lanes and of marks is bounded, so a program that prints a million lines or starts
hundreds of processes still makes a small picture.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from markupsafe import Markup, escape

from grader.render.common import (
    MAX_LANES,
    clean,
    colours,
    end_mark,
    end_words,
    failed,
    how_made,
    run_end,
    short_label,
    shown_processes,
)
from grader.trace import Process, Trace

WIDTH = 900
LABEL_W = 240
RIGHT_PAD = 80  # room for "SIGKILL" after the last bar
TOP = 26
LANE_H = 34
BAR_H = 12
TITLE_CHARS = 160
LABEL_CHARS = 30
NICE_STEPS = (1, 2, 5)
MAX_MARKS = 4000  # output marks in one picture, all lanes together


def _x(t: float, end: float) -> float:
    plot = WIDTH - LABEL_W - RIGHT_PAD
    return round(LABEL_W + max(0.0, min(t, end)) / end * plot, 1)


def _short(text: str, n: int) -> str:
    text = clean(text).replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def _secs(t: float | None) -> str:
    if t is None:
        return "?"
    return f"{t:.3f} s" if t < 10 else f"{t:.2f} s"


def _tick_step(end: float, most: int = 8) -> float:
    raw = end / most
    power = 10.0 ** math.floor(math.log10(raw))
    for m in NICE_STEPS:
        if m * power >= raw:
            return m * power
    return 10 * power


def _attrs(**kw: object) -> str:
    # numbers (most attributes) need no escaping
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{v if isinstance(v, (int, float)) else escape(str(v))}"'
                    for k, v in kw.items())


def _el(tag: str, title: str | None = None, **kw: object) -> str:
    if title is None:
        return f"<{tag} {_attrs(**kw)}/>"
    return f"<{tag} {_attrs(**kw)}><title>{escape(_short(title, TITLE_CHARS))}</title></{tag}>"


def _describe(p: Process) -> str:
    what = f"{short_label(p)} (pid {p.pid}): {how_made(p)}"
    if p.args:
        what += f", args ({_short(p.args, 60)})"
    return f"{what}; started {_secs(p.start)}, ended {_secs(p.end)}, {end_words(p)}"


def _bucketed(items: Iterable[tuple[float, str, str]], end: float, most: int) -> list[tuple[float, str, int, str]]:
    """Marks merged per column (at most `most` columns per stream): (x, stream, count, first text).

    Bounds the picture's size whatever the program printed."""
    column = max(1.0, (WIDTH - LABEL_W - RIGHT_PAD) / most)
    seen: dict[tuple[int, str], tuple[float, int, str]] = {}
    for t, stream, text in items:
        x = _x(t, end)
        key = (int(x / column), stream)
        first = seen.get(key)
        seen[key] = (x, 1, text) if first is None else (first[0], first[1] + 1, first[2])
    return [(x, key[1], count, text) for key, (x, count, text) in seen.items()]


def timeline_svg(trace: Trace, *, include_internal: bool = False, caption: str = "") -> Markup:
    """The run's timeline as an `<svg>` element (a string safe to put in HTML as is)."""
    procs = shown_processes(trace, include_internal=include_internal)
    hidden = max(0, len(procs) - MAX_LANES)
    procs = procs[:MAX_LANES]
    colour = colours(trace)
    end = run_end(trace)
    lane_of = {p.pid: k for k, p in enumerate(procs)}
    printed: dict[int | None, list[tuple[float, str, str]]] = {}  # pid -> its output marks (one pass over the lines)
    for ln in trace.lines:
        if ln.t is not None:
            printed.setdefault(ln.pid, []).append((ln.t, ln.stream, ln.text))
    stopped = trace.limit is not None or trace.timed_out
    height = TOP + LANE_H * max(1, len(procs)) + (18 if hidden else 0) + (16 if stopped else 0) + 8
    summary = caption or (f"Timeline of the run: {len(procs)} process{'es' if len(procs) != 1 else ''}, "
                          f"{_secs(trace.wall_time)}")
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" data-lanes="{len(procs)}" font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(summary)}</title>",
        '<defs><pattern id="killed-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="3" height="6" fill="#fff" fill-opacity=".55"/></pattern></defs>',
    ]
    # time axis and grid
    step = _tick_step(end)
    k = 0
    while k * step <= end + 1e-9:
        t = k * step
        x = _x(t, end)
        label = f"{t:g} s" if step >= 0.001 else f"{t * 1000:g} ms"
        out.append(_el("line", x1=x, x2=x, y1=TOP - 6, y2=height - 8, stroke="#ddd"))
        out.append(f'<text x="{x}" y="{TOP - 10}" text-anchor="middle" fill="#555">{escape(label)}</text>')
        k += 1
    for i, p in enumerate(procs):
        y = TOP + i * LANE_H
        c = colour.get(p.pid, "#777")
        out.append(f'<g class="lane" data-pid="{p.pid}" data-kind="{escape(p.kind)}">')
        if i % 2:
            out.append(_el("rect", x=0, y=y, width=WIDTH, height=LANE_H, fill="#f6f7f9"))
        out.append(f'<text x="8" y="{y + 14}" font-weight="600" fill="{c}">'
                   f"<title>{escape(_describe(p))}</title>{escape(_short(short_label(p), LABEL_CHARS))}</text>")
        sub = f"{how_made(p)} · pid {p.pid}"
        out.append(f'<text x="8" y="{y + 28}" font-size="10.5" fill="#555">'
                   f"{escape(_short(sub, LABEL_CHARS + 8))}</text>")
        bar_y = y + (LANE_H - BAR_H) / 2 + 2
        if p.start is not None:
            x0 = _x(p.start, end)
            x1 = max(_x(p.end if p.end is not None else end, end), x0 + 2)
            out.append(_el("rect", _describe(p), x=x0, y=bar_y, width=round(x1 - x0, 1), height=BAR_H, rx=2,
                           fill=c, class_="bar"))
            if p.survived or p.end is None:
                out.append(_el("rect", x=x0, y=bar_y, width=round(x1 - x0, 1), height=BAR_H,
                               fill="url(#killed-hatch)"))
            if failed(p):
                cx, cy = x1, bar_y + BAR_H / 2
                out.append(f'<g class="crash"><title>{escape(_describe(p))}</title>'
                           f'<circle cx="{cx}" cy="{cy}" r="7" fill="#c62828"/>'
                           f'<path d="M{cx - 3.5} {cy - 3.5}l7 7m0 -7l-7 7" stroke="#fff" stroke-width="2"/></g>')
                out.append(f'<text x="{cx + 10}" y="{cy + 4}" fill="#c62828" font-size="11">'
                           f"{escape(end_mark(p))}</text>")
        # pool tasks this process ran: a thin strip under the bar
        for task in (t for pool in trace.pools for t in pool.tasks if t.pid == p.pid and t.start is not None):
            t0 = _x(task.start or 0.0, end)
            t1 = max(_x(task.end if task.end is not None else end, end), t0 + 1.5)
            words = f"task {task.function}({task.args}) {_secs(task.start)} – {_secs(task.end)}"
            if task.error:
                words += f": raised {task.error}"
            out.append(_el("rect", words, x=t0, y=bar_y + BAR_H + 2, width=round(t1 - t0, 1), height=4,
                           fill="#c62828" if task.error else c, fill_opacity=".55", class_="task"))
        # output marks above the bar
        for x, stream, count, text in _bucketed(printed.get(p.pid, ()), end, max(20, MAX_MARKS // len(procs))):
            more = f" (+{count - 1} more)" if count > 1 else ""
            out.append(_el("line", f"{stream}: {text}{more}", x1=x, x2=x, y1=bar_y - 6, y2=bar_y - 1,
                           stroke="#c62828" if stream == "stderr" else "#222", stroke_width=1.6,
                           class_=f"out out-{stream}"))
        # exceptions raised in this process
        for e in trace.exceptions:
            if e.pid == p.pid and e.t is not None:
                ex = _x(e.t, end)
                out.append(f'<g class="exception"><title>{escape(_short(f"{e.type}: {e.message}", TITLE_CHARS))}'
                           f'</title><path d="M{ex} {bar_y - 8}l5 9h-10z" fill="#c62828"/></g>')
        out.append("</g>")
    # joins: a diamond on the child's lane, a dashed line up to the lane of the process that waited
    for p in procs:
        if p.joined is None:
            continue
        parent = p.started_by if p.started_by in lane_of else p.ppid
        x = _x(p.joined, end)
        cy = TOP + lane_of[p.pid] * LANE_H + LANE_H / 2 + 2
        words = f"{short_label(p)}: its parent started waiting for it (join) at {_secs(p.joined)}"
        if parent in lane_of:
            py = TOP + lane_of[parent] * LANE_H + LANE_H / 2 + 2
            out.append(_el("line", x1=x, x2=x, y1=py, y2=cy, stroke="#333", stroke_dasharray="3 2", class_="join-link"))
        out.append(f'<g class="join"><title>{escape(words)}</title>'
                   f'<path d="M{x} {cy - 6}l5 6l-5 6l-5 -6z" fill="#fff" stroke="#222" stroke-width="1.5"/></g>')
    base = trace.limits.get("wall_time")
    if trace.wall_extended and isinstance(base, (int, float)) and base < end:  # passed: still making progress
        x = _x(base, end)
        words = f"wall limit ({base:g} s) passed at {_secs(base)}: the run was still making progress"
        out.append(f'<g class="limit passed"><title>{escape(words)}</title>'
                   f'<line x1="{x}" x2="{x}" y1="{TOP - 4}" y2="{TOP + LANE_H * max(1, len(procs))}" stroke="#c62828" '
                   'stroke-width="1" stroke-dasharray="4 3"/></g>')
    if stopped:
        x = _x(trace.wall_time, end)
        words = f"{trace.limit or 'wall'} limit reached at {_secs(trace.wall_time)}: the run was stopped"
        out.append(f'<g class="limit"><title>{escape(words)}</title>'
                   f'<line x1="{x}" x2="{x}" y1="{TOP - 4}" y2="{height - 18}" stroke="#c62828" stroke-width="2"/>'
                   f'<text x="{x}" y="{height - 6}" text-anchor="middle" fill="#c62828" font-weight="600">'
                   f"{escape(trace.limit or 'wall')} limit</text></g>")
    if hidden:
        out.append(f'<text x="8" y="{TOP + LANE_H * len(procs) + 14}" fill="#555">'
                   f"… and {hidden} more processes, not drawn</text>")
    out.append("</svg>")
    return Markup("".join(out))

"""The per-submission HTML page, in two views from the same outcome: the student's and the TA's.

`render_submission(outcome, view="student")` renders `outcome.student_view()` (hidden checks, their
runs, evidence and review notes are already gone from it: hiding is the model's job, not this
module's); `view="ta"` renders everything and links the raw details and the Chrome trace files.

A page is one self-contained file: its stylesheet and script are inlined, pictures are inline
SVG, and a Content-Security-Policy forbids every fetch (`default-src 'none'`) and every script but
the page's own (by hash), so even text that escaped escaping could neither load nor run
anything. Everything the student wrote or printed goes through jinja2's autoescape and has its
control characters removed (the environment's `finalize`), and Pygments escapes the code it
colours. Long output is bounded per run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from grader.outcome import AttemptOutcome, CellView, QuestionOutcome, SubmissionOutcome, humanize
from grader.render.common import MAX_LANES, clean, colours, end_words, failed, how_made, short_label, shown_processes
from grader.render.timeline import timeline_svg
from grader.trace import Line, Trace

MAX_LANE_ROWS = 400  # output lines shown per run; the rest are counted (the TA has the details file)
MAX_CAPTURE_CHARS = 20_000
MAX_LINE_CHARS = 2_000  # one printed line, an exception's message
MAX_EVIDENCE_CHARS = 4_000
ANSWER_FILE = "answer.py"  # the name the sandbox runs a program under (tracebacks name it)
_TB_LINE = re.compile(r'File "(?:[^"]*/)?' + re.escape(ANSWER_FILE) + r'", line (\d+)')


@dataclass(frozen=True)
class Links:
    """Where the TA page's links go, relative to the page (None: no link)."""

    details: str | None = None
    traces: Mapping[tuple[str, int, str], str] = field(default_factory=dict)  # (question, attempt, variant) -> href
    student: str | None = None
    ta: str | None = None
    index: str | None = None


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return clean(value)
    return value


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.render", "templates"), autoescape=True, finalize=_finalize,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = points
    env.filters["pct"] = lambda part, whole: 0 if not whole else max(0, min(100, round(100 * part / whole)))
    env.filters["secs"] = seconds
    env.filters["humanize"] = humanize
    env.filters["cut"] = lambda text, limit=MAX_LINE_CHARS: _cut(str(text), limit)
    return env


def static(name: str) -> str:
    return files("grader.render").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def csp(script: str) -> str:
    """The page's Content-Security-Policy: no fetch of any kind; only the page's own script runs."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def points(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if value == round(value, 2) else f"{value:.2f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def score_class(score: float, max_score: float) -> str:
    if not max_score:
        return ""
    ratio = score / max_score
    return "low" if ratio < 0.5 else "mid" if ratio < 0.85 else ""


# -- code ------------------------------------------------------------------------------------


@cache
def code_css() -> str:
    return str(HtmlFormatter(style="default").get_style_defs(".code"))  # type: ignore[no-untyped-call]


def highlighted(source: str, first_line: int = 1, marked: Sequence[int] = ()) -> Markup:
    """`source` coloured by Pygments, numbered from `first_line`, with the `marked` lines (numbered
    the same way) highlighted."""
    return _highlighted(source, first_line, tuple(sorted({n - first_line + 1 for n in marked if n >= first_line})))


@lru_cache(maxsize=64)
def _highlighted(source: str, first_line: int, rel: tuple[int, ...]) -> Markup:
    # Kept for a while: a submission's student page and TA page show the same code (a third of a page's cost).
    formatter = HtmlFormatter(linenos="inline", linenostart=first_line, hl_lines=list(rel), cssclass="code",
                              wrapcode=True)
    return Markup(highlight(clean(source), PythonLexer(stripnl=False, ensurenl=True), formatter))


def traceback_lines(trace: Trace) -> dict[int, list[str]]:
    """Lines of the program where an exception was raised (the last frame in the program's own file)."""
    out: dict[int, list[str]] = {}
    for e in trace.exceptions:
        found = _TB_LINE.findall(e.traceback)
        if found:
            out.setdefault(int(found[-1]), []).append(f"{e.type} raised here")
    return out


@dataclass(frozen=True)
class Mark:
    line: int
    why: str
    status: str


def marks_for(attempt: AttemptOutcome) -> list[Mark]:
    """Every line of the attempt's program that a check or a traceback points at, with why."""
    found: list[Mark] = []
    for c in attempt.checks:
        for n in c.lines:
            found.append(Mark(n, f"{c.title}: {c.message}", c.status))
    for variant, trace in attempt.runs.items():
        for n, whys in traceback_lines(trace).items():
            found.extend(Mark(n, f"{why} (run: {variant})", "error") for why in whys)
    # A mark on a line that passed is information, not a problem: only failing ones are highlighted.
    return sorted((m for m in found if m.status != "passed"), key=lambda m: m.line)


# -- evidence ---------------------------------------------------------------------------------

_FIRST_KEYS = ("expected", "seen", "missing", "found", "reason")


def _short_value(value: Any, limit: int = 200) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = {True: "yes", False: "no", None: "none"}[value]
    elif isinstance(value, (int, float)):
        text = f"{value:g}"
    elif isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        text = ", ".join(_short_value(v, 40) for v in value[:12]) + (f", … ({len(value)} in all)" if len(value) > 12
                                                                       else "")
        text = text or "none"
    elif isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
        text = "none" if not value else "; ".join(f"{k}: {_short_value(v, 40)}" for k, v in list(value.items())[:12])
    else:
        text = f"{len(value)} record{'s' if len(value) != 1 else ''}" if isinstance(value, (list, dict)) else str(value)
    text = clean(text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_words(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The evidence as (what, value) pairs in words: expected and seen first."""
    keys = [k for k in _FIRST_KEYS if k in evidence] + [k for k in evidence if k not in _FIRST_KEYS]
    return [(k.replace("_", " "), _short_value(evidence[k])) for k in keys]


def evidence_json(evidence: Mapping[str, Any]) -> str:
    text = json.dumps(evidence, indent=1, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[:MAX_EVIDENCE_CHARS] + "\n…"


# -- runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lane:
    pid: int | None
    label: str
    how: str
    colour: str


@dataclass(frozen=True)
class Row:
    lane: int
    line: Line


def run_status(trace: Trace) -> tuple[str, bool]:
    """The run's ending in words, and whether it is bad news."""
    limit = trace.limit or ("wall" if trace.timed_out else None)
    if limit:
        name = {"wall": "wall_time", "cpu": "cpu_time"}.get(limit, limit)
        value = trace.limits.get(name)
        at = f" ({value:g} s)" if isinstance(value, (int, float)) and limit in ("wall", "cpu") else ""
        if name in trace.limits_why:  # a limit the grader chose: say how
            at = f" ({trace.limits_why[name]})"
        if trace.stopped:
            return (f"Stopped early after {seconds(trace.wall_time)}, as if at its {limit} limit{at}: "
                    f"{trace.stopped}"), True
        if limit == "wall" and trace.wall_extended:
            return (f"Stopped after {seconds(trace.wall_time)}: it was still making progress at its wall limit{at}, "
                    "so it was given more time, and then cut"), True
        return f"Stopped: the {limit} limit{at} was reached after {seconds(trace.wall_time)}", True
    if trace.stopped:
        return f"Stopped early after {seconds(trace.wall_time)}, its outcome decided: {trace.stopped}", True
    if trace.signal:
        return f"Killed by {trace.signal} after {seconds(trace.wall_time)}", True
    if trace.exit_code:
        return f"Exited with status {trace.exit_code} after {seconds(trace.wall_time)}", True
    return f"Ran to completion (exit 0) in {seconds(trace.wall_time)}", False


def lanes_of(trace: Trace, include_internal: bool) -> tuple[list[Lane], list[Row], int]:
    """Output lanes: one per process that is drawn or printed (at most `MAX_LANES`), then one for
    output no known process claimed (and that of processes beyond the bound)."""
    colour = colours(trace)
    printed = {ln.pid for ln in trace.lines}
    procs = shown_processes(trace, include_internal=include_internal)
    # an internal helper that printed gets a lane too
    procs += [p for p in shown_processes(trace, include_internal=True) if p.pid in printed and p not in procs]
    lanes = [Lane(p.pid, short_label(p), f"{how_made(p)} · pid {p.pid}", colour[p.pid]) for p in procs[:MAX_LANES]]
    if printed - {lane.pid for lane in lanes}:
        lanes.append(Lane(None, "other output", "written by no process of the run's record (or beyond "
                          f"the first {MAX_LANES})", colour[None]))
    index = {lane.pid: k for k, lane in enumerate(lanes)}
    rows = [Row(index.get(ln.pid, len(lanes) - 1), ln) for ln in trace.lines]
    rows.sort(key=lambda r: (r.line.t is None, r.line.t or 0.0))
    return lanes, rows[:MAX_LANE_ROWS], max(0, len(rows) - MAX_LANE_ROWS)


def _cut(text: str, limit: int = MAX_CAPTURE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def run_view(variant: str, trace: Trace, *, ta: bool, readers: Sequence[str]) -> dict[str, Any]:
    status, bad = run_status(trace)
    lanes, rows, more = lanes_of(trace, include_internal=ta)
    procs = shown_processes(trace, include_internal=ta)
    colour = colours(trace)
    label = {p.pid: short_label(p) for p in trace.processes}
    return {
        "variant": variant, "trace": trace, "status": status, "bad": bad, "timeline": timeline_svg(
            trace, include_internal=ta), "lanes": lanes, "rows": rows, "more_rows": more,
        "processes": [{"p": p, "label": short_label(p), "how": how_made(p), "ended": end_words(p), "failed": failed(p),
                       "colour": colour[p.pid]} for p in procs],
        "exceptions": [{"e": e, "who": label.get(e.pid, f"pid {e.pid}")} for e in trace.exceptions],
        "stdout": _cut(trace.stdout.text), "stderr": _cut(trace.stderr.text), "readers": readers,
        "limits_hit": trace.limits_hit,
    }


# -- the page ---------------------------------------------------------------------------------


def _cell(outcome: SubmissionOutcome, index: int | None) -> CellView | None:
    if index is None:
        return None
    return next((c for c in outcome.cells if c.index == index), None)


def attempt_view(outcome: SubmissionOutcome, q: QuestionOutcome, k: int, a: AttemptOutcome, *, ta: bool,
                 links: Links) -> dict[str, Any]:
    marks = marks_for(a)
    prelude_end = max(0, a.answer_start - 1)
    lines = a.source.splitlines()
    cell = _cell(outcome, a.cell)
    return {
        "a": a, "graded": q.graded == k, "marks": marks,
        "prelude": highlighted("\n".join(lines[:prelude_end]), 1, [m.line for m in marks]) if prelude_end else None,
        "prelude_lines": prelude_end,
        "code": highlighted("\n".join(lines[prelude_end:]), a.answer_start, [m.line for m in marks]),
        "saved": cell.output if cell is not None else "",
        "runs": [run_view(v, t, ta=ta, readers=a.readers.get(v, ())) for v, t in a.runs.items()],
        "trace_links": {v: links.traces[(q.id, a.number, v)] for v in a.runs if (q.id, a.number, v) in links.traces},
    }


def question_view(outcome: SubmissionOutcome, q: QuestionOutcome, *, ta: bool, links: Links) -> dict[str, Any]:
    cells = [c for c in (_cell(outcome, i) for i in q.cells) if c is not None]
    return {
        "q": q, "cells": [{"c": c, "code": highlighted(c.source) if c.kind == "code" else None} for c in cells],
        "attempts": [attempt_view(outcome, q, k, a, ta=ta, links=links) for k, a in enumerate(q.attempts)],
        "checks": [{"c": c, "evidence": evidence_words(c.evidence) if ta else [],
                    "raw": evidence_json(c.evidence) if ta and c.evidence else ""} for c in q.checks],
        "bar": score_class(q.score, q.max_score),
    }


def render_submission(outcome: SubmissionOutcome, view: str = "student", *, links: Links | None = None,
                      title: str = "") -> str:
    """The submission's page as one HTML document. view: "student" (the student view of the outcome)
    or "ta" (everything, with links to the raw details and the Chrome traces)."""
    if view not in ("student", "ta"):
        raise ValueError(f"view must be 'student' or 'ta', not {view!r}")
    ta = view == "ta"
    shown = outcome if ta else outcome.student_view()
    links = links or Links()
    if not ta:  # a student's page links nothing of the TA's
        links = Links(index=None, student=None, ta=None)
    script = static("report.js")
    return environment().get_template("submission.html.j2").render(
        o=shown, ta=ta, view=view, links=links, rubric_title=title,
        questions=[question_view(shown, q, ta=ta, links=links) for q in shown.questions],
        bar=score_class(shown.score, shown.max_score),
        css=Markup(static("report.css") + code_css()), script=Markup(script), csp=csp(script),
    )

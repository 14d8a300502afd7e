"""The class overview, `index.html`: every submission of a batch on one page that works offline.

A sortable, filterable table (total, each question, errors, "needs a TA", limits hit), a score
histogram (inline SVG), the pass rate of every check (which questions the class found hard), the
answers flagged for review, and links to every student and TA page. It reads the `Gradebook`
(submissions in summary form) and nothing else. The table is plain HTML; the small inline script
only sorts and filters it, so the page reads the same without scripts and in print.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render.html import code_css, csp, environment, points, static

BINS = 10
HIST_W, HIST_H, HIST_PAD = 420, 200, 26


@dataclass(frozen=True)
class CheckRate:
    question: str
    check: str
    hidden: bool
    passed: int
    ran: int  # submissions where the check has a verdict other than skipped

    @property
    def percent(self) -> int:
        return round(100 * self.passed / self.ran) if self.ran else 0


def histogram_svg(scores: list[float], max_score: float) -> Markup:
    """Scores in `BINS` equal bins from 0 to the maximum (the last bin includes the maximum)."""
    counts = [0] * BINS
    for s in scores:
        k = int(s / max_score * BINS) if max_score else 0
        counts[min(max(k, 0), BINS - 1)] += 1
    top = max(counts) or 1
    bar_w = (HIST_W - 2 * HIST_PAD) / BINS
    plot_h = HIST_H - 2 * HIST_PAD
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" viewBox="0 0 {HIST_W} {HIST_H}" role="img" '
           f'data-bins="{BINS}" font-family="system-ui, sans-serif" font-size="12">',
           f"<title>Score histogram: {len(scores)} submissions in {BINS} bins from 0 to {points(max_score)}</title>",
           f'<line x1="{HIST_PAD}" x2="{HIST_W - HIST_PAD}" y1="{HIST_H - HIST_PAD}" y2="{HIST_H - HIST_PAD}" '
           'stroke="#888"/>']
    for k, n in enumerate(counts):
        lo, hi = max_score * k / BINS, max_score * (k + 1) / BINS
        h = plot_h * n / top
        x = HIST_PAD + k * bar_w
        y = HIST_H - HIST_PAD - h
        words = f"{n} submission{'s' if n != 1 else ''} scored {points(lo)}–{points(hi)}"
        out.append(f'<g class="bin" data-count="{n}"><title>{escape(words)}</title>'
                   f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" rx="2" '
                   f'fill="{"#0072b2" if n else "none"}"/>')
        if n:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{n}</text>')
        out.append("</g>")
        out.append(f'<text x="{x:.1f}" y="{HIST_H - HIST_PAD + 14}" text-anchor="middle" fill="#555">'
                   f"{points(round(lo, 1))}</text>")
    out.append(f'<text x="{HIST_W - HIST_PAD}" y="{HIST_H - HIST_PAD + 14}" text-anchor="middle" fill="#555">'
               f"{points(max_score)}</text>")
    out.append("</svg>")
    return Markup("".join(out))


def check_rates(book: Gradebook) -> list[CheckRate]:
    rates = []
    for q in book.questions:
        for check_id, hidden in q.checks:
            passed = ran = 0
            for sub in book.submissions:
                qo = sub.question(q.id)
                c = next((c for c in qo.checks if c.id == check_id), None) if qo is not None else None
                if c is None or c.status == "skipped":
                    continue
                ran += 1
                passed += c.status == "passed"
            rates.append(CheckRate(q.id, check_id, hidden, passed, ran))
    return rates


def render_index(book: Gradebook, pages: Callable[[SubmissionOutcome], tuple[str, str]]) -> str:
    """`index.html` for the gradebook. `pages(sub)` gives the (student, TA) page hrefs of a submission."""
    graded = [s for s in book.submissions if s.error is None]
    scores = [s.score for s in graded]
    rows: list[dict[str, Any]] = []
    review: list[dict[str, Any]] = []
    for sub in sorted(book.submissions, key=lambda s: s.id):
        student, ta = pages(sub)
        rows.append({"s": sub, "student": student, "ta": ta,
                     "q": {q.id: sub.question(q.id) for q in book.questions}})
        for q in sub.questions:
            if q.needs_review:
                reasons = [f"{c.title}: {c.review_reason}" if c.review_reason else c.title
                           for c in q.checks if c.needs_review]
                review.append({"s": sub, "q": q, "href": f"{ta}#q-{q.id}", "reasons": reasons})
    stats = {
        "n": len(book.submissions), "graded": len(graded), "errors": len(book.submissions) - len(graded),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "review": sum(1 for s in book.submissions if s.needs_review),
    }
    q_scores = {q.id: [qo.score for s in graded if (qo := s.question(q.id)) is not None] for q in book.questions}
    q_means = {qid: statistics.fmean(found) if found else None for qid, found in q_scores.items()}
    script = static("overview.js")
    return environment().get_template("index.html.j2").render(
        book=book, rows=rows, review=review, stats=stats, q_means=q_means, rates=check_rates(book),
        histogram=histogram_svg(scores, book.max_score), css=Markup(static("report.css") + code_css()),
        script=Markup(script), csp=csp(script))

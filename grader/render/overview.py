"""The class overview, `index.html`: every submission of a batch on one page that works offline.

A sortable, filterable table (total, each question, errors, "needs a TA", limits hit), a score
histogram (inline SVG), the pass rate of every check (which questions the class found hard), the
answers flagged for review, and links to every student and TA page. It reads the `Gradebook`
(submissions in summary form) and nothing else. The table is plain HTML; the small inline script
only sorts and filters it, so the page reads the same without scripts and in print.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from markupsafe import Markup, escape

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render.html import code_css, csp, environment, points, static

T = TypeVar("T")
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
    """How often each check passed, over the submissions where it has a verdict (one pass)."""
    counts = {(q.id, check_id): [0, 0] for q in book.questions for check_id, _ in q.checks}  # passed, ran
    for sub in book.submissions:
        for qo in sub.questions:
            for c in qo.checks:
                if (qo.id, c.id) in counts and c.status != "skipped":
                    counts[(qo.id, c.id)][0] += c.status == "passed"
                    counts[(qo.id, c.id)][1] += 1
    return [CheckRate(q.id, check_id, hidden, *counts[(q.id, check_id)]) for q in book.questions
            for check_id, hidden in q.checks]


class _Again(Generic[T]):
    """A sequence the template reads by iterating (more than once if it likes) and by `|length`,
    made afresh from the submissions each time instead of being held in memory."""

    def __init__(self, make: Callable[[], Iterator[T]], count: int) -> None:
        self._make = make
        self._count = count

    def __iter__(self) -> Iterator[T]:
        return self._make()

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0


def index_pieces(book: Gradebook, pages: Callable[[SubmissionOutcome], tuple[str, str]]) -> Iterator[str]:
    """`index.html` a piece at a time. The submissions are read a few times over and never all
    kept (the scores are, for the median), so a class of any size costs the same memory."""
    scores: list[float] = []
    q_scores: dict[str, list[float]] = {q.id: [] for q in book.questions}
    n_review = n_flagged = 0
    for sub in book.submissions:
        n_review += sub.needs_review
        n_flagged += sum(1 for q in sub.questions if q.needs_review)
        if sub.error is None:
            scores.append(sub.score)
            for qo in sub.questions:
                if qo.id in q_scores:
                    q_scores[qo.id].append(qo.score)

    def in_order() -> Iterable[SubmissionOutcome]:  # a Gradebook made in memory may be in any order
        subs = book.submissions
        return sorted(subs, key=lambda s: s.id) if isinstance(subs, (tuple, list)) else subs

    def rows() -> Iterator[dict[str, Any]]:
        for sub in in_order():
            student, ta = pages(sub)
            yield {"s": sub, "student": student, "ta": ta, "q": {q.id: sub.question(q.id) for q in book.questions}}

    def review() -> Iterator[dict[str, Any]]:
        for sub in in_order():
            _, ta = pages(sub)
            for q in sub.questions:
                if q.needs_review:
                    reasons = [f"{c.title}: {c.review_reason}" if c.review_reason else c.title
                               for c in q.checks if c.needs_review]
                    yield {"s": sub, "q": q, "href": f"{ta}#q-{q.id}", "reasons": reasons}

    stats = {
        "n": len(book.submissions), "graded": len(scores), "errors": len(book.submissions) - len(scores),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "review": n_review,
    }
    q_means = {qid: statistics.fmean(found) if found else None for qid, found in q_scores.items()}
    script = static("overview.js")
    return environment().get_template("index.html.j2").generate(
        book=book, rows=_Again(rows, len(book.submissions)), review=_Again(review, n_flagged), stats=stats,
        q_means=q_means, rates=check_rates(book), histogram=histogram_svg(scores, book.max_score),
        css=Markup(static("report.css") + code_css()), script=Markup(script), csp=csp(script))


def render_index(book: Gradebook, pages: Callable[[SubmissionOutcome], tuple[str, str]]) -> str:
    """`index.html` for the gradebook. `pages(sub)` gives the (student, TA) page hrefs of a submission."""
    return "".join(index_pieces(book, pages))

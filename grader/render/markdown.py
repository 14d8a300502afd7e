"""Markdown for CI: the class summary (a TA's) and one submission's (a student's own CI run).

- `class_markdown(book)`: the class table (submission, each question's score, total), every
  check's pass rate (which questions the class found hard), and what needs a TA (reviews asked
  by checks, submissions that could not be graded). It is the TA's: hidden checks appear, marked.
- `submission_markdown(outcome)`: one submission as its student may see it. It always renders
  `outcome.student_view()`, so no caller can show a hidden check or a review note by mistake.
- `append_step_summary(text)`: appends to the file `$GITHUB_STEP_SUMMARY` names, when it is set,
  which GitHub Actions shows on the run's page.

Student text (ids, messages, errors) is first made `printable`, then escaped: Markdown's special
characters get a backslash (a `|` cannot end a table cell, a backtick cannot open code, `[x](y)`
is no link) and `<`, `>`, `&` become entities (no raw HTML: `<script>` shows as text). Each
value is cut to a few hundred characters, and the summary to GitHub's 1 MiB limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from grader.outcome import Gradebook, SubmissionOutcome, redact
from grader.render.csv_export import number
from grader.render.safe import printable, shorten

GITHUB_SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub accepts in one step's summary
CELL_LIMIT = 300
# The characters that start Markdown syntax mid-line (a value never starts a line here): emphasis,
# code, links and images, tables, strikethrough, math, headings' closing #, mentions.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]#!|~$@])")
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")  # GitHub links bare URLs: a student's link is not made one
_STATUS_MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "timeout": "⏱️", "skipped": "⏭️"}


def md(text: str, limit: int = CELL_LIMIT) -> str:
    """Student text as inert Markdown on one line (safe in a table cell)."""
    text = shorten(printable(text), limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(lambda m: m.group().replace("/", "\\/").replace(".", "\\."), text)


def _flags(outcome: SubmissionOutcome) -> str:
    marks = []
    if outcome.needs_review:
        marks.append("🔍")
    if any(q.override is not None and q.override.score is not None for q in outcome.questions):
        marks.append("✍️")
    return " " + " ".join(marks) if marks else ""


def class_markdown(book: Gradebook, *, hidden: bool = True) -> str:
    """The class summary for a TA's CI run; `hidden=False` leaves hidden checks' pass rates out
    (for a summary students can read, e.g. a public repository's Actions page)."""
    return "".join(class_markdown_lines(book, hidden=hidden))


def class_markdown_lines(book: Gradebook, *, hidden: bool = True) -> Iterator[str]:
    """`class_markdown` a line at a time (each ends in a newline). The submissions are read a few
    times over and never all kept, so a class of any size costs the same memory."""
    qids = [q.id for q in book.questions]
    graded = errors = 0
    total = 0.0
    rates = {(info.id, check_id): [0, 0] for info in book.questions for check_id, _ in info.checks}  # passed, ran
    for s in book.submissions:
        if s.error is not None:
            errors += 1
            continue
        graded += 1
        total += s.score
        for qo in s.questions:
            for c in qo.checks:
                if (qo.id, c.id) in rates:
                    rates[(qo.id, c.id)][0] += c.status == "passed"
                    rates[(qo.id, c.id)][1] += 1
    yield f"## {md(book.title or book.rubric_id)}: {len(book.submissions)} submission(s)\n\n"
    if graded:
        yield (f"Mean score {number(total / graded)} / {number(book.max_score)} over {graded} graded; "
               f"{errors} could not be graded.\n\n")
    yield "| Submission | " + " | ".join(md(q) for q in qids) + " | Total |\n"
    yield "|---|" + "---:|" * len(qids) + "---:|\n"
    for s in book.submissions:
        if s.error is not None:
            cells = ["—"] * len(qids) + ["**error**"]
        else:
            cells = []
            for qid in qids:
                q = s.question(qid)
                cell = number(q.score) if q is not None else "—"
                if q is not None and q.override is not None and q.override.score is not None:
                    cell += " ✍️"
                if q is not None and q.needs_review:
                    cell += " 🔍"
                cells.append(cell)
            cells.append(f"**{number(s.score)}** / {number(s.max_score)}")
        yield f"| {md(s.id)}{_flags(s)} | " + " | ".join(cells) + " |\n"
    yield "\n🔍 needs a TA · ✍️ score set by a TA\n\n"
    if graded:
        yield from _pass_rates(book, rates, hidden)
    yield from _needs_a_ta(book, hidden)


def _pass_rates(book: Gradebook, rates: Mapping[tuple[str, str], list[int]], show_hidden: bool) -> Iterator[str]:
    yield "### Checks\n\n| Question | Check | Passed | Rate |\n|---|---|---:|---:|\n"
    for info in book.questions:
        for check_id, hidden in info.checks:
            if hidden and not show_hidden:
                continue
            passed, ran = rates[(info.id, check_id)]
            rate = f"{100 * passed / ran:.0f}%" if ran else "—"
            name = md(check_id) + (" (hidden)" if hidden else "")
            yield f"| {md(info.id)} | {name} | {passed} / {ran} | {rate} |\n"
    yield "\n"


def _needs_a_ta(book: Gradebook, show_hidden: bool) -> Iterator[str]:
    first = True
    for s in book.submissions:
        items = []
        if s.error is not None:
            items.append(f"- {md(s.id)}: could not be graded: {md(s.error)}")
        else:
            secret = frozenset() if show_hidden else s.hidden_ids()
            for q in s.questions:
                for c in q.checks:
                    if c.needs_review and (show_hidden or not c.hidden):
                        why = redact(c.review_reason or c.message, secret)
                        items.append(f"- {md(s.id)}, {md(q.id)} ({md(c.id)}): {md(why)}")
        for item in items:
            if first:
                yield "### Needs a TA\n\n"
                first = False
            yield item + "\n"
    yield "Nothing needs a TA.\n\n" if first else "\n"


def submission_markdown(outcome: SubmissionOutcome) -> str:
    """One submission for its student: the student view, always."""
    secret = outcome.hidden_ids()
    student = outcome.student_view()
    lines = [f"## {md(student.id)}"]
    if student.error is not None:
        return "\n".join([*lines, "", f"This submission could not be graded: {md(student.error)}", ""])
    lines += ["", f"**Score: {number(student.score)} / {number(student.max_score)}**", "",
              "| Question | Score |", "|---|---:|"]
    lines += [f"| {md(q.id)} | {number(q.score)} / {number(q.max_score)} |" for q in student.questions]
    for q in student.questions:
        lines += ["", f"### {md(q.id)}: {number(q.score)} / {number(q.max_score)}", ""]
        if not q.answered:
            lines.append("No answer was found for this question.")
        if q.override is not None and q.override.score is not None:
            lines.append("Score set by a TA" + (f": {md(q.override.comment)}" if q.override.comment else "."))
        for c in q.checks:
            mark = _STATUS_MARK.get(c.status, "•")
            message = md(redact(c.message, secret))  # a check skipped for a hidden one's sake does not name it
            lines.append(f"- {mark} **{md(c.title)}** ({number(c.score)} / {number(c.max_score)}): {message}")
    return "\n".join(lines) + "\n"


def append_step_summary(text: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append `text` to `$GITHUB_STEP_SUMMARY` when it is set; the file written, or None."""
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    existing = path.stat().st_size if path.exists() else 0
    data = _within(text, GITHUB_SUMMARY_LIMIT - existing)
    with path.open("a", encoding="utf-8") as f:
        f.write(data)
    return path


def _within(text: str, budget: int) -> str:
    """`text`, cut at a line so that it stays within `budget` bytes of UTF-8."""
    data = text.encode("utf-8")
    if len(data) <= budget:
        return text
    note = "\n… (cut: GitHub's step summary holds 1 MiB)\n"
    room = max(0, budget - len(note.encode("utf-8")))
    cut = data[:room].decode("utf-8", "ignore")
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else ""
    return cut + note if budget > len(note.encode("utf-8")) else ""


def summaries(outcomes: Iterable[SubmissionOutcome]) -> str:
    """Several submissions' student Markdown, one after another (a student CI run of many files)."""
    return "\n".join(submission_markdown(o) for o in outcomes)

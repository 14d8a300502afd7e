"""The class outputs of a graded folder, read from disk one summary at a time (flat memory)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from grader.outcome import Gradebook
from grader.render import csv_export, junit, markdown, overview, terminal
from grader.results import Summaries
from tests.render.sample_outcomes import book, broken, graded, overridden


def classes(n: int) -> tuple[Gradebook, Gradebook]:
    """The same class twice: summaries held in a tuple, and in a `Summaries` spool."""
    made = [replace(graded(), id=f"s{k:03d}/hw.ipynb") if k % 3 else replace(overridden(), id=f"s{k:03d}.py")
            for k in range(n)] + [broken()]
    held = book(*(o.summary() for o in sorted(made, key=lambda o: o.id)))
    return held, replace(held, submissions=Summaries(o.summary() for o in reversed(made)))


def test_summaries_come_back_in_id_order_as_often_as_asked() -> None:
    held, spooled = classes(7)
    assert len(spooled.submissions) == len(held.submissions) == 8
    assert list(spooled.submissions) == list(held.submissions)
    assert list(spooled.submissions) == list(spooled.submissions)  # a second pass reads them again
    pairs = list(zip(spooled.submissions, spooled.submissions, strict=True))  # two passes at once
    assert all(a == b for a, b in pairs)
    assert held.submissions[3] in spooled.submissions


def test_every_class_output_is_the_same_from_the_spool(tmp_path: Path) -> None:
    held, spooled = classes(12)
    assert csv_export.grades_csv(spooled) == csv_export.grades_csv(held)
    assert junit.junit_xml(spooled.submissions) == junit.junit_xml(held.submissions)
    assert markdown.class_markdown(spooled) == markdown.class_markdown(held)
    assert markdown.class_markdown(spooled, hidden=False) == markdown.class_markdown(held, hidden=False)
    pages = lambda s: (f"report/{s.id}.html", f"report/{s.id}.ta.html")  # noqa: E731
    assert overview.render_index(spooled, pages) == overview.render_index(held, pages)
    assert terminal.render_summary(spooled) == terminal.render_summary(held)
    csv_export.write_grades_csv(spooled, tmp_path / "grades.csv")
    assert (tmp_path / "grades.csv").read_bytes() == csv_export.grades_csv(held).encode()


def test_a_large_class_prints_as_one_table() -> None:
    _, spooled = classes(2 * terminal.CHUNK + 10)  # three parts
    text = terminal.render_summary(spooled, width=200)
    lines = text.splitlines()
    assert text.count("Submission") == 1 and sum("─" in ln for ln in lines) == 1  # one header
    rows = [ln for ln in lines if ln.startswith(" s")]
    assert len(rows) == 2 * terminal.CHUNK + 10
    assert len({len(ln) for ln in rows}) == 1  # every part has the same column widths
    first, last = lines.index(rows[0]), lines.index(rows[-1])
    assert lines[first:last + 1] == [ln for ln in lines[first:last + 1] if ln.startswith(" s")]  # no gaps

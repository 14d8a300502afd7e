"""The class outputs of a graded folder, read from disk one summary at a time (flat memory)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render import csv_export, junit, markdown, overview, terminal
from grader.results import KEPT_BYTES, Summaries
from tests.render.sample_outcomes import book, broken, graded, overridden


def classes(n: int, kept: int = 0) -> tuple[Gradebook, Gradebook]:
    """The same class twice: summaries held in a tuple, and in a `Summaries` (read back from its
    spool at each pass unless their JSON is at most `kept` bytes)."""
    made = [replace(graded(), id=f"s{k:03d}/hw.ipynb") if k % 3 else replace(overridden(), id=f"s{k:03d}.py")
            for k in range(n)] + [broken()]
    held = book(*(o.summary() for o in sorted(made, key=lambda o: o.id)))
    return held, replace(held, submissions=Summaries((o.summary() for o in reversed(made)), kept))


@pytest.mark.parametrize("kept", [0, KEPT_BYTES])
def test_summaries_come_back_in_id_order_as_often_as_asked(kept: int) -> None:
    held, spooled = classes(7, kept)
    assert len(spooled.submissions) == len(held.submissions) == 8
    assert list(spooled.submissions) == list(held.submissions)
    assert list(spooled.submissions) == list(spooled.submissions)  # a second pass reads them again
    pairs = list(zip(spooled.submissions, spooled.submissions, strict=True))  # two passes at once
    assert all(a == b for a, b in pairs)
    assert held.submissions[3] in spooled.submissions


def test_a_small_class_is_parsed_once_and_a_large_one_at_every_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = []
    real = SubmissionOutcome.from_json
    monkeypatch.setattr(SubmissionOutcome, "from_json", lambda data: parsed.append(data["id"]) or real(data))
    _, small = classes(7, KEPT_BYTES)
    for _ in range(3):
        assert len(list(small.submissions)) == 8
    assert len(parsed) == 8  # each once, when the class was made
    parsed.clear()
    _, large = classes(7, 0)
    for _ in range(3):
        assert len(list(large.submissions)) == 8
    assert len(parsed) == 3 * 8


@pytest.mark.parametrize("kept", [0, KEPT_BYTES])
def test_every_class_output_is_the_same_from_the_spool(tmp_path: Path, kept: int) -> None:
    held, spooled = classes(12, kept)
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


def test_the_class_outputs_read_each_details_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """results.json, grades.csv, junit.xml, summary.md, index.html and the terminal table of a
    small class: each details file is read and parsed once, and each summary parsed back once
    (they used to be parsed again for each output, about a dozen times)."""
    from grader import results
    from grader.cli.outputs import write_class_outputs
    from grader.rubric.load import load_rubric
    from tests.conftest import RUBRIC
    from tests.render.outcomes import outcome

    rubric = tmp_path / "rubric.yaml"  # the real rubric, under the id of the sample outcome
    rubric.write_text(RUBRIC.read_text().replace("id: multiprocessing", f"id: {outcome().rubric}", 1))
    out = tmp_path / "out"
    (out / "details").mkdir(parents=True)
    for k in range(5):
        results.write_details(out, replace(outcome(), id=f"student{k}.ipynb"))
    read: list[str] = []
    real_read = results.read_details
    monkeypatch.setattr(results, "read_details", lambda path: read.append(path.name) or real_read(path))
    parsed: list[str] = []
    real_parse = SubmissionOutcome.from_json
    monkeypatch.setattr(SubmissionOutcome, "from_json", lambda data: parsed.append(data["id"]) or real_parse(data))
    book = write_class_outputs(out, load_rubric(rubric))
    terminal.print_summary(book, io.StringIO(), plain=True)
    assert sorted(read) == [f"student{k}.ipynb.json" for k in range(5)]
    assert sorted(parsed) == sorted(2 * [f"student{k}.ipynb" for k in range(5)])  # its details, its summary
    assert len(json.loads((out / "results.json").read_text())["submissions"]) == 5


PEAK = """
import resource, sys
from pathlib import Path
from grader.cli.outputs import write_class_outputs
from grader.render.terminal import print_summary
from grader.rubric.load import load_rubric
out = Path(sys.argv[1])
book = write_class_outputs(out, load_rubric(sys.argv[2]))
with open("/dev/null", "w") as sink:
    print_summary(book, sink, plain=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_the_class_outputs_of_a_thousand_cost_the_memory_of_forty(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from grader.results import write_details
    from tests.conftest import RUBRIC
    from tests.render.outcomes import outcome

    rubric = tmp_path / "rubric.yaml"  # the real rubric, under the id of the sample outcome
    rubric.write_text(RUBRIC.read_text().replace("id: multiprocessing", f"id: {outcome().rubric}", 1))
    peaks = {}
    for n in (40, 1000):
        out = tmp_path / f"out{n}"
        (out / "details").mkdir(parents=True)
        for k in range(n):
            write_details(out, replace(outcome(), id=f"student{k:04d}.ipynb"))
        done = subprocess.run([sys.executable, "-c", PEAK, str(out), str(rubric)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        peaks[n] = int(done.stdout.split()[-1]) / 1024  # MiB
        assert len(json.loads((out / "results.json").read_text())["submissions"]) == n
    assert peaks[1000] < peaks[40] + 4, peaks  # holding every summary cost 1000 x tens of kilobytes

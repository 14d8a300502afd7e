"""Writing pages: the layout, atomic writes, and no symlink in the output folder is ever followed."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from grader.render.safe import UnsafeOutputError, write_file
from grader.render.write import page_paths, page_slug, write_reports
from grader.results import gradebook
from grader.rubric.load import load_rubric
from tests.conftest import RUBRIC
from tests.render.outcomes import outcome


def test_slugs_are_safe_and_distinct() -> None:
    ids = ["sec1/hw.ipynb", "sec1_hw.ipynb", "sec2/hw.ipynb", "../../etc/passwd", "a b.py", "a_b.py"]
    slugs = [page_slug(i) for i in ids]
    assert len(set(slugs)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", s) and not s.startswith(".") for s in slugs)
    assert page_slug("sec1_hw.ipynb") == "sec1_hw.ipynb"


def test_write_reports_layout(tmp_path: Path) -> None:
    rubric = load_rubric(RUBRIC)
    subs = [outcome("sec1/hw.ipynb"), outcome("sec2/hw.ipynb")]
    written = write_reports(tmp_path, gradebook(rubric, [s.summary() for s in subs]), subs)
    student, ta = page_paths("sec1/hw.ipynb")
    assert (tmp_path / student).is_file() and (tmp_path / ta).is_file() and (tmp_path / "index.html").is_file()
    traces = sorted((tmp_path / "report" / "trace" / page_slug("sec1/hw.ipynb")).iterdir())
    assert [t.name for t in traces] == ["Q6-1-default.json", "Q6-1-spawn.json"]
    assert "traceEvents" in json.loads(traces[0].read_text())
    page = (tmp_path / ta).read_text()
    assert f'href="trace/{page_slug("sec1/hw.ipynb")}/Q6-1-default.json"' in page
    assert f'href="../details/{page_slug("sec1/hw.ipynb")}.json"' in page
    assert len(written) == 2 * (2 + 2) + 1
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    (out / "report").mkdir(parents=True)
    os.symlink(victim, out / "report" / "page.html")
    write_file(out, "report/page.html", "<p>new</p>")
    assert victim.read_text() == "precious"
    assert not (out / "report" / "page.html").is_symlink()
    assert (out / "report" / "page.html").read_text() == "<p>new</p>"


def test_a_planted_folder_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "report")
    with pytest.raises(UnsafeOutputError, match="report is not a real folder"):
        write_file(out, "report/page.html", "x")
    assert list(elsewhere.iterdir()) == []

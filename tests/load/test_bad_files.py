"""Bad input gets one clear line and a non-zero exit, never a traceback; the batch goes on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from grader.errors import SubmissionError
from grader.load import load

BAD = {
    "empty.ipynb": (b"", "empty file"),
    "spaces.py": (b"   \n\n\t\n", "empty file (only whitespace)"),
    "garbage.bin": (bytes(range(256)) * 40, "binary file"),
    "archive.zip": (b"PK\x03\x04" + b"\x00" * 200, "binary file (a zip archive)"),
    "broken.ipynb": (b'{"cells": [ {"cell_type": "code", }], "nbformat": 4}', "invalid notebook JSON"),
    "truncated.ipynb": (b'{"cells": [{"cell_type": "markdown", "source": "Q1 ans', "looks truncated"),
    "nocells.ipynb": (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}).encode(),
                      "notebook has no cells"),
    "latin1.py": ("# Réponse à la question\nprint('café')\n".encode("latin-1"), "not UTF-8 text"),
    "list.ipynb": (b"[1, 2, 3]", "not a notebook"),
    "future.ipynb": (json.dumps({"nbformat": 5, "nbformat_minor": 0, "cells": [{}]}).encode(),
                     "unsupported nbformat 5.0"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_is_one_clear_error(tmp_path: Path, name: str) -> None:
    data, expected = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SubmissionError) as info:
        load(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(str(path))


def test_non_utf8_message_says_where_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes("x = 1\n# Réponse\n".encode("latin-1"))
    with pytest.raises(SubmissionError, match=r"byte 0xe9 at line 2, column 4.*--encoding"):
        load(path)
    assert load(path, encoding="latin-1").cells[0].source.startswith("x = 1")


def test_folder_with_no_submission(tmp_path: Path) -> None:
    (tmp_path / "empty_student").mkdir()
    (tmp_path / "empty_student" / "notes.csv").write_text("a,b\n")
    with pytest.raises(SubmissionError, match="no notebook or Python script in this folder"):
        load(tmp_path / "empty_student")


def test_missing_path() -> None:
    with pytest.raises(SubmissionError, match="no such file or folder"):
        load("/nonexistent/hw.ipynb")


def test_large_notebook_loads(tmp_path: Path) -> None:
    """A 50 MB notebook (images in outputs, long text output) loads; its outputs are capped."""
    image = "iVBORw0KGgo" * 50_000
    cells = []
    for i in range(90):
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": i, "source": f"print({i})",
                      "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": image}},
                                  {"output_type": "stream", "name": "stdout", "text": "x" * 30_000}]})
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    assert path.stat().st_size > 50_000_000
    start = time.monotonic()
    sub = load(path)
    elapsed = time.monotonic() - start
    assert len(sub.cells) == 90
    assert len(sub.cells[0].output) < 25_000
    assert elapsed < 30, f"loading took {elapsed:.1f}s"  # a guard against pathological slowness only


def test_cli_reports_each_bad_file_and_goes_on(tmp_path: Path) -> None:
    for name, (data, _) in BAD.items():
        (tmp_path / name).write_bytes(data)
    good = tmp_path / "good.py"
    good.write_text("# Q1\n# Multiprocessing runs several processes at once.\n")
    proc = subprocess.run([sys.executable, "-m", "grader", "inspect", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("grader: ")]
    assert len(errors) == len(BAD)
    assert "good.py" in proc.stdout and "Q1:" in proc.stdout


@pytest.mark.parametrize(("name", "make", "expected"), [
    ("lines.py", lambda: "# Q1\n" + "x = 1\n" * 3_000_000, "lines, more than any homework"),
    ("cells.ipynb", lambda: json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "x=1"}] * 20_000}),
     "20,000 cells, more than any homework"),
    ("long.ipynb", lambda: json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "# Q3\n" + "x = 1\n" * 120_000}]}), "lines of source, more than any homework"),
    ("wide.ipynb", lambda: json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "# Q3\nx = '" + "a" * 11_000_000 + "'\n"}]}), "characters of source, more than any homework"),
])
def test_more_source_than_any_homework_is_refused_before_it_is_located(tmp_path: Path, name: str, make: Any,
                                                                       expected: str) -> None:
    """Locating answers costs more than linear time in a cell's lines: a 3-million-line script held
    `grader inspect` past 300 s and 7.5 GB; a notebook of a million cells past 300 s. Refused at once."""
    path = tmp_path / name
    path.write_text(make())
    start = time.monotonic()
    with pytest.raises(SubmissionError, match=expected):
        load(path)
    assert time.monotonic() - start < 20  # a guard against the old hours, not a benchmark


def test_a_million_empty_outputs_are_read_in_one_pass(tmp_path: Path) -> None:
    outputs = [{"output_type": "stream", "name": "stdout", "text": ""}] * 1_000_000
    path = tmp_path / "outputs.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": outputs, "source": "print(1)"}]}))
    start = time.monotonic()
    assert load(path).cells[0].source == "print(1)"
    assert time.monotonic() - start < 20


def test_utf16_with_a_byte_order_mark_is_read_as_text(tmp_path: Path) -> None:
    """PowerShell's `>` and Notepad's "Unicode" write UTF-16 with a BOM: text, not a binary file."""
    path = tmp_path / "hw.py"
    path.write_bytes("# Q1\r\nMultiprocessing runs processes in parallel.\r\n".encode("utf-16"))
    sub = load(path)
    assert sub.cells[0].source.startswith("# Q1\nMultiprocessing")

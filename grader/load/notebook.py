"""Jupyter notebooks (.ipynb): nbformat 4.0 to 4.5 read directly, older versions upgraded.

The JSON is parsed with the standard library and checked for the shape we need: nbformat's
schema validation is skipped on purpose, because it takes many seconds on a 50 MB notebook
full of images and real notebooks often fail it on fields we never read. nbformat itself is
imported only to upgrade nbformat 3 and older.
"""

from __future__ import annotations

import json
import re
from typing import Any

from grader.errors import SubmissionError
from grader.submission import Cell, CellKind, Format, Origin, Submission

MAX_OUTPUT_CHARS = 20_000  # recorded output kept per cell, for the report
MAX_CELLS = 10_000  # real homework has a few hundred; past this a notebook is not read (grader.load.loader)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        end = text.rstrip()
        truncated = not end.endswith("}") or exc.pos >= len(end) - 1
        hint = " (the file looks truncated)" if truncated else ""
        raise SubmissionError(
            path, f"invalid notebook JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise SubmissionError(path, "invalid notebook JSON: nested too deeply") from None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return ""


def _outputs_text(outputs: Any) -> str:
    """The readable text of a code cell's saved outputs (streams, results, errors)."""
    if not isinstance(outputs, list):
        return ""
    chunks: list[str] = []
    size = 0
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            chunks.append(_text(out.get("text")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data: dict[str, Any] = out["data"] if isinstance(out.get("data"), dict) else out
            plain = _text(data.get("text/plain", data.get("text")))
            if plain:
                chunks.append(plain if plain.endswith("\n") else plain + "\n")
            elif any(k.startswith("image/") for k in data):
                chunks.append("[image]\n")
        elif kind in ("error", "pyerr"):
            tb = out.get("traceback")
            if isinstance(tb, list) and tb:
                chunks.append(_ANSI.sub("", "\n".join(str(t) for t in tb)) + "\n")
            else:
                chunks.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}\n")
        size += len(chunks[-1]) if chunks else 0
        if size > MAX_OUTPUT_CHARS:  # a running total: a million empty outputs cost one pass, not a million sums
            break
    text = "".join(chunks)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n[... output truncated ...]\n"
    return text


def _upgrade(path: str, data: dict[str, Any], major: int) -> tuple[dict[str, Any], str]:
    import nbformat  # slow import, needed only for old notebooks

    try:
        node = nbformat.from_dict(data)  # type: ignore[no-untyped-call]
        upgraded = nbformat.convert(node, 4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises many types for malformed old notebooks
        raise SubmissionError(path, f"cannot upgrade nbformat {major} notebook: {exc}") from None
    return json.loads(json.dumps(upgraded)), f"upgraded from nbformat {major} to 4"


def read_notebook(path: str, name: str, text: str) -> Submission:
    data = parse_json(path, text)
    if not isinstance(data, dict):
        raise SubmissionError(path, "not a notebook: the JSON is not an object")
    if "cells" not in data and "worksheets" not in data:
        raise SubmissionError(path, "not a notebook: the JSON has no 'cells'")
    notes: list[str] = []
    major = data.get("nbformat")
    minor = data.get("nbformat_minor")
    if not isinstance(major, int):
        notes.append("no nbformat version given; read as nbformat 4")
        major = 4
    if major < 4:
        data, note = _upgrade(path, data, major)
        notes.append(note)
    elif major > 4:
        raise SubmissionError(path, f"unsupported nbformat {major}.{minor} (this grader reads 4.x and older)")
    elif isinstance(minor, int) and minor > 5:
        notes.append(f"nbformat 4.{minor} is newer than 4.5; read as 4.5")

    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise SubmissionError(path, "not a notebook: 'cells' is not a list")
    if not raw_cells:
        raise SubmissionError(path, "notebook has no cells")
    if len(raw_cells) > MAX_CELLS:
        raise SubmissionError(path, f"{len(raw_cells):,} cells, more than any homework (at most {MAX_CELLS:,} are "
                                    "read): not graded, a TA should look at it")

    cells: list[Cell] = []
    for i, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            notes.append(f"cell {i} is not an object; skipped")
            continue
        cell_type = raw.get("cell_type")
        try:
            kind = CellKind(cell_type)
        except ValueError:
            kind = CellKind.RAW
            notes.append(f"cell {i} has unknown type {cell_type!r}; kept as raw")
        source = _text(raw.get("source")).replace("\r\n", "\n")
        count = raw.get("execution_count")
        cells.append(
            Cell(
                index=len(cells),
                kind=kind,
                source=source,
                origin=Origin(cell=i),
                output=_outputs_text(raw.get("outputs")) if kind is CellKind.CODE else "",
                execution_count=count if isinstance(count, int) else None,
                prompt=f"In [{count if isinstance(count, int) else ' '}]" if kind is CellKind.CODE else None,
                source_first_line=1,
            )
        )
    return Submission(path=path, name=name, format=Format.NOTEBOOK, cells=cells, notes=notes)

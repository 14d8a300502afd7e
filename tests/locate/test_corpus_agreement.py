"""Agreement of the located cells with a TA's reading (tests/corpus/labels.json, a copy of ../shared/corpus).

A (submission, question) pair agrees when the TA marks it unanswered and the grader finds no
answer, or when every cell the TA names is among the cells found and none of the cells found
is one the TA gave to another question. Cells that hold only a question label are left out
on both sides (the TA's line ranges include headings; the grader reports them as the marker).
Further attempts and illustrative code the TA did not list may be found in addition.
A cell the TA gives to several questions (one cell holding several answers) counts as wrong for none
of them: answers report whole cells, so within such a cell the placement is measured by the verdicts.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from grader.locate import pieces_of
from grader.submission import Submission
from tests.conftest import CORPUS, EXAMPLES, LABELS
from tests.locate.helpers import located, questions


def labelled_cells(sub: Submission, location: dict[str, Any] | None, file: str | None = None) -> set[int]:
    """The submission's cells a label's location names; for a folder of per-question files
    ({"files": [{"file": ..., "lines" or "cells": ...}]}) the cells of each file named."""
    if not location:
        return set()
    if "files" in location:
        return set().union(*(labelled_cells(sub, entry, entry["file"]) for entry in location["files"]))
    if "cells" in location:
        return {c.index for c in sub.cells if c.origin.cell in location["cells"] and c.origin.file == file}
    ranges = location["lines"]
    found = set()
    for c in sub.cells:
        if c.origin.file != file:
            continue
        assert c.origin.lines is not None
        first, last = c.origin.lines
        inside = sum(1 for n in range(first, last + 1) if any(a <= n <= b for a, b in ranges))
        if inside * 2 > last - first + 1:
            found.add(c.index)
    return found


def agreement(paths: list[Path]) -> tuple[int, int, list[str]]:
    labels = json.loads(LABELS.read_text())
    total = agree = 0
    problems: list[str] = []
    for path in paths:
        entry = labels[path.name]["questions"]
        sub, answers = located(path)
        pieces = pieces_of(sub, questions())
        label_only = {c for c in {p.cell for p in pieces} if not any(p.substantive for p in pieces if p.cell == c)}
        want = {q: labelled_cells(sub, v.get("location")) - label_only for q, v in entry.items()}
        for qid, v in entry.items():
            a = answers[qid]
            found = set(a.cells)
            others = set().union(*(cells for o, cells in want.items() if o != qid)) - want[qid]
            ok = (not a.answered) if not v["answered"] else (a.answered and want[qid] <= found and not found & others)
            total += 1
            agree += ok
            if not ok:
                problems.append(f"{path.name} {qid}: TA {sorted(want[qid])} (answered={v['answered']}), "
                                f"grader {sorted(found)} (answered={a.answered}); why: {a.reason}")
    return agree, total, problems


def origins() -> dict[str, str]:
    """Each real file's origin from SOURCES.tsv: 'shared' (../shared/corpus/real) or 'project' (found for issue 9)."""
    with (CORPUS / "SOURCES.tsv").open(encoding="utf-8", newline="") as f:
        return {row["file"]: row["origin"] for row in csv.DictReader(f, delimiter="\t")}


def test_every_real_file_has_a_source_and_a_label() -> None:
    """A real file of any format (notebook, script, Markdown, text) is measured only if it is labelled;
    none may sit in the corpus unmeasured, and each says where it came from."""
    files = {p.name for p in CORPUS.iterdir() if p.name != "SOURCES.tsv"}
    labels = json.loads(LABELS.read_text())
    assert files == set(origins())
    assert files <= set(labels)
    assert set(origins().values()) <= {"shared", "project"}


def test_real_corpus_agreement_is_at_least_95_percent() -> None:
    by_origin = origins()
    for origin in ("shared", "project"):
        paths = sorted(CORPUS / name for name, o in by_origin.items() if o == origin)
        if not paths:
            continue
        agree, total, problems = agreement(paths)
        print(f"\nlocated answers agree with the TA on {agree}/{total} = {agree / total:.1%} "
              f"of (submission, question) pairs in the {origin} real files ({len(paths)} files)")
        for line in problems:
            print("  disagree:", line)
        assert agree / total >= 0.95, "\n".join(problems)


def test_seed_agreement_is_complete() -> None:
    agree, total, problems = agreement(sorted(EXAMPLES.iterdir()))
    assert agree == total, "\n".join(problems)

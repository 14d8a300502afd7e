"""`grader inspect`: how the grader reads a submission and where it finds each answer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grader.answers import Answer, PartKind
from grader.cli.common import add_one_option, add_rubric_option
from grader.errors import SubmissionError
from grader.render.safe import printable
from grader.submission import CellKind, Submission

PREVIEW_LINES = 3
WIDTH = 100


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="show which cells answer each question, and why",
        description="Read submissions and show, for each rubric question, the cells found, the reason, "
                    "and the first lines of each. Nothing is run.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="submission files or folders")
    add_one_option(p)
    add_rubric_option(p)
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.add_argument("--cells", action="store_true", help="also list every cell as read")
    p.add_argument("--encoding", metavar="NAME", help="read text files with this encoding instead of UTF-8")
    p.add_argument("--overrides", metavar="FILE", help="apply a TA overrides file's answer locations")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.cli.common import one_student_lines, rubric_arg
    from grader.load import find_submissions, load
    from grader.locate import cells_named, locate, questions_from_rubric
    from grader.rubric import load_overrides
    from grader.rubric.load import load_rubric

    rubric = load_rubric(rubric_arg(args.rubric))
    questions = questions_from_rubric(rubric)
    overrides = load_overrides(args.overrides, rubric) if args.overrides else None
    failed = 0
    results: list[dict[str, Any]] = []
    found = find_submissions(args.paths, one=args.one)
    if found.skipped:
        print(printable(f"not read (data or media, not submissions): {', '.join(found.skipped)}"), file=sys.stderr)
    for line in found.refused:
        print(printable(f"grader: not read: {line}"), file=sys.stderr)
    for line in one_student_lines(found.split, questions, args.encoding):
        print(printable(line), file=sys.stderr)
    for path in found.submissions:
        mapping = overrides.mapping(Path(path).name) if overrides else {}  # the name `load` gives it
        try:
            sub = load(path, encoding=args.encoding, questions=questions,
                       named=[r.file for r in mapping.values() if r.file is not None])
        except SubmissionError as exc:
            failed += 1
            print(printable(f"grader: {exc}"), file=sys.stderr)
            results.append({"submission": path, "error": exc.reason})
            continue
        answers = locate(sub, questions, {q: cells_named(sub, r.cells, r.lines, r.file) for q, r in mapping.items()})
        if args.json:
            data = {"submission": sub.name, "path": sub.path, "format": sub.format.value, "notes": sub.notes,
                    "answers": [a.to_json(sub) for a in answers]}
            if args.cells:
                data["cells"] = [c.to_json() for c in sub.cells]
            results.append(data)
        else:
            print(printable(render(sub, answers, show_cells=args.cells), newlines=True))
    if args.json:
        json.dump(results if len(results) != 1 else results[0], sys.stdout, indent=2)
        print()
    return 1 if failed else 0


def _preview(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.strip("\n").split("\n") if ln.strip()]
    out = [ln if len(ln) <= WIDTH else ln[: WIDTH - 3] + "..." for ln in lines[:PREVIEW_LINES]]
    if len(lines) > PREVIEW_LINES:
        out.append(f"... ({len(lines) - PREVIEW_LINES} more lines)")
    return out


def render(sub: Submission, answers: list[Answer], *, show_cells: bool = False) -> str:
    kinds = {"ipynb": "Jupyter notebook", "script": "Python script",
             "text": "plain text (notebook export or answer sheet)", "markdown": "Markdown notebook"}
    out = [f"{sub.name}  ({kinds.get(sub.format.value, sub.format.value)}, {len(sub.cells)} cells)"]
    out.extend(f"  note: {n}" for n in sub.notes)
    if show_cells:
        for c in sub.cells:
            out.append(f"  [{c.index}] {c.kind.value} {c.origin.describe()} {c.prompt or ''}")
            out.extend(f"      | {ln}" for ln in _preview(c.source))
            if c.output.strip():
                out.extend(f"      > {ln}" for ln in _preview(c.output))
    def places(loc: dict[str, Any]) -> str:
        return ", ".join(f"cell {c}" for c in loc.get("cells", [])) or ", ".join(
            f"lines {r[0]}-{r[1]}" if r[0] != r[1] else f"line {r[0]}" for r in loc.get("lines", []))

    for a in answers:
        loc = a.location(sub)
        # A folder's answer: each file it uses ("pool.py lines 1-9").
        where = "; ".join(f"{f['file']} {places(f)}" for f in loc["files"]) if "files" in loc else places(loc)
        status = where if a.answered else "UNANSWERED"
        out.append(f"  {a.question}: {status}")
        out.append(f"      why: {a.reason}")
        for part in a.parts:
            cell = sub.cells[part.cell]
            tag = part.kind.value
            if part.kind is PartKind.PROSE and part.written_in:
                tag += f", in {part.written_in.value}"
            if part.from_markdown:
                tag += ", from a raw cell" if cell.kind is CellKind.RAW else ", from markdown"
            out.append(f"      [{tag}] {cell.origin.describe()}")
            out.extend(f"        | {ln}" for ln in _preview(part.text))
            out.extend(f"        note: {n}" for n in part.notes)
    return "\n".join(out)

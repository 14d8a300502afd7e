"""Writing a batch's results: results.json (the stable summary) and one details file per submission.

results.json holds what a course imports: per submission its score, error, and per question
the score, whether it was answered, where the answer was found and why, and each check's status,
score and message. It is the same from one grading to the next, apart from the `seconds` timing
fields: everything that depends on pids or times (the checks' evidence, the Traces) goes to
`details/<submission>.json`, which the reports read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader import __version__
from grader.grade import Result, result_json
from grader.rubric.model import Rubric
from grader.rubric.overrides import Overrides


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def results_json(rubric: Rubric, results: Sequence[Result]) -> dict[str, Any]:
    return {
        "grader": {"version": __version__},
        "rubric": rubric.to_json() | {"title": rubric.title},
        "submissions": [result_json(r) | {"seconds": round(r.seconds, 2)} for r in results],
    }


def details_json(result: Result) -> dict[str, Any]:
    """Everything about one submission: cells, answers, programs, traces and the checks' evidence."""
    sub = result.submission
    data: dict[str, Any] = {"submission": result.name, "path": result.path, "error": result.error,
                            "score": result.score.to_json(), "format": sub.format.value if sub else None,
                            "notes": sub.notes if sub else [], "cells": [c.to_json() for c in sub.cells] if sub else [],
                            "questions": []}
    for qr in result.questions:
        data["questions"].append({
            "id": qr.question.id,
            "answer": qr.answer.to_json(sub),
            "graded_attempt": qr.graded,
            "attempts": [{"program": a.program.to_json(), "points": a.points,
                          "traces": {v: t.to_json() for v, t in a.traces.items()},
                          "verdicts": [v.to_json() for v in a.verdicts]} for a in qr.attempts],
        })
    return data


def write_results(out: Path, rubric: Rubric, results: Sequence[Result]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    details = out / "details"
    details.mkdir(exist_ok=True)
    used: set[str] = set()
    for r in results:
        name = safe_name(r.name)
        while name in used:
            name += "_"
        used.add(name)
        (details / f"{name}.json").write_text(json.dumps(details_json(r), indent=1, allow_nan=False) + "\n")
    data = results_json(rubric, results)
    save(out, data)
    return data


def save(out: Path, data: dict[str, Any]) -> Path:
    path = out / "results.json"
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path


def rescore(data: dict[str, Any], overrides: Overrides) -> list[str]:
    """Apply a TA's score overrides to a results.json in place, without running anything.

    An override's score replaces the graded score and its comment is kept with it; a question
    whose override was removed gets its graded score back. Answer-location overrides change what
    runs, so they need `grader grade`: one note each. Returns the notes.
    """
    notes: list[str] = []
    for sub in data["submissions"]:
        for q in sub["questions"]:
            o = overrides.get(sub["submission"], q["id"])
            graded = q.get("graded_score", q["score"])
            q["override"] = o.to_json() if o is not None else None
            q["score"] = o.score if o is not None and o.score is not None else graded
            settled = o is not None and o.score is not None
            q["needs_review"] = not settled and any(c.get("needs_review") for c in q["checks"])
            if o is not None and o.answer is not None:
                notes.append(f"{sub['submission']} {q['id']}: the answer location override needs `grader grade` "
                             "(it changes what runs)")
        sub["score"] = round(sum(q["score"] for q in sub["questions"]), 2)
    return notes


def score_table(data: dict[str, Any]) -> str:
    """Scores per question and in total, one row per submission; `!` marks answers a TA should read."""
    subs = data["submissions"]
    ids = [q["id"] for q in subs[0]["questions"]] if subs else []
    name_w = max([len("submission"), *(len(s["submission"]) for s in subs)])
    head = f"{'submission':<{name_w}}  " + "  ".join(f"{qid:>6}" for qid in ids) + f"  {'total':>12}"
    rows = [head, "-" * len(head)]
    review = False
    for s in subs:
        if s["error"]:
            rows.append(f"{s['submission']:<{name_w}}  could not be graded: {s['error']}")
            continue
        cells = []
        for q in s["questions"]:
            mark = "!" if q.get("needs_review") else ("*" if q.get("override") else " ")
            review |= bool(q.get("needs_review"))
            cells.append(f"{q['score']:>5g}{mark}")
        rows.append(f"{s['submission']:<{name_w}}  " + "  ".join(cells) + f"  {s['score']:>6g} / {s['max_score']:g}")
    if review:
        rows.append("! a check asks a TA to read this answer (results.json: needs_review)")
    if any(q.get("override") for s in subs for q in s["questions"]):
        rows.append("* a TA's override")
    return "\n".join(rows)

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


def write_results(out: Path, rubric: Rubric, results: Sequence[Result]) -> Path:
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
    path = out / "results.json"
    path.write_text(json.dumps(results_json(rubric, results), indent=2, allow_nan=False) + "\n")
    return path

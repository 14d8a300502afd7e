"""TA overrides: a question's score replaced by hand, or its answer located by hand.

A score override applies at scoring time: the verdicts stay, for the record, and nothing is
re-run. An answer override names the cells that answer a question (the locator got it wrong):
grading then runs what the TA pointed at, and the reason says the TA decided.

An overrides file is YAML, validated like a rubric (every problem one `file:line: path:
message` line) and against the rubric it is used with (the rubric's id, its question ids,
scores within each question's points). Applying it never re-runs code: re-rendering a batch
with the file in place is enough.

    # yaml-language-server: $schema=overrides.schema.json
    version: 1
    rubric: multiprocessing          # optional: the rubric id these overrides are for
    submissions:
      001_f76795d35269b5a9.txt:      # the submission's name, as results.json gives it
        Q3:
          score: 5
          comment: Creates a process in its answer to Q6 instead; half marks.
          by: alice                  # optional
      003_f0bdc852a37dd2ae.txt:
        Q6:
          answer: {lines: [60]}      # the cell holding line 60 answers Q6; notebooks: {cells: [12]}
          comment: The last program answers Q6.
      erin:                          # a folder of per-question files: name the file too
        Q5:
          answer: {file: pool.py, lines: [1]}
          comment: pool.py answers Q5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import RubricError
from grader.rubric.load import parse_mapping, read_text
from grader.rubric.model import Rubric

if TYPE_CHECKING:  # reading an overrides file needs these; grading and scoring do not (start-up time)
    from grader.rubric.overrides_doc import AnswerRefDoc
    from grader.rubric.problems import Problem
    from grader.rubric.yamlsource import YamlSource


@dataclass(frozen=True)
class AnswerRef:
    cells: tuple[int, ...] = ()
    lines: tuple[int, ...] = ()
    file: str | None = None  # a folder of per-question files: the file meant

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cells": list(self.cells)} if self.cells else {"lines": list(self.lines)}
        return {**data, "file": self.file} if self.file is not None else data


@dataclass(frozen=True)
class Override:
    score: float | None
    comment: str
    by: str | None = None
    line: int = 0
    answer: AnswerRef | None = None

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "comment": self.comment, "by": self.by,
                "answer": self.answer.to_json() if self.answer else None}


@dataclass(frozen=True)
class Overrides:
    path: str = "<overrides>"
    rubric: str | None = None
    submissions: Mapping[str, Mapping[str, Override]] = field(default_factory=dict)

    def get(self, submission: str, question: str) -> Override | None:
        return self.submissions.get(submission, {}).get(question)

    def mapping(self, submission: str) -> dict[str, AnswerRef]:
        """The answer locations the TA gave for this submission, by question id."""
        return {qid: o.answer for qid, o in self.submissions.get(submission, {}).items() if o.answer is not None}

    def unused(self, graded: set[str]) -> list[str]:
        """Lines naming overrides for submissions that are not among `graded` (a typo, usually)."""
        from grader.rubric.problems import did_you_mean

        return [f"{self.path}: submissions.{name}: no such submission was graded"
                + did_you_mean(name, graded) for name in self.submissions if name not in graded]


def load_overrides(path: str | Path, rubric: Rubric | None = None) -> Overrides:
    return parse_overrides(read_text(path), str(path), rubric)


def parse_overrides(text: str, file: str = "<overrides>", rubric: Rubric | None = None) -> Overrides:
    """The validated overrides in `text`; RubricError listing every problem otherwise."""
    from pydantic import ValidationError

    from grader.rubric.overrides_doc import OverridesDoc
    from grader.rubric.problems import format_problems, from_validation_error

    source, data = parse_mapping(text, file, what="overrides (a mapping with version: 1 and submissions)")
    problems: list[Problem] = []
    doc: OverridesDoc | None = None
    try:
        doc = OverridesDoc.model_validate(data)
    except ValidationError as exc:
        problems += from_validation_error(exc, OverridesDoc, lambda p, m, key: source.problem(p, m, key=key))
    if rubric is not None:
        problems += _against_rubric(data, source, rubric)
    if problems or doc is None:
        raise RubricError(format_problems(problems))
    return Overrides(
        path=file, rubric=doc.rubric,
        submissions={name: {qid: Override(o.score, o.comment, o.by, source.line(("submissions", name, qid)),
                                          _ref(o.answer))
                            for qid, o in questions.items()}
                     for name, questions in doc.submissions.items()})


def _ref(doc: AnswerRefDoc | None) -> AnswerRef | None:
    if doc is None:
        return None
    return AnswerRef(tuple(doc.cells or ()), tuple(doc.lines or ()), doc.file)


def _against_rubric(data: dict[str, Any], source: YamlSource, rubric: Rubric) -> list[Problem]:
    """Problems only the rubric can reveal; on the raw data, so they come with structural ones."""
    from grader.rubric.problems import did_you_mean

    problems = []
    wanted = data.get("rubric")
    if isinstance(wanted, str) and wanted != rubric.id:
        problems.append(source.problem(("rubric",), f"these overrides are for rubric {wanted!r}, "
                                                    f"not {rubric.id!r} ({rubric.path})"))
    points = {q.id: q.points for q in rubric.questions}
    submissions = data.get("submissions")
    for name, questions in (submissions.items() if isinstance(submissions, dict) else []):
        for qid, override in (questions.items() if isinstance(questions, dict) else []):
            path = ("submissions", name, qid)
            score = override.get("score") if isinstance(override, dict) else None
            if qid not in points:
                problems.append(source.problem(path, f"no question {qid!r} in rubric {rubric.id!r}"
                                               + did_you_mean(str(qid), points)))
            elif isinstance(score, (int, float)) and not isinstance(score, bool) and score > points[qid]:
                problems.append(source.problem((*path, "score"), f"{score:g} is more than "
                                                                 f"the question's {points[qid]:g} points"))
    return problems

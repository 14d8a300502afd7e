"""Labels that only the whole file shows: a cell that lists the questions, numbered titles in sequence.

    pieces_of(submission, questions) -> list[Piece]   every cell cut at its labels, in file order

- A cell holding two or more question labels and nothing else ("Q1. What is ...? Q2. ...") lists
  the assignment's questions: a TA reads it as the statement, not as six empty answers, so its
  labels open no answer and the answers after it are located as if it were not there.
- A numbered title (`3. **Python Code to Create a Process**:`, `## 3. Create a Process`) marks a
  question when the file's numbering shows it: its title shares a word with its question's text,
  its number comes after every label before it and before every label after it, a code
  question's title is followed by code, and such titles with the labels around them number at
  least three questions. A numbered list inside one answer ("1. **Memory**", "2. **Speed**" under
  Q2's label) fails these and stays part of that answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.answers import Method
from grader.locate.assign import relevant_text, statement_piece
from grader.locate.labels import LabelHit, numbered_title
from grader.locate.pieces import Label, Piece, QuestionRef, fence_lines, split_cell
from grader.submission import Cell, CellKind, Submission

SEQUENCE = 3  # labels (numbered titles and others) that make a file's numbering

_Extra = dict[int, tuple[Label, LabelHit]]  # line index in a cell -> the label on it


def pieces_of(submission: Submission, questions: Sequence[QuestionRef]) -> list[Piece]:
    files: dict[str | None, list[Cell]] = {}
    for cell in submission.cells:
        files.setdefault(cell.origin.file, []).append(cell)
    split: dict[int, list[Piece]] = {}
    for cells in files.values():
        split.update(_pieces_of_file(cells, questions))
    return [p for cell in submission.cells for p in split[cell.index]]


def lists_questions(pieces: Sequence[Piece]) -> bool:
    """A cell of question labels and nothing else: the assignment's questions, listed."""
    labelled = {p.label.question for p in pieces if p.label is not None and p.label.question is not None}
    return len(labelled) >= 2 and not any(p.substantive for p in pieces)


def _pieces_of_file(cells: Sequence[Cell], questions: Sequence[QuestionRef]) -> dict[int, list[Piece]]:
    split = {cell.index: split_cell(cell, questions) for cell in cells}
    for cell in cells:
        if lists_questions(split[cell.index]):
            split[cell.index] = [statement_piece(cell)]
    found = {cell.index: extra for cell in cells if (extra := _numbered_titles(cell, split[cell.index], questions))}
    if not found:
        return split
    by_index = {cell.index: cell for cell in cells}
    trial = dict(split)
    for index, extra in found.items():
        trial[index] = split_cell(by_index[index], questions, extra)
    kept = _in_sequence([p for cell in cells for p in trial[cell.index]], found, questions)
    for cell in cells:
        mine = {line: found[cell.index][line] for line in kept.get(cell.index, set())}
        if mine:
            split[cell.index] = split_cell(cell, questions, mine)
    return split


def _numbered_titles(cell: Cell, pieces: Sequence[Piece], questions: Sequence[QuestionRef]) -> _Extra:
    """The cell's numbered title lines whose title shares a word with the question its number names."""
    if cell.kind is CellKind.CODE:
        return {}
    by_number = {q.number: q for q in questions}
    labelled = {p.first for p in pieces if p.label is not None}
    extra: _Extra = {}
    edges, inside = fence_lines(cell.source)
    for i, line in enumerate(cell.source.split("\n")):
        if i in edges or i in inside or i in labelled:
            continue
        titled = numbered_title(line)
        if titled is None:
            continue
        number, title = titled
        q = by_number.get(number)
        if q is None or not relevant_text(title, q):
            continue
        marker = line.strip()
        extra[i] = (Label(q.id, number, Method.MARKER, f"numbered title '{marker[:60]}'"), LabelHit(number, marker, ""))
    return extra


def _in_sequence(pieces: Sequence[Piece], found: dict[int, _Extra],
                 questions: Sequence[QuestionRef]) -> dict[int, set[int]]:
    """Which numbered titles (cell -> line indices) the file's numbering makes labels."""
    kinds = {q.id: q.kind for q in questions}
    titles = {id(label): (cell, line) for cell, extra in found.items() for line, (label, _) in extra.items()}
    labels = [(k, p) for k, p in enumerate(pieces) if p.label is not None and p.label.number is not None]

    def is_title(p: Piece) -> bool:
        return id(p.label) in titles

    # below[t]: the lowest number of a label (not a title) after labels[t]
    below = [float("inf")] * (len(labels) + 1)
    for t in range(len(labels) - 1, -1, -1):
        label = labels[t][1].label
        assert label is not None and label.number is not None
        below[t] = below[t + 1] if is_title(labels[t][1]) else min(below[t + 1], label.number)
    kept: list[Piece] = []
    previous = 0
    for t, (k, p) in enumerate(labels):
        assert p.label is not None and p.label.number is not None
        number = p.label.number
        if not is_title(p):
            previous = max(previous, number)
            continue
        if number <= previous or number >= below[t + 1]:
            continue
        end = next((j for j, _ in labels[t + 1 :]), len(pieces))
        if kinds.get(p.label.question or "") == "code" and not any(q.has_code for q in pieces[k:end]):
            continue
        kept.append(p)
        previous = number
    others = sum(1 for _, p in labels if not is_title(p) and p.label is not None and p.label.question is not None)
    if len(kept) + others < SEQUENCE:
        return {}
    result: dict[int, set[int]] = {}
    for p in kept:
        cell, line = titles[id(p.label)]
        result.setdefault(cell, set()).add(line)
    return result

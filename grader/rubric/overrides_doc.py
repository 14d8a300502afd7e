"""The YAML document of an overrides file, as pydantic validates it (grader.rubric.overrides reads
it; kept apart so that grading with overrides in hand does not import YAML and pydantic documents)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from grader.rubric.document import Id, Points, Strict


class AnswerRefDoc(Strict):
    """Where a question's answer is, as results.json's `location` gives it."""

    cells: list[Annotated[int, Field(ge=0)]] | None = Field(
        default=None, min_length=1, description="0-based notebook cell indices")
    lines: list[Annotated[int, Field(ge=1)]] | None = Field(
        default=None, min_length=1, description="for text files and scripts: a line inside each cell meant")
    file: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="for a student's folder of several files: the file the cells or lines are in "
                                  "(relative to the student's folder, as results.json's location gives it); "
                                  "naming a file other than the one graded alone has every file read")

    @model_validator(mode="after")
    def _one_of(self) -> AnswerRefDoc:
        if self.cells is not None and self.lines is not None:
            raise ValueError("give exactly one of cells or lines")
        if self.cells is None and self.lines is None and self.file is None:
            raise ValueError("give exactly one of cells or lines (or a file of a student's folder)")
        return self


class OverrideDoc(Strict):
    score: Points | None = Field(default=None, description="the question's score, replacing the graded one")
    answer: AnswerRefDoc | None = Field(default=None, description="the cells that answer the question, "
                                                                  "replacing what the grader found")
    comment: Annotated[str, Field(min_length=1)] = Field(description="why; shown to the student")
    by: str | None = Field(default=None, description="who decided")

    @model_validator(mode="after")
    def _something(self) -> OverrideDoc:
        if self.score is None and self.answer is None:
            raise ValueError("give a score, an answer location, or both")
        return self


class OverridesDoc(Strict):
    """Per submission, per question: a TA's score and comment."""

    version: Literal[1]
    rubric: Id | None = Field(default=None, description="id of the rubric these overrides are for")
    submissions: dict[str, dict[str, OverrideDoc]] = Field(
        description="submission name -> question id -> override")

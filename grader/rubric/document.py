"""The rubric file's shape, as pydantic models: the single source of validation and schema.

These models check structure only (keys, types, ranges). What needs the whole file (unique
ids, `requires` targets and cycles, points adding up, each check's `params` against its check
type) is checked in `grader.rubric.validate`. The JSON Schema editors use is generated from
these models plus every check type's parameter model (`grader.rubric.schema`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from grader.rubric.problems import describe_value
from grader.rubric.units import DURATION_PATTERN, SIZE_PATTERN, parse_duration, parse_size

SUPPORTED_VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{value!r} is not a valid id: use letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


Id = Annotated[str, AfterValidator(_check_id), WithJsonSchema({"type": "string", "pattern": _ID.pattern})]
Regex = Annotated[str, AfterValidator(_check_regex),
                  WithJsonSchema({"type": "string", "format": "regex"})]
Size = Annotated[int, BeforeValidator(parse_size), Field(ge=0), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE_PATTERN}],
    "description": "bytes, or a size such as '512 MiB' or '1 GB'",
})]
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0), WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
    "description": "seconds, or a duration such as '10 s', '500 ms' or '2 min'",
})]
Points = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    """Unknown keys are errors; YAML's own types are taken as they are (no '10' for 10)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


AUTO_FACTOR, AUTO_FLOOR, AUTO_CEILING, AUTO_QUIET = 5.0, 5.0, 10.0, 4.0  # `wall_time: auto` (docs/rubrics.md)


class AutoWallTimeDoc(Strict):
    """`wall_time: auto` with its parameters: `factor` times the reference solution's wall time,
    within [`floor`, `ceiling`]."""

    factor: Annotated[float, Field(gt=0), BeforeValidator(lambda v: float(v) if type(v) is int else v)] = Field(
        default=AUTO_FACTOR, description="the limit is this many times the reference solution's wall time")
    floor: Duration = Field(default=AUTO_FLOOR, description="never less than this (covers honest slow answers "
                                                            "and a loaded machine)")
    ceiling: Duration = Field(default=AUTO_CEILING, description="never more than this (and the limit when the "
                                                                "reference solution's time is not known)")
    extend_to: Duration | None = Field(default=None, description="a run still making progress at its limit (printing, "
                                       "starting or ending processes) goes on while it does, up to this (default: "
                                       "the ceiling)")
    quiet: Duration = Field(default=AUTO_QUIET, description="such a run is cut once it has made no progress for this "
                                                            "long (at most four fifths of its limit)")

    @model_validator(mode="after")
    def _floor_under_ceiling(self) -> AutoWallTimeDoc:
        if self.floor > self.ceiling:
            raise ValueError(f"floor ({self.floor:g} s) is above ceiling ({self.ceiling:g} s)")
        if self.extend_to is not None and self.extend_to < self.ceiling:
            raise ValueError(f"extend_to ({self.extend_to:g} s) is below ceiling ({self.ceiling:g} s)")
        return self


def _wall_time(value: object) -> object:
    """`auto` means auto with its defaults; a mapping is auto with parameters; else a duration."""
    if value == "auto":
        return AutoWallTimeDoc()
    if isinstance(value, dict):
        return AutoWallTimeDoc.model_validate(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected seconds, a duration such as '10 s', or auto; got {describe_value(value)}")
    seconds = parse_duration(value)
    if isinstance(seconds, float) and not seconds > 0:
        raise ValueError(f"must be greater than 0; got {describe_value(value)}")
    return seconds


WallTime = Annotated[float | AutoWallTimeDoc, BeforeValidator(_wall_time), WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": DURATION_PATTERN},
              {"const": "auto"}, AutoWallTimeDoc.model_json_schema(by_alias=True)],
    "description": "seconds, a duration such as '10 s', or 'auto': a multiple of the reference solution's "
                   f"measured time (default {AUTO_FACTOR:g} ×, at least {AUTO_FLOOR:g} s, at most "
                   f"{AUTO_CEILING:g} s; a run still making progress goes on, up to the ceiling, until it "
                   f"has made none for {AUTO_QUIET:g} s), or auto's parameters as a mapping "
                   "{factor, floor, ceiling, extend_to, quiet}",
})]


class LimitsDoc(Strict):
    """Resource limits for one run; the names are `grader.sandbox.Limits` fields."""

    wall_time: WallTime | None = Field(default=None, description="wall-clock seconds before the run is killed, "
                                                                 "or auto (from the reference solution)")
    cpu_time: Duration | None = Field(default=None, description="CPU seconds per process")
    memory: Size | None = Field(default=None, description="writable memory per process, bytes")
    memory_total: Size | None = Field(default=None, description="memory of all the run's processes together, "
                                                               "bytes (a cgroup's limit, where the grader is root; "
                                                               "off by default: about 10 ms a run)")
    max_processes: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="processes the run may have at once")
    file_size: Size | None = Field(default=None, description="largest file the run may write, bytes")
    output: Size | None = Field(default=None, description="stdout/stderr kept per stream, bytes")


class ScoringDoc(Strict):
    """How what the checks found becomes points."""

    round_to: Points = Field(default=0.5, description="partial credit (a check earning part of its points, as "
                                                      "`concepts` does) is rounded to a multiple of this many "
                                                      "points, halves up; 0 keeps hundredths")
    hang_credit: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.5, description="the most a check reading a run may earn when that run never finished (its "
                                 "wall-time limit stopped it), as a share of the check's points; `runs` then fails "
                                 "and `spawn_safe` earns nothing")


class MessagesDoc(Strict):
    """What the student reads when the check passes or fails."""

    passed: str | None = Field(default=None, alias="pass", description="student-facing message on success")
    failed: str | None = Field(default=None, alias="fail", description="student-facing message on failure")


class CheckDoc(Strict):
    """One check of a question: a registered check type with parameters and points."""

    id: Id = Field(description="unique within the question; results and `requires` name it")
    type: str = Field(description="a registered check type (`grader checks` lists them)")
    points: Points = Field(description="points this check is worth")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the check type")
    messages: MessagesDoc = Field(default_factory=lambda: MessagesDoc.model_validate({}))
    hidden: bool = Field(default=False, description="never shown in the student's report (its points still count)")
    requires: list[Id] = Field(default_factory=list,
                               description="ids of checks of this question that must pass first; "
                                           "otherwise this check is skipped")


class QuestionDoc(Strict):
    """One question of the assignment."""

    id: Id = Field(description="the question's id, e.g. 'Q3'")
    number: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="the question's number as students write it; default: the digits of the id")
    text: Annotated[str, Field(min_length=1)] = Field(description="the question as given to students")
    type: Literal["written", "code"] = Field(description="a written (prose) or a code answer")
    points: Points | None = Field(default=None, description="must equal the sum of its checks' points; "
                                                    "default: that sum")
    limits: LimitsDoc | None = Field(default=None, description="overrides the rubric's limits, field by field")
    aliases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="other phrases that identify the question when copied")
    patterns: list[Regex] = Field(default_factory=list,
                                  description="regular expressions that identify the question when copied")
    code_patterns: list[Regex] = Field(default_factory=list,
                                       description="regular expressions matching code that answers the "
                                                   "question, for unmarked answers")
    checks: Annotated[list[CheckDoc], Field(min_length=1)]


class RubricDoc(Strict):
    """A rubric: the assignment's questions and how each is graded."""

    version: Literal[1] = Field(description="rubric format version; this grader reads 1")
    id: Id = Field(description="the assignment's id, e.g. 'multiprocessing'")
    title: Annotated[str, Field(min_length=1)]
    description: str | None = None
    points: Points | None = Field(default=None, description="total points; if given, must equal the questions' sum")
    limits: LimitsDoc | None = Field(default=None, description="default limits for every question's runs")
    scoring: ScoringDoc | None = Field(default=None, description="rounding of partial credit and the credit of "
                                                                 "runs that never finish (defaults: 0.5 and 0.5)")
    questions: Annotated[list[QuestionDoc], Field(min_length=1)]

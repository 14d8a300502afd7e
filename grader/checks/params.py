"""The check types' parameter models (pydantic): what a rubric's `params` may say, validated when
a rubric is read and published in its JSON Schema.

They live apart from the check functions so that grading does not import pydantic: the check
functions read their parameters by attribute only, and a rubric from the cache of parsed rubrics
(grader.rubric.cache) holds them as plain read-only values (`grader.rubric.model.ParamValues`).
Each check type names its model here by class name (`register("concepts", params="ConceptsParams")`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from grader.checks.context import DEFAULT_VARIANT
from grader.rubric.document import _check_regex  # the rubric's own regex rule, one copy

Stream = Literal["stdout", "stderr", "log"]
ALL_STREAMS: list[Stream] = ["stdout", "stderr", "log"]


class Params(BaseModel):
    """Base of every check type's parameter model: unknown keys are errors, values strict."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    """A check type that takes no parameters."""


# -- written answers (grader.checks.answered, grader.checks.concepts) --------------------------

Accept = Literal["prose", "code"]
_BOTH: tuple[Accept, ...] = ("prose", "code")


class AnsweredParams(Params):
    min_words: int = Field(default=5, ge=0, description="prose with fewer words (not counting a copied question) "
                                                "is not an answer")
    accept: list[Accept] = Field(
        default_factory=lambda: list(_BOTH), min_length=1,
        description="what counts as an answer: written prose, code, or either")


class Concept(Params):
    name: str = Field(min_length=1, description="the idea, as the student's feedback names it")
    phrases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="words or phrases that express it (any one suffices); 'word*' matches a prefix, "
                    "'...' up to three other words")
    patterns: list[Annotated[str, AfterValidator(_check_regex)]] = Field(
        default_factory=list, description="regular expressions searched in the lower-cased text")
    weight: float = Field(default=1.0, gt=0, description="its share of the credit, relative to the others")

    @model_validator(mode="after")
    def _something_to_match(self) -> Concept:
        if not self.phrases and not self.patterns:
            raise ValueError(f"concept {self.name!r} needs at least one phrase or pattern")
        return self


class ConceptsParams(Params):
    concepts: list[Concept] = Field(min_length=1, description="the key ideas")
    full_credit_at: float = Field(default=1.0, gt=0, le=1, description="share of the concepts' weight that earns "
                                                               "full points; less earns proportionally")
    pass_at: float = Field(default=0.5, ge=0, le=1, description="credit (0..1) from which the check counts as passed")
    review_below: float = Field(default=0.5, ge=0, le=1, description="a real answer earning less credit than this "
                                                             "is flagged for a TA to read")
    min_words: int = Field(default=15, ge=0, description="an answer with at least this many words is a real answer: "
                                                 "below review_below it is flagged, never silently zeroed")
    read_code_comments: bool = Field(default=False, description="also read the comments of the answer's code")


# -- the answer's code (grader.checks.static) -----------------------------------------------------

class ImportsParams(Params):
    modules: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="module names, e.g. 'multiprocessing' or 'concurrent.futures'")
    require: Literal["all", "any"] = Field(default="all", description="all of the modules, or any one of them")


class CallsParams(Params):
    calls: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="what must be called: 'multiprocessing.Process', 'Pool.map' (a Pool's "
                                  "map method), or 'map' (any map); more qualified is stricter")
    require: Literal["all", "any"] = Field(default="all", description="all of the calls, or any one of them")


# -- the run's output (grader.checks.output, grader.checks.numbers) --------------------------------

class OutputMatchesParams(Params):
    pattern: Annotated[str, AfterValidator(_check_regex)] = Field(
        description="regular expression searched in each line (Python syntax)")
    stream: Literal["stdout", "stderr", "log", "all"] = Field(default="stdout", description="which output to search")
    children_only: bool = Field(default=False, description="only lines written by child processes")
    min_count: int = Field(default=1, ge=1, description="lines that must match")
    ignore_case: bool = Field(default=False, description="match regardless of upper and lower case")
    variant: str = Field(default=DEFAULT_VARIANT, description="which run's output ('default', 'spawn')")


class DistinctNumbersParams(Params):
    n: int = Field(default=4, ge=1, description="pairwise-different numbers child processes must print")
    streams: list[Stream] = Field(default_factory=lambda: list(ALL_STREAMS), min_length=1,
                                  description="where printed numbers count")


class OneNumberPerProcessParams(Params):
    n: int = Field(default=4, ge=1, description="child processes that must each print their own number")
    streams: list[Stream] = Field(default_factory=lambda: list(ALL_STREAMS), min_length=1,
                                  description="where printed numbers count")


# -- behaviour (grader.checks.behaviour) -----------------------------------------------------------

class RunsParams(Params):
    exit_codes: list[int] = Field(default_factory=lambda: [0], min_length=1,
                                  description="exit statuses that count as completing")


class ProcessCreatedParams(Params):
    n: int = Field(default=1, ge=1, description="child processes that must be started")
    process_class: bool = Field(default=False, description="they must be started with multiprocessing.Process "
                                                           "(not a Pool or executor)")


class PoolUsedParams(Params):
    min_tasks: int = Field(default=1, ge=1, description="tasks that must run in the pool's worker processes")
    executor: bool = Field(default=True, description="a concurrent.futures ProcessPoolExecutor counts as a pool")


class ConcurrentParams(Params):
    n: int = Field(default=2, ge=2, description="child processes that must be alive at the same time")


class SpawnSafeParams(Params):
    start_method: Literal["spawn", "forkserver"] = Field(
        default="spawn", description="start method of the re-run (also the name of its run variant)")
    checks: list[str] | None = Field(default=None, description="ids of this question's checks that must still pass "
                                                               "in the re-run; default: its behaviour checks")

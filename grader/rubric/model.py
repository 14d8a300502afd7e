"""A validated rubric: `Rubric` → `Question` → `CheckSpec`, plain frozen values.

Built only by `grader.rubric.load` after every problem was ruled out, so code that receives a
`Rubric` never re-checks it: check ids are unique, `requires` point at earlier-or-later checks
of the same question without cycles, points add up, and each `CheckSpec.params` holds values
its check type's parameter model validated: the model itself, or (in a rubric from the cache of
parsed rubrics) the same values as `ParamValues`, which check functions read alike.

No pydantic here: grading with a cached rubric must not import it (a self-check's start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


class QuestionType(str, Enum):
    WRITTEN = "written"
    CODE = "code"


@dataclass(frozen=True)
class AutoWallTime:
    """`wall_time: auto`: `factor` times the reference solution's measured wall time for the
    question, never below `floor` nor above `ceiling` (seconds). `reference` is that measurement
    (the slowest of the reference's runs of the question) once it is known (grader.reftimes).

    A run that reaches that limit while still making progress goes on until it has made none for
    `quiet` seconds (at most four fifths of the limit), and never past `extend_to` (default: the
    ceiling) (grader.sandbox.progress): slow is not hung."""

    factor: float = 5.0
    floor: float = 5.0
    ceiling: float = 10.0
    reference: float | None = None
    quiet: float = 4.0
    extend_to: float | None = None

    @property
    def most(self) -> float:
        """The most a run still making progress gets."""
        return self.extend_to if self.extend_to is not None else self.ceiling

    def value(self, reference: float) -> float:
        return round(min(self.ceiling, max(self.floor, self.factor * reference)), 3)

    def window(self, limit: float) -> float:
        """Seconds without progress that end a run past `limit`: `quiet`, but at most four fifths of
        the limit, so what a program does as it starts (its interpreter, its first processes) never
        counts as progress at the limit, and a program that hangs after starting costs the limit."""
        return round(min(self.quiet, 0.8 * limit), 3)

    def why(self) -> str:
        """Which limit applied and why, in words: "auto: 5 × the reference solution's 0.19 s = 0.95 s,
        raised to the 5 s floor"."""
        if self.reference is None:
            return "auto, the ceiling (the reference solution's time is not known: no reference solution beside " \
                   "the rubric, or it could not be run)"
        product = self.factor * self.reference
        words = f"auto: {self.factor:g} × the reference solution's {self.reference:.2f} s"
        if product < self.floor:
            return f"{words} = {product:.2f} s, raised to the {self.floor:g} s floor"
        if product > self.ceiling:
            return f"{words} = {product:.2f} s, cut to the {self.ceiling:g} s ceiling"
        return words


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run. Field names and units match `grader.sandbox.Limits`:
    seconds for times, bytes for sizes. `None` means "the sandbox's default".

    `wall_time_auto` set means `wall_time: auto` (see AutoWallTime). Until the reference
    solution's time is known `wall_time` is None (runs get the ceiling); `grader.reftimes.resolve`
    sets it. A `wall_time` set by other means (a test, `--wall-time`) wins over `auto`."""

    wall_time: float | None = None
    cpu_time: float | None = None
    memory: int | None = None
    memory_total: int | None = None
    max_processes: int | None = None
    file_size: int | None = None
    output: int | None = None
    wall_time_auto: AutoWallTime | None = None

    def over(self, defaults: Limits) -> Limits:
        """These limits, falling back field by field on `defaults` (wall time and its `auto` as one)."""
        merged = {f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                  else getattr(defaults, f.name) for f in fields(self)}
        if self.wall_time is not None or self.wall_time_auto is not None:  # this level decided: fixed, or auto
            merged["wall_time"], merged["wall_time_auto"] = self.wall_time, self.wall_time_auto
        return Limits(**merged)

    def as_dict(self) -> dict[str, Any]:
        """Only the limits that are set, ready for `grader.sandbox.Limits(**...)` (an unresolved
        `auto` gives its ceiling; a resolved one may be passed, up to its ceiling, by a run still
        making progress)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if getattr(self, f.name) is not None and f.name != "wall_time_auto"}
        auto = self.wall_time_auto
        if self.unresolved and auto is not None:
            out["wall_time"] = auto.ceiling
        if auto is not None and (self.unresolved or self.auto_applied) and auto.most > out["wall_time"]:
            out["wall_time_max"] = auto.most
            out["progress_window"] = auto.window(out["wall_time"])
        return out

    @property
    def auto_applied(self) -> bool:
        """The wall time is `auto`'s value from the reference's measured time (not fixed otherwise)."""
        auto = self.wall_time_auto
        return auto is not None and auto.reference is not None and self.wall_time == auto.value(auto.reference)

    def reasons(self) -> dict[str, str]:
        """Limit name -> why it has its value, for a limit the grader chose (`auto`)."""
        auto = self.wall_time_auto
        if auto is None:
            return {}
        limit = auto.ceiling if self.wall_time is None else self.wall_time
        if not (self.unresolved or self.auto_applied):
            return {}
        out = {"wall_time": f"{limit:g} s, {auto.why()}"}
        if auto.most > limit:
            out["wall_time_max"] = (f"{auto.most:g} s: a run still making progress at {limit:g} s goes on until it "
                                    f"has made none for {auto.window(limit):g} s")
        return out

    @property
    def unresolved(self) -> bool:
        """`wall_time: auto` whose reference time is not known yet (nor replaced by a fixed time)."""
        return self.wall_time_auto is not None and self.wall_time is None


@dataclass(frozen=True)
class Scoring:
    """How verdicts become points (the rubric's `scoring`): partial credit is rounded to a multiple
    of `round_to` points (0: hundredths), and a check reading a run that never finished earns at
    most `hang_credit` of its points."""

    round_to: float = 0.5
    hang_credit: float = 0.5


@dataclass(frozen=True)
class Messages:
    passed: str | None = None
    failed: str | None = None


class ParamValues:
    """A check's validated parameters as plain read-only attributes (`params.n`), as check functions
    read them: what a cached rubric holds in place of the pydantic model, so that loading and
    grading with it imports no pydantic. Made from a validated model by `of` (nested models become
    ParamValues, lists stay lists); equal when the values are."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    @classmethod
    def of(cls, model: BaseModel | ParamValues) -> ParamValues:
        """The values of a validated parameter model (its fields, as the check reads them)."""
        if isinstance(model, ParamValues):
            return model
        from pydantic import BaseModel

        def plain(value: Any) -> Any:
            if isinstance(value, BaseModel):
                return cls({name: plain(getattr(value, name)) for name in type(value).model_fields})
            if isinstance(value, list):
                return [plain(v) for v in value]
            if isinstance(value, tuple):
                return tuple(plain(v) for v in value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        out = plain(model)
        assert isinstance(out, ParamValues)
        return out

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_values":  # not a parameter (copy, pickle, an unset slot)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("check parameters are read-only")

    def __reduce__(self) -> tuple[type[ParamValues], tuple[dict[str, Any]]]:
        return ParamValues, (self._values,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamValues) and self._values == other._values

    __hash__ = None  # type: ignore[assignment]  # holds lists, like the models it stands for

    def __repr__(self) -> str:
        return f"ParamValues({self._values!r})"


@dataclass(frozen=True)
class CheckSpec:
    id: str
    type: str
    points: float
    params: BaseModel | ParamValues  # what the check type's parameter model validated
    messages: Messages = Messages()
    hidden: bool = False
    requires: tuple[str, ...] = ()
    line: int = 0  # where the check starts in the rubric file, for messages


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: QuestionType
    points: float
    checks: tuple[CheckSpec, ...]
    number: int | None = None
    limits: Limits = Limits()  # already merged over the rubric's limits
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regular expressions identifying the question's text
    code_patterns: tuple[str, ...] = ()  # regular expressions matching code that answers it
    line: int = 0
    scoring: Scoring = Scoring()  # the rubric's

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(f"question {self.id} has no check {check_id!r}")


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    version: int
    questions: tuple[Question, ...]
    path: str = "<rubric>"
    description: str | None = None
    limits: Limits = Limits()
    scoring: Scoring = Scoring()

    @property
    def max_score(self) -> float:
        return round(sum(q.points for q in self.questions), 2)

    @property
    def n_checks(self) -> int:
        return sum(len(q.checks) for q in self.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"rubric {self.id} has no question {question_id!r}")

    @property
    def auto_limits(self) -> bool:
        """Some question's wall time is `auto` and not measured yet (grader.reftimes.resolve)."""
        return any(q.limits.unresolved for q in self.questions)

    def to_json(self) -> dict[str, Any]:
        """The rubric's identity as results.json records it."""
        return {"id": self.id, "version": self.version, "max_score": self.max_score}

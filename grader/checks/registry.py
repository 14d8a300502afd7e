"""The check registry: every check type by name, with its parameter model and run variants.

A check type is one function `(ctx: CheckContext, params: P) -> Verdict` whose docstring says
what it verifies (shown by `grader checks`), registered with a pydantic parameter model: the
class, or for the built-in types its name in grader.checks.params, imported on first use (grading
reads parameters by attribute only and needs no pydantic: a self-check's start-up):

    @register("concepts", params="ConceptsParams")
    def concepts(ctx: CheckContext, params: ConceptsParams) -> Verdict:
        '''Coverage of the key ideas ...'''

`variants` names the runs the check reads from `ctx.traces` ("default", "spawn"); static and
written checks need none, so the grading engine runs exactly what a question needs.

A check type can also be *declared* before it is implemented (`declare`): its parameters are
validated in rubrics and listed by `grader checks`, but no verdict can come from it:
`Rubric.unimplemented` lists such checks and the engine must refuse to grade with them.

`REGISTRY` is the built-in registry, filled when `grader.checks` is imported. Tests and
plug-ins may build their own `Registry` and pass it to the rubric loader.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from grader.checks.context import CheckContext
from grader.checks.verdict import Verdict

if TYPE_CHECKING:
    from pydantic import BaseModel

    from grader.checks.params import NoParams as NoParams
    from grader.checks.params import Params as Params
    from grader.rubric.model import ParamValues

CheckFunction = Callable[[CheckContext, Any], Verdict]
F = TypeVar("F", bound=Callable[..., Verdict])
Variants = frozenset[str] | Callable[[Any], frozenset[str]]
ParamsRef = type["BaseModel"] | str  # the model, or its class name in grader.checks.params


def __getattr__(name: str) -> Any:
    """`Params` and `NoParams` live in grader.checks.params (pydantic), imported on first use."""
    if name in ("Params", "NoParams"):
        from grader.checks import params

        return getattr(params, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _model(ref: ParamsRef) -> type[BaseModel]:
    if isinstance(ref, str):
        from grader.checks import params

        model: type[BaseModel] = getattr(params, ref)
        return model
    return ref


@dataclass(frozen=True)
class CheckType:
    name: str
    params_ref: ParamsRef
    function: CheckFunction | None  # None: declared, not implemented yet
    variants: Variants
    doc: str
    judges_stop: bool = False  # it judges a run that never finished or raised itself (runs, spawn_safe)

    @property
    def params(self) -> type[BaseModel]:
        """The parameter model (pydantic): to validate a rubric's `params`, or to describe them."""
        return _model(self.params_ref)

    @property
    def implemented(self) -> bool:
        return self.function is not None

    @property
    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ") if self.doc else ""

    def variants_for(self, params: BaseModel | ParamValues) -> frozenset[str]:
        """The run variants this check needs with these parameters."""
        return self.variants(params) if callable(self.variants) else self.variants


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, CheckType] = {}

    def register(self, name: str, *, params: ParamsRef, variants: Variants = frozenset(), judges_stop: bool = False
                 ) -> Callable[[F], F]:
        """Decorator: register `function` as check type `name` (replacing a declaration).

        A check reading runs is judged by the check runner's rule for a run that never finished
        or stopped on an uncaught exception (grader.checks.runner) unless `judges_stop` says the
        check states and scores that itself."""

        def add(function: F) -> F:
            existing = self._types.get(name)
            if existing is not None and existing.implemented:
                raise ValueError(f"check type {name!r} is already registered")
            if existing is not None and existing.params_ref != params and existing.params is not _model(params):
                raise ValueError(f"check type {name!r} was declared with {existing.params.__name__}, "
                                 f"implemented with {_model(params).__name__}")
            doc = inspect.getdoc(function) or (existing.doc if existing else "")
            self._types[name] = CheckType(name, params, function, variants, doc, judges_stop)
            return function

        return add

    def declare(self, name: str, *, params: ParamsRef, variants: Variants, doc: str) -> None:
        """Announce a check type's name and parameters before its function exists."""
        if name in self._types:
            raise ValueError(f"check type {name!r} is already registered")
        self._types[name] = CheckType(name, params, None, variants, inspect.cleandoc(doc))

    def get(self, name: str) -> CheckType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __iter__(self) -> Iterator[CheckType]:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __len__(self) -> int:
        return len(self._types)


REGISTRY = Registry()
register = REGISTRY.register
declare = REGISTRY.declare

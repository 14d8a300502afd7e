"""The registry: registering, declaring, and what `grader checks` relies on."""

from __future__ import annotations

import pytest
from pydantic import Field

from grader.checks import REGISTRY, CheckContext, NoParams, Params, Registry, Verdict
from grader.checks.context import DEFAULT_VARIANT


class _P(Params):
    n: int = Field(default=1, ge=1)


def _fn(ctx: CheckContext, params: _P) -> Verdict:
    """Docstring line one.

    More text."""
    return Verdict.passed("ok")


def test_register_records_params_variants_and_docstring() -> None:
    reg = Registry()
    reg.register("x", params=_P, variants=frozenset({DEFAULT_VARIANT}))(_fn)
    t = reg.get("x")
    assert t is not None and t.implemented and t.params is _P
    assert t.summary == "Docstring line one."
    assert t.variants_for(_P()) == {DEFAULT_VARIANT}
    assert "x" in reg and len(reg) == 1 and reg.names() == ["x"]


def test_registering_a_name_twice_is_an_error() -> None:
    reg = Registry()
    reg.register("x", params=_P)(_fn)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x", params=_P)(_fn)


def test_declared_type_has_no_function_until_implemented_with_the_same_params() -> None:
    reg = Registry()
    reg.declare("later", params=_P, variants=frozenset(), doc="Will verify something.")
    declared = reg.get("later")
    assert declared is not None and not declared.implemented and declared.doc == "Will verify something."
    with pytest.raises(ValueError, match="declared with _P"):
        reg.register("later", params=NoParams)(_fn)  # type: ignore[arg-type]
    reg.register("later", params=_P)(_fn)
    implemented = reg.get("later")
    assert implemented is not None and implemented.implemented


def test_variants_can_depend_on_params() -> None:
    reg = Registry()

    class V(Params):
        variant: str = "default"

    reg.register("v", params=V, variants=lambda p: frozenset({p.variant}))(lambda ctx, p: Verdict.passed("ok"))
    t = reg.get("v")
    assert t is not None and t.variants_for(V(variant="spawn")) == {"spawn"}


def test_builtin_types_are_registered_with_documentation() -> None:
    expected_static = {"answered", "concepts", "main_guard", "imports", "calls", "output_matches"}
    behaviour = {"runs", "process_created", "pool_used", "distinct_numbers", "one_number_per_process",
                 "concurrent", "spawn_safe"}
    assert set(REGISTRY.names()) == expected_static | behaviour
    for t in REGISTRY:
        assert t.doc, f"{t.name} has no docstring"
        assert t.implemented, t.name
        for name, field in t.params.model_fields.items():
            assert field.description or t.params is NoParams, f"{t.name}.{name} has no description"


def test_static_checks_need_no_run_and_behaviour_checks_do() -> None:
    for name in ("answered", "concepts", "main_guard", "imports", "calls"):
        t = REGISTRY.get(name)
        assert t is not None and t.variants_for(t.params.model_validate(_minimal(name))) == frozenset()
    spawn = REGISTRY.get("spawn_safe")
    assert spawn is not None and spawn.variants_for(spawn.params()) == {"spawn"}
    runs = REGISTRY.get("runs")
    assert runs is not None and runs.variants_for(runs.params()) == {"default"}


def _minimal(name: str) -> object:
    return {"concepts": {"concepts": [{"name": "a", "phrases": ["a"]}]}, "imports": {"modules": ["os"]},
            "calls": {"calls": ["print"]}}.get(name, {})


def test_the_built_in_defaults_of_runs_are_its_models() -> None:
    """spawn_safe judges completion with `runs`' defaults, kept as plain values (no pydantic)."""
    from grader.checks.behaviour import RUNS_DEFAULTS
    from grader.checks.params import RunsParams
    from grader.rubric.model import ParamValues

    assert ParamValues.of(RunsParams()) == RUNS_DEFAULTS


def test_model_by_name_is_imported_on_first_use() -> None:
    t = REGISTRY.get("concepts")
    assert t is not None and t.params_ref == "ConceptsParams" and t.params.__name__ == "ConceptsParams"
    assert issubclass(t.params, Params)

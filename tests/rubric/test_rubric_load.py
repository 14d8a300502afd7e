"""A valid rubric becomes plain values: limits merged, params typed, points and numbers derived."""

from __future__ import annotations

import textwrap

import pytest

from grader.checks.params import ConceptsParams
from grader.checks.registry import NoParams, Params, Registry
from grader.checks.verdict import Verdict
from grader.errors import RubricError
from grader.rubric import (
    Limits,
    QuestionType,
    ensure_gradable,
    parse_rubric,
    unimplemented,
    variants_needed,
)

TEXT = textwrap.dedent("""
    # yaml-language-server: $schema=rubric.schema.json
    version: 1
    id: demo
    title: Demo
    limits: {wall_time: 5, memory: 512 MiB, output: 64kB}
    questions:
      - id: Q1
        text: Why?
        type: written
        aliases: [why is it]
        checks:
          - id: answered
            type: answered
            points: 2
          - id: concepts
            type: concepts
            points: 3.5
            hidden: true
            requires: [answered]
            params: {concepts: [{name: speed, phrases: [fast]}]}
            messages: {pass: Good., fail: Think again.}
      - id: Part-2
        number: 7
        text: Write it.
        type: code
        limits: {wall_time: 500 ms, max_processes: 8}
        code_patterns: ['Pool\\(']
        checks:
          - {id: guard, type: main_guard, points: 1}
          - {id: runs, type: runs, points: 1}
          - {id: spawn, type: spawn_safe, points: 1}
    """)


def test_model_values() -> None:
    r = parse_rubric(TEXT, "demo.yaml")
    assert (r.id, r.title, r.version, r.path, r.max_score, r.n_checks) == ("demo", "Demo", 1, "demo.yaml", 8.5, 5)
    q1, q2 = r.questions
    assert q1.type is QuestionType.WRITTEN and q1.points == 5.5 and q1.number == 1 and q1.aliases == ("why is it",)
    assert q2.number == 7 and q2.code_patterns == (r"Pool\(",)
    concepts = q1.check("concepts")
    assert isinstance(concepts.params, ConceptsParams) and concepts.params.concepts[0].phrases == ["fast"]
    assert concepts.hidden and concepts.requires == ("answered",)
    assert (concepts.messages.passed, concepts.messages.failed) == ("Good.", "Think again.")
    assert isinstance(q2.check("guard").params, NoParams)
    assert concepts.line == 16 and q2.line == 23
    assert r.to_json() == {"id": "demo", "version": 1, "max_score": 8.5}


def test_limits_are_merged_field_by_field_in_sandbox_units() -> None:
    r = parse_rubric(TEXT)
    assert r.limits == Limits(wall_time=5.0, memory=512 * 1024**2, output=64_000)
    assert r.questions[0].limits == r.limits
    assert r.questions[1].limits == Limits(wall_time=0.5, memory=512 * 1024**2, output=64_000, max_processes=8)
    assert r.questions[1].limits.as_dict() == {"wall_time": 0.5, "memory": 536870912, "max_processes": 8,
                                               "output": 64000}


def test_variants_needed_is_what_the_checks_read() -> None:
    r = parse_rubric(TEXT)
    assert variants_needed(r.questions[0]) == frozenset()
    assert variants_needed(r.questions[1]) == {"default", "spawn"}


def _with_declared_only(*names: str) -> Registry:
    """The built-in check types, except that `names` are only declared (no function yet)."""
    from grader.checks import REGISTRY

    reg = Registry()
    for t in REGISTRY:
        if t.name in names or t.function is None:
            reg.declare(t.name, params=t.params, variants=t.variants, doc=t.doc)
        else:
            reg.register(t.name, params=t.params, variants=t.variants)(t.function)
    return reg


def test_declared_checks_load_but_cannot_grade() -> None:
    reg = _with_declared_only("runs", "spawn_safe")
    r = parse_rubric(TEXT, "demo.yaml", reg)
    missing = unimplemented(r, reg)
    assert missing == [
        "demo.yaml:31: questions[1].checks[1].type: check type 'runs' is not implemented yet "
        "(its parameters are validated, but it cannot grade)",
        "demo.yaml:32: questions[1].checks[2].type: check type 'spawn_safe' is not implemented yet "
        "(its parameters are validated, but it cannot grade)",
    ]
    with pytest.raises(RubricError) as info:
        ensure_gradable(r, reg)
    assert info.value.problems == missing
    ensure_gradable(r)  # with every built-in check implemented, it grades


def test_a_rubric_with_only_implemented_checks_is_gradable() -> None:
    r = parse_rubric(TEXT.split("  - id: Part-2")[0])
    ensure_gradable(r)
    assert unimplemented(r) == []


def test_custom_registry() -> None:
    class P(Params):
        level: int = 1

    reg = Registry()
    reg.register("mine", params=P)(lambda ctx, p: Verdict.passed("ok"))
    text = "version: 1\nid: x\ntitle: X\nquestions:\n  - id: Q1\n    text: T\n    type: code\n" \
           "    checks:\n      - {id: m, type: mine, points: 1, params: {level: 3}}\n"
    r = parse_rubric(text, registry=reg)
    params = r.questions[0].checks[0].params
    assert isinstance(params, P) and params.level == 3
    with pytest.raises(RubricError, match="unknown check type 'mine'"):
        parse_rubric(text)

"""Rules that need the whole rubric, checked on the parsed YAML before any model is built.

They run on the raw data even where pydantic found structural problems elsewhere, so one
`grader rubric check` reports every problem at once. Each rule guards its own input: a
question whose `checks` is not a list is pydantic's problem, not a crash here.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from pydantic import ValidationError

from grader.checks.registry import Registry
from grader.rubric.problems import Problem, did_you_mean, from_validation_error
from grader.rubric.yamlsource import YamlSource


def whole_rubric_problems(source: YamlSource, data: dict[str, Any], registry: Registry) -> list[Problem]:
    problems: list[Problem] = []
    questions = data.get("questions")
    if not isinstance(questions, list):
        return problems
    seen: dict[str, int] = {}
    totals: list[float | None] = []
    for i, q in enumerate(questions):
        if not isinstance(q, dict):
            totals.append(None)
            continue
        qid = q.get("id")
        if isinstance(qid, str):
            if qid in seen:
                problems.append(source.problem(
                    ("questions", i, "id"), f"duplicate question id {qid!r} (also questions[{seen[qid]}])"))
            else:
                seen[qid] = i
        problems += _question_problems(source, i, q, registry)
        totals.append(_question_points(q))
    total = data.get("points")
    known = [t for t in totals if t is not None]
    if isinstance(total, (int, float)) and not isinstance(total, bool) and len(known) == len(totals):
        added = sum(known)
        if not math.isclose(added, total, abs_tol=1e-9):
            problems.append(source.problem(
                ("points",), f"is {_fmt(total)} but the questions add up to {_fmt(added)}"))
    return problems


def _question_problems(source: YamlSource, i: int, q: dict[str, Any], registry: Registry) -> list[Problem]:
    problems: list[Problem] = []
    checks = q.get("checks")
    if not isinstance(checks, list):
        return problems
    base = ("questions", i, "checks")
    ids: dict[str, int] = {}
    for j, c in enumerate(checks):
        if isinstance(c, dict) and isinstance(c.get("id"), str):
            if c["id"] in ids:
                problems.append(source.problem(
                    (*base, j, "id"), f"duplicate check id {c['id']!r} (also checks[{ids[c['id']]}])"))
            else:
                ids[c["id"]] = j
    for j, c in enumerate(checks):
        if not isinstance(c, dict):
            continue
        problems += _check_type_problems(source, (*base, j), c, registry)
        requires = c.get("requires")
        if isinstance(requires, list):
            for k, target in enumerate(requires):
                if not isinstance(target, str):
                    continue
                if target == c.get("id"):
                    problems.append(source.problem((*base, j, "requires", k),
                                                   "a check cannot require itself"))
                elif target not in ids:
                    hint = did_you_mean(target, ids) or (
                        f"; this question's checks: {', '.join(ids)}" if ids else "")
                    problems.append(source.problem((*base, j, "requires", k),
                                                   f"no check {target!r} in this question{hint}"))
    problems += _cycles(source, base, checks, ids)
    points = q.get("points")
    added = _checks_points(checks)
    if isinstance(points, (int, float)) and not isinstance(points, bool) and added is not None \
            and not math.isclose(points, added, abs_tol=1e-9):
        problems.append(source.problem(("questions", i, "points"),
                                       f"is {_fmt(points)} but its checks add up to {_fmt(added)}"))
    return problems


def _check_type_problems(source: YamlSource, path: tuple[str | int, ...], c: dict[str, Any],
                         registry: Registry) -> list[Problem]:
    name = c.get("type")
    if not isinstance(name, str):
        return []
    check_type = registry.get(name)
    if check_type is None:
        hint = did_you_mean(name, registry.names()) or f"; known types: {', '.join(registry.names())}"
        return [source.problem((*path, "type"), f"unknown check type {name!r}{hint}")]
    params = c.get("params", {})
    if not isinstance(params, dict):
        return []  # pydantic reports the wrong type
    try:
        check_type.params.model_validate(params)
    except ValidationError as exc:
        return from_validation_error(exc, check_type.params,
                                     lambda p, m, key: source.problem(p, m, key=key), (*path, "params"))
    return []


def _cycles(source: YamlSource, base: tuple[str | int, ...], checks: list[Any], ids: dict[str, int]
            ) -> list[Problem]:
    graph: dict[str, list[str]] = {}
    for c in checks:
        if isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("requires"), list):
            graph[c["id"]] = [r for r in c["requires"] if isinstance(r, str) and r in ids and r != c["id"]]
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    problems.append(source.problem((*base, ids[nxt], "requires"),
                                                   "requires form a cycle: " + " -> ".join([*cycle, nxt])))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    return problems


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checks_points(checks: list[Any]) -> float | None:
    points = [c.get("points") if isinstance(c, dict) else None for c in checks]
    numbers = [float(p) for p in points if _is_number(p)]
    if not points or len(numbers) != len(points):
        return None
    return sum(numbers)


def _question_points(q: dict[str, Any]) -> float | None:
    if _is_number(q.get("points")):
        return float(q["points"])
    checks = q.get("checks")
    return _checks_points(checks) if isinstance(checks, list) else None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(round(value, 4))

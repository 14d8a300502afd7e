"""Read and validate a rubric file: `load_rubric(path) -> Rubric`, or `RubricError` listing every problem.

Validation happens before any student code runs and reports all problems, each one line
`file:line: path: message`: YAML syntax, an empty file or a non-mapping top level, an
unsupported `version`, unknown keys (with a did-you-mean), wrong types, missing keys, unknown
check types, a check's `params` against its type's model, duplicate ids, `requires` naming
unknown checks or forming a cycle, and points that do not add up.

A rubric may use check types that are only declared (their parameters are known, their
functions are not written yet): it loads, so its questions can be read, but
`unimplemented(rubric)` lists those checks and `ensure_gradable` refuses to grade with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import RubricError
from grader.rubric.model import AutoWallTime, CheckSpec, Limits, Messages, Question, QuestionType, Rubric, Scoring

if TYPE_CHECKING:  # parsing YAML needs these; grading with a cached rubric does not (start-up time)
    from grader.checks.registry import Registry
    from grader.rubric.document import CheckDoc, LimitsDoc, QuestionDoc, RubricDoc
    from grader.rubric.problems import Problem
    from grader.rubric.yamlsource import YamlSource


def default_registry() -> Registry:
    from grader.checks import REGISTRY  # importing grader.checks registers the built-in types

    return REGISTRY


def read_text(path: str | Path) -> str:
    """The file's text, or a RubricError naming the file (missing, unreadable, not UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise RubricError([f"{path}: is a directory, not a rubric file"]) from None
    except UnicodeDecodeError as exc:
        raise RubricError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise RubricError([f"{path}: cannot read: {exc.strerror}"]) from None


def load_rubric(path: str | Path, registry: Registry | None = None) -> Rubric:
    """The validated rubric at `path`; RubricError with every problem otherwise."""
    return parse_rubric(read_text(path), str(path), registry)


def parse_rubric(text: str, file: str = "<rubric>", registry: Registry | None = None) -> Rubric:
    """The validated rubric written in `text`; `file` names it in problems."""
    from pydantic import ValidationError

    from grader.rubric.document import RubricDoc
    from grader.rubric.problems import format_problems, from_validation_error
    from grader.rubric.validate import whole_rubric_problems

    registry = registry if registry is not None else default_registry()
    source, data = parse_mapping(text, file, what="a rubric (a mapping with version, id, title, questions)")
    problems = _version_problems(source, data)
    if problems:  # another version's keys would only produce noise
        raise RubricError([str(p) for p in problems])
    doc: RubricDoc | None = None
    try:
        doc = RubricDoc.model_validate(data)
    except ValidationError as exc:
        problems += from_validation_error(exc, RubricDoc, lambda p, m, key: source.problem(p, m, key=key))
    problems += whole_rubric_problems(source, data, registry)
    if problems or doc is None:
        raise RubricError(format_problems(problems))
    return _build(doc, source, registry)


def parse_mapping(text: str, file: str, *, what: str) -> tuple[YamlSource, dict[str, Any]]:
    """YAML `text` whose top level must be a mapping, or RubricError (syntax, empty, not a mapping)."""
    from grader.rubric.problems import describe_value
    from grader.rubric.yamlsource import read_yaml

    if not text.strip():
        raise RubricError([f"{file}:1: empty file; expected {what}"])
    source, problems = read_yaml(text, file)
    if source is None:
        raise RubricError([str(p) for p in problems])
    if source.data is None:
        raise RubricError([f"{file}:1: no content (only comments); expected {what}"])
    if not isinstance(source.data, dict):
        raise RubricError([f"{file}:{source.line(())}: top level is {describe_value(source.data)}; "
                           f"expected {what}"])
    if problems:  # duplicate keys: the parsed data silently lost one of them
        raise RubricError([str(p) for p in problems])
    return source, source.data


def _version_problems(source: YamlSource, data: dict[str, Any]) -> list[Problem]:
    from grader.rubric.document import SUPPORTED_VERSION

    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SUPPORTED_VERSION:
        return [source.problem(("version",), f"unsupported rubric version {version}; "
                                             f"this grader reads version {SUPPORTED_VERSION}")]
    return []


def _limits(doc: LimitsDoc | None) -> Limits:
    from grader.rubric.document import AutoWallTimeDoc

    if doc is None:
        return Limits()
    values = {name: getattr(doc, name) for name in type(doc).model_fields}
    wall = values.get("wall_time")
    if isinstance(wall, AutoWallTimeDoc):  # resolved from the reference's time (grader.reftimes)
        values["wall_time"] = None
        values["wall_time_auto"] = AutoWallTime(wall.factor, wall.floor, wall.ceiling, quiet=wall.quiet,
                                               extend_to=wall.extend_to)
    return Limits(**values)


def _build(doc: RubricDoc, source: YamlSource, registry: Registry) -> Rubric:
    defaults = _limits(doc.limits)
    scoring = Scoring(**doc.scoring.model_dump()) if doc.scoring is not None else Scoring()
    questions = tuple(_question(q, ("questions", i), source, registry, defaults, scoring)
                      for i, q in enumerate(doc.questions))
    return Rubric(id=doc.id, title=doc.title, version=doc.version, questions=questions, path=source.file,
                  description=doc.description, limits=defaults, scoring=scoring)


def _question(doc: QuestionDoc, path: tuple[str | int, ...], source: YamlSource, registry: Registry,
              defaults: Limits, scoring: Scoring) -> Question:
    checks = tuple(_check(c, (*path, "checks", j), source, registry) for j, c in enumerate(doc.checks))
    number = doc.number
    if number is None:
        digits = re.search(r"\d+", doc.id)
        number = int(digits.group()) if digits else None
    points = doc.points if doc.points is not None else sum(c.points for c in checks)
    return Question(id=doc.id, text=doc.text, type=QuestionType(doc.type), points=points, checks=checks,
                    number=number, limits=_limits(doc.limits).over(defaults), aliases=tuple(doc.aliases),
                    patterns=tuple(doc.patterns), code_patterns=tuple(doc.code_patterns),
                    line=source.line(path), scoring=scoring)


def _check(doc: CheckDoc, path: tuple[str | int, ...], source: YamlSource, registry: Registry) -> CheckSpec:
    check_type = registry.get(doc.type)
    assert check_type is not None  # whole_rubric_problems reported unknown types
    return CheckSpec(id=doc.id, type=doc.type, points=doc.points,
                     params=check_type.params.model_validate(doc.params),
                     messages=Messages(doc.messages.passed, doc.messages.failed), hidden=doc.hidden,
                     requires=tuple(doc.requires), line=source.line(path))


def unimplemented(rubric: Rubric, registry: Registry | None = None) -> list[str]:
    """One line per check whose type is declared but not implemented yet (it cannot grade)."""
    registry = registry if registry is not None else default_registry()
    out = []
    for i, q in enumerate(rubric.questions):
        for j, c in enumerate(q.checks):
            check_type = registry.get(c.type)
            if check_type is None or not check_type.implemented:
                from grader.rubric.problems import Problem

                out.append(str(Problem(rubric.path, c.line, ("questions", i, "checks", j, "type"),
                                       f"check type {c.type!r} is not implemented yet "
                                       "(its parameters are validated, but it cannot grade)")))
    return out


def ensure_gradable(rubric: Rubric, registry: Registry | None = None) -> None:
    """RubricError unless every check of the rubric can produce a verdict. Call before running code."""
    missing = unimplemented(rubric, registry)
    if missing:
        raise RubricError(missing)


def check_variants(check: CheckSpec, registry: Registry | None = None) -> frozenset[str]:
    """The run variants ("default", "spawn", ...) one check reads."""
    check_type = (registry if registry is not None else default_registry()).get(check.type)
    return check_type.variants_for(check.params) if check_type is not None else frozenset()


def variants_needed(question: Question, registry: Registry | None = None) -> frozenset[str]:
    """The run variants the question's checks read: what to run."""
    return frozenset().union(*(check_variants(c, registry) for c in question.checks))

"""One problem in a rubric or overrides file, as the one line an author reads.

    rubrics/x.yaml:14: questions[2].checks[1].timout: unknown key; did you mean timeout?

`from_validation_error` turns pydantic's errors into such problems: locations become paths,
pydantic's phrasing becomes the author's ("must be", "expected a list, got a string"), and an
unknown key or value gets a did-you-mean from the names that are allowed there.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = format_path(self.path)
        return f"{self.file}:{self.line}: {where}: {self.message}" if where else \
            f"{self.file}:{self.line}: {self.message}"


def format_problems(problems: Iterable[Problem]) -> list[str]:
    """Each problem once, as lines, in file order."""
    unique = {str(p): p for p in problems}
    ordered = sorted(unique.values(), key=lambda p: (p.file, p.line, format_path(p.path), p.message))
    return [str(p) for p in ordered]


def format_path(path: Sequence[str | int]) -> str:
    """('questions', 2, 'checks', 1, 'timout') -> 'questions[2].checks[1].timout'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean X?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def describe_value(value: Any) -> str:
    """How an author would name a YAML value's type."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "bool_type": "true or false", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "tuple_type": "a list",
}


def from_validation_error(
    error: ValidationError,
    model: type[BaseModel],
    problem: Callable[[Sequence[str | int], str, bool], Problem],
    prefix: Sequence[str | int] = (),
) -> list[Problem]:
    """Problems for each error of validating data against `model`.

    `problem(path, message, key)` builds one problem (it knows the file and finds the line);
    `prefix` is where the validated data sits in the file (for a check's `params`).
    """
    out: list[Problem] = []
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
        path = (*prefix, *loc)
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            allowed = allowed_keys(model, loc[:-1])
            hint = did_you_mean(str(loc[-1]), allowed) if loc else ""
            if not hint and allowed:
                hint = "; allowed: " + ", ".join(sorted(allowed))
            out.append(problem(path, f"unknown key{hint}", True))
        elif kind == "missing":
            out.append(problem(path, "required key is missing", True))
        elif kind in _EXPECTED:
            out.append(problem(path, f"expected {_EXPECTED[kind]}, got {describe_value(value)}", True))
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            choices = [e.strip(" '") for e in str(expected).replace(" or ", ",").split(",")]
            hint = did_you_mean(str(value), choices)
            out.append(problem(path, f"must be {expected}; got {describe_value(value)}{hint}", True))
        elif kind in ("value_error", "assertion_error"):
            msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            out.append(problem(path, msg, True))
        else:
            msg = str(err["msg"]).replace("Input should be", "must be").replace("List should", "must")
            msg = msg.replace("String should", "must")
            msg = msg[0].lower() + msg[1:] if msg else msg
            out.append(problem(path, f"{msg}; got {describe_value(value)}", True))
    return out


def allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys a mapping at `loc` (inside data for `model`) may have."""
    target = _type_at(model, loc)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [f.alias or name for name, f in target.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X; Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _type_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            args = typing.get_args(tp)
            if typing.get_origin(tp) is not list or not args:
                return None
            tp = args[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or name: f for name, f in tp.model_fields.items()}
            if part not in fields:
                return None
            tp = fields[part].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)

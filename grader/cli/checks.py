"""`grader checks`: every check type, its parameters and what it verifies.

The text is the check functions' docstrings and the parameter models' field descriptions, so
the documentation cannot drift from the code; `--markdown` is the list in docs/rubrics.md.
"""

from __future__ import annotations

import argparse
import json
import textwrap
import typing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported by the handler only, so `grader --help` stays instant
    from pydantic import BaseModel

WIDTH = 100


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("checks", help="list the check types a rubric can use",
                              description="List every check type with its parameters (name, type, default) "
                                          "and what it verifies.")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="as JSON")
    fmt.add_argument("--markdown", action="store_true", help="as Markdown (the list in docs/rubrics.md)")
    p.set_defaults(handler=run)


def describe(registry: Any = None) -> list[dict[str, Any]]:
    """Every check type as data: name, implemented, runs it needs, doc, parameters."""
    from grader.checks import REGISTRY

    registry = registry if registry is not None else REGISTRY
    out = []
    for t in registry:
        runs = sorted(t.variants) if not callable(t.variants) else ["(set by its parameters)"]
        out.append({"name": t.name, "implemented": t.implemented, "runs": runs, "doc": t.doc,
                    "params": params_of(t.params)})
    return out


def params_of(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        prop = props.get(key, {})
        out.append({
            "name": key,
            "type": _type_name(prop, schema.get("$defs", {})),
            "required": key in required,
            "default": None if key in required else _default(field),
            "description": field.description or "",
            "fields": params_of(nested) if (nested := _nested_model(field.annotation)) else [],
        })
    return out


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside `Model`, `list[Model]` or `Model | None`, if any."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _default(field: Any) -> Any:
    from pydantic import BaseModel

    value = field.get_default(call_default_factory=True)
    return value.model_dump() if isinstance(value, BaseModel) else value


def _type_name(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " | ".join(_type_name(p, defs) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list[{_type_name(prop.get('items', {}), defs)}]"
    return {"integer": "int", "number": "number", "string": "str", "boolean": "bool",
            "null": "null", "object": "mapping"}.get(kind, str(kind))


def render_text(checks: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for c in checks:
        status = "" if c["implemented"] else "  [declared; not implemented yet]"
        runs = ", ".join(c["runs"]) or "none (static)"
        lines.append(f"{c['name']}{status}")
        lines += textwrap.wrap(" ".join(c["doc"].split()), WIDTH - 4, initial_indent="    ",
                               subsequent_indent="    ")
        lines.append(f"    runs: {runs}")
        lines += _text_params(c["params"], "    ")
        lines.append("")
    return "\n".join(lines)


def _text_params(params: list[dict[str, Any]], indent: str) -> list[str]:
    lines: list[str] = []
    for p in params:
        default = "required" if p["required"] else f"default {json.dumps(p['default'])}"
        lines.append(f"{indent}- {p['name']}: {p['type']} ({default})")
        if p["description"]:
            lines += textwrap.wrap(p["description"], WIDTH - len(indent) - 4, initial_indent=indent + "    ",
                                   subsequent_indent=indent + "    ")
        lines += _text_params(p["fields"], indent + "    ")
    return lines


def render_markdown(checks: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for c in checks:
        status = " (declared; not implemented yet)" if not c["implemented"] else ""
        lines.append(f"### `{c['name']}`{status}")
        lines.append("")
        lines.append(" ".join(c["doc"].split()))
        lines.append("")
        lines.append(f"Runs it reads: {', '.join(c['runs']) or 'none (static)'}.")
        lines.append("")
        if c["params"]:
            lines.append("| parameter | type | default | meaning |")
            lines.append("|---|---|---|---|")
            lines += _markdown_rows(c["params"], "")
        else:
            lines.append("No parameters.")
        lines.append("")
    return "\n".join(lines)


def _markdown_rows(params: list[dict[str, Any]], prefix: str) -> list[str]:
    rows = []
    for p in params:
        default = "required" if p["required"] else f"`{json.dumps(p['default'])}`"
        ptype = p["type"].replace("|", "\\|")
        rows.append(f"| `{prefix}{p['name']}` | {ptype} | {default} | {p['description']} |")
        rows += _markdown_rows(p["fields"], f"{prefix}{p['name']}[].")
    return rows


def run(args: argparse.Namespace) -> int:
    checks = describe()
    if args.json:
        print(json.dumps(checks, indent=2))
    elif args.markdown:
        print(render_markdown(checks), end="")
    else:
        print(render_text(checks), end="")
    return 0

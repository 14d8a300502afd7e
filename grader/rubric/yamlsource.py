"""Read a YAML file keeping where every value came from, so a problem can name its line.

`read_yaml` parses the text twice over the same composed node tree: once into plain Python
values, once into an index from a path (`("questions", 2, "checks", 1, "timout")`) to the
line of that key or item. Problems YAML itself hides are reported too: a key given twice in
one mapping (PyYAML would silently keep the last one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from grader.rubric.problems import Problem

Path = tuple[str | int, ...]


@dataclass
class YamlSource:
    """Parsed YAML (`data`) with the node tree to find lines by path."""

    file: str
    data: Any
    root: yaml.Node | None

    def line(self, path: Sequence[str | int], *, key: bool = True) -> int:
        """1-based line of the value at `path` (or of its key, for a mapping entry, when `key`).

        A path that does not exist (a missing key) gives the line of its nearest existing
        parent, where the key should have been written.
        """
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        line = (k if key else v).start_mark.line + 1
                        node = v
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = True) -> Problem:
        return Problem(self.file, self.line(path, key=key), tuple(path), message)


def read_yaml(text: str, file: str) -> tuple[YamlSource | None, list[Problem]]:
    """Parse `text`; on a syntax error return no source and the error as a problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(str(s) for s in (exc.context, exc.problem) if s)
        return None, [Problem(file, line, (), f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        return None, [Problem(file, 1, (), f"YAML error: {exc}")]
    source = YamlSource(file, data, root)
    return source, _duplicate_keys(source, root, ())


def _duplicate_keys(source: YamlSource, node: yaml.Node | None, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else None
            if name is not None and name in first_line:
                problems.append(Problem(source.file, k.start_mark.line + 1, (*path, name),
                                        f"duplicate key (first given on line {first_line[name]})"))
            elif name is not None:
                first_line[name] = k.start_mark.line + 1
            problems += _duplicate_keys(source, v, (*path, name if name is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(source, item, (*path, i))
    return problems

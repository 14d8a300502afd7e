"""What one isolated run executes: an answer's code plus what it needs from earlier cells.

A notebook kernel keeps what earlier cells defined, so an answer may use `multiprocessing`
imported two questions before, or `square` defined in the previous cell. The program for a
question therefore starts with a *prelude*: the definitions the answer needs (imports,
functions, classes, simple constant assignments) taken from earlier code cells of the same
submission, and only those, found by following the names the answer uses. Earlier questions'
prints, sleeps, process starts and `if __name__ == "__main__":` blocks are never copied.

Notebook code (a notebook's cells, and cells of its exports: `In [n]:` text, `# In[ ]:`
scripts, Markdown notebooks) ran in IPython, so it is read as IPython read it before the
grader calls it broken, and every difference is noted on the program:
- magics and shell lines (`%timeit`, `!pip install`) are replaced by `pass` (so an indented
  block stays valid);
- a cell whose first line is indented has that indentation removed from every line
  (IPython's leading-indent transform), when the code does not compile without it;
- `display(...)` works: when the answer calls it and defines no `display` of its own, a small
  function that prints each object as IPython's plain-text display does is put first.
Plain scripts and answer sheets without cell markers are run as written. The program is run
as a real `__main__` script.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from grader.answers import Answer, AnswerPart
from grader.pysource import compiles, identifiers, syntax_error
from grader.submission import Cell, CellKind, Format, Submission

_MAGIC = re.compile(r"^(?P<indent>\s*)(?P<magic>(%{1,2}|!)\S.*|get_ipython\(\).*)$")
_BUILTINS = set(dir(builtins)) | {"__name__", "__file__", "__builtins__", "__doc__", "__spec__"}


@dataclass(frozen=True)
class PreludeItem:
    cell: int  # Submission cell index it came from
    names: tuple[str, ...]  # names it defines
    first_line: int  # 1-based lines in the program
    last_line: int


@dataclass
class Program:
    question: str
    attempt: int  # which code part of the answer (0 = the first)
    cell: int  # Submission cell index of the answer's code
    source: str
    answer_first_line: int  # 1-based line in `source` where the answer's own code starts
    answer_line_count: int
    prelude: list[PreludeItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    syntax_error: dict[str, Any] | None = None
    from_markdown: bool = False

    def answer_line(self, program_line: int) -> int | None:
        """The line of the student's answer (1-based) that a program line came from."""
        offset = program_line - self.answer_first_line
        return offset + 1 if 0 <= offset < self.answer_line_count else None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "attempt": self.attempt,
            "cell": self.cell,
            "source": self.source,
            "answer_first_line": self.answer_first_line,
            "prelude": [{"cell": p.cell, "names": list(p.names), "lines": [p.first_line, p.last_line]}
                        for p in self.prelude],
            "notes": list(self.notes),
            "syntax_error": self.syntax_error,
            "from_markdown": self.from_markdown,
        }


def strip_magics(code: str) -> tuple[str, list[str]]:
    """Replace IPython magics and shell escapes by `pass`, keeping line numbers and indentation."""
    out: list[str] = []
    notes: list[str] = []
    in_string = False
    for n, line in enumerate(code.split("\n"), start=1):
        # Crude guard: a line inside a triple-quoted string is text, not a magic.
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_string = not in_string
        m = _MAGIC.match(line) if not in_string else None
        if m and not line.lstrip().startswith("#"):
            out.append(f"{m.group('indent')}pass  # removed by the grader: {m.group('magic')[:60]}")
            notes.append(f"line {n}: removed IPython/shell line {m.group('magic').strip()[:60]!r}")
        else:
            out.append(line)
    return "\n".join(out), notes


def leading_indent(code: str) -> str:
    """IPython's leading-indent transform: the first non-blank line's indentation, removed from
    every line that starts with it."""
    lines = code.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if not indent:
        return code
    return "\n".join(ln[len(indent):] if ln.startswith(indent) else ln for ln in lines)


def is_notebook_code(submission: Submission, cell: Cell) -> bool:
    """Code that ran in IPython: a notebook's cell, or a cell of a notebook's export."""
    return submission.format_of(cell.index) in (Format.NOTEBOOK, Format.MARKDOWN) or cell.prompt is not None


def as_ipython_read(code: str, notebook: bool) -> tuple[str, list[str]]:
    """The code as IPython read it (for notebook code), and what had to change for a script."""
    if not notebook:
        return code, []
    code, notes = strip_magics(code)
    if not compiles(code):
        dedented = leading_indent(code)
        if dedented != code and compiles(dedented):
            code = dedented
            notes.append("the cell's lines share a leading indentation, which IPython removes (its leading-indent "
                         "transform); run as a script as written, it is an IndentationError")
    return code, notes


DISPLAY_SHIM = (
    "def display(*objs, **kwargs):  # IPython's display(), as its plain-text output prints it\n"
    "    for obj in objs:\n"
    "        print(repr(obj))"
)


# -- what a piece of code defines and uses ------------------------------------------------------

def _defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {a.asname or a.name for a in node.names if a.name != "*"}
    if isinstance(node, ast.Assign):
        return {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _used(node: ast.AST) -> set[str]:
    """Names read anywhere in the node (a superset of its free names, which is what we need).

    `multiprocessing.Pool` reads the name `multiprocessing`: attribute bases are loads too.
    """
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - _BUILTINS


def _is_simple_constant(node: ast.stmt) -> bool:
    """`N = 4`, `nos = [1, 2, 3]`, `names = ("a", "b")`: no calls, nothing that acts."""
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    if value is None:
        return False
    return not any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda))
                   for n in ast.walk(value))


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    return isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_simple_constant(node)


@dataclass
class _Def:
    cell: int
    order: int  # position in the file (cell index, statement index)
    names: set[str]
    uses: set[str]
    text: str
    star: bool = False


def _definitions(submission: Submission, before_cell: int) -> list[_Def]:
    """Top-level definitions in code cells before `before_cell`, in file order. In a folder of
    per-question files only the cell's own file counts: each file ran on its own."""
    defs: list[_Def] = []
    for cell in submission.cells[:before_cell]:
        if cell.kind is not CellKind.CODE or not cell.source.strip():
            continue
        if not submission.same_file(cell.index, before_cell):
            continue
        notebook = is_notebook_code(submission, cell)
        found = _cell_definitions(cell.source, notebook) if len(cell.source) <= _CACHED_CHARS \
            else _cell_definitions.__wrapped__(cell.source, notebook)  # a large cell is not kept past its grading
        for k, names, uses, text, star in found:
            defs.append(_Def(cell.index, cell.index * 10_000 + k, set(names), set(uses), text, star))
    return defs


_CACHED_CHARS = 20_000  # with maxsize, the cache holds at most about 40 MB, typically a few hundred KB


@lru_cache(maxsize=1024)
def _cell_definitions(source: str, notebook: bool) -> tuple[tuple[int, frozenset[str], frozenset[str], str, bool], ...]:
    """The top-level definitions of one cell's source: (statement index, names defined, names used, text,
    star import). Cached: every attempt of every question reads every earlier cell."""
    code, _ = as_ipython_read(source, notebook)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return ()  # a cell that never compiled defined nothing in the kernel either
    lines = code.split("\n")
    found = []
    for k, node in enumerate(tree.body):
        if not _is_definition(node):
            continue
        end = getattr(node, "end_lineno", node.lineno) or node.lineno
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "\n".join(lines[start - 1 : end])
        star = isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        found.append((k, frozenset(_defined(node)), frozenset(_used(node)), text, star))
    return tuple(found)


def needed_prelude(submission: Submission, answer_code: str, before_cell: int) -> list[_Def]:
    """The earlier definitions the answer needs, following names transitively, in file order."""
    try:
        tree = ast.parse(answer_code)
    except (SyntaxError, ValueError, RecursionError):
        # Code with a syntax error still gets what it names, so the error is its only problem.
        return _providers(_definitions(submission, before_cell), identifiers(answer_code) - _BUILTINS)
    defined_here: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            defined_here |= _defined(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            defined_here |= {a.arg for a in [*args.args, *args.kwonlyargs, *args.posonlyargs]}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined_here.add(node.id)
    return _providers(_definitions(submission, before_cell), _used(tree) - defined_here)


def _providers(defs: list[_Def], wanted: set[str]) -> list[_Def]:
    """The latest definition of each wanted name, and of the names those use, in file order."""
    chosen: dict[int, _Def] = {}
    queue = list(wanted)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        provider = next((d for d in reversed(defs) if name in d.names), None)
        if provider is None:
            continue
        if provider.order not in chosen:
            chosen[provider.order] = provider
            queue.extend(provider.uses - provider.names)
    unresolved = {n for n in seen if not any(n in d.names for d in chosen.values())}
    if unresolved:
        for d in defs:
            if d.star:
                chosen.setdefault(d.order, d)
    return [chosen[k] for k in sorted(chosen)]


def _calls_display(code: str) -> bool:
    """The code calls `display(...)` and neither defines nor imports a `display` itself."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "display"
                for n in ast.walk(tree))
    defined = any(isinstance(n, ast.stmt) and "display" in _defined(n) for n in ast.walk(tree))
    return calls and not defined


def build_program(submission: Submission, answer: Answer, attempt: int = 0) -> Program | None:
    """The program for one code attempt of an answer, or None when it has no code."""
    parts: Sequence[AnswerPart] = answer.code_parts()
    if attempt >= len(parts):
        return None
    part = parts[attempt]
    notebook = is_notebook_code(submission, submission.cells[part.cell])
    code, notes = as_ipython_read(part.text, notebook)
    prelude_defs = needed_prelude(submission, code, part.cell)
    pieces: list[str] = []
    items: list[PreludeItem] = []
    line = 1
    if notebook and _calls_display(code) and not any("display" in d.names for d in prelude_defs):
        pieces.append("# --- IPython's display(), which notebook code can call without importing it ---")
        pieces.append(DISPLAY_SHIM)
        line += 1 + DISPLAY_SHIM.count("\n") + 1
        notes.append("calls display(), which IPython provides without an import; the grader supplies one that "
                     "prints each object's repr, as IPython's plain-text display does")
    if prelude_defs:
        header = "# --- from earlier cells (what this answer uses) ---"
        pieces.append(header)
        line += 1
        for d in prelude_defs:
            n = d.text.count("\n") + 1
            items.append(PreludeItem(d.cell, tuple(sorted(d.names)), line, line + n - 1))
            pieces.append(d.text)
            line += n
        pieces.append("# --- the answer ---")
        line += 1
    pieces.append(code)
    source = "\n".join(pieces) + "\n"
    # Read as IPython read it, the code may compile where the student's text did not: then the
    # locator's "does not compile" note is not true of what runs.
    part_notes = [n for n in part.notes if not (n.startswith("does not compile") and code != part.text
                                                   and compiles(code))]
    program = Program(question=answer.question, attempt=attempt, cell=part.cell, source=source,
                      answer_first_line=line, answer_line_count=code.count("\n") + 1, prelude=items,
                      notes=notes + part_notes, from_markdown=part.from_markdown)
    for item in items:
        program.notes.append(f"uses {', '.join(item.names)} from {submission.describe_cell(item.cell)}")
    err = syntax_error(source)
    if err is not None:
        answer_line = program.answer_line(err.lineno or 0)
        program.syntax_error = {
            "message": err.msg,
            "line": answer_line,
            "program_line": err.lineno,
            "offset": err.offset,
            "text": (err.text or "").rstrip("\n"),
        }
    return program

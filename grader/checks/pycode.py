"""Static facts about a student's Python code, read with `ast` (never executed).

- `parse_lenient`: parse, and when a few lines are not Python (a stray line of prose, an
  IPython magic) parse without them, saying which lines were ignored.
- `Code`: the parsed module with names resolved through imports (`import multiprocessing as
  mp`, `from multiprocessing import Process as P`, `from multiprocessing import *`) and a small
  type inference (a variable bound to `Pool(...)`, `with Pool() as p`, a list of `Process`
  objects and a `for` loop over it), so a call can be named by what it really calls:
  `p.map(...)` is `multiprocessing.Pool.map`.
- `process_creations` and `main_guard_status`: where processes are created, and whether each
  of those places runs only under `if __name__ == "__main__":` (directly, or inside functions
  called only from there) or also when the module is imported, as `spawn` children do.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

# Canonical names of the things that start processes, by every path they are importable from.
_CANONICAL = {
    "multiprocessing.context.Process": "multiprocessing.Process",
    "multiprocessing.process.BaseProcess": "multiprocessing.Process",
    "multiprocessing.pool.Pool": "multiprocessing.Pool",
    "multiprocessing.managers.SyncManager": "multiprocessing.Manager",
    "concurrent.futures.process.ProcessPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
}
PROCESS_CLASS = "multiprocessing.Process"
PROCESS_STARTERS = frozenset({
    "multiprocessing.Process", "multiprocessing.Pool", "multiprocessing.Manager",
    "concurrent.futures.ProcessPoolExecutor",
})
# Instances of these are returned by calling them (their __enter__ returns the object itself).
_CLASSES = PROCESS_STARTERS | {
    "multiprocessing.Queue", "multiprocessing.pool.ThreadPool", "concurrent.futures.ThreadPoolExecutor",
    "threading.Thread",
}
# Calls returning an object whose attributes are the multiprocessing module's (a context).
_CONTEXTS = frozenset({"multiprocessing.get_context"})
# What `from M import *` brings in, for the modules that matter here.
_STAR_EXPORTS = {
    "multiprocessing": {"Process", "Pool", "Queue", "Manager", "Pipe", "Lock", "Value", "Array",
                        "get_context", "set_start_method", "current_process", "cpu_count", "active_children"},
    "concurrent.futures": {"ProcessPoolExecutor", "ThreadPoolExecutor", "as_completed", "wait"},
    "threading": {"Thread", "Lock", "current_thread"},
}
_WELL_KNOWN_MODULES = frozenset({"multiprocessing", "concurrent", "threading", "os", "sys", "time", "random"})
_MAX_DROPPED_LINES = 10


@dataclass
class Parsed:
    tree: ast.Module | None
    dropped_lines: list[int] = field(default_factory=list)  # 1-based lines ignored to make it parse
    error: str | None = None  # the first syntax error met, if any


def parse_lenient(code: str) -> Parsed:
    """Parse `code`; on a syntax error blank the offending line and retry (a few times).

    Code that only parses once half its lines are gone is not Python: it gives no tree.
    """
    lines = code.splitlines()
    n_code_lines = sum(1 for ln in lines if ln.strip())
    dropped: list[int] = []
    first_error: str | None = None
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
                tree = ast.parse("\n".join(lines))
            if dropped and len(dropped) * 2 >= n_code_lines:  # mostly not Python: nothing left to judge
                return Parsed(None, dropped, first_error)
            return Parsed(tree, dropped, first_error)
        except SyntaxError as exc:
            if first_error is None:
                first_error = f"{exc.msg} (line {exc.lineno})"
            lineno = exc.lineno
            if lineno is None or not 1 <= lineno <= len(lines) or len(dropped) >= _MAX_DROPPED_LINES \
                    or not lines[lineno - 1].strip():
                return Parsed(None, dropped, first_error)
            lines[lineno - 1] = ""
            dropped.append(lineno)
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
            return Parsed(None, dropped, str(exc))


def canonical(name: str) -> str:
    return _CANONICAL.get(name, name)


@dataclass(frozen=True)
class CallSite:
    line: int
    name: str  # qualified name of what is called, '?.method' when the receiver is unknown
    node: ast.Call = field(compare=False, repr=False)


class Code:
    """A parsed module with import-resolved, type-inferred call names."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        # every node, in ast.walk's order: walked once here rather than by each of the passes below
        self.nodes: list[ast.AST] = list(ast.walk(tree))
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.star_modules: list[str] = []
        self.imported_modules: set[str] = set()
        self.subclasses: dict[str, str] = {}  # local class -> canonical starter class it extends
        self.types: dict[str, str] = {}  # variable -> qualified class, 'list[...]' or a context
        self._read_imports()
        self._read_subclasses()
        for _ in range(3):  # a few passes reach a fixpoint for the shapes students write
            self._infer_types()

    # --- names -------------------------------------------------------------------------------
    def _read_imports(self) -> None:
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    self._add_module(a.name)
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                self._add_module(node.module)
                for a in node.names:
                    if a.name == "*":
                        self.star_modules.append(node.module)
                    else:
                        self.imported_modules.add(f"{node.module}.{a.name}")
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def _add_module(self, module: str) -> None:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            self.imported_modules.add(".".join(parts[:i]))

    def _read_subclasses(self) -> None:
        for node in self.nodes:
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    name = self.qualname(base)
                    if name is not None and canonical(name) in PROCESS_STARTERS:
                        self.subclasses[node.name] = canonical(name)

    def _resolve_name(self, name: str) -> str | None:
        """An imported, subclassed or star-imported name, qualified; None if not from an import."""
        if name in self.aliases:
            return self.aliases[name]
        if name in self.subclasses:
            return self.subclasses[name]
        for module in self.star_modules:
            if name in _STAR_EXPORTS.get(module, ()):
                return f"{module}.{name}"
        if name in _WELL_KNOWN_MODULES:  # imported in a cell the answer's code does not include
            return name
        return None

    def qualname(self, expr: ast.expr) -> str | None:
        """What `expr` names: 'multiprocessing.Pool' for `mp.Pool`, 'multiprocessing.Pool.map'
        for `pool.map` when `pool` holds a Pool; a bare name (`main`, `print`) is itself;
        None when unknown (an attribute of a value of unknown type)."""
        if isinstance(expr, ast.Name):
            return self.types.get(expr.id) or self._resolve_name(expr.id) or expr.id
        if isinstance(expr, ast.Attribute):
            value = expr.value
            if isinstance(value, ast.Name):
                base = self.types.get(value.id) or self._resolve_name(value.id)
            elif isinstance(value, ast.Attribute):
                base = self.qualname(value)
            else:
                base = self.value_type(value)
            return canonical(f"{base}.{expr.attr}") if base else None
        return None

    def value_type(self, expr: ast.expr) -> str | None:
        """The class (or module, for a context) of the value of `expr`, when known."""
        if isinstance(expr, ast.Call):
            func = self.qualname(expr.func)
            if func is None:
                return None
            func = canonical(func)
            if func in _CONTEXTS:
                return "multiprocessing"
            if func in _CLASSES:
                return func
            return None
        if isinstance(expr, ast.Name):
            return self.types.get(expr.id)
        if isinstance(expr, (ast.List, ast.Tuple)) and expr.elts:
            inner = {self.value_type(e) for e in expr.elts}
            only = inner.pop() if len(inner) == 1 else None
            return f"list[{only}]" if only else None
        if isinstance(expr, ast.ListComp):
            inner_type = self.value_type(expr.elt)
            return f"list[{inner_type}]" if inner_type else None
        return None

    def _infer_types(self) -> None:
        for node in self.nodes:
            if isinstance(node, ast.Assign):
                t = self.value_type(node.value)
                if t:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.types[target.id] = t
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    t = self.value_type(item.context_expr)
                    if t and isinstance(item.optional_vars, ast.Name):
                        self.types[item.optional_vars.id] = t
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                t = self.value_type(node.iter)
                if t and t.startswith("list[") and t.endswith("]"):
                    self.types[node.target.id] = t[5:-1]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "append" and isinstance(node.func.value, ast.Name) and node.args:
                t = self.value_type(node.args[0])
                if t:
                    self.types.setdefault(node.func.value.id, f"list[{t}]")

    # --- calls -------------------------------------------------------------------------------
    def calls(self) -> Iterator[CallSite]:
        for node in self.nodes:
            if isinstance(node, ast.Call):
                name = self.qualname(node.func)
                if name is None and isinstance(node.func, ast.Attribute):
                    name = f"?.{node.func.attr}"
                if name is not None:
                    yield CallSite(node.lineno, canonical(name), node)

    def process_creations(self) -> list[CallSite]:
        """Calls that create a process (or a pool, executor or manager that starts some)."""
        found = []
        for site in self.calls():
            if site.name in PROCESS_STARTERS or site.name == f"{PROCESS_CLASS}.start":
                found.append(site)
        return found


def calls_match(name: str, wanted: str) -> bool:
    """Does the call `name` ('multiprocessing.Pool.map') match the rubric's `wanted` ('Pool.map')?

    More qualified is stricter: 'map' matches any map, 'Pool.map' only a Pool's, and
    'multiprocessing.Pool.map' only multiprocessing's Pool's.
    """
    return name == wanted or name.endswith("." + wanted)


# --- the main guard ------------------------------------------------------------------------------
def _is_main_test(test: ast.expr) -> bool | None:
    """True for `__name__ == "__main__"` (either order, or `in ("__main__",)`), False for `!=`,
    None for anything else. `x and __name__ == "__main__"` counts as the guard."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return True if any(_is_main_test(v) is True for v in test.values) else None
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]

    def is_name(e: ast.expr) -> bool:
        return isinstance(e, ast.Name) and e.id == "__name__"

    def is_main(e: ast.expr) -> bool:
        if isinstance(e, ast.Constant):
            return e.value == "__main__"
        if isinstance(e, (ast.Tuple, ast.List, ast.Set)):
            return any(isinstance(x, ast.Constant) and x.value == "__main__" for x in e.elts)
        return False

    if (is_name(left) and is_main(right)) or (is_main(left) and is_name(right)):
        if isinstance(op, (ast.Eq, ast.In, ast.Is)):
            return True
        if isinstance(op, (ast.NotEq, ast.NotIn, ast.IsNot)):
            return False
    return None


@dataclass(frozen=True)
class GuardFinding:
    site: CallSite
    status: str  # "guarded", "unguarded" (runs on import), "never-runs" (in code nothing calls)
    via: tuple[str, ...] = ()  # the functions through which it runs, outermost first


def main_guard_status(code: Code) -> list[GuardFinding]:
    """For each process creation, whether it runs only under the main guard."""
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for node in code.nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(node.name, []).append(node)

    # Calls made by code that runs when the module executes, split by guard.
    top_calls: dict[bool, list[ast.Call]] = {True: [], False: []}
    _collect_top(code.tree.body, False, top_calls)

    def reach(start: list[ast.Call]) -> dict[str, tuple[str, ...]]:
        """Functions reachable from these calls, with the call chain that reaches each."""
        seen: dict[str, tuple[str, ...]] = {}
        todo: list[tuple[ast.Call, tuple[str, ...]]] = [(c, ()) for c in start]
        while todo:
            call, chain = todo.pop()
            name = _called_name(call)
            if name is None or name not in functions or name in seen:
                continue
            seen[name] = (*chain, name)
            for fn in functions[name]:
                for inner in _calls_in(fn.body):
                    todo.append((inner, seen[name]))
        return seen

    unguarded_fns = reach(top_calls[False])
    guarded_fns = reach(top_calls[True])
    top_unguarded = {id(c) for c in top_calls[False]}
    top_guarded = {id(c) for c in top_calls[True]}
    owner = _enclosing_function(code.tree)

    findings = []
    for site in code.process_creations():
        fn = owner.get(id(site.node))
        if fn is None:
            if id(site.node) in top_unguarded:
                findings.append(GuardFinding(site, "unguarded"))
            elif id(site.node) in top_guarded:
                findings.append(GuardFinding(site, "guarded"))
            else:  # e.g. inside a lambda or a class body nobody instantiates
                findings.append(GuardFinding(site, "never-runs"))
        elif fn in unguarded_fns:
            findings.append(GuardFinding(site, "unguarded", unguarded_fns[fn]))
        elif fn in guarded_fns:
            findings.append(GuardFinding(site, "guarded", guarded_fns[fn]))
        else:
            findings.append(GuardFinding(site, "never-runs", (fn,)))
    return findings


def _collect_top(body: list[ast.stmt], guarded: bool, out: dict[bool, list[ast.Call]]) -> None:
    """Calls in statements that run when the module runs, under the guard or not."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for expr in [*stmt.decorator_list, *stmt.args.defaults, *stmt.args.kw_defaults]:
                if expr is not None:
                    out[guarded] += _calls_in_expr(expr)
            continue
        if isinstance(stmt, ast.ClassDef):
            for expr in [*stmt.decorator_list, *stmt.bases]:
                out[guarded] += _calls_in_expr(expr)
            _collect_top(stmt.body, guarded, out)
            continue
        if isinstance(stmt, ast.If):
            is_main = _is_main_test(stmt.test)
            out[guarded] += _calls_in_expr(stmt.test)
            _collect_top(stmt.body, guarded or is_main is True, out)
            _collect_top(stmt.orelse, guarded or is_main is False, out)
            continue
        nested = [getattr(stmt, name) for name in ("body", "orelse", "finalbody") if hasattr(stmt, name)]
        handlers = getattr(stmt, "handlers", None) or getattr(stmt, "cases", None) or []
        if nested or handlers:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    out[guarded] += _calls_in_expr(child)
                elif isinstance(child, ast.withitem):
                    out[guarded] += _calls_in_expr(child.context_expr)
            for block in nested:
                _collect_top(block, guarded, out)
            for handler in handlers:
                _collect_top(handler.body, guarded, out)
            continue
        out[guarded] += _calls_in_expr(stmt)


def _calls_in_expr(node: ast.AST) -> list[ast.Call]:
    """Calls evaluated when `node` is evaluated (not those inside lambdas or nested defs)."""
    out: list[ast.Call] = []
    todo: list[ast.AST] = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
            continue
        if isinstance(n, ast.Call):
            out.append(n)
        todo.extend(ast.iter_child_nodes(n))
    return out


def _calls_in(body: list[ast.stmt]) -> list[ast.Call]:
    out: list[ast.Call] = []
    for stmt in body:
        out += _calls_in_expr(stmt) if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        if isinstance(stmt, ast.ClassDef):
            out += _calls_in(stmt.body)
    return out


def _called_name(call: ast.Call) -> str | None:
    """The bare name a call refers to: `main()` -> 'main', `obj.run()` -> 'run'."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _enclosing_function(tree: ast.Module) -> dict[int, str]:
    """id(node) -> name of the innermost function whose body contains it."""
    owner: dict[int, str] = {}

    def visit(node: ast.AST, fn: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            if inner is not None:
                owner[id(child)] = inner
            visit(child, inner)

    visit(tree, None)
    return owner


def imported(code: str, parsed: Parsed) -> set[str]:
    """Modules the code imports (with their parent packages); a regex fallback if it did not parse."""
    if parsed.tree is not None:
        return Code(parsed.tree).imported_modules
    found: set[str] = set()
    for m in re.finditer(r"^\s*(?:import|from)\s+([A-Za-z_][\w.]*)", code, re.MULTILINE):
        parts = m.group(1).split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return found

"""How long a program says, in its own code, that it will sleep: the order a batch starts runs in.

A run that sleeps keeps its wall time but not a core. Started last, it ends the batch alone, with
the cores idle for as long as it sleeps (a notebook whose workers `time.sleep(2)` cost a 2-core
batch 2 s at its end); started first, its sleep overlaps the other runs' work. So a batch gives a
waiting run's slot to the run expected to take longest first (grader.runslots), and this is what
it expects: the seconds of the `sleep(...)` calls whose argument is a number in the code
(`time.sleep(1.5)`, `sleep(2)`, `asyncio.sleep(1)`), each counted as often as the `for ... in
range(N)` loops around it say (N a number), at most once per other loop.

Only an order: it changes when a run starts, never what it shows (verdicts come from kernel facts
and program order: docs/sandbox.md). A program can claim a long sleep to be started early; that
costs the batch nothing but the order. Code that does not parse expects nothing.
"""

from __future__ import annotations

import ast
import warnings

MAX_REPEAT = 1000  # a loop counted at most this many times
MAX_SECONDS = 3600.0  # what any one program is expected to sleep at most


def _number(node: ast.AST | None) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def _repeats(loop: ast.For | ast.AsyncFor) -> int:
    """How many times a `for` loop's body runs, when its iterable says: `range(N)`, `range(A, B)`."""
    it = loop.iter
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" \
            and 1 <= len(it.args) <= 2 and not it.keywords:
        bounds = [_number(a) for a in it.args]
        if all(b is not None and b == int(b) for b in bounds):
            lo, hi = (0.0, bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
            assert lo is not None and hi is not None
            return max(0, min(MAX_REPEAT, int(hi - lo)))
    return 1


def _is_sleep(call: ast.Call) -> bool:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name == "sleep" and len(call.args) == 1


def expected_sleep(source: str) -> float:
    """Seconds the program's literal `sleep` calls add up to (see the module's text); 0 when none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not this module's business
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0.0
    total = 0.0
    stack: list[tuple[ast.AST, float]] = [(tree, 1.0)]
    while stack:
        node, times = stack.pop()
        if isinstance(node, ast.Call) and _is_sleep(node):
            seconds = _number(node.args[0])
            if seconds is not None and seconds > 0:
                total += seconds * times
        inner = times * _repeats(node) if isinstance(node, (ast.For, ast.AsyncFor)) else times
        for child in ast.iter_child_nodes(node):
            # a loop's iterable is evaluated once; only its body repeats
            stack.append((child, times if isinstance(node, (ast.For, ast.AsyncFor)) and child is node.iter
                          else inner))
        if total >= MAX_SECONDS:
            return MAX_SECONDS
    return min(total, MAX_SECONDS)

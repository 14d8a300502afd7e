"""Checks that read the answer's code without running it: `main_guard`, `imports`, `calls`.

They read `ctx.code()`: the program built for the answer (its code plus the definitions it
needs from earlier cells) or, when there is none, the answer's code parts. Code that does not
parse is read without the few lines that break it (a stray line of prose, an IPython magic),
and the evidence says which lines were ignored; code that cannot be read at all fails with the
syntax error in the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.checks.context import CheckContext
from grader.checks.pycode import (
    Code,
    GuardFinding,
    Parsed,
    calls_match,
    imported,
    main_guard_status,
    parse_lenient,
)
from grader.checks.registry import register
from grader.checks.verdict import Verdict, no_code

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import CallsParams, ImportsParams, NoParams

_GUARD = 'if __name__ == "__main__":'


def _parsed_evidence(parsed: Parsed) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if parsed.dropped_lines:
        evidence["ignored_lines"] = parsed.dropped_lines
        evidence["syntax_error"] = parsed.error
    return evidence


def _describe(f: GuardFinding) -> str:
    what = f.site.name.removeprefix("multiprocessing.").removeprefix("concurrent.futures.")
    via = f" (through {' -> '.join(f.via)}())" if f.via else ""
    return f"line {f.site.line}: {what}(...){via}"


@register("main_guard", params="NoParams")
def main_guard(ctx: CheckContext, params: NoParams) -> Verdict:
    """Process creation (multiprocessing Process(...).start(), Pool(...), Manager(),
    ProcessPoolExecutor(...)) happens only under `if __name__ == "__main__":`, directly or in
    functions called only from there, so a child started with `spawn` can import the program
    without starting processes itself. Code that creates no process fails: there is nothing
    the guard protects."""
    code = ctx.code()
    if not code.strip():
        return no_code(ctx.answer, "No code was found for this question.")
    parsed = parse_lenient(code)
    evidence = _parsed_evidence(parsed)
    if parsed.tree is None:
        return Verdict.failed(f"Your code could not be read: {parsed.error}.", {"syntax_error": parsed.error})
    findings = main_guard_status(Code(parsed.tree))
    evidence["creations"] = [
        {"line": f.site.line, "call": f.site.name, "status": f.status, "via": list(f.via)} for f in findings]
    running = [f for f in findings if f.status != "never-runs"]
    if not findings:
        return Verdict.failed("No process is created in this code (no multiprocessing Process, Pool or "
                              f"ProcessPoolExecutor), so there is nothing for `{_GUARD}` to protect.",
                              evidence)
    if not running:
        return Verdict.failed("The code that creates processes is never called, so no process is created.",
                              evidence)
    unguarded = [f for f in running if f.status == "unguarded"]
    if unguarded:
        where = "; ".join(_describe(f) for f in unguarded)
        return Verdict.failed(f"Processes are created outside `{_GUARD}` ({where}). Under the spawn start "
                              "method each child imports your program again and would run this too: put it "
                              "under the guard.", evidence)
    return Verdict.passed(f"Processes are created only under `{_GUARD}`.", evidence)


@register("imports", params="ImportsParams")
def imports(ctx: CheckContext, params: ImportsParams) -> Verdict:
    """The code imports the given modules (`import m`, `import m as x`, `from m import y`, or a
    submodule of m)."""
    code = ctx.code()
    parsed = parse_lenient(code)
    found = imported(code, parsed)
    missing = [m for m in params.modules if m not in found]
    evidence = {**_parsed_evidence(parsed), "imported": sorted(found), "missing": missing}
    ok = not missing if params.require == "all" else len(missing) < len(params.modules)
    if ok:
        found_wanted = [m for m in params.modules if m not in missing]
        return Verdict.passed(f"Imports {', '.join(found_wanted)}.", evidence)
    wanted = " or ".join(params.modules) if params.require == "any" else ", ".join(missing)
    return Verdict.failed(f"The code does not import {wanted}.", evidence)


@register("calls", params="CallsParams")
def calls(ctx: CheckContext, params: CallsParams) -> Verdict:
    """The code calls the given functions or methods, resolved through imports and simple
    variable tracking: `with mp.Pool() as p: p.map(...)` calls `multiprocessing.Pool.map`."""
    code = ctx.code()
    parsed = parse_lenient(code)
    if parsed.tree is None:
        return Verdict.failed(f"Your code could not be read: {parsed.error}.", {"syntax_error": parsed.error})
    names = sorted({site.name for site in Code(parsed.tree).calls()})
    found = {w: [n for n in names if calls_match(n, w)] for w in params.calls}
    missing = [w for w, hits in found.items() if not hits]
    evidence = {**_parsed_evidence(parsed), "matched": {w: h for w, h in found.items() if h},
                "missing": missing}
    ok = not missing if params.require == "all" else len(missing) < len(params.calls)
    if ok:
        return Verdict.passed(f"Calls {', '.join(w for w in params.calls if w not in missing)}.", evidence)
    wanted = " or ".join(params.calls) if params.require == "any" else ", ".join(missing)
    return Verdict.failed(f"The code does not call {wanted}.", evidence)

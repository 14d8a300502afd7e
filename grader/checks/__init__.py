"""Check types: what can be verified about an answer, each a registered function.

Public API:

    Status, Verdict                 one check's outcome (see grader.checks.verdict for scoring)
    CheckContext                    what a check may read (question, answer, program, traces)
    Registry, CheckType, REGISTRY   the check types by name; `register` / `declare` add to REGISTRY
    Params, NoParams                base classes of parameter models (grader.checks.params)
    run_checks(question, ctx)       a question's verdicts, honouring `requires`

Importing this package registers the built-in check types:
answered, concepts (written answers); main_guard, imports, calls (static);
output_matches (the run's output); runs, process_created, pool_used, concurrent, spawn_safe
(behaviour, grader.checks.behaviour); distinct_numbers, one_number_per_process (numbers printed
by child processes, grader.checks.numbers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The built-in check types register themselves on import.
from grader.checks import answered, behaviour, concepts, numbers, output, static  # noqa: F401
from grader.checks.context import DEFAULT_VARIANT, SPAWN_VARIANT, CheckContext
from grader.checks.registry import REGISTRY, CheckType, Registry, declare, register
from grader.checks.runner import run_checks
from grader.checks.verdict import Status, Verdict

if TYPE_CHECKING:
    from grader.checks.params import NoParams, Params


def __getattr__(name: str) -> Any:
    """`Params` and `NoParams` (pydantic) are imported on first use: grading does not need them."""
    if name in ("Params", "NoParams"):
        from grader.checks import params

        return getattr(params, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_VARIANT",
    "REGISTRY",
    "SPAWN_VARIANT",
    "CheckContext",
    "CheckType",
    "NoParams",
    "Params",
    "Registry",
    "Status",
    "Verdict",
    "declare",
    "register",
    "run_checks",
]

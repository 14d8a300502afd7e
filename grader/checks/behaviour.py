"""Behaviour checks, judged from the Trace of a run: names and parameters, declared now.

Their functions come with the Trace (step two of issue 4). Until then each is *declared*:
rubrics using them validate (parameters included) and `grader checks` lists them, but they
cannot produce a verdict: `grader.rubric.unimplemented` names every such check, and
`ensure_gradable` refuses to grade with the rubric. Implementing one is
`@register(name, params=TheParams, variants=...)` on its function, in this module or its own,
with the same parameter model (the registry refuses a different one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from grader.checks.context import DEFAULT_VARIANT
from grader.checks.registry import Params, declare

DEFAULT_RUN = frozenset({DEFAULT_VARIANT})
Stream = Literal["stdout", "stderr", "log"]
ALL_STREAMS: list[Stream] = ["stdout", "stderr", "log"]


class RunsParams(Params):
    exit_codes: list[int] = Field(default_factory=lambda: [0], min_length=1,
                                  description="exit statuses that count as completing")


class ProcessCreatedParams(Params):
    n: int = Field(default=1, ge=1, description="child processes that must be started")
    process_class: bool = Field(default=False, description="they must be started with multiprocessing.Process "
                                                   "(not a Pool or executor)")


class PoolUsedParams(Params):
    min_tasks: int = Field(default=1, ge=1, description="tasks that must run in the pool's worker processes")
    executor: bool = Field(default=True, description="a concurrent.futures ProcessPoolExecutor counts as a pool")


class DistinctNumbersParams(Params):
    n: int = Field(default=4, ge=1, description="pairwise-different numbers child processes must print")
    streams: list[Stream] = Field(default_factory=lambda: list(ALL_STREAMS), min_length=1,
                                  description="where printed numbers count")


class OneNumberPerProcessParams(Params):
    n: int = Field(default=4, ge=1, description="child processes that must each print their own number")
    streams: list[Stream] = Field(default_factory=lambda: list(ALL_STREAMS), min_length=1,
                                  description="where printed numbers count")


class ConcurrentParams(Params):
    n: int = Field(default=2, ge=2, description="child processes that must be alive at the same time")


class SpawnSafeParams(Params):
    start_method: Literal["spawn", "forkserver"] = Field(
        default="spawn", description="start method of the re-run (also the name of its run variant)")
    checks: list[str] | None = Field(default=None, description="ids of this question's checks that must still pass "
                                                       "in the re-run; default: its behaviour checks")


declare("runs", params=RunsParams, variants=DEFAULT_RUN, doc="""
    The program completes within its limits without an uncaught exception, and exits with
    one of `exit_codes`.""")
declare("process_created", params=ProcessCreatedParams, variants=DEFAULT_RUN, doc="""
    At least `n` child OS processes were started through multiprocessing (with
    `process_class`, through multiprocessing.Process) and their target code ran in a
    different process from the parent.""")
declare("pool_used", params=PoolUsedParams, variants=DEFAULT_RUN, doc="""
    A multiprocessing Pool (or, with `executor`, a ProcessPoolExecutor) was created and at
    least `min_tasks` tasks really executed in its worker processes.""")
declare("distinct_numbers", params=DistinctNumbersParams, variants=DEFAULT_RUN, doc="""
    Child processes printed at least `n` pairwise-different numbers (stdout, stderr or
    logging). Numbers that are only the processes' own pids or name counters (`Process-3`) do
    not count.""")
declare("one_number_per_process", params=OneNumberPerProcessParams, variants=DEFAULT_RUN, doc="""
    At least `n` different child processes each printed its own number, the numbers pairwise
    different, and not by chance: where the numbers or their spread over processes depend on
    scheduling (which Pool worker runs which task) or on random numbers, it fails and says why.""")
declare("concurrent", params=ConcurrentParams, variants=DEFAULT_RUN, doc="""
    At least `n` child processes were alive at the same time (not started and joined one by
    one).""")
declare("spawn_safe", params=SpawnSafeParams, variants=lambda p: frozenset({p.start_method}), doc="""
    Re-run under the spawn start method (or `start_method`), the answer still completes and
    its other checks (or those listed in `checks`) still pass.""")

"""Behaviour checks: judged from the Trace of a run, in the grader's own process.

Every process and output line of a Trace is a kernel fact (see grader.trace); what the recorder
claimed (that a process is a multiprocessing Process, its target, exceptions, random draws) is
attached as detail and may only lower a verdict. When the observer could not see the whole run
(`Trace.observed` is False) the checks that depend on facts fail and say why: a gap never turns
into trust.

Only `runs` reports a timeout; the other checks judge what the run showed before it was
stopped (a worker blocked forever may still have printed its numbers), and say it was stopped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, cast

from grader.checks.context import DEFAULT_VARIANT, CheckContext
from grader.checks.failure import (
    FAILS_BY_DEFAULT_TOO,
    WHERE,
    hang_sentence,
    line_of,
    reason,
    said_by,
    sentence,
    uncaught,
)
from grader.checks.registry import register
from grader.checks.verdict import Status, Verdict
from grader.rubric.model import ParamValues
from grader.trace import Process, Task, Trace

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import ConcurrentParams, PoolUsedParams, ProcessCreatedParams, RunsParams, SpawnSafeParams

DEFAULT_RUN = frozenset({DEFAULT_VARIANT})
Stream = Literal["stdout", "stderr", "log"]
ALL_STREAMS: list[Stream] = ["stdout", "stderr", "log"]
MP_KINDS = ("process", "pool_worker", "executor_worker")
# RunsParams(), read alike without importing pydantic (a test keeps the two equal)
RUNS_DEFAULTS = cast("RunsParams", ParamValues({"exit_codes": [0]}))


# -- shared readings of a Trace -------------------------------------------------------------------

def confirmed(trace: Trace, p: Process) -> bool:
    """A process the grader may count: the kernel saw it (every Process of a Trace is such a fact)."""
    return p.observed


POOL_KINDS = ("pool_worker", "executor_worker")


def children(trace: Trace, kinds: tuple[str, ...] = MP_KINDS) -> list[Process]:
    """Child processes started through multiprocessing: the kernel saw them created by the main
    process or multiprocessing's forkserver, and their own code ran (they recorded themselves) or
    they are a pool's workers. A pool starts its workers itself and ends those it no longer needs:
    on a loaded machine one may be terminated before the kernel ever ran it, and it was started
    all the same (counting it only when it ran would make the count depend on the load)."""
    main = trace.main()
    main_pid = main.pid if main else None
    return [p for p in trace.children() if p.kind in kinds and (p.claimed or p.kind in POOL_KINDS)
            and p.pid != main_pid and confirmed(trace, p)]


def never_ran(procs: list[Process]) -> list[int]:
    """The pids of pool workers counted although their own code never ran."""
    return [p.pid for p in procs if not p.claimed]


def gap(trace: Trace, what: str) -> Verdict | None:
    """A failed verdict when the run was not fully observed, else None. A TA's to look at: a run is
    made again when its first one has a gap, so this one had two (a program that hides from the
    observer on purpose, or a machine loaded far past what the grader was measured on); the points
    are not given on trust, and nobody loses them unseen."""
    if trace.observed:
        return None
    why = "; ".join(i.detail for i in trace.issues if i.kind == "observation_gap") or "unknown"
    return Verdict.failed(f"The grader could not observe the whole run ({why}), so {what} cannot be confirmed.",
                          {"observation_gaps": why, "observer": trace.sandbox.get("observer")},
                          review=f"the run was not observed whole: {why}")


def crashed_children(trace: Trace) -> list[Process]:
    """Children of the program (not helpers, not programs it executed) that the kernel saw end
    badly: a non-zero exit status, or a signal other than SIGTERM (Pool.terminate, terminate())."""
    return [p for p in trace.children() if p.kind not in ("subprocess",) and not p.survived
            and ((p.exit_code not in (None, 0)) or (p.signal is not None and p.signal != "SIGTERM"))]


def describe(p: Process) -> dict[str, Any]:
    return {"pid": p.pid, "kind": p.kind, "name": p.name, "target": p.target, "args": p.args,
            "start": p.start, "end": p.end, "exit_code": p.exit_code, "observed": p.observed}


def stopped_note(trace: Trace) -> str:
    """Why the run ended early, for checks that judge what it showed before. A hang is said first,
    by the check runner (grader.checks.runner), so it is not repeated here."""
    if trace.timed_out:
        return ""
    if trace.limit:
        return f" (The run was stopped by its {trace.limit} limit.)"
    return ""


def _where(trace: Trace) -> dict[str, Any]:
    return {"timed_out": trace.timed_out, "limit": trace.limit, "exit_code": trace.exit_code,
            "wall_time": trace.wall_time, "observer": trace.sandbox.get("observer"), "observed": trace.observed}


# -- the checks -------------------------------------------------------------------------------------

@register("runs", params="RunsParams", variants=DEFAULT_RUN, judges_stop=True)
def runs(ctx: CheckContext, params: RunsParams) -> Verdict:
    """The program completes within its limits without an uncaught exception (in any of its
    processes, threads or pool tasks), and exits with one of `exit_codes`."""
    trace = ctx.trace()
    assert trace is not None
    evidence = _where(trace)
    if trace.timed_out:
        last = [ln.text for ln in trace.lines if ln.stream in ("stdout", "stderr")][-3:]
        evidence["last_output"] = last
        alive = [describe(p) for p in trace.children() if p.survived]
        evidence["still_running"] = alive
        hint = f" {len(alive)} of its processes {'was' if len(alive) == 1 else 'were'} still running." if alive else ""
        return Verdict.timeout(f"{hang_sentence(trace)}{hint} Does a process wait for something that never comes "
                               "(a join, a queue, a lock)?", evidence)
    if trace.limit:
        return Verdict.failed(f"The program was stopped because it exceeded its {trace.limit} limit.", evidence)
    syntax = [e for e in trace.exceptions if e.type in ("SyntaxError", "IndentationError", "TabError")]
    if syntax:
        e = syntax[0]
        evidence["exception"] = {"type": e.type, "message": e.message, "traceback": e.traceback}
        return Verdict.failed(f"The code does not compile: {e.type}: {e.message}.", evidence)
    if trace.exceptions:
        e = trace.exceptions[0]
        evidence["exceptions"] = [{"pid": x.pid, "where": x.where, "type": x.type, "message": x.message,
                                   "traceback": x.traceback} for x in trace.exceptions]
        if (line := line_of(trace, e)) is not None:
            evidence["line"] = line
        return Verdict.failed(f"An uncaught exception in {WHERE.get(e.where, e.where)}: "
                              f"{sentence(str(reason(trace, e)))}", evidence)
    if trace.exit_code not in params.exit_codes:
        how = f"was killed by {trace.signal}" if trace.signal else f"exited with status {trace.exit_code}"
        main = trace.main()
        said = said_by(trace, main.pid) if main is not None else ""
        return Verdict.failed(f"The program {how}" + (f"; it said: {sentence(said)}" if said else "."), evidence)
    crashed = crashed_children(trace)
    if crashed:
        evidence["crashed"] = [describe(p) | {"signal": p.signal} for p in crashed]
        p = crashed[0]
        how = f"was killed by {p.signal}" if p.signal else f"exited with status {p.exit_code}"
        if p.limit == "memory" and p.signal == "SIGKILL":  # the OOM killer at the run's memory cgroup limit
            how = f"was killed by {p.signal} when the run's processes together exceeded their memory limit"
        said = said_by(trace, p.pid)
        return Verdict.failed(f"A child process {how}: it did not complete its work."
                              + (f" It said: {sentence(said)}" if said else ""), evidence)
    missing = gap(trace, "that the program completed")
    if missing is not None:
        return missing
    return Verdict.passed("The program ran to completion.", evidence)


@register("process_created", params="ProcessCreatedParams", variants=DEFAULT_RUN)
def process_created(ctx: CheckContext, params: ProcessCreatedParams) -> Verdict:
    """At least `n` child OS processes were started through multiprocessing (with
    `process_class`, through multiprocessing.Process, whose target code ran in a different
    process from the parent). A pool's worker counts once the kernel saw the program start it,
    even if the pool ended it before it ran (on a loaded machine a worker may never get a task)."""
    trace = ctx.trace()
    assert trace is not None
    kinds = ("process",) if params.process_class else MP_KINDS
    found = children(trace, kinds)
    if (missing := gap(trace, "which processes were started")) is not None:
        return missing
    evidence: dict[str, Any] = {"children": [describe(p) for p in found], **_where(trace)}
    unconfirmed = [p.pid for p in found if not p.observed]
    if unconfirmed:
        evidence["not_seen_from_outside"] = unconfirmed
    if idle := never_ran(found):
        evidence["pool_workers_ended_before_they_ran"] = idle
    others = [p for p in trace.children() if p not in found]
    if others:
        evidence["other_processes"] = [describe(p) for p in others]
    threads = [t for t in trace.threads if t.kind == "thread"]
    what = "multiprocessing.Process" if params.process_class else "multiprocessing"
    if len(found) >= params.n:
        kinds_seen = sorted({p.kind.replace("_", " ") for p in found})
        return Verdict.passed(f"{len(found)} child process(es) were started ({', '.join(kinds_seen)}).", evidence)
    if not found and threads:
        evidence["threads"] = [{"pid": t.pid, "name": t.name, "target": t.target} for t in threads]
        return Verdict.failed(f"No child process was started: the code starts {len(threads)} thread(s) instead. "
                              "Threads run inside one process.", evidence)
    pool_only = params.process_class and any(p.kind in POOL_KINDS for p in trace.children())
    hint = " (pool workers do not count here: create multiprocessing.Process objects)" if pool_only else ""
    if params.process_class:  # a Process counts once its own code ran
        got = "No child process" if not found else f"Only {len(found)} child process(es)"
        said = f"{got} started through {what} ran its code"
    else:
        said = f"No child process was started through {what}" if not found else \
            f"Only {len(found)} child process(es) were started through {what}"
    return Verdict.failed(f"{said}; {params.n} expected{hint}."
                          f"{stopped_note(trace)}", evidence)


@register("pool_used", params="PoolUsedParams", variants=DEFAULT_RUN)
def pool_used(ctx: CheckContext, params: PoolUsedParams) -> Verdict:
    """A multiprocessing Pool (or, with `executor`, a ProcessPoolExecutor) was created and at
    least `min_tasks` tasks really executed in its worker processes. A task counts when the kernel
    saw its worker send a result back to the pool (a write to a pipe the pool's owner made, after
    the task began), or, in a run that never finished, when its worker was still running it as the
    run was stopped and work had been sent to the pool before it began. Task records with no such
    backing count for nothing."""
    trace = ctx.trace()
    assert trace is not None
    kinds = ("Pool", "ProcessPoolExecutor") if params.executor else ("Pool",)
    if (missing := gap(trace, "which processes ran the pool's tasks")) is not None:
        return missing
    evidence: dict[str, Any] = {"pools": [{"id": p.id, "kind": p.kind, "size": p.size, "workers": list(p.workers),
                                           "tasks": len(p.tasks)} for p in trace.pools], **_where(trace)}
    pools = [p for p in trace.pools if p.kind in kinds]
    if not pools:
        thread_pools = [p.kind for p in trace.pools]
        if thread_pools:
            return Verdict.failed(f"A {thread_pools[0]} was used: its workers are threads in one process, not a pool "
                                  "of worker processes.", evidence)
        return Verdict.failed(f"No pool of worker processes was created.{stopped_note(trace)}", evidence)
    worker_pids = {p.pid for p in children(trace, POOL_KINDS)}
    claimed = [t for p in pools for t in p.tasks if t.pid in worker_pids and t.pid != p.pid]
    in_workers = [t for t in claimed if task_seen(trace, t)]
    evidence["tasks_in_workers"] = [{"function": t.function, "args": t.args, "pid": t.pid, "ok": t.ok}
                                    for t in in_workers[:50]]
    unseen = [t for t in claimed if not task_seen(trace, t)]
    if unseen:
        evidence["tasks_not_seen_from_outside"] = [{"function": t.function, "args": t.args, "pid": t.pid, "ok": t.ok}
                                                   for t in unseen[:50]]
    if len(in_workers) >= params.min_tasks:
        # How many workers got tasks depends on scheduling: that stays in the evidence, not the message.
        evidence["worker_pids_used"] = sorted({t.pid for t in in_workers})
        return Verdict.passed(f"A {pools[0].kind} ran {len(in_workers)} task(s) in its worker processes.", evidence)
    if unseen:
        return Verdict.failed(f"{len(in_workers)} task(s) ran in the {pools[0].kind}'s worker processes as far as "
                              f"the grader could see; {params.min_tasks} expected. {len(unseen)} more were recorded "
                              "in its workers, but no result was sent back to the pool after them (the kernel saw no "
                              f"write from their worker to the pool's pipes).{stopped_note(trace)}", evidence)
    if not any(p.tasks for p in pools):
        if uncaught(trace) is not None:  # the runner says which exception first
            return Verdict.failed(f"A {pools[0].kind} was created, but the program stopped before any task ran "
                                  "in it.", evidence)
        return Verdict.failed(f"A {pools[0].kind} was created, but no task was given to it "
                              f"(use map, apply_async or submit).{stopped_note(trace)}", evidence)
    return Verdict.failed(f"Only {len(in_workers)} task(s) ran in the pool's worker processes; {params.min_tasks} "
                          f"expected.{stopped_note(trace)}", evidence)


def task_seen(trace: Trace, t: Task) -> bool:
    """A pool task the kernel backs: its worker sent a result back to the pool's owner after the
    task began (`Task.result_seen`). In a run that never finished, a task its worker was still
    running when the run was stopped never sends one: it counts if work had been sent to the pool
    before it began (`Task.sent_seen`), so a hang stays a hang and is not also a missing task."""
    if t.result_seen:
        return True
    if not (trace.timed_out and t.sent_seen):
        return False
    worker = trace.process(t.pid)
    return worker is not None and worker.survived


def max_overlap(trace: Trace, procs: list[Process]) -> tuple[int, float | None]:
    """Most processes alive at one moment, and that moment (ends unknown: alive until the run ended)."""
    events: list[tuple[float, int]] = []
    for p in procs:
        if p.start is None:
            continue
        end = p.end if p.end is not None else trace.wall_time
        events.append((p.start, 1))
        events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant: no overlap
    best, at, alive = 0, None, 0
    for t, step in events:
        alive += step
        if alive > best:
            best, at = alive, t
    return best, at


def started_before_awaited(procs: list[Process]) -> list[Process]:
    """The most children of one parent that were all created before the parent waited for any of
    them, from the kernel's record of the parent's own calls (program order, so scheduling does
    not change it): `created` is when its fork/clone returned, `awaited` when it began waiting for
    that child to end (a blocking wait, or polling it with is_alive() until it ended)."""
    best: list[Process] = []
    by_parent: dict[int | None, list[Process]] = {}
    for p in procs:
        if p.created is not None:
            by_parent.setdefault(p.ppid, []).append(p)
    for siblings in by_parent.values():
        for p in siblings:
            assert p.created is not None
            pending = [q for q in siblings if q.created is not None and q.created <= p.created
                       and (q.awaited is None or q.awaited > p.created)]
            if len(pending) > len(best):
                best = pending
    return best


def _forkserver_children(trace: Trace, procs: list[Process]) -> list[Process]:
    helpers = {p.pid for p in trace.processes if p.kind == "forkserver"}
    return [p for p in procs if p.ppid in helpers]


@register("concurrent", params="ConcurrentParams", variants=DEFAULT_RUN)
def concurrent(ctx: CheckContext, params: ConcurrentParams) -> Verdict:
    """At least `n` child processes ran at the same time: the program started them all before it
    waited for any of them (not started and joined, or busy-waited on, one by one)."""
    trace = ctx.trace()
    assert trace is not None
    procs = children(trace)
    best, at = max_overlap(trace, procs)
    together = started_before_awaited(procs)
    evidence: dict[str, Any] = {"max_alive_together": best, "at": at,
                                "started_before_any_was_awaited": [p.pid for p in together],
                                "lifetimes": [{"pid": p.pid, "name": p.name, "start": p.start, "end": p.end,
                                               "created": p.created, "awaited": p.awaited, "reaped": p.reaped}
                                              for p in procs],
                                **_where(trace)}
    if (missing := gap(trace, "when the processes were started and waited for")) is not None:
        return missing
    if len(together) >= params.n:
        return Verdict.passed(f"{len(together)} child processes were started before the program waited for any of "
                              "them, so they ran at the same time.", evidence)
    # under forkserver the parent of the children is the forkserver, which never waits for them in
    # program order: there only the lifetimes the kernel saw can show it
    served = _forkserver_children(trace, procs)
    if len(served) >= params.n:
        best_served, _ = max_overlap(trace, served)
        if best_served >= params.n:
            return Verdict.passed(f"{best_served} child processes were running at the same time.", evidence)
    if len(procs) >= params.n and len(together) <= 1:
        return Verdict.failed(f"The {len(procs)} child processes ran one after another: the program waited for each "
                              "one (join() or a loop on is_alive()) before starting the next. Start them all first, "
                              "then join them.", evidence)
    return Verdict.failed(f"At most {max(len(together), 1 if procs else 0)} child process(es) were running at the "
                          f"same time; {params.n} expected.{stopped_note(trace)}", evidence)


@register("spawn_safe", params="SpawnSafeParams", variants=lambda p: frozenset({p.start_method}),
          judges_stop=True)
def spawn_safe(ctx: CheckContext, params: SpawnSafeParams) -> Verdict:
    """Re-run under the spawn start method (or `start_method`), the answer still completes and
    its other checks (or those listed in `checks`) still pass."""
    from grader.checks.registry import REGISTRY

    trace = ctx.trace(params.start_method)
    assert trace is not None
    method = params.start_method
    evidence: dict[str, Any] = {"start_method": trace.start_method, **_where(trace)}
    default = ctx.trace(DEFAULT_VARIANT)
    if default is not None and default.timed_out:
        # A program that hangs whatever the start method: the hang is the fault, not spawn.
        evidence["default_run"] = _where(default)
        evidence[FAILS_BY_DEFAULT_TOO] = True
        return Verdict.failed(f"{hang_sentence(default)} It does not finish with the default start method either, "
                              f"so it cannot be judged under {method}.", evidence)
    startup = [e for e in trace.exceptions if e.where == "startup"]
    if startup:
        e = startup[0]
        why = reason(trace, e)
        evidence["exception"] = {"type": e.type, "message": e.message, "traceback": e.traceback,
                                 "reason": str(why), "reason_from": why.source}
        if (line := line_of(trace, e)) is not None:
            evidence["line"] = line
        bootstrap = any("bootstrapping phase" in t or "freeze_support" in t for t in (why.text, e.message))
        guard = " Put the code that starts processes under `if __name__ == \"__main__\":`: under spawn each " \
            "child imports your program again, and unguarded code starts processes again." if bootstrap else ""
        return Verdict.failed(f"Under {method}, a child process failed as it started: {sentence(str(why))}{guard}",
                              evidence)
    rerun = replace(ctx, traces={DEFAULT_VARIANT: trace})  # the other checks read the re-run as theirs
    completed = runs(rerun, RUNS_DEFAULTS)
    evidence["completes"] = completed.message
    if completed.status is not Status.PASSED:
        if default is not None and runs(ctx, RUNS_DEFAULTS).status is not Status.PASSED:
            # It fails with the default start method too: say so rather than blame the start method.
            evidence[FAILS_BY_DEFAULT_TOO] = True
            return Verdict.failed(f"It does not complete with the default start method either: {completed.message}",
                                  evidence)
        return Verdict.failed(f"Under {method}: {completed.message}", evidence)
    results: dict[str, str] = {}
    failed: list[str] = []
    for spec in ctx.question.checks:
        check_type = REGISTRY.get(spec.type)
        if check_type is None or check_type.function is None or spec.type == "spawn_safe":
            continue
        wanted = spec.id in params.checks if params.checks is not None else \
            DEFAULT_VARIANT in check_type.variants_for(spec.params) and spec.type != "runs"
        if not wanted:
            continue
        verdict = check_type.function(rerun, spec.params)
        results[spec.id] = verdict.status.value
        if verdict.status is not Status.PASSED:
            failed.append(f"{spec.id} ({verdict.message})")
    evidence["checks"] = results
    if failed:
        return Verdict.failed(f"Under {params.start_method} it runs, but these checks no longer pass: "
                              f"{'; '.join(failed)}", evidence)
    return Verdict.passed(f"It also works with the {params.start_method} start method.", evidence)

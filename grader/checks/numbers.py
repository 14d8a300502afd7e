"""Numbers printed by child processes: `distinct_numbers` and `one_number_per_process`.

Each process's lines are built from that process's own writes (see grader.trace), so numbers
are read per process, never from the merged stream. Numbers that only identify a process are
not "numbers it printed": the printing process's own pid and its parent's (what `os.getpid()`
and `os.getppid()` print), and name counters such as `Process-3` or `ForkPoolWorker-2`. Other
processes' pids are kept: in a PID namespace pids are small (2, 3, 4... as an ordinary user),
and "1..4" printed by a worker is data even when 3 is some other process's pid.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from grader.checks.behaviour import DEFAULT_RUN, POOL_KINDS, children, describe, gap, stopped_note
from grader.checks.context import DEFAULT_VARIANT, RESEED_VARIANT, CheckContext
from grader.checks.registry import register
from grader.checks.verdict import Verdict
from grader.trace import Process, Trace

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import DistinctNumbersParams, OneNumberPerProcessParams

Stream = Literal["stdout", "stderr", "log"]
ALL_STREAMS: list[Stream] = ["stdout", "stderr", "log"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_NAME_COUNTER = re.compile(r"\b\w*(?:Process|PoolWorker|Worker|Thread)-\d+(?::\d+)*\b")


def numbers_in(text: str, pids: set[int]) -> list[float]:
    """The numbers in a line, without process name counters and `pids` (the printer's own and its
    parent's)."""
    text = _NAME_COUNTER.sub(" ", text)
    out: list[float] = []
    for m in _NUMBER.finditer(text):
        value = float(m.group())
        if value.is_integer() and int(value) in pids:
            continue
        out.append(value)
    return out


def printed_numbers(trace: Trace, procs: list[Process], streams: list[Stream]) -> dict[int, list[float]]:
    """pid -> the numbers that child printed, in order (duplicates kept)."""
    out: dict[int, list[float]] = {}
    for p in procs:
        # only what the process itself can print as an identity: its pid and its parent's
        pids = {p.pid} | ({p.ppid} if p.ppid is not None else set())
        nums = [n for line in trace.lines_of(p.pid, streams) for n in numbers_in(line.text, pids)]
        if nums:
            out[p.pid] = nums
    return out


def _show(n: float) -> int | float:
    return int(n) if n.is_integer() else n


@register("distinct_numbers", params="DistinctNumbersParams", variants=DEFAULT_RUN)
def distinct_numbers(ctx: CheckContext, params: DistinctNumbersParams) -> Verdict:
    """Child processes printed at least `n` pairwise-different numbers (stdout, stderr or
    logging). Numbers that are only the processes' own pids or name counters (`Process-3`) do
    not count."""
    trace = ctx.trace()
    assert trace is not None
    if (missing := gap(trace, "which process printed which number")) is not None:
        return missing
    procs = children(trace)
    by_pid = printed_numbers(trace, procs, params.streams)
    distinct = sorted({n for nums in by_pid.values() for n in nums})
    main = trace.main()
    evidence: dict[str, Any] = {
        "numbers_by_process": {str(pid): [_show(n) for n in nums] for pid, nums in by_pid.items()},
        "distinct": [_show(n) for n in distinct],
    }
    if len(distinct) >= params.n:
        return Verdict.passed(f"Child processes printed {len(distinct)} different numbers: "
                              f"{', '.join(str(_show(n)) for n in distinct[:12])}.", evidence)
    main_nums = printed_numbers(trace, [main], params.streams) if main else {}
    hint = ""
    if not by_pid and main_nums:
        hint = " The numbers were printed by the main process, not by the child processes."
    elif not procs:
        hint = " No child process ran."
    got = ", ".join(str(_show(n)) for n in distinct) or "none"
    return Verdict.failed(f"Child processes printed {len(distinct)} different number(s) ({got}); {params.n} expected."
                          f"{hint}{stopped_note(trace)}", evidence)


def _matching(sets: dict[int, set[float]]) -> dict[int, float]:
    """Pick a different number for as many processes as possible (bipartite matching)."""
    owner: dict[float, int] = {}

    def take(pid: int, seen: set[float]) -> bool:
        for n in sorted(sets[pid]):
            if n in seen:
                continue
            seen.add(n)
            if n not in owner or take(owner[n], seen):
                owner[n] = pid
                return True
        return False

    for pid in sorted(sets, key=lambda p: len(sets[p])):
        take(pid, set())
    return {pid: n for n, pid in owner.items()}


def _signature(by_pid: dict[int, list[float]]) -> list[tuple[float, ...]]:
    """What the children printed, independent of pids: each printer's numbers, sorted."""
    return sorted(tuple(sorted(set(nums))) for nums in by_pid.values())


@register("one_number_per_process", params="OneNumberPerProcessParams",
          variants=frozenset({DEFAULT_VARIANT, RESEED_VARIANT}))
def one_number_per_process(ctx: CheckContext, params: OneNumberPerProcessParams) -> Verdict:
    """At least `n` different child processes each printed its own number, the numbers pairwise
    different, and not by chance: where the numbers or their spread over processes depend on
    scheduling (which Pool worker runs which task) or on random numbers, it fails and says why.
    Chance is seen from outside: the program runs a second time with another seed (the `reseed`
    run), and numbers that change between the two runs were not given to the processes."""
    trace = ctx.trace()
    assert trace is not None
    if (missing := gap(trace, "which process printed which number")) is not None:
        return missing
    procs = children(trace)
    by_pid = printed_numbers(trace, procs, params.streams)
    chosen = _matching({pid: set(nums) for pid, nums in by_pid.items()})
    kinds = {p.pid: p for p in procs}
    evidence: dict[str, Any] = {
        "numbers_by_process": {str(pid): [_show(n) for n in nums] for pid, nums in by_pid.items()},
        "own_number": {str(pid): _show(n) for pid, n in chosen.items()},
        "printers": [describe(kinds[pid]) for pid in by_pid],
    }
    random_printers = [kinds[pid] for pid in by_pid if kinds[pid].used_random]
    if random_printers:
        evidence["random_draws"] = {str(p.pid): p.random_draws for p in random_printers}
        return Verdict.failed(f"The numbers come from the random module ({len(random_printers)} printing process(es) "
                              "drew random numbers), so nothing makes them different: two processes may print the "
                              "same number. Give each process its own number, e.g. as an argument.", evidence)
    pooled = [kinds[pid] for pid in by_pid if kinds[pid].kind in POOL_KINDS]
    if pooled:
        return Verdict.failed("The numbers were printed by pool tasks: which worker process runs which task depends "
                              "on scheduling, so no process is given its own number. Start one multiprocessing.Process "
                              "per number.", evidence)
    if len(chosen) >= params.n:
        # only a pass is re-examined: what fails anyway keeps its own reason
        other = ctx.trace(RESEED_VARIANT)  # absent when another check re-judges a single run (spawn_safe)
        if other is not None:
            again = printed_numbers(other, children(other), params.streams)
            if _signature(again) != _signature(by_pid):
                evidence["numbers_with_another_seed"] = {str(pid): [_show(n) for n in nums]
                                                         for pid, nums in again.items()}
                return Verdict.failed("The numbers change when the program runs again with another random seed: "
                                      "they come from chance (random numbers, the clock...), so nothing makes them "
                                      "different. Give each process its own number, e.g. as an argument.", evidence)
        from_args = [pid for pid, n in chosen.items() if str(_show(n)) in (kinds[pid].args or "")]
        evidence["number_in_arguments"] = [str(pid) for pid in from_args]
        return Verdict.passed(f"{len(chosen)} child processes each printed their own number: "
                              f"{', '.join(str(_show(n)) for n in sorted(chosen.values()))}.", evidence)
    if not by_pid:
        ids = " (process ids and names do not count)" if procs else ""
        return Verdict.failed(f"No child process printed a number{ids}.{stopped_note(trace)}", evidence)
    return Verdict.failed(f"Only {len(chosen)} child process(es) printed a number of their own; {params.n} expected."
                          f"{stopped_note(trace)}", evidence)

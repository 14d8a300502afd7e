"""The `output_matches` check: a regular expression over what a run printed.

It reads `Trace.lines`: every output line with the pid and stream ("stdout", "stderr", "log"
for logging records) that wrote it, built from each process's own writes, so lines of
children printing at once are not mixed. "Child processes" are `Trace.children()` (not
multiprocessing's own helpers); lines no process claimed (pid None) count only for the
whole stream, never as a child's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from grader.checks.context import CheckContext
from grader.checks.registry import register
from grader.checks.verdict import Verdict

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import OutputMatchesParams
    from grader.trace import Line, Trace


def matching_lines(trace: Trace, params: OutputMatchesParams) -> list[Line]:
    regex = re.compile(params.pattern, re.IGNORECASE if params.ignore_case else 0)
    children = {p.pid for p in trace.children()}
    return [line for line in trace.lines
            if (params.stream == "all" or line.stream == params.stream)
            and (not params.children_only or line.pid in children)
            and regex.search(line.text)]


@register("output_matches", params="OutputMatchesParams", variants=lambda p: frozenset({p.variant}))
def output_matches(ctx: CheckContext, params: OutputMatchesParams) -> Verdict:
    """At least `min_count` lines of the run's output (stdout, stderr, logging, or all; optionally
    only child processes' lines) match the regular expression `pattern`."""
    trace = ctx.trace(params.variant)
    if trace is None:
        return Verdict.error(f"The {params.variant!r} run did not happen, so its output cannot be checked.")
    hits = matching_lines(trace, params)
    who = "child processes' " if params.children_only else ""
    where = "output" if params.stream == "all" else params.stream
    evidence = {"pattern": params.pattern, "matches": [{"pid": h.pid, "stream": h.stream, "text": h.text}
                                                       for h in hits[:20]], "count": len(hits)}
    if len(hits) >= params.min_count:
        return Verdict.passed(f"The {who}{where} shows the expected output.", evidence)
    return Verdict.failed(f"The {who}{where} does not show the expected output "
                          f"({len(hits)} of {params.min_count} lines matched /{params.pattern}/).", evidence)

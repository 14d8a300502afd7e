"""`output_matches` over hand-made Traces: streams, child processes only, counts, missing runs."""

from __future__ import annotations

from grader.checks import Status
from grader.checks.output import output_matches
from grader.checks.params import OutputMatchesParams
from grader.trace import Line, Process, Trace
from tests.checks.helpers import context, question

TRACE = Trace(
    exit_code=0,
    processes=(Process(100, kind="main"), Process(101, 100, kind="process"), Process(102, 100, kind="process"),
               Process(103, 100, kind="resource_tracker", internal=True)),
    lines=(Line(100, "stdout", "parent says hi: number 0"), Line(101, "stdout", "number 1"),
           Line(102, "stderr", "number 2"), Line(102, "log", "INFO number 3"), Line(None, "stdout", "number 9"),
           Line(103, "stdout", "number 7")),
)


def run(**params: object) -> tuple[Status, int]:
    ctx = context(question("Q6"), code=("print(1)",), traces={"default": TRACE})
    v = output_matches(ctx, OutputMatchesParams.model_validate(params))
    return v.status, v.evidence.get("count", -1)


def test_streams() -> None:
    assert run(pattern=r"number \d", min_count=4) == (Status.PASSED, 4)
    assert run(pattern=r"number \d", stream="all", min_count=7) == (Status.FAILED, 6)
    assert run(pattern="NUMBER 3", stream="log", ignore_case=True) == (Status.PASSED, 1)
    assert run(pattern="NUMBER 3", stream="log") == (Status.FAILED, 0)


def test_children_only_leaves_out_the_parent_helpers_and_unclaimed_lines() -> None:
    assert run(pattern=r"number \d", stream="all", children_only=True, min_count=3) == (Status.PASSED, 3)
    assert run(pattern="hi", stream="all", children_only=True) == (Status.FAILED, 0)


def test_missing_run_is_an_error_not_a_failure() -> None:
    ctx = context(question("Q6"), code=("print(1)",), traces={"default": TRACE})
    v = output_matches(ctx, OutputMatchesParams(pattern="x", variant="spawn"))
    assert v.status is Status.ERROR and "spawn" in v.message

"""`grader grade`: grade submissions into an output folder, losing nothing on the way.

Exit codes: 0 every submission was graded; 1 some could not be (their rows say why);
2 a usage, rubric or output-folder error (nothing ran); 130 interrupted (what finished is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.cli.common import add_one_option, add_rubric_option

if TYPE_CHECKING:
    from grader.batch import Entry, Outcome, Write
    from grader.rubric.model import Rubric
    from grader.rubric.overrides import Overrides


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "grade",
        help="grade submissions and write results.json, reports and exports",
        description="Grade files and folders of submissions: each code answer runs in its own sandbox, checks "
                    "judge what was observed, and DIR gets results.json, one details file per submission and "
                    "the reports. Grading into a folder that holds results merges by submission id. Exit codes: "
                    "0 all graded, 1 some could not be graded, 2 usage or rubric error, 130 interrupted.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="submission files, student folders, or a folder of them")
    add_one_option(p)
    add_rubric_option(p)
    p.add_argument("--out", metavar="DIR", default="grader-out", help="where to write results (default: grader-out)")
    p.add_argument("--overrides", metavar="FILE", help="TA overrides of scores and answer locations")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="runs at once, each submission's questions side by side (default: the number of cores); "
                        "up to twice as many only while cores are idle")
    p.add_argument("--resume", action="store_true",
                   help="grade only what is not in DIR yet or whose files, rubric or overrides changed")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a Dask cluster: the scheduler's address (tcp://host:8786); each worker runs the "
                        "sandbox on its own machine and grades as many at once as it has threads (-j is not used). "
                        "Needs the cluster extra (pip install '.[cluster]')")
    p.add_argument("--encoding", metavar="NAME", help="read text submissions with this encoding instead of UTF-8")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="as root, run student code as root when it can be isolated neither by namespaces "
                        "(bubblewrap) nor by a uid of its own (default: refuse)")
    p.set_defaults(handler=run)


IN_FLIGHT = 8  # submissions in progress per -j: runs of more submissions to fill cores that sleeping runs leave
# idle (bench/vs_nbgrader.py's ten notebooks at -j 2, 2026-11-30: with 8 in progress the one whose workers sleep
# 2 s started last and ended alone, 7.0-7.4 s; with all ten 5.3-6.7 s). Memory stays bounded: a constant.


def run(args: argparse.Namespace) -> int:
    from grader import batch
    from grader.cli.common import rubric_arg
    from grader.cli.outputs import write_class_outputs, write_submission_outputs
    from grader.errors import GraderError
    from grader.grade import grade_submission, outcome_of
    from grader.outcome import SubmissionOutcome
    from grader.render.markdown import append_step_summary, class_markdown
    from grader.render.safe import printable
    from grader.render.terminal import Progress, print_summary
    from grader.rubric.cache import load_rubric_cached
    from grader.rubric.load import ensure_gradable
    from grader.rubric.overrides import load_overrides

    if args.jobs < 1:
        raise GraderError(f"--jobs must be 1 or more, not {args.jobs}")
    rubric = load_rubric_cached(rubric_arg(args.rubric))
    ensure_gradable(rubric)  # before any student code runs
    overrides = load_overrides(args.overrides, rubric) if args.overrides else None
    planned = batch.plan(args.paths, one=args.one)
    out = Path(args.out)
    batch.check_output_folder(out, rubric)
    if planned.skipped:
        say("not graded (data or media, not submissions): " + printable(", ".join(planned.skipped)))
    for line in planned.refused:
        say(f"grader: not graded: {printable(line)}")
    if not planned.entries:
        say("grader: no submissions found")
        return 2
    if planned.split:  # a folder of several scripts may be one student's: say so (only --one changes what is graded)
        from grader.cli.common import one_student_lines
        from grader.locate import questions_from_rubric

        for line in one_student_lines(planned.split, questions_from_rubric(rubric), args.encoding):
            say(printable(line))
    from functools import partial

    from grader.reftimes import resolve

    if args.cluster:  # `wall_time: auto`: the stored times (the TA's machine may have no sandbox to measure with)
        rubric = resolve(rubric, measure_if_missing=False, say=say)
    else:
        from grader.sandbox import preflight, run_program

        protections = preflight(unsafe_no_sandbox=args.unsafe_no_sandbox)  # refuses before any student code runs
        if protections["isolation"] == "none":
            say("grader: WARNING: student code runs as root, unprotected (--unsafe-no-sandbox)")
        runner = partial(run_program, unsafe_no_sandbox=args.unsafe_no_sandbox)
        rubric = resolve(rubric, runner=runner, say=say)  # the stored times, else measured now, once
    digests = {e.id: batch.digest(e.path, rubric, overrides, e.id) for e in planned.entries}
    todo = [e for e in planned.entries if not (args.resume and batch.is_current(out, e, digests[e.id]))]
    if args.resume and len(todo) < len(planned.entries):
        say(f"resuming: {len(planned.entries) - len(todo)} submission(s) already graded in {out}")

    def write(o: Path, outcome: SubmissionOutcome) -> None:
        write_submission_outputs(o, outcome, title=rubric.title)

    if args.cluster:
        finished = _on_cluster(args, todo, digests, out, rubric, overrides, write)
    else:
        from grader.runslots import RunSlots

        # -j runs at once, more only on idle cores; each submission's questions side by side (grader.runslots)
        slots = RunSlots(args.jobs)

        def grade(entry: batch.Entry) -> SubmissionOutcome:
            result = grade_submission(entry.path, rubric, overrides=overrides, encoding=args.encoding, runner=runner,
                                      mapping=overrides.mapping(entry.id) if overrides else None, name=entry.id,
                                      parallel=len(rubric.questions), slots=slots)
            return outcome_of(result, rubric, submission_id=entry.id, digest=digests[entry.id])

        say(f"grading {len(todo)} submission(s) with {rubric.id} ({rubric.max_score:g} points), "
            f"{args.jobs} at a time")
        # The grader mostly waits while the first programs run: make the pages' tools ready meanwhile.
        threading.Thread(target=prepare_outputs, name="grader-prepare-outputs", daemon=True).start()
        with Progress(len(todo), sys.stderr) as progress:
            # Eight times -j submissions in progress: their runs wait for slots, so one that sleeps (or waits for
            # a stuck run to be stopped) lets another submission's runs use its core instead of leaving it idle,
            # and near the end of a batch a sleeping run has more of the last submissions' work beside it.
            finished = batch.run(todo, grade, out, rubric, jobs=args.jobs, on_start=lambda e: progress.started(e.id),
                                 on_done=progress.finished, write=write, in_flight=IN_FLIGHT * args.jobs)
    problems: list[str] = []
    book = write_class_outputs(out, rubric, problems)
    for line in problems:
        say(f"grader: warning: {printable(line)}")
    ids = [s.id for s in book.submissions]  # one pass (a large class is read back from disk at each)
    if overrides:
        for line in overrides.unused(set(ids)):
            say(f"grader: warning: {printable(line)}")
    earlier = [i for i in ids if i not in digests]
    if earlier:  # e.g. the per-file rows of a folder graded again with --one: kept, never deleted, but said
        from grader.results import details_path

        shown = ", ".join(earlier[:5]) + (f" and {len(earlier) - 5} more" if len(earlier) > 5 else "")
        say(printable(f"grader: note: {out} also holds {len(earlier)} earlier result(s) of submissions not in this "
                      f"grading, kept in results.json: {shown} (to drop one, delete its details file, e.g. "
                      f"{details_path(out, earlier[0])}, and grade again)"))
    print_summary(book, sys.stdout)
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # (the text is built only where it goes somewhere)
        append_step_summary(class_markdown(book))
    errors = sum(1 for s in finished.graded if s.error)
    say(f"wrote {out / 'results.json'} ({len(book.submissions)} submission(s))"
        + (f"; {errors} submission(s) could not be graded" if errors else ""))
    say(f"class overview: {out / 'index.html'}")
    if finished.interrupted:
        if finished.why:
            say(f"grader: {printable(finished.why)}")
        say(f"grader: interrupted: {len(finished.graded)} of {len(todo)} graded and saved in {out}; "
            f"{len(finished.not_done)} not graded. To finish, run the same command with --resume.")
        return 130
    return 1 if errors else 0


def _on_cluster(args: argparse.Namespace, todo: list[Entry], digests: dict[str, str], out: Path, rubric: Rubric,
                overrides: Overrides | None, write: Write) -> Outcome:
    """The batch on a Dask cluster (grader.cluster): same outputs, same Ctrl-C and --resume."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        from grader.errors import GraderError

        raise GraderError(f"--cluster needs Dask's distributed ({exc}): install the grader's cluster extra, "
                          "pip install '.[cluster]'") from None
    from grader import cluster
    from grader.render.terminal import Progress

    client = cluster.connect(args.cluster)
    try:
        workers = cluster.check_workers(client, args.unsafe_no_sandbox)  # refuses before any student code runs
        for worker, protections in workers.items():
            if protections["isolation"] == "none":
                say(f"grader: WARNING: on {worker}, student code runs as root, unprotected (--unsafe-no-sandbox)")
        threads = cluster.threads(client)
        say(f"grading {len(todo)} submission(s) with {rubric.id} ({rubric.max_score:g} points) on {args.cluster}: "
            f"{len(workers)} worker(s), {threads} at a time")
        setup = cluster.Setup(rubric, overrides, args.encoding, args.unsafe_no_sandbox)
        with Progress(len(todo), sys.stderr) as progress:
            return cluster.run(client, todo, digests, out, rubric, setup, write=write,
                               on_start=lambda e: progress.started(e.id), on_done=progress.finished)
    finally:
        cluster.close(client)


def prepare_outputs() -> None:
    """Import and warm what the pages and the class outputs need (Jinja and its compiled templates,
    kept per user as for a self-check; Pygments; the exporters): about 0.2 s that would otherwise
    come after the last run. An error here is left for the writer to meet and report."""
    from grader.cli.check import prepare_page

    prepare_page()
    with contextlib.suppress(Exception):
        from grader.render import csv_export, gradescope, junit, markdown  # noqa: F401
        from grader.render.html import environment

        environment().get_template("index.html.j2")


def say(line: str) -> None:
    """A line for the person at the terminal (stderr); a closed stderr never stops the batch."""
    with contextlib.suppress(BrokenPipeError, OSError):
        print(line, file=sys.stderr, flush=True)


def stdout_gone() -> None:
    """The reader of stdout went away (`grader ... | head`): send the rest nowhere, quietly
    (otherwise Python reports the broken pipe again when it flushes stdout at exit)."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

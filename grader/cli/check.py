"""`grader check`: a student checks one submission before handing it in.

    grader check NOTEBOOK [--rubric R] [--min-score X] [--out DIR]

It grades through the same pipeline as `grade` (`grade_submission`, `outcome_of`) and shows only
the student view: hidden checks never appear, their points still count. Each question gets a
line with ✓/✗ (PASS/FAIL where there is no terminal), then every check that did not pass, with
its message and what to try next; then the protections the runs had (the sandbox's own account
in each Trace) and the path of the student's HTML page (DIR/report/<name>.html).

It never prompts: standard input is not read, and off a terminal (CI, a pipe) it prints plain
text. Exit codes: 0 graded (and at least --min-score); 1 below --min-score, or the file could not
be graded; 2 a usage or rubric error.

Start-up is kept short (a self-check should cost little more than the student's own code): the
heavy modules are imported inside `run`, the rubric comes from a cache of parsed rubrics
(grader.rubric.cache), and rich is imported only to colour a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grader.cli.common import add_rubric_option

if TYPE_CHECKING:
    from grader.grade import Runner
    from grader.outcome import CheckOutcome, QuestionOutcome, SubmissionOutcome
    from grader.rubric.model import Rubric
    from grader.sandbox.decide import Live, Stop, StopRule
    from grader.trace import Trace

DEFAULT_OUT = "grader-check"
MESSAGE_LIMIT = 600


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="check one submission before handing it in (what the student sees)",
        description="Grade one notebook or script with the rubric and print, per question, what passed, what "
                    "did not and what to try next, then write the student's HTML page. Hidden checks stay "
                    "hidden. Exit codes: 0 graded, 1 below --min-score or not gradable, 2 usage or rubric error.",
    )
    p.add_argument("path", metavar="NOTEBOOK", help="the submission: a notebook, a script, or a student folder")
    add_rubric_option(p)
    p.add_argument("--min-score", type=float, metavar="X", help="exit with status 1 when the score is below X")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT, help=f"where to write the report (default: "
                                                                      f"{DEFAULT_OUT})")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, *, runner: Runner | None = None, stream: TextIO | None = None,
        environ: Mapping[str, str] | None = None) -> int:
    from grader.errors import GraderError

    if args.min_score is not None and args.min_score < 0:
        raise GraderError(f"--min-score must be 0 or more, not {args.min_score:g}")
    if not Path(args.path).exists():
        raise GraderError(f"{args.path}: no such file or folder")
    if runner is None:  # what the sandbox prepares once per process is done while this one imports and reads
        threading.Thread(target=warm_sandbox, name="grader-check-sandbox", daemon=True).start()
    from grader.cli.common import rubric_arg
    from grader.rubric.cache import load_rubric_cached
    from grader.rubric.load import ensure_gradable

    stream = stream or sys.stdout
    rubric = load_rubric_cached(rubric_arg(args.rubric))
    ensure_gradable(rubric)  # before any student code runs
    from grader.render.safe import real_dir

    out = real_dir(Path(args.out))  # a file or a link in the way is said before anything runs

    from grader.grade import grade_submission, outcome_of

    if runner is None:
        from grader.sandbox import run_program

        runner = run_program
    # The grader mostly waits while the student's programs run: make the page ready meanwhile,
    # from the first run on (before it, this thread's work is what the first run waits for).
    page = threading.Thread(target=prepare_page, name="grader-check-page", daemon=True)
    # one student, one machine: the questions share its free cores (a batch's `-j` does this across students)
    result = grade_submission(str(args.path), rubric, runner=starting(page, runner), parallel=usable_cpus())
    if page.is_alive():
        page.join()
    outcome = outcome_of(result, rubric)
    student = outcome.student_view()
    report = write_report(out, outcome, rubric)
    show(student, report, stream, environ=environ, min_score=args.min_score)
    if student.error is not None:
        return 1
    if args.min_score is not None and student.score < args.min_score:
        return 1
    return 0


def starting(thread: threading.Thread, runner: Runner) -> Runner:
    """`runner`, which starts `thread` once the first run is under way: at the first look its stop
    rule gets (the program is running then, and the grader waits), else when that run is over.
    Before that, this thread's work would only delay the first run's start."""
    once = threading.Lock()

    def start() -> None:
        with once:
            if thread.ident is None:
                thread.start()

    def run(*args: Any, stop: StopRule | None = None, **kwargs: Any) -> Trace:
        if thread.ident is not None:
            return runner(*args, stop=stop, **kwargs)
        try:
            return runner(*args, stop=_FirstLook(stop, start) if stop is not None else None, **kwargs)
        finally:
            start()

    return run


class _FirstLook:
    """A stop rule that calls `first` at its first look, then asks `rule`."""

    def __init__(self, rule: StopRule, first: Callable[[], None]) -> None:
        self.rule, self.first, self.looked = rule, first, False

    def __call__(self, live: Live) -> Stop | None:
        if not self.looked:
            self.looked = True
            self.first()
        return self.rule(live)


def warm_sandbox() -> None:
    """What the sandbox does once per grader process before its first run, done beside the main
    thread's imports and reading (it waits on short processes: bwrap's probe, about 50 ms): the
    interpreter found, the bootstrap folder made and compiled, bubblewrap probed. Each is cached
    by the sandbox, so the first run finds them done; an error here is met again, and reported,
    by that run."""
    with contextlib.suppress(Exception):
        from grader.sandbox import bootdir, bwrap, runner

        exe = runner.student_python()
        bwrap.probe()
        bootdir.boot_dir(exe)


def usable_cpus() -> int:
    """The cores free now, for grading questions side by side (1 on a busy machine): the cores this
    process may use, less the other processes running at this moment. Time limits are wall time,
    so a grader must not crowd a loaded machine with runs of its own (several checks at once, a
    batch beside it): there it grades one question at a time, as before."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return 1
    try:
        with open("/proc/stat", "rb") as stat:
            running = next(int(line.split()[1]) for line in stat if line.startswith(b"procs_running "))
    except (OSError, StopIteration, ValueError, IndexError):
        return 1
    return max(1, min(cpus, cpus - (running - _own_running())))


def _own_running() -> int:
    """This process's threads running now (the page being prepared beside it is not load)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as stat:
                count += stat.read().rpartition(b")")[2].split()[0] == b"R"
        except (OSError, IndexError):
            continue
    return max(count, 1)


_page_ready = threading.Lock()


def prepare_page() -> None:
    """Import and warm what the student's page and the summary need (Jinja and its compiled
    template, Pygments' Python lexer, whose rules compile on first use, and the page's style
    sheet; the report writer and the terminal lines): about 0.1 s that `run` overlaps with the
    student's programs. Idempotent; an error here is left for `write_report` to meet and report."""
    with _page_ready, contextlib.suppress(Exception):
        from grader.render.html import code_css, environment, highlighted
        from grader.rubric.cache import private_dir

        env = environment()
        compiled = private_dir("templates")
        if compiled is not None and env.bytecode_cache is None:
            # each self-check is a new process: keep the page's compiled template (0.1 s to compile)
            from jinja2 import FileSystemBytecodeCache

            env.bytecode_cache = FileSystemBytecodeCache(str(compiled))
        env.get_template("submission.html.j2")
        highlighted("pass\n")
        code_css()
        import grader.render.csv_export
        import grader.render.terminal
        import grader.render.write  # noqa: F401


def write_report(out: Path, outcome: SubmissionOutcome, rubric: Rubric) -> Path:
    """The student's page (the student view: render_submission makes it), nothing of the TA's."""
    prepare_page()
    from grader.render.html import render_submission
    from grader.render.safe import write_file
    from grader.render.write import page_paths

    student_page, _ = page_paths(outcome.id)
    return write_file(out, student_page, render_submission(outcome, "student", title=rubric.title))


def next_step(question: QuestionOutcome, check: CheckOutcome) -> str:
    """What to try next, from what the check says went wrong ("" when its message already says it:
    a failed check's message starts with what the answer should do)."""
    if not question.answered:
        return (f"Make sure the answer to {question.id} is where the grader looks: a cell starting with a label "
                f"such as `# {question.id}` (code) or `**{question.id}**` (text).")
    if check.status == "timeout":
        return ("Your program did not finish in time: look for a process that waits for something that never "
                "comes (a join before start, a queue nobody fills, a missing `if __name__ == \"__main__\":`).")
    if check.status == "error":
        return "The check could not run on this answer: run the cell yourself and fix the error it shows."
    if check.status == "skipped":
        return "This is checked once the checks it depends on pass: fix those first."
    return ""


def protections(outcome: SubmissionOutcome) -> str | None:
    """How the runs were isolated, as the sandbox recorded it in each Trace (the first run's account)."""
    for q in outcome.questions:
        for a in q.attempts:
            for trace in a.runs.values():
                info = trace.sandbox
                if not info:
                    continue
                if info.get("isolation"):
                    text = info["isolation"]
                    if info.get("namespaces_unavailable"):
                        text += f" (namespaces unavailable: {info['namespaces_unavailable']})"
                    return text
                parts = [f"{key}: {info[key]}" for key in ("user", "observer") if info.get(key)]
                if parts:
                    return "; ".join(parts)
    return None


def lines_for(student: SubmissionOutcome, report: Path) -> list[tuple[str, str]]:
    """(style, text) lines: the style for a terminal, the text for everyone."""
    from grader.render.csv_export import number
    from grader.render.safe import printable, shorten

    def safe(text: str) -> str:
        return printable(shorten(text, MESSAGE_LIMIT))

    out: list[tuple[str, str]] = [("bold", f"{safe(student.id)} ({safe(student.path)})")]
    if student.graded_file is not None:
        others = f"; also in the folder, not graded: {', '.join(student.not_graded)}" if student.not_graded else ""
        out.append(("dim", safe(f"graded file: {student.graded_file}{others}")))
    elif student.graded_files:
        others = f"; not graded: {', '.join(student.not_graded)}" if student.not_graded else ""
        out.append(("dim", safe(f"graded files: {', '.join(student.graded_files)}{others}")))
    if student.error is not None:
        out.append(("red", f"could not be graded: {safe(student.error)}"))
    for q in student.questions:
        full = q.score >= q.max_score
        mark = "ok" if full else "bad"
        title = shorten(" ".join(q.title.split()), 70)
        out.append((mark, f"{q.id}  {number(q.score)} / {number(q.max_score)}  {safe(title)}"))
        if not q.answered:
            out.append(("dim", "    no answer was found for this question"))
        for c in q.checks:
            if c.status == "passed" and c.score >= c.max_score:
                continue
            word = "PARTIAL" if c.status == "passed" else c.status.upper()
            out.append(("check", f"    {word:8} {safe(c.title)} ({number(c.score)} / {number(c.max_score)}): "
                                 f"{safe(c.message)}"))
            hint = next_step(q, c)
            if hint:
                out.append(("dim", f"             try: {hint}"))
            if not q.answered:
                break  # one hint is enough for an answer that is not there
    out.append(("bold", f"Score: {number(student.score)} / {number(student.max_score)}"))
    how = protections(student)
    if how:
        out.append(("dim", f"Protections: {safe(how)}"))
    out.append(("", f"Report: {safe(str(report))}"))
    return out


_MARKS = {"ok": ("✓", "PASS", "green"), "bad": ("✗", "FAIL", "red")}
_STYLES = {"check": "yellow", "dim": "dim", "bold": "bold", "red": "red", "": ""}


def show(student: SubmissionOutcome, report: Path, stream: TextIO, *,
         environ: Mapping[str, str] | None = None, min_score: float | None = None) -> None:
    from grader.render.terminal import console_for, wants_plain

    plain = wants_plain(stream, environ)
    lines = lines_for(student, report)
    if min_score is not None and student.error is None:
        below = student.score < min_score
        verdict = "NOT reached" if below else "reached"
        lines.append(("red" if below else "dim", f"Minimum score {min_score:g}: {verdict}"))
    if plain:
        for style, text in lines:
            stream.write((f"{_MARKS[style][1]} " if style in _MARKS else "") + text + "\n")
        stream.flush()
        return
    from rich.text import Text

    console = console_for(stream, plain=False, environ=environ)
    for style, text in lines:
        if style in _MARKS:
            mark, _, colour = _MARKS[style]
            console.print(Text.assemble((mark + " ", f"bold {colour}"), (text, colour)), soft_wrap=True)
        else:
            console.print(Text(text, style=_STYLES[style]), soft_wrap=True)

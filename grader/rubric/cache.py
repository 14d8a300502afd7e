"""A cache of parsed rubrics, so a student's self-check does not re-read and re-validate the YAML.

    load_rubric_cached(path) -> Rubric      the same Rubric as `load_rubric(path)`

The cache file is a pickle of the validated Rubric, its checks' parameters as plain values
(`ParamValues`: loading it imports no pydantic and validates nothing again), named by a hash of the rubric file's bytes,
the grader's version, the Python version and the size and mtime of the modules that decide how a
rubric parses (an edited check type invalidates it). It lives in `$XDG_CACHE_HOME/grader/rubrics/`
(default `~/.cache/grader/rubrics/`; `GRADER_CACHE_DIR` replaces `$XDG_CACHE_HOME/grader`;
`GRADER_NO_CACHE=1` turns caching off). `private_dir("templates")` is the same kind of folder for
Jinja's compiled templates (`grader check` renders one page per process).

Unpickling runs code, so a cache file is read only if it and its folder belong to the current
user and nobody else may write them (no group or other write bit, not a symlink); anything else,
any error at all, or a value not shaped as this version writes it, falls back silently to parsing
the file. Platforms without POSIX owners (Windows) do not use the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
from dataclasses import replace
from pathlib import Path

from grader import __version__
from grader.rubric.load import load_rubric, read_text
from grader.rubric.model import ParamValues, Rubric

FORMAT = 2  # bump when what is pickled changes shape (2: parameters as ParamValues)


def cache_root() -> Path | None:
    env = os.environ
    if env.get("GRADER_NO_CACHE") or not hasattr(os, "getuid"):
        return None
    if env.get("GRADER_CACHE_DIR"):
        return Path(env["GRADER_CACHE_DIR"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader"


def cache_dir() -> Path | None:
    root = cache_root()
    return root / "rubrics" if root is not None else None


def private_dir(name: str) -> Path | None:
    """`name` under the cache root, created 0700, if it is a real folder of ours nobody else can write."""
    root = cache_root()
    if root is None:
        return None
    folder = root / name
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(folder)
    except OSError:
        return None
    return folder if stat.S_ISDIR(st.st_mode) and _private(st) else None


def _code_stamp() -> str:
    """Size and mtime of the modules that shape a parsed rubric: an edited one makes a new key."""
    root = Path(__file__).resolve().parent.parent
    parts = []
    for folder in ("rubric", "checks"):
        for module in sorted((root / folder).glob("*.py")):
            with contextlib.suppress(OSError):
                st = module.stat()
                parts.append(f"{module.name}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


def cache_key(text: str) -> str:
    digest = hashlib.sha256()
    for part in (f"grader.rubric.cache/{FORMAT}", __version__, sys.version, _code_stamp(), text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by us and writable by nobody else."""
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(folder: Path, key: str) -> Rubric | None:
    try:
        if not _private(os.lstat(folder)) or not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
        fd = os.open(folder / f"{key}.pickle", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or not _private(st):
            return None
        value = pickle.load(fh)  # trusted: a private file we wrote
    return value if _well_formed(value) else None


def _well_formed(value: object) -> bool:
    """A Rubric as `_write` stores it (every check's parameters plain values)."""
    return isinstance(value, Rubric) and all(isinstance(c.params, ParamValues) for q in value.questions
                                             for c in q.checks)


def plain(rubric: Rubric) -> Rubric:
    """The rubric with its checks' parameters as ParamValues (what the cache stores)."""
    return replace(rubric, questions=tuple(
        replace(q, checks=tuple(replace(c, params=ParamValues.of(c.params)) for c in q.checks))
        for q in rubric.questions))


def _write(folder: Path, key: str, rubric: Rubric) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _private(os.lstat(folder)):
        return
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(plain(rubric), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / f"{key}.pickle")
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def load_rubric_cached(path: str | Path) -> Rubric:
    """The validated rubric at `path`, from the cache when a trustworthy entry matches its content."""
    folder = cache_dir()
    if folder is None:
        return load_rubric(path)
    text = read_text(path)
    key = cache_key(text)
    try:
        cached = _read(folder, key)
    except Exception:  # a damaged or foreign cache file is never an error: parse instead
        cached = None
    if cached is not None:
        return replace(cached, path=str(path))
    rubric = load_rubric(path)
    with contextlib.suppress(Exception):  # a read-only home, a full disk, an unpicklable type: no cache
        _write(folder, key, rubric)
    return rubric

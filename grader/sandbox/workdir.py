"""What the program left in its working directory. Symlinks are recorded, never followed (the
grader may be root and must not read through a link the program planted)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from grader.trace import File

HEAD = 1024
MAX_FILES = 200


def _read(path: Path, limit: int) -> bytes | None:
    """Up to `limit` bytes of a regular file, without following a symlink or blocking on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            data = os.read(fd, min(1 << 20, limit - size))
            if not data:
                break
            chunks.append(data)
            size += len(data)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def list_files(work: Path, program: str, program_source: str) -> tuple[list[File], int]:
    """Files under `work` (the program itself only if it was changed), and how many more were
    not listed."""
    files: list[File] = []
    extra = 0
    for root, dirs, names in os.walk(work):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            full = Path(root, name)
            rel = full.relative_to(work).as_posix()
            try:
                st = full.lstat()
            except OSError:
                continue
            if len(files) >= MAX_FILES:
                extra += 1
                continue
            if stat.S_ISLNK(st.st_mode):
                link = ""
                with contextlib.suppress(OSError):
                    link = os.readlink(full)
                files.append(File(path=rel, size=0, link=link))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            head = _read(full, HEAD) or b""
            if rel == program and head == program_source.encode("utf-8")[:HEAD] and st.st_size == len(
                program_source.encode("utf-8")
            ):
                continue
            files.append(File(path=rel, size=st.st_size, head=head.decode("utf-8", "replace"), binary=b"\0" in head))
    return files, extra


def read_text(work: Path, rel: str, limit: int = 1 << 20) -> str | None:
    """The text of a file the program wrote (for checking log records), or None."""
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        return None
    real_work = os.path.realpath(work)
    if os.path.commonpath([real_work, os.path.realpath(work / rel)]) != real_work:
        return None  # reached through a symlinked directory
    data = _read(work / rel, limit)
    return None if data is None else data.decode("utf-8", "replace")

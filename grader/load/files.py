"""A submission's files, read without being led outside the submission.

A student's folder holds whatever an archive can: a symlink to `/etc/shadow`, to the TA's home or to
another student's folder, a named pipe (opening or reading one blocks for ever), a socket, a device
(`/dev/zero` never ends; opening `/dev/watchdog` arms a reboot). A root grader would read any of
them, and what it reads becomes cells shown in the student's own report. So:

- only regular files are ever opened (checked with `stat` before opening, so a device is never
  opened, and again on the open descriptor, so a file swapped in between is not read either), and
  at most `limit` bytes of one are read, whatever its size said;
- inside a folder read as a submission no symlink is followed (`O_NOFOLLOW`; the walk does not enter
  linked folders either), and each one is named in the submission's notes. A path the TA gives (on the
  command line, or as an entry of a class folder that stays inside that folder) is followed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from grader.errors import SubmissionError


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def not_followed(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return f"a symbolic link (to {target}), not followed: only the submission's own files are read"


def read_regular(path: Path, limit: int, *, follow: bool) -> bytes:
    """The bytes of the regular file `path` (at most `limit`). SubmissionError, with one clear reason,
    for anything else: a symlink when not `follow`, a pipe, a socket, a device, a folder, too large."""
    shown = str(path)
    try:
        before = os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        raise SubmissionError(shown, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISLNK(before.st_mode):
        raise SubmissionError(shown, not_followed(path))
    if not stat.S_ISREG(before.st_mode):
        raise SubmissionError(shown, f"{kind(before.st_mode)}, not a file: not read")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | (0 if follow else os.O_NOFOLLOW))
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:  # made a symlink since the stat
            raise SubmissionError(shown, not_followed(path)) from None
        raise SubmissionError(shown, f"cannot read: {exc.strerror or exc}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise SubmissionError(shown, "changed while it was being read: not read")
        if now.st_size > limit:
            raise SubmissionError(shown, too_large(now.st_size, limit))
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise SubmissionError(shown, too_large(total, limit))
        return b"".join(chunks)
    except OSError as exc:
        raise SubmissionError(shown, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def too_large(size: int, limit: int) -> str:
    return f"file too large ({size // (1024 * 1024)} MB; the limit is {limit // (1024 * 1024)} MB)"


def walk(folder: Path, keep: tuple[str, ...] | None, skip_dirs: set[str]) -> tuple[list[Path], list[str]]:
    """The regular files under `folder` whose suffix is in `keep` (any suffix when None; sorted, hidden
    files and `skip_dirs` left out), and a line for each other entry with such a suffix that is not read
    (a symlink, a pipe...). Linked folders are not entered."""
    found: list[Path] = []
    refused: list[str] = []
    for root, dirs, files in os.walk(folder):
        for d in sorted(dirs):
            if not d.startswith(".") and d not in skip_dirs and os.path.islink(os.path.join(root, d)):
                rel = Path(root, d).relative_to(folder)
                refused.append(f"{rel}: {not_followed(Path(root, d))}")
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("."))
        for f in sorted(files):
            if f.startswith(".") or f.startswith("~$"):
                continue
            p = Path(root) / f
            if keep is not None and p.suffix.lower() not in keep:
                continue
            try:
                mode = os.lstat(p).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                found.append(p)
            else:
                why = not_followed(p) if stat.S_ISLNK(mode) else f"{kind(mode)}, not a file: not read"
                refused.append(f"{p.relative_to(folder)}: {why}")
    return found, refused

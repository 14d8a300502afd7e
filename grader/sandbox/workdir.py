"""What the program left in its working directory, and removing it.

Symlinks are recorded, never followed (the grader may be root and must not read through a link
the program planted). Both the listing and the removal are iterative, so a program that made a
directory tree 100 000 levels deep costs the grader no recursion; the listing is also bounded in
entries looked at and in depth, whatever the program made.

A root grader mounts a tmpfs of its own on each run folder (`mount_run_folder`), capped in bytes
and in inodes: what the program can make there is bounded, and removing it is one unmount (the
kernel frees the tree: 0.3 s for 100 000 levels here, where unlinking them one by one from ext4
took about a minute), which also makes a run's folder cost no disk journal. Without the
privilege to mount (not root, a locked-down container) the folder is an ordinary directory
under the temporary folder, removed iteratively at any depth.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.trace import File

HEAD = 1024
MAX_FILES = 200  # files listed in the Trace
MAX_ENTRIES = 5000  # directory entries looked at while listing
MAX_DEPTH = 32  # directory levels listed below the working directory


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
    not listed (at least: entries beyond MAX_ENTRIES or MAX_DEPTH are counted as one each
    directory left unread)."""
    files: list[File] = []
    extra = 0
    looked = 0
    source = program_source.encode("utf-8")
    stack: list[tuple[str, int]] = [("", 0)]  # (relative directory, depth), depth-first in name order
    while stack:
        rel_dir, depth = stack.pop()
        if depth > MAX_DEPTH or looked >= MAX_ENTRIES:
            extra += 1
            continue
        try:
            with os.scandir(work / rel_dir if rel_dir else work) as it:
                entries = []
                for entry in it:
                    looked += 1
                    entries.append(entry)
                    if looked >= MAX_ENTRIES:
                        extra += 1
                        break
        except OSError:
            continue
        subdirs = []
        for entry in sorted(entries, key=lambda e: e.name):
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(rel)
                continue
            if not (stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode)):
                continue
            if len(files) >= MAX_FILES:
                extra += 1
                continue
            full = Path(entry.path)
            if stat.S_ISLNK(st.st_mode):
                link = ""
                with contextlib.suppress(OSError):
                    link = os.readlink(full)
                files.append(File(path=rel, size=0, link=link))
                continue
            head = _read(full, HEAD) or b""
            if rel == program and head == source[:HEAD] and st.st_size == len(source):
                continue
            files.append(File(path=rel, size=st.st_size, head=head.decode("utf-8", "replace"), binary=b"\0" in head))
        stack.extend((d, depth + 1) for d in reversed(subdirs))
    return files, extra


RUN_FOLDER_INODES = 65_536  # files and directories a run may make (a 65 536-level tree unmounts in ~0.2 s)
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


@lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


_mount_failed: list[str] = []  # once mounting failed (no privilege), later runs do not try again


def mount_run_folder(path: Path, size: int) -> bool:
    """Mount a fresh tmpfs of at most `size` bytes and RUN_FOLDER_INODES inodes on the (empty,
    root-owned) folder `path`; False where that is not allowed (the folder stays as it is)."""
    if _mount_failed or not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    options = f"size={size},nr_inodes={RUN_FOLDER_INODES},mode=0700,uid=0,gid=0".encode()
    try:
        ok = bool(_libc().mount(b"grader-run", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0)
    except (OSError, AttributeError):
        ok = False
    if not ok:
        _mount_failed.append("no")
    return ok


def unmount_run_folder(path: Path) -> None:
    """Detach every tmpfs mounted on `path` (ours, or left by a grader that died): the kernel frees
    what is in it, whatever its depth. `path` itself, an empty directory again, stays."""
    for _ in range(8):  # a mount per crashed grader at most, stacked
        if not sys.platform.startswith("linux") or not os.path.ismount(path):
            return
        if _libc().umount2(os.fsencode(path), _MNT_DETACH) != 0:
            return


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it, at any depth, without recursion and without
    following a symlink; directories the program made unreadable (chmod 000) are opened up first.
    Directory by directory through file descriptors, so path lengths never grow."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    names: list[str] = []  # the directories we are in, below `path`
    try:
        while True:
            child = _clear_files(fd)
            if child is not None:
                with contextlib.suppress(OSError):
                    os.chmod(child, 0o700, dir_fd=fd, follow_symlinks=False)
                try:
                    sub = os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError:
                    os.rmdir(child, dir_fd=fd)  # raises if it really cannot be removed
                    continue
                os.close(fd)
                fd = sub
                names.append(child)
                continue
            if not names:
                break
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _clear_files(fd: int) -> str | None:
    """Unlink every non-directory in the directory `fd` until a subdirectory is met; return its name."""
    with os.scandir(fd) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                return entry.name
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.name, dir_fd=fd)
    return None


def read_text(work: Path, rel: str, limit: int = 1 << 20) -> str | None:
    """The text of a file the program wrote (for checking log records), or None."""
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        return None
    real_work = os.path.realpath(work)
    if os.path.commonpath([real_work, os.path.realpath(work / rel)]) != real_work:
        return None  # reached through a symlinked directory
    data = _read(work / rel, limit)
    return None if data is None else data.decode("utf-8", "replace")

"""Student text made safe to show, and outputs written whole.

Every file name, message and error a report shows may come from a student: a notebook named
`\\x1b]0;pwned\\x07.ipynb`, a program that prints `\\x1b[2J`, a message quoting `\\u202e` text that
reads backwards. `printable` turns every character that a terminal, an XML file or a Markdown
viewer would act on instead of show into a visible escape (`\\x1b`, `\\u202e`), so what is shown is
what is there. Ordinary text, accents and other scripts included, is left alone.

`write_atomic` writes an output file so that a reader never sees half of it and a symlink planted
where the file goes is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import GraderError

if TYPE_CHECKING:
    pass

# C0 controls and DEL, C1 controls (U+009B alone is a CSI: an escape sequence in one character),
# the bidirectional overrides, embeddings, isolates and marks (text that displays in another order
# than it reads), the line and paragraph separators, lone surrogates (a file name's undecodable
# bytes) and the two noncharacters XML refuses.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff\ufffe\uffff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                                "\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` with every control character, escape sequence and bidi control shown as an escape.

    `newlines=True` keeps line feeds and tabs (a multi-line message shown as a block); otherwise they
    are escaped too, so one value stays on one line (a file name cannot forge a line of output).
    """
    return (_UNSAFE_KEEP_LINES if newlines else _UNSAFE).sub(_escape, text)


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters: a student's message may be megabytes long."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


class UnsafeOutputError(GraderError):
    """A file could not be written where it belongs (a symlink or a file in the way)."""


def _open_dir(root: Path, parts: Iterable[str]) -> int:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                raise UnsafeOutputError(f"{root}: {part} is not a real folder (a symlink or a file): "
                                        f"{exc.strerror}") from exc
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_file(root: Path, relative: str, data: str | bytes | Iterable[str] | Iterable[bytes]) -> Path:
    """Write `root/relative` whole or not at all, following no symlink below `root`.

    Folders are opened one level at a time with O_NOFOLLOW (created if missing); the data goes to
    a temporary file created exclusively beside the target, then renamed over it, which replaces
    a planted link instead of writing through it. `data` may be an iterable of text or byte pieces, written
    as they come (a large file is never held whole in memory).
    """
    *folders, name = relative.split("/")
    fd = _open_dir(root, folders)
    tmp = f".{name[:40]}.{secrets.token_hex(6)}.tmp"
    try:
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
        with os.fdopen(out, "wb") as fh:
            if isinstance(data, (str, bytes)):
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            else:
                for piece in data:
                    fh.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=fd)
        raise
    finally:
        os.close(fd)
    return root / relative


def write_atomic(path: Path, data: str | bytes | Iterable[str] | Iterable[bytes]) -> Path:
    """`write_file` for a file directly in a folder the caller chose."""
    return write_file(path.parent, path.name, data)


def real_dir(path: Path) -> Path:
    """`path` as a folder to write into, created if missing; never a symlink or a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        path.mkdir(parents=True, exist_ok=True)
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise GraderError(f"{path}: is a symbolic link; the grader does not write through links")
    if not stat.S_ISDIR(st.st_mode):
        raise GraderError(f"{path}: exists and is not a folder")
    return path

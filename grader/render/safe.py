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

import os
import re
import stat
import tempfile
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


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `path` whole or not at all: a temporary file beside it, then renamed over it.

    The rename replaces whatever is at `path`, a symlink included, without following it, and the
    temporary file is created exclusively (never an existing file or link).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    real_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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

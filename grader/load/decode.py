"""Bytes to text, with the checks that turn bad files into one clear line."""

from __future__ import annotations

import codecs

from grader.errors import SubmissionError


def utf16_bom(data: bytes) -> str | None:
    """'utf-16' when the bytes open with a UTF-16 byte order mark (Notepad's "Unicode", PowerShell's `>`
    redirection), else None. Such text is full of NUL bytes, so it would otherwise look binary."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None
    return "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or many control characters, in the first 8 KB: not a text file."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    if not head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control / len(head) > 0.05


def describe_binary(data: bytes) -> str:
    kinds = {
        b"PK\x03\x04": "a zip archive",
        b"%PDF": "a PDF document",
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"\x7fELF": "an executable",
        b"\x1f\x8b": "a gzip archive",
    }
    for magic, name in kinds.items():
        if data.startswith(magic):
            return f"binary file ({name}), not a notebook or Python script"
    return "binary file, not a notebook or Python script"


def decode(path: str, data: bytes, encoding: str | None = None) -> str:
    """Decode as UTF-8 (BOM allowed), or as `encoding` when the TA names one."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SubmissionError(path, f"unknown encoding {encoding!r}") from None
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            raise SubmissionError(path, f"not valid {encoding} text ({exc.reason} at byte {exc.start})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise SubmissionError(
            path,
            f"not UTF-8 text (byte 0x{bad} at line {line}, column {col}); "
            "re-save it as UTF-8, or pass --encoding (e.g. --encoding cp1252)",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")

"""Fenced code blocks (```` ``` ```` and `~~~`) as CommonMark reads them, for the Markdown file reader
(`load.markdown`) and the readers of markdown and raw cells (`locate.pieces`, `locate.numbering`).

One grammar: an opening line is an indentation, three or more backticks or tildes, and an info string
holding no backtick (CommonMark allows one after tildes; no reader here ever did); the block closes at
the next line holding only a fence of the same character, at least as long, with the same indentation
rule and nothing but spaces or tabs after it. Two choices differ between the readers and are parameters:
- `any_indent`: a Markdown file's fences are indented by at most three spaces, as at a document's top
  level (four spaces or a tab make an indented code block); a notebook cell's may be indented any amount
  of spaces and tabs, because a fence inside a list item keeps the item's indentation.
- `unclosed`: what an opening fence that is never closed means (`Unclosed`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

_OPEN = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)")
_CLOSE = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*")


def _top_level(indent: str) -> bool:
    """At most three spaces: four or a tab make an indented code block at a document's top level."""
    return len(indent) <= 3 and "\t" not in indent


class Unclosed(Enum):
    """What an opening fence that no later line closes means."""

    # The opening line is text and reading goes on after it: a Markdown file, where a stray fence
    # must not swallow the rest of the notebook.
    TEXT = "text"
    # The block runs to the last line and nothing after it is read: a notebook cell, as Markdown
    # renders it (a chat answer pasted without its closing fence is still code).
    TO_END = "to the end"


@dataclass(frozen=True)
class Block:
    """A fenced block: lines are 0-based indices of the lines scanned."""

    open: int  # the opening fence's line
    close: int | None  # the closing fence's line; None when never closed (runs to the end)
    indent: str  # the opening fence's indentation
    info: str  # the text after the opening fence, without the spaces or tabs around it


def opens(line: str, *, any_indent: bool) -> bool:
    """Is the line an opening fence (a bare fence opens as well as closes)?"""
    m = _OPEN.fullmatch(line)
    return m is not None and (any_indent or _top_level(m.group("indent")))


def blocks(lines: Sequence[str], *, any_indent: bool, unclosed: Unclosed) -> list[Block]:
    """The fenced blocks of `lines`, in order. Linear: the closing lines are indexed once, with the
    longest fence from each on, so an opening fence that nothing closes is known at once (pairing each
    by scanning the lines after it took 84 s on a Markdown file of 5,000 unclosed fences, and indexing
    without the longest still took seconds on fences of falling lengths)."""
    closes: dict[str, list[tuple[int, int]]] = {"`": [], "~": []}  # char -> (line, fence length), in order
    for j, line in enumerate(lines):
        c = _CLOSE.fullmatch(line)
        if c is not None and (any_indent or _top_level(c.group("indent"))):
            closes[c.group("fence")[0]].append((j, len(c.group("fence"))))
    longest: dict[str, list[int]] = {}  # char -> the longest closing fence from each index of closes on
    for char, at in closes.items():
        longest[char] = [0] * (len(at) + 1)
        for x in range(len(at) - 1, -1, -1):
            longest[char][x] = max(at[x][1], longest[char][x + 1])
    ahead = {"`": 0, "~": 0}  # char -> the index in closes of the first closing line after the reading
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = _OPEN.fullmatch(lines[i])
        if m is None or not (any_indent or _top_level(m.group("indent"))):
            i += 1
            continue
        char, length = lines[i][m.start("fence")], m.end("fence") - m.start("fence")
        at, k = closes[char], ahead[char]
        while k < len(at) and at[k][0] <= i:
            k += 1
        ahead[char] = k
        close = None
        if longest[char][k] >= length:
            while at[k][1] < length:
                k += 1
            close = at[k][0]
        elif unclosed is Unclosed.TEXT:  # nothing after closes it
            i += 1
            continue
        found.append(Block(i, close, m.group("indent"), m.group("info").strip(" \t")))
        if close is None:
            break
        i = close + 1
    return found

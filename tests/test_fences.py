"""The one fence grammar of the Markdown file reader and the cell reader, in its two modes."""

from __future__ import annotations

import random
import re
import time

from grader.fences import Block, Unclosed, blocks, opens

Mode = tuple[bool, Unclosed]  # any_indent, unclosed
FILE: Mode = (False, Unclosed.TEXT)  # a Markdown file (load.markdown)
CELL: Mode = (True, Unclosed.TO_END)  # a markdown or raw cell (locate.pieces)


def read(lines: list[str], mode: Mode) -> list[Block]:
    return blocks(lines, any_indent=mode[0], unclosed=mode[1])


def spans(lines: list[str], mode: Mode) -> list[tuple[int, int | None]]:
    return [(b.open, b.close) for b in read(lines, mode)]


def test_a_fence_closes_at_a_bare_fence_of_its_character_at_least_as_long() -> None:
    lines = ["````python title", "~~~", "```", "`````  ", "~~~ text", "````", "~~~~\t"]
    # '~~~' and '```' are too short or the other character; the fence of five backticks closes.
    assert read(lines, FILE) == [Block(0, 3, "", "python title"), Block(4, 6, "", "text")]
    assert spans(lines, CELL) == [(0, 3), (4, 6)]
    # A line with text after its fence opens and never closes; '```\xa0' is not a bare fence (CommonMark:
    # only spaces or tabs may follow a closing fence), so a Markdown file's block runs on to the next.
    lines = ["```py", "x = 1", "```\xa0", "print(x)", "``` x", "```"]
    assert spans(lines, FILE) == [(0, 5)]
    assert spans(lines, CELL) == [(0, 5)]


def test_indentation_is_the_first_choice() -> None:
    # A fence in a list item keeps the item's indentation: a cell reads it, a file's top level does not
    # (four spaces or a tab make an indented code block there).
    lines = ["1. Code:", "", "    ```python", "    x = 1", "    ```", "\t~~~", "\t~~~", "   ```", "   ```"]
    assert read(lines, CELL)[0] == Block(2, 4, "    ", "python")
    assert spans(lines, CELL) == [(2, 4), (5, 6), (7, 8)]
    assert spans(lines, FILE) == [(7, 8)]
    assert opens("      ```", any_indent=True) and not opens("      ```", any_indent=False)
    assert opens("```python", any_indent=False) and not opens("``` a`b", any_indent=True)


def test_what_an_unclosed_fence_means_is_the_second_choice() -> None:
    lines = ["```python", "x = 1", "~~~~", "~~~", "y", "~~~~", "```js", "z"]
    # A file: the unclosed '```python' line is text, the tilde block after it is read, as is the
    # unclosed '```js' line. A cell: the first unclosed fence runs to the end, nothing after it is read.
    assert spans(lines, FILE) == [(2, 5)]
    assert spans(lines, CELL) == [(0, None)]
    assert spans(["```"], FILE) == [] and spans(["```"], CELL) == [(0, None)]
    assert spans([], FILE) == spans([], CELL) == []


def _reference(lines: list[str], mode: Mode) -> list[tuple[int, int | None]]:
    """The grammar read the slow, obvious way: each opening fence scans the lines after it."""
    any_indent, unclosed = mode
    indent = r"[ \t]*" if any_indent else r" {0,3}"
    out: list[tuple[int, int | None]] = []
    i = 0
    while i < len(lines):
        m = re.fullmatch(indent + r"(`{3,}|~{3,})[^`]*", lines[i])
        if m is None:
            i += 1
            continue
        fence = m.group(1)
        close = next((j for j in range(i + 1, len(lines))
                      if (c := re.fullmatch(indent + r"(`{3,}|~{3,})[ \t]*", lines[j]))
                      and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence)), None)
        if close is None and unclosed is Unclosed.TEXT:
            i += 1
            continue
        out.append((i, close))
        if close is None:
            break
        i = close + 1
    return out


def test_both_modes_agree_with_a_line_by_line_reading_on_random_mixes() -> None:
    r = random.Random(20261130)
    for _ in range(2000):
        lines = [r.choice(["", "text", "  x = 1", "a`b"]) if r.random() < 0.3 else
                 r.choice(["", " ", "   ", "    ", "\t", "      "]) + r.choice("`~") * r.choice([3, 3, 4, 5])
                 + r.choice(["", " ", "\t", "python", " py title", "{python} ", "`", "\xa0"])
                 for _ in range(r.randint(0, 30))]
        for mode in (FILE, CELL):
            assert spans(lines, mode) == _reference(lines, mode), (lines, mode)


def test_fences_of_falling_lengths_are_paired_in_linear_time() -> None:
    """Hostile: 1,500 unclosed fences, each shorter than the one before, then 150,000 short bare fences
    (1.7 MB). Indexing the closing fences without the longest ahead scanned them all again for each
    shorter fence: 5.8 s for two thirds of this; every opening fence scanning the lines after it is
    quadratic."""
    lines = ["`" * (3 + 1500 - k) + "x" for k in range(1500)] + ["```"] * 150_000
    for mode in (FILE, CELL):
        start = time.monotonic()
        found = spans(lines, mode)
        assert time.monotonic() - start < 5
        assert found == ([(1500 + 2 * k, 1501 + 2 * k) for k in range(75_000)] if mode is FILE else [(0, None)])

"""Markdown notebooks: nbconvert `--to markdown` exports, jupytext/MyST Markdown, Quarto `.qmd`.

How the file is read, measured on what students hand in:
- A code cell is a fenced block whose language is Python (```` ```python ````, ```` ```py ````,
  ```` ```ipython3 ````, MyST ```` ```{code-cell} ipython3 ````, Quarto ```` ```{python} ````).
  A fence with no language is code when its text compiles and has the shape of code, and is
  not right after a code cell (there it is that cell's recorded output).
- Recorded output follows its code cell: a block indented by four spaces (nbconvert), or a
  fence with no language or a `text`/`output` language, separated from the code by blank
  lines only.
- Everything else is Markdown, one cell per paragraph (a fenced block in another language is
  kept whole); a YAML front matter block (`---` ... `---`) is a raw cell.
- Origins are 1-based line ranges; a code cell's range includes its fences and its output.
"""

from __future__ import annotations

import re

from grader.fences import Unclosed, blocks
from grader.pysource import compiles, looks_like_code, output_like
from grader.submission import Cell, CellKind, Format, Origin, Submission

_PY = {"python", "py", "python3", "ipython", "ipython3", "ipython2", "pycon"}
_OUTPUT_LANGS = {"", "text", "output", "console", "txt", "plaintext", "none"}
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S")
SUFFIXES = (".md", ".qmd", ".markdown", ".myst", ".rmd")


def _language(info: str) -> str:
    """The fence's language: 'python' for ```python, ```{python}, ```{code-cell} ipython3."""
    info = info.strip().lower()
    m = re.match(r"^\{\s*code-cell\s*\}\s*(?P<lang>[\w+-]*)", info)
    if m:
        return m.group("lang") or "python"
    m = re.match(r"^\{\s*(?P<lang>[\w+-]+)[^}]*\}", info)
    if m:
        return m.group("lang")
    return re.split(r"[\s{,]", info, maxsplit=1)[0] if info else ""


def _fences(lines: list[str]) -> list[tuple[int, int, str]]:
    """Closed fenced blocks: (opening line, closing line, language), 0-based. Indented by at most three
    spaces, as at a document's top level; a fence never closed is no block (a stray fence must not
    swallow the rest of the notebook)."""
    return [(b.open, b.close, _language(b.info)) for b in blocks(lines, any_indent=False, unclosed=Unclosed.TEXT)
            if b.close is not None]


def is_markdown(lines: list[str], path: str) -> bool:
    """A Markdown notebook: a fenced Python block, or a Markdown file name and fenced code."""
    fences = _fences(lines)
    if any(lang in _PY for _, _, lang in fences):
        return True
    if path.lower().endswith(SUFFIXES):
        return True
    # Unlabelled fences holding code, with Markdown headings around them.
    code_fences = [f for f in fences if f[2] == "" and _is_code("\n".join(lines[f[0] + 1 : f[1]]))]
    return bool(code_fences) and any(_HEADING.match(ln) for ln in lines)


def _is_code(text: str) -> bool:
    return bool(text.strip()) and compiles(text) and looks_like_code(text) and not output_like(text)


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.cells: list[Cell] = []

    def _add(self, kind: CellKind, first: int, last: int, source: str, *, output: str = "",
             source_first: int | None = None, notes: list[str] | None = None) -> None:
        first_source = (source_first if source_first is not None else first) + 1
        self.cells.append(Cell(index=len(self.cells), kind=kind, source=source,
                               origin=Origin(lines=(first + 1, last + 1)), output=output,
                               source_first_line=first_source, notes=notes or []))

    def markdown(self, start: int, end: int) -> None:
        """lines[start:end] as Markdown: one cell per paragraph; fenced blocks kept whole."""
        fences = {f[0]: f[1] for f in _fences(self.lines[start:end])}
        i = start
        while i < end:
            if not self.lines[i].strip():
                i += 1
                continue
            if i - start in fences:
                j = fences[i - start] + start
            else:
                j = i
                while j + 1 < end and self.lines[j + 1].strip() and (j + 1 - start) not in fences:
                    j += 1
            self._add(CellKind.MARKDOWN, i, j, "\n".join(self.lines[i : j + 1]))
            i = j + 1

    def _output_after(self, pos: int, fences: dict[int, tuple[int, str]]) -> tuple[str, int] | None:
        """Recorded output starting after blank lines from `pos`: (text, last line), or None."""
        i = pos
        while i < len(self.lines) and not self.lines[i].strip():
            i += 1
        if i >= len(self.lines) or (i == pos and i not in fences and not self.lines[i].startswith("    ")):
            return None
        if i in fences:
            close, lang = fences[i]
            body = "\n".join(self.lines[i + 1 : close])
            if lang in _OUTPUT_LANGS and not (lang == "" and _is_code(body)):
                return body + "\n", close
            return None
        if self.lines[i].startswith(("    ", "\t")):
            j = i
            last = i
            # An indented block (blank lines inside it allowed while indentation continues).
            while j < len(self.lines) and (not self.lines[j].strip() or self.lines[j].startswith(("    ", "\t"))):
                if self.lines[j].strip():
                    last = j
                j += 1
            text = "\n".join(ln[4:] if ln.startswith("    ") else ln.lstrip("\t") for ln in self.lines[i : last + 1])
            return text + "\n", last
        return None

    def read(self) -> None:
        lines = self.lines
        pos = 0
        if lines and lines[0].strip() == "---":
            end = next((j for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), None)
            if end is not None:
                self._add(CellKind.RAW, 0, end, "\n".join(lines[: end + 1]), notes=["front matter"])
                pos = end + 1
        fences = {o: (c, lang) for o, c, lang in _fences(lines) if o >= pos}
        starts = sorted(fences)
        k = 0
        while k < len(starts):
            o = starts[k]
            c, lang = fences[o]
            body = "\n".join(lines[o + 1 : c])
            if lang not in _PY and not (lang == "" and _is_code(body)):
                k += 1
                continue
            self.markdown(pos, o)
            notes = [] if lang in _PY else ["fenced block without a language, read as code (it is Python)"]
            source_lines = lines[o + 1 : c]
            # Quarto/MyST cell options (`#| echo: false`, `:tags: [...]`) are options, not code; they
            # are comments or MyST directives that Python ignores once removed.
            skip = 0
            while skip < len(source_lines) and re.match(r"^\s*:\w[\w-]*:", source_lines[skip]):
                skip += 1
            source = "\n".join(source_lines[skip:])
            last = c
            output = ""
            found = self._output_after(c + 1, fences)
            if found is not None:
                output, last = found
            self._add(CellKind.CODE, o, last, source, output=output, source_first=o + 1 + skip, notes=notes)
            pos = last + 1
            while k < len(starts) and starts[k] <= last:
                k += 1
        self.markdown(pos, len(lines))


def read_markdown(path: str, name: str, text: str) -> Submission:
    lines = text.split("\n")
    reader = _Reader(lines)
    reader.read()
    kind = "Quarto document" if path.lower().endswith(".qmd") else "Markdown notebook"
    notes = [f"{kind}: fenced Python blocks are code cells, the rest is Markdown"]
    return Submission(path=path, name=name, format=Format.MARKDOWN, cells=reader.cells, notes=notes)

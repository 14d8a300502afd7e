"""Small questions about a piece of text: is it Python, is it prose, is it only comments?

Shared by the readers (to tell code from recorded output in text exports) and the locator
(to tell a written answer typed into a code cell from code).
"""

from __future__ import annotations

import ast
import re
import warnings

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Line shapes that only code has (a prose line rarely starts with these).
_CODE_LINE = re.compile(
    r"""^\s*(
        (import|from)\s+[\w.]+ |
        (def|class)\s+\w+\s*[(:] |
        (if|elif|while|for|with|try|except|finally|else|return|yield|raise|assert|pass|break|continue|
         global|nonlocal|del|lambda|async|await)\b[^,]*[:)\w]?\s*$ |
        @\w+ |
        [\w.\[\]'"]+\s*(=|\+=|-=|\*=|/=)\s*\S |
        [\w.]+\(.*\)\s*$ |
        print\s*\(
    )""",
    re.VERBOSE,
)


def compiles(text: str) -> bool:
    """True if `text` is syntactically valid Python (compiled, never executed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            compile(text, "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def syntax_error(text: str) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, MemoryError, RecursionError) as exc:
        return SyntaxError(str(exc))
    return None


def is_comment_only(text: str) -> bool:
    """Every non-blank line is a `#` comment."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(ln.lstrip().startswith("#") for ln in lines)


def strip_comment_markers(text: str) -> str:
    """Comment-only text as prose: '# Multiprocessing is...' -> 'Multiprocessing is...'."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            stripped = stripped.lstrip("#")
            if stripped.startswith(" "):
                stripped = stripped[1:]
        out.append(stripped.rstrip())
    return "\n".join(out).strip("\n")


def code_line_score(line: str) -> bool:
    """Does this single line have a shape only code has?"""
    return bool(_CODE_LINE.match(line))


# A line that opens a Python block: what is indented under it is the block's body.
_OPENER = re.compile(r"^\s*(def|class|if|elif|else|for|while|with|try|except|finally|async)\b.*:\s*(#.*)?$")


def looks_like_code(text: str) -> bool:
    """A judgement for text that may not compile: mostly code-shaped lines, or lines indented under
    a line that opens a block (`def f(x):`, `if __name__ == "__main__":`). Indentation alone is not
    code: students indent the wrapped lines of a paragraph typed into a code cell."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return False
    codeish = 0
    in_block = False  # the lines since the last unindented line are under a block opener
    for ln in lines:
        indented = ln.startswith((" ", "\t"))
        opener = bool(_OPENER.match(ln))
        in_block = (in_block and indented) or opener
        if code_line_score(ln) or (indented and in_block and not opener) or opener:
            codeish += 1
    return codeish / len(lines) >= 0.6


def docstring_like(text: str) -> str | None:
    """If the text is only string literals (and comments), the strings' content, else None.

    Students write answers as bare triple-quoted strings or assign them: `Ans1 = '''...'''`.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    parts: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr):
            value = stmt.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
                continue
            if isinstance(value, ast.Name):
                continue  # echoing the answer variable: `Ans1`
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print"
                    and all(isinstance(a, ast.Name) for a in value.args)):
                continue  # print(Ans1)
            return None
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
            parts.append(stmt.value.value)
            continue
        return None
    return "\n\n".join(p.strip("\n") for p in parts) if parts else None


def unterminated_string_text(text: str) -> str | None:
    """Prose inside a string that was opened but never closed (`'''` with no end)."""
    m = re.search(r"('''|\"\"\")", text)
    if not m or text.count(m.group(1)) % 2 == 0:
        return None
    return text[m.end():].strip()


def identifiers(text: str) -> set[str]:
    return set(_IDENT.findall(text))


def output_like(text: str) -> bool:
    """Parses as Python but has the shape of printed output: literal displays (`[1, 8, 27]`,
    `None`) and value-less annotations (`Result: 5`), which recorded output often is."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    if not tree.body:
        return False
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            continue
        if not isinstance(stmt, ast.Expr):
            return False
        for node in ast.walk(stmt.value):
            if isinstance(node, (ast.Call, ast.Attribute, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield,
                                 ast.YieldFrom, ast.Subscript, ast.comprehension)):
                return False
            if isinstance(node, ast.Name) and node.id not in ("None", "True", "False", "inf", "nan"):
                return False
    return True

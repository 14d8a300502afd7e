"""Recognising the ways students mark a question: labels and copied question text.

A label is a question number in a labelling position at the start of a line:
`# Q1.`, `### Q1`, `<h3>Q1. ...`, `**Q1**`, `Q1`, `Question 1`, `Ans 1`, `Answer = 1`, `#Ans1.)`,
`A1.`, `'''Q1. ...'''`, `Ans1 = "..."`. Inside code, only comments, string literals and
`AnsN = "..."` assignments count, so that `q1 = Queue()` is never read as a label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

# Decorations before a label: markdown heading marks, quote marks, bold, HTML tags, quotes.
_DECOR = r"(?:\s|\#|>|\*|_|<[a-zA-Z][^>]{0,30}>|'''|\"\"\"|[\"'`(\[])*"
_AFTER = r"(?=$|[\s.):\-=\]*_<,;/'\"!?|])"
LABEL = re.compile(
    rf"""^{_DECOR}(?:
        (?:q|que|ques|question|questions)\s*(?:no\.?|number|\#)?\s*[-.:_]{{0,3}}\s*(?P<q>\d{{1,2}}){_AFTER} |
        (?:ans|answer|answers|solution|sol)\s*(?:no\.?|number|to\s+q(?:uestion)?\.?|\#)?\s*(?:[-_#.]|=)?\s*
            (?P<a>\d{{1,2}}){_AFTER} |
        a(?P<short>\d{{1,2}})(?=[.):])
    )(?P<after>.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
# An answer variable in code: Ans1 = "...", answer_2 = '''...'''.
ANSWER_VARIABLE = re.compile(r"^(?:ans|answer|question|q|sol)_?(?P<n>\d{1,2})\s*=\s*[rRbBuUfF]{0,2}['\"]", re.I)
# Answer openers that carry no number: "Ans:", "Ans-", "Answer:-", "A:" (stripped from prose).
ANSWER_OPENER = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?\s*(?:ans(?:wer)?s?|sol(?:ution)?)\s*[-:=.)]+\s*(?:\*\*)?\s*", re.I)
# A bare question number: `3.`, `3)`, `(3)`, `3.)` alone on its line, or fused onto code (`6.import x`).
BARE_NUMBER = re.compile(r"^\(?(?P<n>\d{1,2})\s*(?:\.\)|[.)])\s*(?P<after>.*)$")
# A heading that is only a number: `##1`, `## 3.`, `# 4)`. In code only as `##3` (a `# 1` comment may number steps).
HEADING_NUMBER = re.compile(r"^(?P<hashes>\#{1,6})\s*(?P<n>\d{1,2})\s*[.):]?\s*$")
# A numbered title: `3. **Python Code to Create a Process**:`, `**3. Create a Process**`, `## 3. Create a Process`.
# A label only where the file's numbering shows it (see `numbering`): it may also be a list item.
NUMBERED_TITLE = re.compile(
    r"""^(?:\ {0,3}(?P<n1>\d{1,2})\s*[.)]\s*\*\*(?P<t1>[^*]{2,100}?)\*\*\s*:?\s*
         |\ {0,3}\*\*(?P<n2>\d{1,2})\s*[.)]\s*(?P<t2>[^*]{2,100}?)\*\*\s*:?\s*
         |\#{1,6}\s*(?P<n3>\d{1,2})\s*[.):]\s*(?P<t3>\S.{1,100}?)\s*)$""",
    re.VERBOSE,
)
TITLE_WORDS = 12  # a numbered title longer than this is a list item's sentence, not a title
_STATEMENT = re.compile(r"^(import|from|def|class|if|for|while|with|try|async)\b")
_TAGS = re.compile(r"<[^>]{1,40}>")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class LabelHit:
    number: int
    marker: str  # the label as written, e.g. '### Q3.' or '#Ans1.)'
    rest: str  # what follows the label on the same line


def find_label(line: str, *, in_code: bool) -> LabelHit | None:
    """The question label at the start of `line`, if any."""
    stripped = line.strip()
    if not stripped:
        return None
    if in_code:
        var = ANSWER_VARIABLE.match(stripped)
        if var:
            return LabelHit(int(var.group("n")), stripped[: var.end()].rstrip("'\"rRbBuUfF ").rstrip("= ").strip(),
                            stripped[var.end() - 1 :])
    hit = _marker(stripped, in_code)
    # A raw code line that is Python is code, never a label (`q1 = Queue()`); compiled last, as it costs most.
    if hit is not None and in_code and not stripped.startswith(("#", "'", '"')) and not _not_code(stripped):
        return None
    return hit


def _marker(stripped: str, in_code: bool) -> LabelHit | None:
    heading = HEADING_NUMBER.match(stripped)
    if heading is not None and int(heading.group("n")) and (not in_code or len(heading.group("hashes")) >= 2):
        return LabelHit(int(heading.group("n")), stripped, "")
    m = LABEL.match(stripped)
    if not m:
        return _bare_number(stripped)
    number = int(m.group("q") or m.group("a") or m.group("short"))
    if number == 0:
        return None
    after = m.group("after")
    marker = stripped[: len(stripped) - len(after)].strip()
    return LabelHit(number, marker, after)


def numbered_title(line: str) -> tuple[int, str] | None:
    """The number and title of a numbered title line (`3. **Create a Process**:`), if it is one."""
    m = NUMBERED_TITLE.match(line.rstrip())
    if m is None:
        return None
    number = int(m.group("n1") or m.group("n2") or m.group("n3"))
    title = strip_decoration(m.group("t1") or m.group("t2") or m.group("t3")).rstrip(":").strip()
    if not number or not title or len(title.split()) > TITLE_WORDS:
        return None
    return number, title


def _bare_number(stripped: str) -> LabelHit | None:
    """`3.` alone on its line, or `6.import multiprocessing`: a numbered list item is neither."""
    from grader.pysource import code_line_score, compiles

    m = BARE_NUMBER.match(stripped)
    if m is None or int(m.group("n")) == 0:
        return None
    after = m.group("after")
    # Fused onto code only when a statement follows: `1.run()` in a numbered list is not a label.
    if after.strip() and not (_STATEMENT.match(after) and code_line_score(after) and not compiles(stripped)):
        return None
    return LabelHit(int(m.group("n")), stripped[: len(stripped) - len(after)].strip(), after)


def _not_code(line: str) -> bool:
    """A raw line in a code cell that cannot be Python (a label typed as text: 'Q1. What is')."""
    from grader.pysource import compiles

    return not compiles(line)


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(_TAGS.sub(" ", text).lower()))


@dataclass(frozen=True)
class TextHit:
    question: str  # question id
    score: float


def question_text_match(line: str, questions: Sequence[tuple[str, Sequence[str]]],
                        threshold: float = 0.8) -> TextHit | None:
    """Does this line copy a question's text (or an alias)? `questions` is (id, phrases)."""
    norm = normalise(line)
    if len(norm) < 12:
        return None
    words = set(norm.split())
    # A score below `floor` changes nothing: it is no hit, and as the runner-up it leaves a hit
    # more than the 0.05 margin ahead. So such scores need not be exact (the costly comparison
    # is skipped where a quick upper bound is already below it).
    floor = threshold - 0.05 - 1e-9
    best: TextHit | None = None
    second = 0.0
    for qid, phrases in questions:
        score = max((_similarity(norm, phrase, floor) for phrase in map(_phrase, phrases)
                     if phrase and _shares_words(words, phrase)), default=0.0)
        if best is None or score > best.score:
            second = best.score if best else 0.0
            best = TextHit(qid, score)
        elif score > second:
            second = score
    if best is None or best.score < threshold or best.score - second < 0.05:
        return None
    return best


@lru_cache(maxsize=1024)
def _phrase(text: str) -> str:
    return normalise(text)


@lru_cache(maxsize=1024)
def _phrase_words(phrase: str) -> frozenset[str]:
    return frozenset(phrase.split())


def _shares_words(line_words: set[str], phrase: str) -> bool:
    """A cheap necessary condition for a copy: at least half the phrase's words are on the line.

    It keeps the costly sequence comparison for the few lines that could be the question, so a
    submission of many thousand lines is read in seconds.
    """
    wanted = _phrase_words(phrase)
    return 2 * len(wanted & line_words) >= len(wanted)


def _similarity(line: str, question: str, floor: float = 0.0) -> float:
    """How much of the line is the question: whole-text ratio, or a copied first sentence. Exact
    when it is at least `floor`; below it, some value below `floor`."""
    if not question:
        return 0.0
    whole = _ratio(line, question, floor)
    if len(line) < len(question) and len(line) >= 0.4 * len(question):
        # A copied first sentence: compare with the same-length start of the question.
        prefix = _ratio(line, question[: len(line) + 5], floor / 0.97)
        whole = max(whole, prefix * 0.97)
    if len(line) > len(question) * 1.3:
        # The question followed by more text on the same line: compare the start only.
        head = _ratio(line[: len(question) + 5], question, floor / 0.95)
        whole = max(whole, head * 0.95)
    return whole


def _ratio(a: str, b: str, floor: float) -> float:
    """SequenceMatcher's ratio of `a` and `b`, or 0.0 when its cheap upper bounds are already below
    `floor` (the full comparison is quadratic in the worst case)."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def strip_decoration(text: str) -> str:
    """Remove HTML tags and markdown emphasis around prose, keeping its words."""
    text = _TAGS.sub("", text)
    return text.replace("**", "").strip()

"""Matching key phrases in students' prose, robust to how people actually write.

Text and phrases go through the same normalisation: lower case, HTML tags and markdown
markup dropped, split into words at anything that is not a letter or digit, and each word
lightly stemmed (plural `-s`/`-es`/`-ies`, British `-ise` spelt `-ize`). So "Multi-core",
"multicore" and "multi core" are one phrase (a word may match two adjacent words joined, and
the other way round), "CPU-bound" is "cpu bound", "processes" is "process".

A phrase is words, plus two small extras for the rubric author:
- `word*` matches any word starting with `word` ("parallel*": parallel, parallelism, parallelize);
- `...` between words allows up to three other words ("multiple ... core": "multiple CPU cores").
Regular expressions (`patterns` in the rubric) are searched in the normalised *text*: lower
case, tags removed, whitespace collapsed (not stemmed, so write `cores?`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_TAG = re.compile(r"<[^>\n]{1,200}>")
_WORD = re.compile(r"[a-z0-9]+")
_SPACE = re.compile(r"\s+")
GAP = "..."
_GAP_WORDS = 3
_IRREGULAR = {"cpus": "cpu", "gpus": "gpu", "data": "data", "ios": "io"}
_ISE = re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|ation)$")
_ISE_ENDS = ("ise", "ised", "ises", "ising", "isation")  # what _ISE can match at all


@lru_cache(maxsize=8192)  # every word of every answer and phrase comes through here, again and again
def stem(word: str) -> str:
    """A light stemmer: enough to make plural and singular, -ise and -ize, meet."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return _ISE.sub(r"iz\1", word) if word.endswith(_ISE_ENDS) else word


def clean(text: str) -> str:
    """Lower case, HTML tags removed, whitespace collapsed: what regular expressions search."""
    return _SPACE.sub(" ", _TAG.sub(" ", text.lower())).strip()


def words(text: str) -> list[str]:
    """The text's stemmed words."""
    return [stem(w) for w in _WORD.findall(clean(text))]


@dataclass(frozen=True)
class Phrase:
    """A phrase ready to match: each item a stemmed word, a `prefix*`, or a gap."""

    source: str
    items: tuple[str, ...]

    @classmethod
    def parse(cls, phrase: str) -> Phrase:
        items: list[str] = []
        for raw in phrase.lower().split():
            if raw == GAP:
                items.append(GAP)
            elif raw.endswith("*") and _WORD.fullmatch(raw[:-1]):
                items.append(raw)
            else:
                items += [stem(w) for w in _WORD.findall(raw)]
        return cls(phrase, tuple(i for i in items if i))

    def find(self, text_words: Sequence[str]) -> int | None:
        """Index of the first text word where the phrase matches, or None."""
        if not self.items or all(i == GAP for i in self.items):
            return None
        for start in range(len(text_words)):
            if _match(self.items, 0, text_words, start):
                return start
        return None


def _word_matches(item: str, word: str) -> bool:
    return word.startswith(item[:-1]) if item.endswith("*") else word == item


def _match(items: tuple[str, ...], pi: int, text: Sequence[str], ti: int) -> bool:
    if pi == len(items):
        return True
    item = items[pi]
    if item == GAP:
        return any(_match(items, pi + 1, text, ti + k) for k in range(_GAP_WORDS + 1) if ti + k <= len(text))
    if ti >= len(text):
        return False
    if _word_matches(item, text[ti]) and _match(items, pi + 1, text, ti + 1):
        return True
    # "multi-core" written, "multicore" in the phrase: two text words joined
    if ti + 1 < len(text) and _word_matches(item, text[ti] + text[ti + 1]) \
            and _match(items, pi + 1, text, ti + 2):
        return True
    # "multicore" written, "multi core" in the phrase: two phrase words joined
    if pi + 1 < len(items) and items[pi + 1] != GAP and not item.endswith("*"):
        joined = item + items[pi + 1]
        if _word_matches(joined, text[ti]) and _match(items, pi + 2, text, ti + 1):
            return True
    return False


def remove_phrase(text_words: list[str], phrase_words: Sequence[str]) -> list[str]:
    """`text_words` without any run equal to `phrase_words` (a copied question, say)."""
    n = len(phrase_words)
    if n == 0:
        return list(text_words)
    out: list[str] = []
    i = 0
    while i < len(text_words):
        if text_words[i:i + n] == list(phrase_words):
            i += n
        else:
            out.append(text_words[i])
            i += 1
    return out


def without_question(text_words: list[str], question: str) -> list[str]:
    """The answer's words with copies of the question (or of each of its sentences) removed.

    Students often paste the question above their answer; its words are not the answer's.
    Only sentences of at least three words are removed, so a short phrase is never lost.
    """
    out = remove_phrase(text_words, words(question))
    for sentence in re.split(r"(?<=[?.!])\s+", question):
        sentence_words = words(sentence)
        if len(sentence_words) >= 3:
            out = remove_phrase(out, sentence_words)
    return out

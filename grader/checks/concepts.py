"""The `concepts` check: how many of the question's key ideas a written answer covers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from grader.checks.context import CheckContext
from grader.checks.registry import register
from grader.checks.text import Phrase, clean, without_question, words
from grader.checks.verdict import Verdict

if TYPE_CHECKING:  # pydantic models: grading reads parameters by attribute only
    from grader.checks.params import Concept, ConceptsParams


def _answer_text(ctx: CheckContext, params: ConceptsParams) -> str:
    text = ctx.answer.prose_text()
    if params.read_code_comments:
        text += "\n" + "\n".join(_comments(p.text) for p in ctx.answer.code_parts())
    return text


def _comments(code: str) -> str:
    return "\n".join(line.split("#", 1)[1] for line in code.splitlines() if "#" in line)


@register("concepts", params="ConceptsParams")
def concepts(ctx: CheckContext, params: ConceptsParams) -> Verdict:
    """Coverage of the question's key ideas in the written answer. Each concept is a group of
    synonymous words, phrases or regular expressions; credit is the covered share of the
    concepts' weight (full at `full_credit_at`). Matching ignores case, plurals, hyphenation
    and a copied question. A real answer (at least `min_words` words) earning less than
    `review_below`, or a code-only answer, is flagged for a TA to read instead of being
    silently zeroed."""
    text = _answer_text(ctx, params)
    answer_words = without_question(words(text), ctx.question.text)
    cleaned = clean(text)
    covered: dict[str, str] = {}
    for concept in params.concepts:
        hit = _first_match(concept, answer_words, cleaned)
        if hit is not None:
            covered[concept.name] = hit
    total = sum(c.weight for c in params.concepts)
    coverage = sum(c.weight for c in params.concepts if c.name in covered) / total
    credit = min(1.0, coverage / params.full_credit_at)
    missing = [c.name for c in params.concepts if c.name not in covered]
    evidence = {"covered": covered, "missing": missing, "coverage": round(coverage, 3),
                "words": len(answer_words)}

    if not answer_words:
        if ctx.answer.code_parts():
            return Verdict.failed("Only code was found; the question asks for an explanation in words.",
                                  evidence, review="the answer is code only: its ideas could not be matched")
        return Verdict.failed("No written answer was found.", evidence)
    review = None
    if credit < params.review_below and len(answer_words) >= params.min_words:
        review = (f"covers {len(covered)} of {len(params.concepts)} key ideas in {len(answer_words)} words; "
                  "it may express them in other words")
    n = len(params.concepts)
    if not covered:
        message = f"Your answer does not mention the key ideas: {', '.join(missing)}."
    elif missing:
        message = (f"Your answer covers {len(covered)} of {n} key ideas ({', '.join(covered)}). "
                   f"Consider also: {', '.join(missing)}.")
    else:
        message = f"Your answer covers all {n} key ideas."
    return Verdict.partial(credit, message, evidence, passed=credit >= params.pass_at, review=review)


def _first_match(concept: Concept, answer_words: list[str], cleaned: str) -> str | None:
    """The phrase or pattern text that matched first, as evidence; None if none does."""
    for phrase in concept.phrases:
        start = Phrase.parse(phrase).find(answer_words)
        if start is not None:
            return phrase
    for pattern in concept.patterns:
        m = re.search(pattern, cleaned)
        if m:
            return m.group(0)
    return None

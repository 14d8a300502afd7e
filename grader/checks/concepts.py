"""The `concepts` check: how many of the question's key ideas a written answer covers."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from grader.checks.context import CheckContext
from grader.checks.registry import Params, register
from grader.checks.text import Phrase, clean, without_question, words
from grader.checks.verdict import Verdict


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class Concept(Params):
    name: str = Field(min_length=1, description="the idea, as the student's feedback names it")
    phrases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="words or phrases that express it (any one suffices); 'word*' matches a prefix, "
                    "'...' up to three other words")
    patterns: list[Annotated[str, AfterValidator(_regex)]] = Field(
        default_factory=list, description="regular expressions searched in the lower-cased text")
    weight: float = Field(default=1.0, gt=0, description="its share of the credit, relative to the others")

    @model_validator(mode="after")
    def _something_to_match(self) -> Concept:
        if not self.phrases and not self.patterns:
            raise ValueError(f"concept {self.name!r} needs at least one phrase or pattern")
        return self


class ConceptsParams(Params):
    concepts: list[Concept] = Field(min_length=1, description="the key ideas")
    full_credit_at: float = Field(default=1.0, gt=0, le=1, description="share of the concepts' weight that earns "
                                                               "full points; less earns proportionally")
    pass_at: float = Field(default=0.5, ge=0, le=1, description="credit (0..1) from which the check counts as passed")
    review_below: float = Field(default=0.5, ge=0, le=1, description="a real answer earning less credit than this "
                                                             "is flagged for a TA to read")
    min_words: int = Field(default=15, ge=0, description="an answer with at least this many words is a real answer: "
                                                 "below review_below it is flagged, never silently zeroed")
    read_code_comments: bool = Field(default=False, description="also read the comments of the answer's code")


def _answer_text(ctx: CheckContext, params: ConceptsParams) -> str:
    text = ctx.answer.prose_text()
    if params.read_code_comments:
        text += "\n" + "\n".join(_comments(p.text) for p in ctx.answer.code_parts())
    return text


def _comments(code: str) -> str:
    return "\n".join(line.split("#", 1)[1] for line in code.splitlines() if "#" in line)


@register("concepts", params=ConceptsParams)
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

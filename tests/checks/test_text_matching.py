"""Phrase matching: case, plurals, hyphens, joined words, prefixes, gaps, copied questions."""

from __future__ import annotations

import pytest

from grader.checks.text import Phrase, clean, stem, without_question, words


def found(phrase: str, text: str) -> bool:
    return Phrase.parse(phrase).find(words(text)) is not None


@pytest.mark.parametrize("text", ["multi-core CPUs", "a multicore machine", "Multi core", "MULTI-CORE"])
def test_multicore_in_every_spelling(text: str) -> None:
    assert found("multicore", text)
    assert found("multi-core", text)
    assert found("multi core", text)


@pytest.mark.parametrize(("phrase", "text"), [
    ("multiple ... core", "runs on multiple CPU cores"),
    ("multiple ... core", "multiple cores"),
    ("cpu bound", "CPU-bound tasks"),
    ("i/o bound", "IO-bound work"),
    ("i/o bound", "I/O bound work"),
    ("process", "Processes are heavier"),
    ("core", "all the cores"),
    ("parallel*", "parallelism"),
    ("parallelize", "parallelise a function"),
    ("global interpreter lock", "the <b>Global Interpreter Lock</b>"),
    ("gil", "the GIL's limits"),
    ("cpu", "two CPUs"),
])
def test_phrase_matches(phrase: str, text: str) -> None:
    assert found(phrase, text)


@pytest.mark.parametrize(("phrase", "text"), [
    ("multiple ... core", "multiple things run on a machine with one core"),  # gap of more than three words
    ("cpu bound", "cpu is bound"),
    ("parallel*", "the processes run one after the other"),
    ("gil", "gills of a fish"),
])
def test_phrase_does_not_match(phrase: str, text: str) -> None:
    assert not found(phrase, text)


def test_stem_joins_plural_and_singular_but_keeps_short_words() -> None:
    assert stem("processes") == stem("process") == "process"
    assert stem("cores") == "core"
    assert stem("bodies") == "body"
    assert stem("is") == "is" and stem("bus") == "bus"


def test_clean_drops_tags_and_case() -> None:
    assert clean("<p>Hello\n  <b>World</b></p>") == "hello world"


def test_copied_question_is_not_counted_as_the_answer() -> None:
    question = "What is multiprocessing in python? Why is it useful?"
    answer = words("Q1. What is multiprocessing in python? Why is it useful? It runs processes.")
    left = without_question(answer, question)
    assert left == words("Q1. It runs processes.")


def test_a_gap_only_phrase_never_matches() -> None:
    assert Phrase.parse("...").find(words("anything")) is None

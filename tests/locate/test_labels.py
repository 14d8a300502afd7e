"""How students mark questions, one line at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.locate.labels import find_label, numbered_title, question_text_match

MARKDOWN = {
    "# Q1. What is": 1, "### Q1.": 1, "<h3>Q1. What is</h3>": 1, "<h3> Q6. Write": 6, "**Q1**": 1,
    "**Q1.** text": 1, "Q1": 1, "Q1.": 1, "Question 1": 1, "Ans 1": 1, "Answer = 1": 1, "#Ans1.)": 1,
    "A1. Multiprocessing is": 1, "Q.1 what": 1, "Q-3": 3, "Que 2:": 2, "Answer = 6": 6, "#Q5.": 5,
    "Answer to Q3": 3, "'''Q1. What is multiprocessing'''": 1, "##1": 1, "## 3.": 3, "# 4)": 4,
}
NOT_LABELS = ["A 2-core machine", "1. Multiple processes", "Answer:-", "Ans- Multi", "Quick note",
              "Qualified 3 times", "Ans:- 2 processes run", "Q", "Answer:"]
CODE = {"#Q4": 4, "##Q3": 3, "# Q3.": 3, 'Ans1 = "Multiprocessing is"': 1, "Answer_2 = '''x'''": 2,
        "Q1. What is multiprocessing in python?": 1, "# Q3 create a process": 3, "##5": 5, "## 6.": 6}
NOT_CODE_LABELS = ["q1 = Queue()", "a1 = 5", "print('Q1')", "# Answer:-", "Q1 = multiprocessing.Queue()", "# 1", "#2."]


@pytest.mark.parametrize("line", sorted(MARKDOWN))
def test_markdown_labels(line: str) -> None:
    hit = find_label(line, in_code=False)
    assert hit is not None and hit.number == MARKDOWN[line]


@pytest.mark.parametrize("line", NOT_LABELS)
def test_prose_that_is_not_a_label(line: str) -> None:
    assert find_label(line, in_code=False) is None


@pytest.mark.parametrize("line", sorted(CODE))
def test_code_labels(line: str) -> None:
    hit = find_label(line, in_code=True)
    assert hit is not None and hit.number == CODE[line]


@pytest.mark.parametrize("line", NOT_CODE_LABELS)
def test_code_that_is_not_a_label(line: str) -> None:
    assert find_label(line, in_code=True) is None


QUESTIONS = [("Q1", ("What is multiprocessing in python? Why is it useful?",)),
             ("Q4", ("What is a multiprocessing pool in python? Why is it used?",))]


def test_copied_question_text_is_recognised_and_told_apart() -> None:
    hit = question_text_match("What is a multiprocessing pool in Python? Why is it used?", QUESTIONS)
    assert hit is not None and hit.question == "Q4"
    first_sentence = question_text_match("what is multiprocessing in python", QUESTIONS)
    assert first_sentence is not None and first_sentence.question == "Q1"


def test_an_answer_is_not_question_text() -> None:
    assert question_text_match("Multiprocessing in Python refers to running several processes at once.",
                               QUESTIONS) is None


def test_bare_numbers_are_labels_alone_or_fused_onto_a_statement_but_not_list_items() -> None:
    from grader.locate.labels import find_label

    assert find_label("3.", in_code=False) is not None and find_label("5.)", in_code=False) is not None
    hit = find_label("6.import multiprocessing", in_code=True)
    assert hit is not None and hit.number == 6 and hit.rest == "import multiprocessing"
    assert find_label("QUESTION:-3.", in_code=False) is not None
    assert find_label("1.run()", in_code=False) is None  # a numbered list of methods
    assert find_label("1. Multiple processes have their own memory", in_code=False) is None
    assert find_label("3.", in_code=True) is None  # `3.` is a float in code


def test_question_text_match_skips_only_comparisons_that_cannot_change_its_answer() -> None:
    """The costly comparison is skipped where a cheap upper bound shows the score is below the
    threshold less the margin: every answer is the one exact scores give."""
    import random

    from grader.locate.labels import TextHit, _phrase, _shares_words, _similarity, normalise
    from grader.rubric.load import load_rubric
    from tests.conftest import RUBRIC

    questions = [(q.id, (q.text,)) for q in load_rubric(RUBRIC).questions]

    def exact(line: str, threshold: float) -> TextHit | None:
        norm = normalise(line)
        if len(norm) < 12:
            return None
        words, best, second = set(norm.split()), None, 0.0
        for qid, phrases in questions:
            score = max((_similarity(norm, p) for p in map(_phrase, phrases) if p and _shares_words(words, p)),
                        default=0.0)
            if best is None or score > best.score:
                second, best = (best.score if best else 0.0), TextHit(qid, score)
            elif score > second:
                second = score
        return None if best is None or best.score < threshold or best.score - second < 0.05 else best

    rng = random.Random(7)
    lines = []
    for _, (text,) in questions:
        words = text.split()
        for _ in range(40):  # the question copied whole, in part, with words dropped, changed or added
            cut = words[rng.randrange(len(words)):] if rng.random() < 0.3 else words[:rng.randrange(1, len(words) + 1)]
            kept = [w if rng.random() > 0.15 else rng.choice(["process", "pool", "the", "xyz"]) for w in cut
                    if rng.random() > 0.1]
            lines.append(" ".join(kept + (["and", "more", "words"] if rng.random() < 0.3 else [])))
    hits = 0
    for line in lines:
        for threshold in (0.75, 0.8, 0.9):
            found = question_text_match(line, questions, threshold)
            assert found == exact(line, threshold), (line, threshold)
            hits += found is not None
    assert hits > 50  # the lines are close enough to the questions to be hits, often


def test_numbered_titles_are_read_but_list_sentences_are_not() -> None:
    assert numbered_title("3. **Python Code to Create a Process**:") == (3, "Python Code to Create a Process")
    assert numbered_title("**5. Creating a Pool:**") == (5, "Creating a Pool")
    assert numbered_title("## 6. Four processes") == (6, "Four processes")
    for line in ("1. **Memory**: each process has its own", "1. Memory: own space", "2. plain item",
                 "3. **" + "word " * 13 + "**"):
        assert numbered_title(line) is None, line


def test_thousands_of_labels_are_located_in_about_linear_time(tmp_path: Path) -> None:
    """Hostile: 12,000 question labels. Two passes over every section or piece for each one (who else is
    labelled, who else answers the same written question) and a list's `in` per answer part made 6,000
    labels take 7 s to locate here and 8,000 take 72 s through `grader inspect`; now about a second."""
    import time

    from grader.load import load
    from grader.locate import locate
    from tests.locate.helpers import questions

    path = tmp_path / "labels.py"
    path.write_text("".join(f"# Q{i % 7}\nprint({i})\n" for i in range(12_000)))
    sub = load(path)
    start = time.monotonic()
    answers = locate(sub, questions())
    for a in answers:
        a.location(sub)
    assert time.monotonic() - start < 10

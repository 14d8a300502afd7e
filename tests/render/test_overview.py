"""The class overview: table, histogram, check pass rates, flagged answers, links to every page."""

from __future__ import annotations

import re
from dataclasses import replace

from grader.outcome import Gradebook, QuestionInfo, SubmissionOutcome
from grader.render.overview import check_rates, render_index
from tests.render.outcomes import outcome


def book() -> Gradebook:
    full = outcome("sec1/hw.ipynb")
    q1, q6 = full.questions
    passing = replace(q6, checks=tuple(replace(c, status="passed", score=c.max_score, fraction=1.0) for c in q6.checks))
    good = replace(outcome("sec2/hw.ipynb"), questions=(replace(q1, checks=()), passing), limits_hit=())
    broken = SubmissionOutcome("sec2/empty.ipynb", "/x", "mp", 20, (), error="the file is empty")
    questions = (QuestionInfo("Q1", "What is multiprocessing?", "written", 5, (("concepts", False),)),
                 QuestionInfo("Q6", "Four processes", "code", 15,
                              (("main_guard", False), ("four_processes", False), ("probe_zebra_7", True))))
    return Gradebook("mp", "Python <multiprocessing>", 1, 20, questions,
                     tuple(s.summary() for s in (full, good, broken)))


def pages(sub: SubmissionOutcome) -> tuple[str, str]:
    return f"report/{sub.id.replace('/', '_')}.html", f"report/{sub.id.replace('/', '_')}.ta.html"


def test_rates_count_only_the_submissions_where_a_check_ran() -> None:
    rates = {(r.question, r.check): (r.passed, r.ran, r.hidden) for r in check_rates(book())}
    assert rates[("Q6", "main_guard")] == (1, 2, False)
    assert rates[("Q6", "four_processes")] == (2, 2, False)
    assert rates[("Q6", "probe_zebra_7")] == (1, 2, True)
    assert rates[("Q1", "concepts")] == (0, 1, False)  # the second submission has no verdict for it


def test_index_table_histogram_review_and_links() -> None:
    b = book()
    page = render_index(b, pages)
    rows = re.findall(r'<tr data-id="([^"]+)" data-review="(\w+)" data-problem="(\w+)"', page)
    assert rows == [("sec1/hw.ipynb", "yes", "yes"), ("sec2/empty.ipynb", "no", "yes"), ("sec2/hw.ipynb", "no", "no")]
    for sub in b.submissions:
        student, ta = pages(sub)
        assert f'href="{student}"' in page and f'href="{ta}"' in page
    counts = [int(n) for n in re.findall(r'<g class="bin" data-count="(\d+)">', page)]
    assert len(counts) == 10 and sum(counts) == 2  # the submission that could not be graded has no score
    assert counts[4] == 1 and counts[7] == 1  # 8/20 and 15/20
    assert 'href="report/sec1_hw.ipynb.ta.html#q-Q1"' in page  # the answer flagged for review
    assert "may say it in other words" in page
    assert "the file is empty" in page
    assert "Python &lt;multiprocessing&gt;" in page and "<multiprocessing>" not in page

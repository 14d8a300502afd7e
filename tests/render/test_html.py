"""The submission page: what it shows, what the student view leaves out, and that student text stays text."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from grader.outcome import SubmissionOutcome
from grader.render.common import MAX_LANES
from grader.render.html import Links, render_submission
from grader.trace import ExceptionInfo
from tests.render.outcomes import SECRET, SECRET_MESSAGE, SECRET_RUN_TEXT, outcome
from tests.render.traces import MAIN, huge


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def with_class(tags: Tags, tag: str, cls: str) -> list[dict[str, str | None]]:
    return [a for t, a in tags.tags if t == tag and cls in (a.get("class") or "").split()]


@pytest.fixture()
def sub() -> SubmissionOutcome:
    return outcome()


def test_ta_page_shows_scores_checks_runs_and_links(sub: SubmissionOutcome) -> None:
    links = Links(details="../details/x.json", traces={("Q6", 1, "default"): "trace/x/Q6-1-default.json"})
    page = render_submission(sub, "ta", links=links)
    tags = parse(page)
    assert f'data-score="{sub.score}"' in page and sub.score == 8
    assert [a["id"] for t, a in tags.tags if t == "section"] == ["q-Q1", "q-Q6"]
    for c in sub.question("Q6").checks:
        assert c.message.replace('"', "&#34;") in page
    assert SECRET in page and SECRET_MESSAGE in page and "hidden" in page
    assert "may say it in other words" in page  # the review reason
    assert "<dt>expected:</dt><dd>4</dd>" in page and "<dt>seen:</dt><dd>4</dd>" in page  # evidence in words
    assert 'href="../details/x.json"' in page and 'href="trace/x/Q6-1-default.json"' in page
    # two runs, each with a timeline and an output table with one column per process
    assert len(with_class(tags, "svg", "timeline")) == 2
    assert [a["data-lanes"] for a in with_class(tags, "svg", "timeline")] == ["5", "5"]  # TA sees the tracker too
    heads = with_class(tags, "th", "lane-head")
    assert [h["data-pid"] for h in heads[:5]] == ["100", "101", "102", "103", "104"]
    assert "saved-output-marker" in page  # the notebook's saved output beside the run's


def test_marked_lines_from_checks_and_tracebacks(sub: SubmissionOutcome) -> None:
    page = render_submission(sub, "ta")
    marks = re.findall(r"<li><a [^>]*>line (\d+)</a>: ([^<]*)</li>", page)
    assert [(int(n), why.split(":")[0]) for n, why in marks] == [(4, "ValueError raised here (run"), (7, "Main guard")]
    code = page.split('id="q-Q6-attempt-1"', 1)[1]
    assert len(re.findall(r'<span class="hll">', code)) >= 2


def test_student_page_has_no_trace_of_the_hidden_check(sub: SubmissionOutcome) -> None:
    page = render_submission(sub, "student", links=Links(details="../details/x.json"))
    assert SECRET not in page and "Probe zebra" not in page and "zebra" not in page
    assert SECRET_RUN_TEXT not in page  # the run only the hidden check reads is left out
    assert "4242" not in page and "details/x.json" not in page and "evidence as recorded" not in page
    assert "<dl class=\"evidence\">" not in page
    assert "may say it in other words" not in page and "needs a TA" not in page
    assert f'data-score="{sub.score}"' in page  # the score is the real one
    assert "Protect process creation" in page and "Your program starts 4 processes." in page


def test_student_text_is_escaped_and_nothing_can_run_or_load(sub: SubmissionOutcome) -> None:
    for view in ("student", "ta"):
        page = render_submission(sub, view)
        assert "<script>alert" not in page and "\x1b" not in page and "\u202e" not in page
        tags = parse(page)
        assert [t for t, _ in tags.tags].count("script") == 1
        policy = next(a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv"))
        assert policy is not None and "default-src 'none'" in policy
        digest = base64.b64encode(hashlib.sha256(tags.scripts[0].encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in policy  # only the page's own script may run
        assert not [a for _, a in tags.tags for k in a if k.startswith("on")]  # no inline handlers
        assert not [a for t, a in tags.tags if t in ("img", "link", "iframe", "object", "embed")]


def test_a_submission_that_could_not_be_graded() -> None:
    broken = SubmissionOutcome("bad.ipynb", "/x/bad.ipynb", "mp", 20, (), error="not valid JSON <here>")
    page = render_submission(broken, "student")
    assert "could not be graded" in page and "not valid JSON &lt;here&gt;" in page


def test_unknown_view_is_refused(sub: SubmissionOutcome) -> None:
    with pytest.raises(ValueError, match="view must be"):
        render_submission(sub, "teacher")


def test_page_size_is_bounded_whatever_the_program_printed(sub: SubmissionOutcome) -> None:
    trace = huge(n_procs=200, n_lines=20_000)
    trace = replace(trace, lines=tuple(replace(ln, text=ln.text * 2000) for ln in trace.lines[:500]) + trace.lines,
                    exceptions=(ExceptionInfo(pid=MAIN, where="main", type="E", message="m" * 10**6,
                                              traceback="t" * 10**6),))
    q6 = sub.question("Q6")
    attempt = replace(q6.attempts[0], runs={"default": trace}, readers={"default": ("main_guard",)})
    big = replace(sub, questions=(replace(q6, attempts=(attempt,)),))
    page = render_submission(big, "ta")
    assert len(page) < 3_000_000, len(page)
    tags = parse(page)
    assert len(with_class(tags, "th", "lane-head")) == MAX_LANES + 1  # the rest share the last lane
    assert "more lines not shown" in page


def test_a_run_given_more_time_says_which_limit_applied_and_why() -> None:
    """A run still making progress at its auto limit: the page says it went past the limit, why,
    and where it was cut; the timeline marks where the limit was passed."""
    from grader.render.html import run_status
    from tests.render.traces import concurrent

    base = outcome()
    q6 = base.question("Q6")
    why = {"wall_time": "5 s, auto: 5 × the reference solution's 0.20 s = 1.00 s, raised to the 5 s floor",
           "wall_time_max": "20 s: a run still making progress at 5 s goes on until it has made none for 4 s"}
    note = ("extended past 5 s while the run made progress (process 103 started at 4.2 s); the run was cut at 20 s, "
            "the most a run still making progress gets (the last sign: the main process wrote to stdout at 19.9 s)")
    cut = replace(concurrent(), exit_code=None, signal="SIGKILL", timed_out=True, limit="wall", limits_hit=("wall",),
                  wall_time=20.0, limits={"wall_time": 5.0, "wall_time_max": 20.0, "progress_window": 4.0},
                  limits_why=why, wall_extended=True, wall_note=note)
    status, bad = run_status(cut)
    assert bad and status == ("Stopped after 20.00 s: it was still making progress at its wall limit (5 s, auto: 5 × "
                              "the reference solution's 0.20 s = 1.00 s, raised to the 5 s floor), so it was given "
                              "more time, and then cut")
    attempt = replace(q6.attempts[0], runs={"default": cut})
    page = render_submission(replace(base, questions=(base.questions[0], replace(q6, attempts=(attempt,)))), "ta")
    assert f"Wall time limit {note}" in page.replace("&#39;", "'")
    assert "Wall time max limit: 20 s: a run still making progress at 5 s" in page
    tags = parse(page)
    assert [g for g in with_class(tags, "g", "passed")], "the timeline marks where the limit was passed"

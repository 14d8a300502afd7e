"""Every page in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

The pages come from grading example submissions for real: two with the default rubric, one with
a copy of it that has a hidden check. Each page is loaded from disk (file://) and must show its
key elements, make no network request (Chrome's performance log sees every request) and log no
console error; a screenshot of each page is saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.grade import grade_submission, outcome_of
from grader.outcome import SubmissionOutcome
from grader.render.common import shown_processes
from grader.render.write import page_paths, write_reports
from grader.results import gradebook
from grader.rubric.load import load_rubric, parse_rubric
from tests.conftest import ROOT, RUBRIC, example
from tests.render import browser

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(browser.available() is not None, reason=f"no browser: {browser.available()}")]

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
HIDDEN_ID = "zebra_spawn_probe"
HIDDEN_PASS = "Zebra probe: the program survived spawn."
HIDDEN_FAIL = "Zebra probe: the program broke under spawn."
HIDDEN_CHECK = {"id": HIDDEN_ID, "type": "spawn_safe", "points": 1, "hidden": True,
                "messages": {"pass": HIDDEN_PASS, "fail": HIDDEN_FAIL}}


@dataclass
class Site:
    out: Path
    outcomes: dict[str, SubmissionOutcome]  # by submission id
    hidden: str  # the id of the submission graded with the hidden check


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    rubric = load_rubric(RUBRIC)
    data = yaml.safe_load(RUBRIC.read_text())
    q6 = next(q for q in data["questions"] if q["id"] == "Q6")
    q6["checks"].append(HIDDEN_CHECK)
    q6["points"] += HIDDEN_CHECK["points"]
    data["points"] += HIDDEN_CHECK["points"]
    hidden_rubric = parse_rubric(yaml.safe_dump(data), "hidden.yaml")
    graded = []
    for prefix, r in (("000", rubric), ("001", rubric), ("004", hidden_rubric)):
        path = example(prefix)
        graded.append(outcome_of(grade_submission(str(path), r), r, submission_id=f"{r.id}/{path.name}"))
    out = tmp_path_factory.mktemp("site")
    write_reports(out, gradebook(hidden_rubric, [o.summary() for o in graded]), graded)
    return Site(out, {o.id: o for o in graded}, graded[2].id)


@pytest.fixture(scope="module")
def driver() -> Any:
    with browser.chromium(1280, 900) as d:
        yield d


def load(driver: Any, page: Path) -> None:
    """Open `page` from disk; assert it fetched nothing but itself and logged no error."""
    driver.get("about:blank")
    browser.requests_made(driver)
    browser.console_errors(driver)
    uri = page.as_uri()
    driver.get(uri)
    assert driver.execute_script("return document.readyState") == "complete"
    requests = browser.requests_made(driver)
    assert requests and set(requests) == {uri}, f"{page.name} made requests: {requests}"
    assert browser.console_errors(driver) == []


def shot(driver: Any, name: str, width: int = 1280) -> None:
    browser.full_screenshot(driver, SCREENSHOTS / f"{name}.png", width)
    driver.set_window_size(1280, 900)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


# What a page shows, read in one call (a round trip per element would take seconds per page).
SUMMARY_JS = """
const all = (root, sel) => Array.from(root.querySelectorAll(sel));
const total = document.querySelector('#total-score');
return {
  score: total && parseFloat(total.dataset.score), score_text: total && total.innerText,
  details: !!document.querySelector('#details-link'),
  trace_links: all(document, 'a.trace-link').map(a => a.getAttribute('href')),
  questions: all(document, 'section.question').map(q => ({
    id: q.dataset.question,
    checks: all(q, 'tr.check').map(r => r.dataset.check),
    messages: all(q, 'tr.check .check-message').map(m => m.innerText),
    runs: all(q, '.run').map(run => ({
      variant: run.dataset.variant,
      status: run.querySelector('.run-status').innerText,
      data_lanes: run.querySelector('svg.timeline').getAttribute('data-lanes'),
      lanes: all(run, 'svg.timeline g.lane').map(g => parseInt(g.dataset.pid)),
      heads: all(run, 'th.lane-head').map(h => h.dataset.pid).filter(p => p).map(p => parseInt(p)),
    })),
  })),
};
"""


@pytest.mark.parametrize("view", ["ta", "student"])
def test_submission_pages(site: Site, driver: Any, view: str) -> None:
    for sub in site.outcomes.values():
        student, ta = page_paths(sub.id)
        load(driver, site.out / (ta if view == "ta" else student))
        page = driver.execute_script(SUMMARY_JS)
        shown = sub if view == "ta" else sub.student_view()
        assert page["score"] == sub.score and page["score_text"].split()[0] == f"{sub.score:g}"
        assert [q["id"] for q in page["questions"]] == [q.id for q in shown.questions]
        for q, seen in zip(shown.questions, page["questions"], strict=True):
            assert seen["checks"] == [c.id for c in q.checks]
            assert seen["messages"] == [" ".join(c.message.split()) for c in q.checks]
            expected = [t for a in q.attempts for t in a.runs.values()]
            assert len(seen["runs"]) == len(expected)
            for run, trace in zip(seen["runs"], expected, strict=True):
                procs = [p.pid for p in shown_processes(trace, include_internal=view == "ta")]
                assert run["lanes"] == procs and run["data_lanes"] == str(len(procs))  # one lane per process
                assert set(run["heads"]) >= {ln.pid for ln in trace.lines if ln.pid is not None}
                if trace.timed_out:
                    assert "limit" in run["status"]
        if view == "ta":
            assert page["details"]
            assert page["trace_links"] and all((site.out / "report" / href).is_file() for href in page["trace_links"])
        else:
            assert not page["details"] and not page["trace_links"]
        shot(driver, f"{view}-{sub.id.replace('/', '-')}")


def test_the_student_page_has_no_trace_of_the_hidden_check(site: Site, driver: Any) -> None:
    sub = site.outcomes[site.hidden]
    assert any(c.id == HIDDEN_ID for q in sub.questions for c in q.checks)  # it really ran
    student, ta = page_paths(sub.id)
    load(driver, site.out / ta)
    assert HIDDEN_ID in driver.page_source
    load(driver, site.out / student)
    source = driver.page_source
    for secret in (HIDDEN_ID, "Zebra", "zebra", HIDDEN_PASS, HIDDEN_FAIL):
        assert secret not in source
    q6 = css(driver, "#q-Q6 .run")
    # the spawn run only the probe read is not shown; the runs visible checks read are (the reseed
    # run one_number_per_process reads is made only when that check passes on the default run)
    made = [v for a in next(q for q in sub.questions if q.id == "Q6").attempts for v in a.runs]
    assert "spawn" in made and "default" in made
    assert [r.get_attribute("data-variant") for r in q6] == [v for v in made if v != "spawn"]


def test_the_class_overview(site: Site, driver: Any) -> None:
    load(driver, site.out / "index.html")
    rows = css(driver, "#grades tbody tr")
    assert sorted(r.get_attribute("data-id") for r in rows) == sorted(site.outcomes)
    for link in css(driver, "#grades a"):
        href = link.get_attribute("href")
        assert href.startswith("file://") and Path(href[len("file://"):].split("#")[0]).is_file(), href
    bins = css(driver, "svg.histogram g.bin")
    assert sum(int(b.get_attribute("data-count")) for b in bins) == len(site.outcomes)
    assert css(driver, "#check-rates li.rate")
    flagged = [o for o in site.outcomes.values() for q in o.questions if q.needs_review]
    assert len(css(driver, "#review-list li")) == len(flagged)
    # sorting by total, both ways; filtering
    total = css(driver, "#grades thead th")[1]
    total.find_element("css selector", "button").click()
    scores = [float(r.find_elements("css selector", "td")[1].get_attribute("data-value"))
              for r in css(driver, "#grades tbody tr")]
    assert scores == sorted(scores)
    total.find_element("css selector", "button").click()
    scores = [float(r.find_elements("css selector", "td")[1].get_attribute("data-value"))
              for r in css(driver, "#grades tbody tr")]
    assert scores == sorted(scores, reverse=True)
    name = sorted(site.outcomes)[0]
    css(driver, "#filter")[0].send_keys(name.rsplit("/", 1)[-1][:3])
    visible = [r.get_attribute("data-id") for r in css(driver, "#grades tbody tr") if r.is_displayed()]
    assert visible == [name]
    assert browser.console_errors(driver) == []
    css(driver, "#filter")[0].clear()
    load(driver, site.out / "index.html")
    shot(driver, "index")


def test_pages_fit_a_phone(site: Site, driver: Any) -> None:
    sub = site.outcomes[site.hidden]
    student, ta = page_paths(sub.id)
    driver.set_window_size(390, 844)
    try:
        for page in (student, ta, "index.html"):
            load(driver, site.out / page)
            wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, f"{page} is {wide} px wider than a phone's screen"
            shot(driver, f"phone-{Path(page).name.removesuffix('.html')}", 390)
    finally:
        driver.set_window_size(1280, 900)


def test_the_browser_would_see_a_request_and_a_console_error(tmp_path: Path, driver: Any) -> None:
    """The two guards above can fail: a page that fetches and logs an error is caught by both."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><title>bad</title><img src="http://127.0.0.1:9/pixel.png">'
                   '<script>console.error("broken on purpose")</script>')
    driver.get("about:blank")
    browser.requests_made(driver)
    browser.console_errors(driver)
    driver.get(bad.as_uri())
    assert "http://127.0.0.1:9/pixel.png" in browser.requests_made(driver)
    assert any("broken on purpose" in e for e in browser.console_errors(driver))


def test_a_page_prints(site: Site, driver: Any) -> None:
    """Printing (the print stylesheet) gives a PDF of several pages without an error."""
    import base64

    from selenium.webdriver.common.print_page_options import PrintOptions

    sub = site.outcomes[site.hidden]
    load(driver, site.out / page_paths(sub.id)[1])
    pdf = base64.b64decode(driver.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 2
    assert browser.console_errors(driver) == []


def test_the_keyboard_reaches_the_questions_and_opens_details(site: Site, driver: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    sub = site.outcomes[site.hidden]
    load(driver, site.out / page_paths(sub.id)[0])
    ActionChains(driver).send_keys(Keys.TAB).perform()
    first = driver.execute_script("const a = document.activeElement; return [a.tagName, a.getAttribute('href')]")
    assert first == ["A", f"#q-{sub.questions[0].id}"]  # the table of contents comes first
    summary = css(driver, "details:not([open]) > summary")[0]
    driver.execute_script("arguments[0].focus()", summary)
    assert not driver.execute_script("return arguments[0].parentElement.open", summary)
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert driver.execute_script("return arguments[0].parentElement.open", summary)
    outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", summary)
    assert outline != "none"  # focus is visible

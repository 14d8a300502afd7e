"""Every page in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

The pages come from grading example submissions for real: two with the default rubric, one with
a copy of it that has a hidden check. Each page is loaded from disk (file://) and must show its
key elements, make no network request (Chrome's performance log sees every request) and log no
console error; a screenshot of each page is saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.grade import grade_submission, outcome_of
from grader.outcome import SubmissionOutcome
from grader.render.common import shown_processes
from grader.render.write import page_paths, write_reports
from grader.rubric.load import load_rubric, parse_rubric
from tests.conftest import ROOT, RUBRIC, example
from tests.render import browser
from tests.render.books import gradebook_of

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
    write_reports(out, gradebook_of(rubric, graded), graded)
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


@pytest.mark.parametrize("view", ["ta", "student"])
def test_submission_pages(site: Site, driver: Any, view: str) -> None:
    for sub in site.outcomes.values():
        student, ta = page_paths(sub.id)
        load(driver, site.out / (ta if view == "ta" else student))
        shown = sub if view == "ta" else sub.student_view()
        total = css(driver, "#total-score")[0]
        assert float(total.get_attribute("data-score")) == sub.score
        assert total.text.split()[0] == f"{sub.score:g}"
        sections = css(driver, "section.question")
        assert [s.get_attribute("data-question") for s in sections] == [q.id for q in shown.questions]
        for q in shown.questions:
            rows = css(driver, f"#q-{q.id} tr.check")
            assert [r.get_attribute("data-check") for r in rows] == [c.id for c in q.checks]
            messages = [m.text for m in css(driver, f"#q-{q.id} tr.check .check-message")]
            assert messages == [" ".join(c.message.split()) for c in q.checks]
            runs = css(driver, f"#q-{q.id} .run")
            expected = [t for a in q.attempts for t in a.runs.values()]
            assert len(runs) == len(expected)
            for run, trace in zip(runs, expected, strict=True):
                procs = shown_processes(trace, include_internal=view == "ta")
                svg = run.find_element("css selector", "svg.timeline")
                lanes = svg.find_elements("css selector", "g.lane")
                assert [int(g.get_attribute("data-pid")) for g in lanes] == [p.pid for p in procs]
                assert svg.get_attribute("data-lanes") == str(len(procs))
                heads = run.find_elements("css selector", "th.lane-head")
                printed = {ln.pid for ln in trace.lines}
                assert {int(h.get_attribute("data-pid")) for h in heads if h.get_attribute("data-pid")} >= \
                    {pid for pid in printed if pid is not None}
                if trace.timed_out:
                    assert "limit" in run.find_element("css selector", ".run-status").text
        if view == "ta":
            assert css(driver, "#details-link")
            assert all((site.out / "report" / a.get_attribute("href").split("/report/", 1)[1]).is_file()
                       for a in css(driver, "a.trace-link"))
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
    assert [r.get_attribute("data-variant") for r in q6] == ["default"]  # the spawn run only the probe read


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

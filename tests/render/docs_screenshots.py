"""Make the README's screenshots: `python -m tests.render.docs_screenshots` (about 30 s).

Grades the example submissions for real with the default rubric, writes every page into a
temporary folder, and photographs the class overview (docs/img/overview.png) and one question
of a TA page (docs/img/report.png) in the same headless Chromium the browser test uses.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.grade import grade_submission, outcome_of
from grader.outcome import SubmissionOutcome
from grader.render.html import static
from grader.render.timeline import timeline_svg
from grader.render.write import page_paths, write_reports
from grader.results import gradebook
from grader.rubric.load import load_rubric
from tests.conftest import EXAMPLES, ROOT, RUBRIC
from tests.render import browser

IMG = ROOT / "docs" / "img"
REPORT = ("004", "Q6")  # four processes started and joined one by one: the timeline's staircase
CONTRAST = (("000", "Q6", "Four processes that ran at the same time (000, Q6)"),
            ("004", "Q6", "Four processes started and joined one by one (004, Q6)"))


def element_shot(driver: Any, selector: str, path: Path, width: int) -> None:
    """A screenshot of one element, the window made tall enough to hold all of it."""
    height = driver.execute_script(f"return document.querySelector('{selector}').getBoundingClientRect().height")
    driver.set_window_size(width, int(height) + 200)
    element = driver.find_element("css selector", selector)
    driver.execute_script("arguments[0].scrollIntoView()", element)
    element.screenshot(str(path))


def contrast_page(outcomes: list[SubmissionOutcome]) -> str:
    """Two timelines, one above the other: concurrent and one by one."""
    parts = []
    for prefix, qid, caption in CONTRAST:
        sub = next(o for o in outcomes if o.id.startswith(prefix))
        q = sub.question(qid)
        attempt = q.graded_attempt if q is not None else None
        if attempt is None or "default" not in attempt.runs:
            raise SystemExit(f"{sub.id} {qid} has no graded run to draw")
        parts.append(f"<h3>{caption}</h3>{timeline_svg(attempt.runs['default'])}")
    return (f"<!DOCTYPE html><meta charset=utf-8><style>{static('report.css')}</style>"
            f"<main id=timelines style='padding:8px 16px'>{''.join(parts)}</main>")


def main() -> int:
    reason = browser.available()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    rubric = load_rubric(RUBRIC)
    outcomes = [outcome_of(grade_submission(str(p), rubric), rubric, submission_id=p.name)
                for p in sorted(EXAMPLES.iterdir())]
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_reports(out, gradebook(rubric, [o.summary() for o in outcomes]), outcomes)
        sub = next(o for o in outcomes if o.id.startswith(REPORT[0]))
        with browser.chromium(1200, 900) as driver:
            driver.get((out / "index.html").as_uri())
            browser.full_screenshot(driver, IMG / "overview.png", 1200)
            driver.get((out / page_paths(sub.id)[1]).as_uri())
            element_shot(driver, f"#q-{REPORT[1]}", IMG / "report.png", 1100)
            (out / "timelines.html").write_text(contrast_page(outcomes))
            driver.get((out / "timelines.html").as_uri())
            element_shot(driver, "#timelines", IMG / "timelines.png", 960)
    print(f"wrote {IMG / 'overview.png'}, {IMG / 'report.png'} and {IMG / 'timelines.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Hand-made outcomes for the page tests: a code question with a hidden check, a written one, hostile text."""

from __future__ import annotations

from dataclasses import replace

from grader.outcome import AttemptOutcome, CellView, CheckOutcome, QuestionOutcome, SubmissionOutcome
from grader.trace import ExceptionInfo, Line
from tests.render.traces import HOSTILE, concurrent, crashed

SECRET = "probe_zebra_7"  # the hidden check's id, its message says the same word
SECRET_MESSAGE = "The zebra probe saw the secret value 4242."
SECRET_RUN_TEXT = "output only the zebra probe reads"


def check(id: str, status: str, score: float, max_score: float, message: str, **kw: object) -> CheckOutcome:
    fields: dict[str, object] = {"type": id, "fraction": score / max_score if max_score else 0.0, "evidence": {}}
    fields.update(kw)
    return CheckOutcome(id=id, status=status, score=score, max_score=max_score, message=message, **fields)


SOURCE = """import multiprocessing as mp

def work(n):
    print(n)

ps = [mp.Process(target=work, args=(i,)) for i in range(4)]
for p in ps:
    p.start()
for p in ps:
    p.join()
"""


def outcome(sub_id: str = "sec1/hw.ipynb") -> SubmissionOutcome:
    guard = check("main_guard", "failed", 0, 5, "Protect process creation with `if __name__ == \"__main__\":`.",
                  evidence={"creations": [{"line": 7, "status": "unguarded"}]}, lines=(7,))
    four = check("four_processes", "passed", 6, 6, "Your program starts 4 processes.",
                 evidence={"expected": 4, "seen": 4, "children": [{"pid": 101}]})
    secret = check(SECRET, "failed", 0, 4, SECRET_MESSAGE, hidden=True, evidence={"seen": 4242})
    runs = {"default": concurrent(),
            "spawn": replace(crashed(), lines=(Line(pid=101, stream="stdout", text=SECRET_RUN_TEXT, t=0.1),),
                             exceptions=(ExceptionInfo(pid=101, where="process", type="ValueError", message="x",
                                                       traceback='  File "answer.py", line 4, in work\n', t=0.19),))}
    attempt = AttemptOutcome(1, 3, "In [3] (lines 20-30)", SOURCE, 1, 6.0, runs, (guard, four, secret),
                             {"default": ("main_guard", "four_processes"), "spawn": (SECRET,)})
    q6 = QuestionOutcome("Q6", "Write a program with 4 processes.", "code", 15, True, (guard, four, secret),
                         "marker", "In [3]: follows heading '# Q6'", (3,), {"cells": [3]}, (attempt,), 0, 1)
    concepts = check("concepts", "failed", 2, 5, "Your answer covers 1 of 5 key ideas.", needs_review=True,
                     review_reason="may say it in other words", evidence={"missing": ["GIL", "cores"]})
    q1 = QuestionOutcome("Q1", "What is multiprocessing?", "written", 5, True, (concepts,), "marker",
                         "follows heading '# Q1'", (1,))
    cells = (CellView(0, "markdown", "# Q1", "", "cell 0"),
             CellView(1, "markdown", f"It runs {HOSTILE} in parallel.", "", "cell 1"),
             CellView(2, "markdown", "# Q6", "", "cell 2"),
             CellView(3, "code", SOURCE + f"# {HOSTILE}\n", "0\n1\n2\n3\nsaved-output-marker\n",
                      "In [3] (lines 20-30)"))
    return SubmissionOutcome(sub_id, f"/course/{sub_id}", "mp", 20, (q1, q6), format="ipynb", cells=cells,
                             limits_hit=("wall",), notes=(f"note with {HOSTILE}",))

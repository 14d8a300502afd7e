"""grader: an automated grader for Python homework that observes what student code really does.

Data flow (each arrow a plain function over plain values):

    file --load--> Submission --locate--> Answers --build--> Program --run--> Trace
         --check--> Verdicts --score--> Result --render--> HTML / JSON / CSV / JUnit / Gradescope
"""

from __future__ import annotations

__version__ = "0.1.0"

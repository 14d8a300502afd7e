"""What a check may read: `CheckContext`. Checks never do I/O; everything is in here.

- `question`: the rubric question being graded (its id, text, type, limits, checks).
- `answer`: the locator's `Answer` for it (prose and code parts, and how they were found).
- `source`: the program that was (or would be) run for the answer: the answer's code plus the
  definitions it needs from earlier cells. `None` when there is none (a written answer, or a
  code answer that could not be built); static checks then read the answer's code parts.
- `traces`: what each run observed, keyed by run variant ("default", "spawn", "reseed": the default
  run with another seed). Only the
  variants the question's checks declared are present; a missing variant means that run did
  not happen (the check reports `error`, not `failed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.answers import Answer

if TYPE_CHECKING:
    from grader.rubric.model import Question
    from grader.trace import Trace

DEFAULT_VARIANT = "default"
SPAWN_VARIANT = "spawn"
# The default run again with another run seed: what changes between the two came from chance
# (random, SystemRandom, os.urandom, secrets, numpy, the clock), whatever the recorder claims.
RESEED_VARIANT = "reseed"
RESEED_OFFSET = 1


def variant_run(variant: str) -> tuple[str | None, int]:
    """How to run a variant: (start method, seed offset). Variants other than the default and
    `reseed` are start methods ("spawn", "forkserver")."""
    if variant == DEFAULT_VARIANT:
        return None, 0
    if variant == RESEED_VARIANT:
        return None, RESEED_OFFSET
    return variant, 0


@dataclass(frozen=True)
class CheckContext:
    question: Question
    answer: Answer
    source: str | None = None
    traces: Mapping[str, Trace] = field(default_factory=dict)

    def code(self) -> str:
        """The code static checks read: the program if there is one, else the answer's code."""
        if self.source is not None and self.source.strip():
            return self.source
        return "\n\n".join(p.text for p in self.answer.code_parts())

    def trace(self, variant: str = DEFAULT_VARIANT) -> Trace | None:
        return self.traces.get(variant)

"""The recorder's events: one JSON object per line, each a claim made from inside the program.

They are not read from the event file: the grader takes them from the kernel's record of the
writes to that file (`grader.sandbox.kernel`), so each one comes with the process that really
wrote it (`grader.sandbox.assemble`).
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

"""Reading submissions: a file, or a folder holding one student's files, into a `Submission`.

    load(path) -> Submission          raises SubmissionError with one clear line

The format is decided from the content (see `detect`), never from the extension alone.
"""

from __future__ import annotations

from grader.load.loader import MAX_BYTES, Found, find_submissions, load

__all__ = ["MAX_BYTES", "Found", "find_submissions", "load"]

"""Reference times: how long each question's reference solution runs, for `wall_time: auto`.

    rubric = resolve(load_rubric(path))      # every `auto` wall time replaced by its value

A question whose wall time is `auto` gets `factor` × its reference solution's measured wall time
(the slowest of the reference's runs of that question, through the real sandbox), never below
`floor` nor above `ceiling` (grader.rubric.model.AutoWallTime). So a program that hangs costs a
few seconds instead of the ceiling, while the floor keeps honest slow answers (a worker that sleeps
3 s, a loaded machine) within their limit.

The measurement is made by `grader rubric test` (which grades the reference solution anyway) or,
failing that, on first use, and stored in `reference-times.json` beside the rubric's expected.yaml
(`rubrics/NAME/`), or in the user's cache folder when that folder cannot be written. The file is
versioned and keyed by the SHA-256 of the rubric file and of the reference solution: a changed
rubric or reference is measured again. Without a reference solution (no expected.yaml) nothing
can be measured and `auto` means its ceiling, which the report says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.rubric.model import Limits, Question, Rubric

if TYPE_CHECKING:
    from grader.grade import Result, Runner

SCHEMA = "grader.reference-times/1"
FILE = "reference-times.json"
MAX_BYTES = 1 << 20  # a reference-times file is small; a bigger one is not read


@dataclass(frozen=True)
class ReferenceTimes:
    """Question id -> the reference solution's wall time for it (seconds), and what it was measured on."""

    rubric_sha256: str
    reference_sha256: str
    seconds: Mapping[str, float]
    runs: Mapping[str, Mapping[str, float]]  # question id -> run variant -> seconds
    measured: str = ""  # when (UTC, ISO 8601)
    machine: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "rubric_sha256": self.rubric_sha256, "reference_sha256": self.reference_sha256,
                "measured": self.measured, "machine": self.machine,
                "questions": {q: {"seconds": s, "runs": dict(self.runs.get(q, {}))} for q, s in self.seconds.items()}}

    @classmethod
    def from_json(cls, data: Any) -> ReferenceTimes | None:
        """The times in `data`, or None for anything that is not a well-formed file of this version."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            return None
        questions = data.get("questions")
        if not isinstance(questions, dict):
            return None
        seconds: dict[str, float] = {}
        runs: dict[str, dict[str, float]] = {}
        for qid, entry in questions.items():
            value = entry.get("seconds") if isinstance(entry, dict) else None
            if not isinstance(qid, str) or not isinstance(value, (int, float)) or not _seconds(value):
                return None
            seconds[qid] = float(value)
            given = entry.get("runs")
            if isinstance(given, dict) and given:
                runs[qid] = {str(k): float(v) for k, v in given.items() if _seconds(v)}
        keys = (data.get("rubric_sha256"), data.get("reference_sha256"))
        if not all(isinstance(k, str) for k in keys):
            return None
        return cls(str(keys[0]), str(keys[1]), seconds, runs, str(data.get("measured", "")),
                   str(data.get("machine", "")))


def _seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


# -- where the reference and the times are -------------------------------------------------------


def expected_file(rubric: Rubric) -> Path:
    """`rubrics/NAME/expected.yaml` beside `rubrics/NAME.yaml`: it names the reference solution."""
    path = Path(rubric.path)
    return path.parent / path.stem / "expected.yaml"


def reference_of(rubric: Rubric) -> Path | None:
    """The reference solution named by the rubric's expected.yaml, if there is one."""
    path = expected_file(rubric)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    ref = _reference_named(data)
    if ref is None:
        return None
    found = path.parent / ref
    return found if found.exists() else None


_NAMED = "grader.reftimes.reference/1"


def _reference_named(data: bytes) -> str | None:
    """The `reference:` of an expected.yaml's bytes. Reading YAML costs a self-check about 30 ms
    (the YAML reader's import and a pure-Python parse) every time, for one string: it is kept
    in the private cache folder under the hash of the file's bytes."""
    from grader.rubric.cache import private_dir

    folder = private_dir("expected")
    key = hashlib.sha256(_NAMED.encode() + b"\0" + data).hexdigest()[:32]
    memo = folder / f"{key}.json" if folder is not None else None
    if memo is not None:
        with contextlib.suppress(OSError, ValueError):
            with open(memo, "rb") as fh:
                known = json.loads(fh.read(4096))
            if isinstance(known, dict) and known.get("schema") == _NAMED and (
                    known.get("reference") is None or isinstance(known.get("reference"), str)):
                return known["reference"]  # type: ignore[no-any-return]
    import yaml

    try:
        parsed = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    ref = parsed.get("reference") if isinstance(parsed, dict) else None
    ref = ref if isinstance(ref, str) else None
    if memo is not None:
        with contextlib.suppress(OSError):
            fd, tmp = tempfile.mkstemp(prefix=".expected.", dir=memo.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"schema": _NAMED, "reference": ref}, out)
                os.replace(tmp, memo)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # left only when the rename did not happen
    return ref


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(f.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(f.read_bytes())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def keys(rubric: Rubric) -> tuple[str, str] | None:
    """(SHA-256 of the rubric file, of the reference solution), or None when either cannot be read."""
    reference = reference_of(rubric)
    if reference is None:
        return None
    try:
        return _sha256(Path(rubric.path)), _sha256(reference)
    except OSError:
        return None


def stored_path(rubric: Rubric) -> Path:
    return expected_file(rubric).parent / FILE


def _cache_path(key: tuple[str, str]) -> Path | None:
    from grader.rubric.cache import private_dir

    folder = private_dir("reference-times")
    name = hashlib.sha256("/".join(key).encode()).hexdigest()[:32]
    return folder / f"{name}.json" if folder is not None else None


def load(rubric: Rubric, key: tuple[str, str] | None = None) -> ReferenceTimes | None:
    """The stored times for this rubric and reference (beside the rubric, else in the cache), if current."""
    key = key or keys(rubric)
    if key is None:
        return None
    for path in (stored_path(rubric), _cache_path(key)):
        if path is None:
            continue
        try:
            with open(path, "rb") as fh:
                data = json.loads(fh.read(MAX_BYTES + 1)[:MAX_BYTES])
        except (OSError, ValueError):
            continue
        times = ReferenceTimes.from_json(data)
        if times is not None and (times.rubric_sha256, times.reference_sha256) == key:
            return times
    return None


def store(rubric: Rubric, times: ReferenceTimes) -> Path | None:
    """Write the times beside the rubric, else into the cache; where they went (None: nowhere)."""
    text = json.dumps(times.to_json(), indent=2, sort_keys=True) + "\n"
    for path in (stored_path(rubric), _cache_path((times.rubric_sha256, times.reference_sha256))):
        if path is None:
            continue
        with contextlib.suppress(OSError):
            fd, tmp = tempfile.mkstemp(prefix=".reference-times.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            return path
    return None


# -- measuring ----------------------------------------------------------------------------------


def without_auto(rubric: Rubric) -> Rubric:
    """The rubric with every `auto` wall time at its ceiling (how the reference is measured)."""
    def fixed(limits: Limits) -> Limits:
        if limits.wall_time_auto is None:
            return limits
        return replace(limits, wall_time=limits.wall_time or limits.wall_time_auto.ceiling, wall_time_auto=None)

    return replace(rubric, limits=fixed(rubric.limits),
                   questions=tuple(replace(q, limits=fixed(q.limits)) for q in rubric.questions))


def times_of(result: Result) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Per question: the slowest run of the attempt that counted, and every run's time."""
    seconds: dict[str, float] = {}
    runs: dict[str, dict[str, float]] = {}
    for qr in result.questions:
        if not qr.attempts:
            continue
        attempt = qr.attempts[qr.graded or 0]
        runs[qr.question.id] = {v: round(t.wall_time, 4) for v, t in sorted(attempt.traces.items())}
        seconds[qr.question.id] = max(runs[qr.question.id].values(), default=0.0)
    return seconds, runs


def measure(rubric: Rubric, runner: Runner | None = None) -> tuple[ReferenceTimes, Result] | None:
    """Grade the reference solution (every auto wall time at its ceiling) and time its runs; None
    without a reference. The Result is the reference's grading, for `grader rubric test`."""
    from grader.grade import grade_submission

    key = keys(rubric)
    reference = reference_of(rubric)
    if key is None or reference is None:
        return None
    result = grade_submission(str(reference), without_auto(rubric), runner=runner)
    if result.error is not None:
        return None
    seconds, runs = times_of(result)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    import platform  # only when measuring: not on a self-check's start-up

    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return ReferenceTimes(key[0], key[1], seconds, runs, when, machine), result


def apply(rubric: Rubric, times: ReferenceTimes | None) -> Rubric:
    """Every `auto` wall time set from the reference's time for its question (the ceiling for a
    question the times do not cover, with its reason saying so)."""
    def resolved(q: Question) -> Question:
        auto = q.limits.wall_time_auto
        if auto is None:
            return q
        ref = times.seconds.get(q.id) if times is not None else None
        if ref is None or q.limits.wall_time is not None:
            return q  # not measured (runs get the ceiling, and say why), or fixed by other means
        done = replace(auto, reference=ref)
        return replace(q, limits=replace(q.limits, wall_time=done.value(ref), wall_time_auto=done))

    return replace(rubric, questions=tuple(resolved(q) for q in rubric.questions))


_LOCK = threading.Lock()
_KNOWN: dict[tuple[str, tuple[str, str]], ReferenceTimes | None] = {}


def resolve(rubric: Rubric, *, runner: Runner | None = None, measure_if_missing: bool = True,
            say: Callable[[str], None] | None = None) -> Rubric:
    """The rubric with its `auto` wall times resolved: from the stored times, else measured now
    (and stored) unless `measure_if_missing` is False. Unchanged when it has no `auto`."""
    if not rubric.auto_limits:
        return rubric
    key = keys(rubric)
    if key is None:
        return apply(rubric, None)
    with _LOCK:  # a batch's threads: one measurement
        memo = (str(Path(rubric.path).resolve()), key)
        if memo not in _KNOWN:
            times = load(rubric, key)
            if times is None and measure_if_missing:
                if say is not None:
                    say("measuring the reference solution's run times for wall_time: auto (once per rubric)")
                measured = measure(rubric, runner)
                if measured is not None:
                    times = measured[0]
                    store(rubric, times)
            _KNOWN[memo] = times
        return apply(rubric, _KNOWN[memo])


def forget() -> None:
    """Drop what this process remembers (tests; `grader rubric test` after measuring again)."""
    with _LOCK:
        _KNOWN.clear()

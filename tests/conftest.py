"""Shared test fixtures: where the examples and the real corpus live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"  # byte for byte the shared seeds
# A copy of ../shared/corpus: real student submissions and a TA's labels for them and the seeds,
# with the shared README that describes the homework and the label fields.
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CORPUS = CORPUS_DIR / "real"
LABELS = CORPUS_DIR / "labels.json"
HOMEWORK = CORPUS_DIR / "README.md"
RUBRIC = ROOT / "rubrics" / "multiprocessing.yaml"


def example(prefix: str) -> Path:
    """The example submission whose name starts with `prefix` ('000' ... '004')."""
    found = sorted(EXAMPLES.glob(f"{prefix}_*"))
    assert len(found) == 1, f"expected one example {prefix}_*, found {found}"
    return found[0]


def labelled_file(name: str) -> Path:
    """A file named in labels.json: an example submission or a real corpus file."""
    seed = EXAMPLES / name
    return seed if seed.is_file() else CORPUS / name


@pytest.fixture(autouse=True, scope="session")
def _private_grader_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's own cache folder (parsed rubrics, reference times, templates), not the user's
    ~/.cache/grader: what another grader (another checkout, another version) left there must not
    change what a test sees. Subprocesses the tests start inherit it."""
    old = os.environ.get("GRADER_CACHE_DIR")
    os.environ["GRADER_CACHE_DIR"] = str(tmp_path_factory.mktemp("grader-cache"))
    yield
    if old is None:
        os.environ.pop("GRADER_CACHE_DIR", None)
    else:
        os.environ["GRADER_CACHE_DIR"] = old

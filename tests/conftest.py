"""Shared test fixtures: where the examples and the real corpus live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "real"
LABELS = SHARED / "corpus" / "labels.json"
RUBRIC = ROOT / "rubrics" / "multiprocessing.yaml"


def example(prefix: str) -> Path:
    """The example submission whose name starts with `prefix` ('000' ... '004')."""
    found = sorted(EXAMPLES.glob(f"{prefix}_*"))
    assert len(found) == 1, f"expected one example {prefix}_*, found {found}"
    return found[0]


def needs_corpus() -> None:
    if not CORPUS.is_dir() or not LABELS.is_file():
        pytest.skip("the shared corpus (../shared/corpus) is not next to this checkout")

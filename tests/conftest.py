"""Shared test fixtures: where the examples and the real corpus live."""

from __future__ import annotations

from pathlib import Path

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

"""The sandbox's bootstrap folder is compiled once, not by every grader process."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

from grader.sandbox import bootdir


def _pycs(target: Path) -> dict[str, int]:
    return {name: os.stat(importlib.util.cache_from_source(str(target / name))).st_mtime_ns for name in bootdir.FILES}


def test_a_new_grader_process_reuses_the_bytecode_and_recompiles_a_newer_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(bootdir, "_compiled", set())
    target = bootdir.boot_dir(sys.executable)
    first = _pycs(target)
    assert target.parent == tmp_path and all(first.values())

    monkeypatch.setattr(bootdir, "_compiled", set())  # as a fresh grader process starts
    assert bootdir.boot_dir(sys.executable) == target
    assert _pycs(target) == first  # not written again

    source = target / bootdir.FILES[1]
    later = max(first.values()) + 5_000_000_000
    os.utime(source, ns=(later, later))
    monkeypatch.setattr(bootdir, "_compiled", set())
    bootdir.boot_dir(sys.executable)
    again = _pycs(target)
    assert again[bootdir.FILES[1]] > first[bootdir.FILES[1]]  # compiled again

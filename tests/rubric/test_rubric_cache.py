"""The parsed-rubric cache: a hit gives the same Rubric; a cache file another user could have
written is never unpickled; any damage falls back to parsing."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from grader.rubric.cache import cache_key, load_rubric_cached
from grader.rubric.load import load_rubric
from tests.conftest import RUBRIC


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache" / "rubrics"
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_NO_CACHE", raising=False)
    return folder


def planted(cache: Path, title: str) -> Path:
    """A cache entry for RUBRIC whose Rubric differs from the file's (a forgery we can recognise)."""
    load_rubric_cached(RUBRIC)
    entry = cache / f"{cache_key(RUBRIC.read_text(encoding='utf-8'))}.pickle"
    assert entry.is_file()
    entry.write_bytes(pickle.dumps(replace(load_rubric(RUBRIC), title=title)))
    os.chmod(entry, 0o600)
    return entry


def test_a_hit_is_the_parsed_rubric(cache: Path, tmp_path: Path) -> None:
    first = load_rubric_cached(RUBRIC)
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(RUBRIC.read_bytes())
    again = load_rubric_cached(copy)
    assert again == replace(load_rubric(RUBRIC), path=str(copy)) and first == load_rubric(RUBRIC)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert [oct(p.stat().st_mode & 0o777) for p in cache.iterdir()] == ["0o600"]


def test_an_edited_rubric_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / "r.yaml"
    copy.write_text(RUBRIC.read_text(encoding="utf-8"), encoding="utf-8")
    load_rubric_cached(copy)
    copy.write_text(RUBRIC.read_text(encoding="utf-8").replace("title: Python multiprocessing", "title: Edited"),
                    encoding="utf-8")
    assert load_rubric_cached(copy).title == "Edited"


def test_a_private_entry_is_used(cache: Path) -> None:
    planted(cache, "From the cache")
    assert load_rubric_cached(RUBRIC).title == "From the cache"  # proves the tests below can fail


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_an_entry_others_can_write_is_ignored(cache: Path, mode: int) -> None:
    entry = planted(cache, "Forged")
    os.chmod(entry, mode)
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


def test_a_folder_others_can_write_is_ignored(cache: Path) -> None:
    planted(cache, "Forged")
    os.chmod(cache, 0o777)
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


def test_a_symlinked_entry_is_ignored(cache: Path, tmp_path: Path) -> None:
    entry = planted(cache, "Forged")
    elsewhere = tmp_path / "elsewhere.pickle"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_an_entry_another_user_owns_is_ignored(cache: Path) -> None:
    entry = planted(cache, "Forged")
    os.chown(entry, 12345, 12345)
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


def test_garbage_falls_back_to_parsing(cache: Path) -> None:
    entry = planted(cache, "Forged")
    entry.write_bytes(b"not a pickle")
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"
    entry.write_bytes(pickle.dumps({"not": "a rubric"}))
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


def test_private_dir(cache: Path) -> None:
    from grader.rubric.cache import private_dir

    made = private_dir("templates")
    assert made == cache.parent / "templates" and oct(made.stat().st_mode & 0o777) == "0o700"
    os.chmod(made, 0o777)
    assert private_dir("templates") is None  # others could plant compiled code in it
    os.chmod(made, 0o700)
    made.rmdir()
    made.symlink_to(cache.parent)
    assert private_dir("templates") is None

"""The parsed-rubric cache: a hit gives the same Rubric (its checks' parameters as plain values,
so that loading it needs no pydantic); a cache file another user could have written is never
unpickled; any damage, or an entry of another shape, falls back to parsing."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import BaseModel

from grader.rubric.cache import cache_key, load_rubric_cached, plain
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
    entry.write_bytes(pickle.dumps(plain(replace(load_rubric(RUBRIC), title=title))))
    os.chmod(entry, 0o600)
    return entry


def test_a_hit_is_the_parsed_rubric(cache: Path, tmp_path: Path) -> None:
    first = load_rubric_cached(RUBRIC)
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(RUBRIC.read_bytes())
    again = load_rubric_cached(copy)
    assert again == plain(replace(load_rubric(RUBRIC), path=str(copy))) and first == load_rubric(RUBRIC)
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


def test_an_entry_of_another_shape_is_ignored(cache: Path) -> None:
    """An entry holding the checks' pydantic models (what the cache held before ParamValues), or
    anything else that is not a plain Rubric, is parsed again, not trusted."""
    entry = planted(cache, "Forged")
    entry.write_bytes(pickle.dumps(replace(load_rubric(RUBRIC), title="Forged")))
    assert load_rubric_cached(RUBRIC).title == "Python multiprocessing"


def test_plain_values_read_as_the_models_do() -> None:
    rubric = load_rubric(RUBRIC)
    for q, pq in zip(rubric.questions, plain(rubric).questions, strict=True):
        for spec, values in zip(q.checks, pq.checks, strict=True):
            for name in type(spec.params).model_fields:
                model_value, plain_value = getattr(spec.params, name), getattr(values.params, name)
                if isinstance(model_value, list) and model_value and isinstance(model_value[0], BaseModel):
                    assert [m.model_dump() for m in model_value] == [dict(v._values) for v in plain_value]
                else:
                    assert plain_value == model_value, (q.id, spec.id, name)
            with pytest.raises(AttributeError):
                values.params.not_a_parameter  # noqa: B018
            with pytest.raises(AttributeError):
                values.params.n = 5


def test_a_hit_imports_no_pydantic_nor_yaml(cache: Path) -> None:
    """What a self-check loads from a warm cache: the rubric and the check functions, without
    pydantic's import (about 0.1 s) or the YAML reader."""
    import subprocess
    import sys

    load_rubric_cached(RUBRIC)
    code = ("import sys; from grader.rubric.cache import load_rubric_cached; import grader.grade; "
            f"r = load_rubric_cached({str(RUBRIC)!r}); from grader.rubric.load import variants_needed; "
            "[variants_needed(q) for q in r.questions]; "
            "print(sorted(m for m in ('pydantic', 'yaml', 'grader.checks.params') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ})
    assert done.stdout.strip() == "[]"


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

"""`imports` and `calls`: names resolved through imports and simple variable tracking."""

from __future__ import annotations

import textwrap

import pytest

from grader.checks import Status
from grader.checks.params import CallsParams, ImportsParams
from grader.checks.pycode import Code, calls_match, parse_lenient
from grader.checks.static import calls, imports
from tests.checks.helpers import code_context


def call_names(code: str) -> set[str]:
    parsed = parse_lenient(textwrap.dedent(code))
    assert parsed.tree is not None
    return {site.name for site in Code(parsed.tree).calls()}


@pytest.mark.parametrize(("code", "module"), [
    ("import multiprocessing", "multiprocessing"),
    ("import multiprocessing as mp", "multiprocessing"),
    ("from multiprocessing import Pool", "multiprocessing"),
    ("from multiprocessing.pool import ThreadPool", "multiprocessing"),
    ("from multiprocessing.pool import ThreadPool", "multiprocessing.pool"),
    ("import concurrent.futures", "concurrent.futures"),
    ("from multiprocessing import pool", "multiprocessing.pool"),
])
def test_imports_found(code: str, module: str) -> None:
    v = imports(code_context(code), ImportsParams(modules=[module]))
    assert v.status is Status.PASSED, v.message


def test_imports_missing_and_any() -> None:
    ctx = code_context("import threading")
    v = imports(ctx, ImportsParams(modules=["multiprocessing", "threading"]))
    assert v.status is Status.FAILED and "multiprocessing" in v.message and v.evidence["missing"] == ["multiprocessing"]
    assert imports(ctx, ImportsParams(modules=["multiprocessing", "threading"], require="any")).status is Status.PASSED


def test_imports_fall_back_to_text_when_code_does_not_parse() -> None:
    v = imports(code_context("import multiprocessing\nthis is ( not python\nat all ]\n"),
                ImportsParams(modules=["multiprocessing"]))
    assert v.status is Status.PASSED


def test_call_names_follow_aliases_variables_with_and_loops() -> None:
    names = call_names("""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor as PPE
    def f(x): return x
    if __name__ == "__main__":
        with mp.Pool(2) as pool:
            pool.map(f, [1])
        p = mp.Pool()
        p.apply_async(f, (1,))
        mp.Pool(3).starmap(f, [])
        procs = [mp.Process(target=f) for _ in range(2)]
        for q in procs:
            q.start()
        with PPE() as ex:
            ex.submit(f, 1)
        ctx = mp.get_context("spawn")
        ctx.Queue()
        print(len([]))
    """)
    assert {"multiprocessing.Pool", "multiprocessing.Pool.map", "multiprocessing.Pool.apply_async",
            "multiprocessing.Pool.starmap", "multiprocessing.Process", "multiprocessing.Process.start",
            "concurrent.futures.ProcessPoolExecutor", "concurrent.futures.ProcessPoolExecutor.submit",
            "multiprocessing.get_context", "multiprocessing.Queue", "print", "len"} <= names


def test_unknown_receivers_are_named_by_method_only() -> None:
    assert "?.map" in call_names("def g(pool):\n    pool.map(abs, [1])\n")


@pytest.mark.parametrize(("name", "wanted", "ok"), [
    ("multiprocessing.Pool.map", "Pool.map", True),
    ("multiprocessing.Pool.map", "map", True),
    ("multiprocessing.Pool.map", "multiprocessing.Pool.map", True),
    ("map", "Pool.map", False),
    ("?.map", "Pool.map", False),
    ("?.map", "map", True),
    ("concurrent.futures.ProcessPoolExecutor.map", "Pool.map", False),
    ("multiprocessing.Pool.imap", "map", False),
])
def test_more_qualified_is_stricter(name: str, wanted: str, ok: bool) -> None:
    assert calls_match(name, wanted) is ok


def test_calls_check_passes_and_fails_with_evidence() -> None:
    ctx = code_context("from multiprocessing import Pool\nwith Pool() as p:\n    p.map(abs, [1])\n")
    v = calls(ctx, CallsParams(calls=["Pool.map", "multiprocessing.Pool"]))
    assert v.status is Status.PASSED
    assert v.evidence["matched"]["Pool.map"] == ["multiprocessing.Pool.map"]
    v = calls(ctx, CallsParams(calls=["Pool.apply"]))
    assert v.status is Status.FAILED and "Pool.apply" in v.message
    assert calls(ctx, CallsParams(calls=["Pool.apply", "Pool.map"], require="any")).status is Status.PASSED


def test_calls_on_unreadable_code_fail_with_the_error() -> None:
    v = calls(code_context("def (:\n"), CallsParams(calls=["print"]))
    assert v.status is Status.FAILED and "could not be read" in v.message


def test_a_magic_line_is_ignored() -> None:
    parsed = parse_lenient("%timeit x = 1\nimport os\nos.getpid()\n")
    assert parsed.tree is not None and parsed.dropped_lines == [1]

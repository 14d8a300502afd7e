"""`main_guard`: process creation only under `if __name__ == "__main__":`, read statically."""

from __future__ import annotations

import textwrap

import pytest

from grader.checks import NoParams, Status
from grader.checks.static import main_guard
from tests.checks.helpers import code_context


def verdict(code: str) -> tuple[Status, str]:
    v = main_guard(code_context(textwrap.dedent(code)), NoParams())
    return v.status, v.message


GUARDED = [
    # the plain form, with an alias
    """
    import multiprocessing as mp
    def f(): print(1)
    if __name__ == "__main__":
        p = mp.Process(target=f)
        p.start()
        p.join()
    """,
    # reversed comparison, from-import
    """
    from multiprocessing import Process
    def f(): pass
    if '__main__' == __name__:
        Process(target=f).start()
    """,
    # a pool as a context manager
    """
    from multiprocessing import Pool
    def sq(x): return x * x
    if __name__ == '__main__':
        with Pool(4) as p:
            print(p.map(sq, range(4)))
    """,
    # inside a function called only from the guard
    """
    import multiprocessing
    def work(): pass
    def main():
        procs = [multiprocessing.Process(target=work) for _ in range(4)]
        for p in procs:
            p.start()
    if __name__ == "__main__":
        main()
    """,
    # concurrent.futures
    """
    import concurrent.futures
    def f(x): return x
    if __name__ == "__main__":
        with concurrent.futures.ProcessPoolExecutor() as ex:
            list(ex.map(f, range(3)))
    """,
    # a context from get_context, and the guard combined with another condition
    """
    import multiprocessing as mp
    DEBUG = True
    def f(): pass
    if DEBUG and __name__ == "__main__":
        ctx = mp.get_context("spawn")
        ctx.Process(target=f).start()
    """,
    # a subclass of Process; module-level code that creates nothing is fine
    """
    from multiprocessing import Process
    print("starting")
    class Worker(Process):
        def run(self): print("hi")
    if __name__ == "__main__":
        Worker().start()
    """,
    # the else branch of `!=`
    """
    import multiprocessing
    def f(): pass
    if __name__ != "__main__":
        pass
    else:
        multiprocessing.Process(target=f).start()
    """,
]


@pytest.mark.parametrize("code", GUARDED)
def test_guarded_creation_passes(code: str) -> None:
    status, message = verdict(code)
    assert status is Status.PASSED, message


UNGUARDED = [
    ("module level", """
    import multiprocessing
    def f(): pass
    p = multiprocessing.Process(target=f)
    p.start()
    """, "line 4"),
    ("a pool at module level", """
    from multiprocessing import Pool
    with Pool(2) as pool:
        pool.map(abs, [1])
    """, "line 3"),
    ("a function called at module level", """
    import multiprocessing
    def f(): pass
    def main():
        multiprocessing.Process(target=f).start()
    main()
    """, "through main()"),
    ("a loop over a list of processes", """
    import multiprocessing
    def f(): pass
    procs = []
    for i in range(4):
        procs.append(multiprocessing.Process(target=f))
    if __name__ == "__main__":
        for p in procs:
            p.start()
    """, "line 6"),
    ("star import", """
    from multiprocessing import *
    def f(): pass
    Process(target=f).start()
    """, "line 4"),
    ("a manager", """
    import multiprocessing
    m = multiprocessing.Manager()
    """, "Manager"),
]


@pytest.mark.parametrize(("what", "code", "where"), UNGUARDED, ids=[u[0] for u in UNGUARDED])
def test_unguarded_creation_fails_and_says_where(what: str, code: str, where: str) -> None:
    status, message = verdict(code)
    assert status is Status.FAILED
    assert where in message and "spawn" in message


def test_no_process_creation_fails_clearly() -> None:
    status, message = verdict("""
    import multiprocessing
    print("Number of CPU :", multiprocessing.cpu_count())
    """)
    assert status is Status.FAILED and "No process is created" in message


def test_threads_are_not_processes() -> None:
    status, message = verdict("""
    import threading
    from multiprocessing.pool import ThreadPool
    threading.Thread(target=print).start()
    ThreadPool(2).map(abs, [1])
    """)
    assert status is Status.FAILED and "No process is created" in message


def test_creation_in_a_function_never_called() -> None:
    status, message = verdict("""
    import multiprocessing
    def main():
        multiprocessing.Process(target=print).start()
    """)
    assert status is Status.FAILED and "never called" in message


def test_a_stray_prose_line_is_ignored_and_reported() -> None:
    v = main_guard(code_context(textwrap.dedent("""
    import multiprocessing
    Here is my answer to the question
    def f(): pass
    if __name__ == "__main__":
        multiprocessing.Process(target=f).start()
    """)), NoParams())
    assert v.status is Status.PASSED
    assert v.evidence["ignored_lines"] == [3]


def test_unreadable_code_fails_with_the_syntax_error() -> None:
    v = main_guard(code_context("'''\nan unterminated string\n"), NoParams())
    assert v.status is Status.FAILED and "could not be read" in v.message


def test_no_code() -> None:
    v = main_guard(code_context("   \n"), NoParams())
    assert v.status is Status.FAILED and "No code" in v.message


def test_program_source_is_preferred_to_the_answer_code() -> None:
    # The program adds the import from an earlier cell; the answer's cell alone uses a bare name.
    from tests.checks.helpers import context, question

    ctx = context(question("Q5"), code=("if __name__ == '__main__':\n    Pool(2).map(abs, [1])\n",),
                  source="from multiprocessing import Pool\nif __name__ == '__main__':\n    Pool(2).map(abs, [1])\n")
    assert main_guard(ctx, NoParams()).status is Status.PASSED

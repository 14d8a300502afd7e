"""What a program's own code says it will sleep (grader.waits): the order a batch starts runs in."""

from __future__ import annotations

import pytest

from grader.waits import MAX_SECONDS, expected_sleep


@pytest.mark.parametrize(("source", "seconds"), [
    ("import time\ntime.sleep(2)\n", 2.0),
    ("from time import sleep\nsleep(0.5)\nsleep(1)\n", 1.5),
    ("import time as t\nfor i in range(3):\n    t.sleep(1)\n", 3.0),
    ("import time\nfor i in range(2, 5):\n    for j in range(2):\n        time.sleep(0.5)\n", 3.0),
    # a worker function's sleep, called from a Process: counted once
    ("import time, multiprocessing as mp\ndef work(n):\n    time.sleep(2)\n"
     "if __name__ == '__main__':\n    p = mp.Process(target=work, args=(1,))\n    p.start(); p.join()\n", 2.0),
    # while loops and loops over anything but range(N) count once
    ("import time\nwhile True:\n    time.sleep(1)\n", 1.0),
    ("import time\nfor x in items:\n    time.sleep(1)\n", 1.0),
    ("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n", 1.0),
    # nothing to count: no literal number, a non-sleep call, a zero or negative sleep, a bool
    ("import time\ntime.sleep(n)\n", 0.0),
    ("import time\ntime.time()\nprint('sleep')\n", 0.0),
    ("import time\ntime.sleep(0)\ntime.sleep(-1)\ntime.sleep(True)\n", 0.0),
    ("def f(:\n    time.sleep(5)\n", 0.0),  # does not parse
    ("", 0.0),
])
def test_literal_sleeps_add_up_with_their_loops(source: str, seconds: float) -> None:
    assert expected_sleep(source) == pytest.approx(seconds)


def test_the_loop_s_iterable_is_not_repeated_and_the_total_is_capped() -> None:
    assert expected_sleep("import time\nfor x in range(int(time.sleep(1) or 3)):\n    pass\n") == 1.0
    assert expected_sleep("import time\nfor i in range(1000000):\n    time.sleep(100)\n") == MAX_SECONDS
    assert expected_sleep("import time\n" + "time.sleep(1e9)\n" * 3) == MAX_SECONDS

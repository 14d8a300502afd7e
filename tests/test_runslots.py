"""The batch's gate on runs at once (grader.runslots): `jobs` always, more only on idle cores."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from grader.runslots import RunSlots, free_cores
from grader.sandbox import cancel


def _holders(slots: RunSlots, n: int, release: threading.Event) -> list[threading.Thread]:
    def hold() -> None:
        slots.acquire()
        release.wait(10)
        slots.release()

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def _settle(slots: RunSlots, want: int, within: float = 2.0) -> int:
    deadline = time.monotonic() + within
    while slots.active != want and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # long enough for a further acquire to have gone through, were it allowed
    return slots.active


def test_jobs_runs_go_at_once_and_no_more_on_a_busy_machine() -> None:
    slots = RunSlots(2, free=lambda: 0)
    release = threading.Event()
    threads = _holders(slots, 4, release)
    try:
        assert _settle(slots, 2) == 2 and slots.peak == 2
    finally:
        release.set()
        for t in threads:
            t.join(5)
    assert slots.active == 0 and slots.peak == 2


def test_more_runs_go_on_idle_cores_up_to_twice_jobs() -> None:
    slots = RunSlots(2, free=lambda: 1)
    release = threading.Event()
    threads = _holders(slots, 6, release)
    try:
        assert _settle(slots, 4) == 4
    finally:
        release.set()
        for t in threads:
            t.join(5)
    assert slots.peak == 4 and slots.active == 0


def test_a_waiting_run_is_given_up_and_ctrl_c_ends_the_wait() -> None:
    slots = RunSlots(1, free=lambda: 0)
    assert slots.acquire()
    t0 = time.monotonic()
    assert not slots.acquire(abandon=lambda: time.monotonic() - t0 > 0.2)
    assert slots.active == 1
    cancel.cancel_all()
    try:
        with pytest.raises(cancel.Cancelled):
            slots.acquire()
    finally:
        cancel.reset()
    slots.release()
    assert slots.acquire() and slots.active == 1


def test_an_urgent_run_takes_the_next_slot_before_runs_that_waited_longer() -> None:
    """A run beside a default run that waits goes first: started last, it would make the two waits one
    after the other."""
    slots = RunSlots(1, free=lambda: 0)
    assert slots.acquire()
    order: list[str] = []

    def wait(name: str, urgent: bool) -> None:
        assert slots.acquire(urgent=urgent)
        order.append(name)
        time.sleep(0.05)
        slots.release()

    threads = []
    for name, urgent in (("first", False), ("second", False), ("urgent", True)):
        threads.append(threading.Thread(target=wait, args=(name, urgent), daemon=True))
        threads[-1].start()
        time.sleep(0.1)  # each is waiting before the next one comes
    slots.release()
    for t in threads:
        t.join(5)
    assert order[0] == "urgent" and sorted(order[1:]) == ["first", "second"]
    assert slots.active == 0 and slots.peak == 1


def test_an_urgent_run_waits_for_a_free_core_beyond_jobs_and_gives_up_when_told() -> None:
    idle = threading.Event()
    slots = RunSlots(1, free=lambda: 1 if idle.is_set() else 0)
    assert slots.acquire()
    t0 = time.monotonic()
    assert not slots.acquire(abandon=lambda: time.monotonic() - t0 > 0.2, urgent=True)
    idle.set()
    assert slots.acquire(urgent=True) and slots.active == 2  # on the idle core, beyond jobs
    slots.release()
    slots.release()


def test_free_cores_counts_this_process_s_cores_less_what_runs() -> None:
    import os

    assert 0 <= free_cores() <= len(os.sched_getaffinity(0))


@pytest.mark.slow
def test_extra_runs_change_nothing_in_the_outcome() -> None:
    """A batch's submission with its questions side by side and extra runs on (as if every core
    were idle) has exactly the outcome of one question at a time: runs overlapped, verdicts did not move."""
    from grader.grade import grade_submission, outcome_of
    from grader.rubric import load_rubric
    from tests.conftest import RUBRIC, example

    rubric = load_rubric(RUBRIC)

    def strip(outcome: Any) -> Any:
        data = outcome.summary().to_json()
        data.pop("seconds", None)
        return data

    one = outcome_of(grade_submission(str(example("002")), rubric), rubric)
    slots = RunSlots(1, free=lambda: 2)
    many = outcome_of(grade_submission(str(example("002")), rubric, parallel=len(rubric.questions), slots=slots),
                      rubric)
    assert slots.peak == 2 and slots.active == 0
    assert strip(many) == strip(one)


def test_a_run_that_may_not_be_needed_goes_after_every_run_that_is() -> None:
    idle = threading.Event()
    slots = RunSlots(1, most=3, free=lambda: 1 if idle.is_set() else 0)
    assert slots.acquire()
    order: list[str] = []

    def want(name: str, idle_only: bool) -> None:
        if slots.acquire(idle_only=idle_only):
            order.append(name)

    needed = threading.Thread(target=want, args=("needed", False))
    speculative = threading.Thread(target=want, args=("speculative", True))
    speculative.start()  # it asks first
    needed.start()
    time.sleep(0.2)
    assert order == []  # no core idle: both wait
    idle.set()
    needed.join(5)
    speculative.join(5)
    assert order == ["needed", "speculative"] and slots.active == 3


def test_one_waiting_run_looks_at_the_cores_while_the_others_sleep() -> None:
    """Twenty runs waiting on a busy machine: about one look at the cores per POLL in all (each of
    them looking every POLL cost the grader a quarter of its own CPU); Ctrl-C still ends every wait."""
    from grader.runslots import POLL

    looks = 0

    def busy() -> int:
        nonlocal looks
        looks += 1
        return 0

    slots = RunSlots(1, free=busy)
    assert slots.acquire()
    cancelled: list[bool] = []

    def want() -> None:
        try:
            slots.acquire()
        except cancel.Cancelled:
            cancelled.append(True)

    threads = [threading.Thread(target=want, daemon=True) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    assert looks <= 0.5 / POLL + 5  # was 20 looks per POLL
    cancel.cancel_all()
    try:
        for t in threads:
            t.join(2)
    finally:
        cancel.reset()
    assert not any(t.is_alive() for t in threads) and len(cancelled) == 20 and slots.active == 1


def test_a_released_slot_goes_to_a_sleeping_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs that do not look at the cores sleep, and each release wakes one of them: ten runs
    go one after another without waiting for a look at the cores (made long here, 5 s)."""
    import grader.runslots

    monkeypatch.setattr(grader.runslots, "POLL", 5.0)
    slots = RunSlots(1, free=lambda: 0)
    assert slots.acquire()
    got: list[float] = []

    def want() -> None:
        slots.acquire()
        got.append(time.monotonic())
        slots.release()

    threads = [threading.Thread(target=want, daemon=True) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    released = time.monotonic()
    slots.release()
    for t in threads:
        t.join(10)
    assert len(got) == 10 and max(got) - released < 2.0 and slots.active == 0


def test_waiting_runs_go_longest_expected_first_then_first_come() -> None:
    """A run whose program sleeps goes before runs that waited longer: started last, its sleep would end
    the batch alone with the cores idle."""
    slots = RunSlots(1, free=lambda: 0)
    assert slots.acquire()
    order: list[str] = []

    def wait(name: str, expect: float) -> None:
        assert slots.acquire(expect=expect)
        order.append(name)
        slots.release()

    threads = []
    for name, expect in (("plain 1", 0.0), ("sleeps 0.3", 0.3), ("plain 2", 0.0), ("sleeps 0.4", 0.4)):
        threads.append(threading.Thread(target=wait, args=(name, expect), daemon=True))
        threads[-1].start()
        time.sleep(0.1)  # each is waiting before the next one comes
    slots.release()
    for t in threads:
        t.join(5)
    assert order == ["sleeps 0.4", "sleeps 0.3", "plain 1", "plain 2"]
    assert slots.active == 0 and slots.peak == 1


def test_a_sleeper_holds_none_of_the_jobs_and_at_most_jobs_sleepers_go() -> None:
    """Runs expected to sleep SLEEPS or more go beside the `jobs` runs, up to `jobs` of them (a third
    takes one of the `jobs` like any run); a run that computes still gets its slot while they sleep, on a
    machine with no idle core."""
    from grader.runslots import SLEEPS

    slots = RunSlots(2, free=lambda: 0)
    release = threading.Event()
    got: list[str] = []

    def hold(name: str, expect: float) -> None:
        slots.acquire(expect=expect)
        got.append(name)
        release.wait(10)
        slots.release()

    threads = [threading.Thread(target=hold, args=(f"sleeper {k}", SLEEPS), daemon=True) for k in range(3)]
    threads += [threading.Thread(target=hold, args=(f"plain {k}", 0.0), daemon=True) for k in range(2)]
    try:
        for t in threads:
            t.start()
            time.sleep(0.1)  # each asks before the next one
        assert _settle(slots, 4) == 4 and slots.sleeping == 2
        assert got == ["sleeper 0", "sleeper 1", "sleeper 2", "plain 0"]
    finally:
        release.set()
        for t in threads:
            t.join(5)
    assert slots.active == 0 and slots.sleeping == 0 and len(got) == 5 and slots.peak == 4

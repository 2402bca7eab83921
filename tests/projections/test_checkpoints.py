"""The checkpoints kept in memory for reads when projections run elsewhere (issue #6, P5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from projections.checkpoints import CheckpointWatch


def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_answered_before_the_first_reading() -> None:
    watch = CheckpointWatch(lambda: {"coverage": 3}, 0.05)
    assert watch.current() is None
    watch.refresh()
    assert watch.current() == {"coverage": 3}


def test_a_floor_above_any_checkpoint_sends_the_read_to_the_database() -> None:
    """``min_position`` (read-your-writes) is answered from memory only once every checkpoint there
    has reached it."""
    positions = {"coverage": 7, "members": 5}
    watch = CheckpointWatch(lambda: dict(positions), 0.05)
    watch.refresh()
    assert watch.current(5) == positions
    assert watch.current(6) is None
    positions["members"] = 9
    watch.refresh()
    assert watch.current(6) == {"coverage": 7, "members": 9}
    assert watch.current(8) is None


def test_a_reading_older_than_stale_after_answers_nothing() -> None:
    clock = Clock()
    watch = CheckpointWatch(lambda: {"coverage": 1}, 0.05, clock=clock)
    assert watch.stale_after == 1.0  # at least a second, so a slow reading does not flap
    watch.refresh()
    clock.now += 1.0
    assert watch.current() == {"coverage": 1}
    clock.now += 0.01
    assert watch.current() is None
    watch.refresh()
    assert watch.current() == {"coverage": 1}
    assert CheckpointWatch(dict, 0.5).stale_after == 5.0


def test_the_thread_keeps_reading_and_outlives_a_failing_database() -> None:
    readings: list[int] = []
    failing = threading.Event()

    def read() -> dict[str, int]:
        if failing.is_set():
            readings.append(-1)
            raise ConnectionError("the database is away")
        readings.append(len(readings))
        return {"coverage": len(readings)}

    watch = CheckpointWatch(read, 0.01).start()
    try:
        until(lambda: len(readings) >= 4)
        failing.set()
        until(lambda: readings.count(-1) >= 3)
        kept = watch.current()
        assert kept is not None and kept["coverage"] >= 4  # the last good reading, until it goes stale
        failing.clear()
        before = len(readings)
        until(lambda: len(readings) >= before + 2)
        assert readings[-1] != -1
    finally:
        watch.stop()
    assert watch._thread is None
    count = len(readings)
    time.sleep(0.05)
    assert len(readings) == count  # stopped: no more readings


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        CheckpointWatch(dict, 0)

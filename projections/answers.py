"""Answers of the read models, kept by question and read position (issue #6, P5).

A figure read at business date ``as_of`` as known at position ``K`` never changes once every table it
reads has been brought past ``K``: rows recorded later are known from a later position, and rows closed
later stay visible at ``K`` (``projections.temporal.visible``). A read that does not name a moment sees
up to each projection's checkpoint, so the key holds ``min(known, checkpoint)`` for every projection
the answer reads: the same question at the same positions is the same answer, for as long as the
process lives. Nothing personal is kept here: only statistics go through it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class _Flight:
    """One answer being computed; whoever asks the same question meanwhile waits for it."""

    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None


class AnswerCache:
    """A bounded least-recently-used map from (question, positions) to an answer."""

    wait_seconds = 30.0
    """How long an asker waits for another thread computing the same answer before computing it too."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        """Answers computed (and kept)."""
        self.shared = 0
        """Answers given to a thread that waited while another computed them."""
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def answer(self, key: Hashable, compute: Callable[[], T], *, wait: bool = True) -> T:
        """The kept answer to ``key``, or ``compute()`` kept for next time. Threads asking the same new
        question at once compute it once: the others wait for it (issue #6, P5: when a dashboard's
        questions are new, every connection asking one would otherwise compute it again, all at once).
        ``wait=False`` (a read tried on the event loop, which must not block) never waits: it computes,
        and its ``compute`` may raise to say it cannot answer there."""
        if self.capacity <= 0:
            return compute()
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                return self._answers[key]  # type: ignore[no-any-return]
            flight = self._flights.get(key)  # another thread computing it
            mine = _Flight() if wait and flight is None else None
            if mine is not None:
                self._flights[key] = mine
        if wait and flight is not None:
            if flight.done.wait(self.wait_seconds) and flight.ok:
                with self._lock:
                    self.shared += 1
                return flight.value  # type: ignore[no-any-return]
            return self.answer(key, compute, wait=False)  # the other thread failed: compute it here
        try:
            value = compute()
        except BaseException:
            if mine is not None:
                self._land(key, mine)
            raise
        with self._lock:
            self.misses += 1
            self._answers[key] = value
            self._answers.move_to_end(key)
            while len(self._answers) > self.capacity:
                self._answers.popitem(last=False)
        if mine is not None:
            mine.ok, mine.value = True, value
            self._land(key, mine)
        return value

    def _land(self, key: Hashable, flight: _Flight) -> None:
        with self._lock:
            self._flights.pop(key, None)
        flight.done.set()

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


def seen_at(known: int, checkpoints: dict[str, int], *names: str) -> tuple[int, ...]:
    """What a read as known at ``known`` sees of each named projection: up to its checkpoint."""
    return tuple(min(known, checkpoints.get(name, 0)) for name in names)

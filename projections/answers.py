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


class AnswerCache:
    """A bounded least-recently-used map from (question, positions) to an answer."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The kept answer to ``key``, or ``compute()`` kept for next time. Two threads asking the same
        new question at once both compute it (the answers are equal)."""
        if self.capacity <= 0:
            return compute()
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                return self._answers[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self.misses += 1
            self._answers[key] = value
            self._answers.move_to_end(key)
            while len(self._answers) > self.capacity:
                self._answers.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


def seen_at(known: int, checkpoints: dict[str, int], *names: str) -> tuple[int, ...]:
    """What a read as known at ``known`` sees of each named projection: up to its checkpoint."""
    return tuple(min(known, checkpoints.get(name, 0)) for name in names)

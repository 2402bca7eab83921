"""Every projection's checkpoint, kept in memory by a background thread (issue #6, P5).

A statistics read answers at its projection's checkpoint (``projections.answers``). Reading that
checkpoint from the database took a connection, a transaction and a query on every request, even when
the answer itself was kept: most of the time a kept answer cost, and the database's CPU on the same two
cores. An API process whose projections run elsewhere (``projections=external``) instead reads every
checkpoint each ``interval`` seconds into memory, and a read takes them from there.

What this changes for a reader, and why it is sound:

- The answer is the one at the checkpoint the read names in its ``position``, at most ``interval``
  older than the database's. Every row a projection wrote up to that checkpoint was committed before
  the watch read it, so any snapshot opened afterwards holds them, and a read "as known at" that
  position gives the answer it gave then (``projections.temporal``).
- Reads with ``min_position`` (read-your-writes) get the memory only when every checkpoint in it has
  reached that position; else they read the database as before.
- When the watch has not read for ``stale_after`` seconds (a database outage, a stopped thread), it
  answers nothing and reads go to the database, which then answers or fails as before.
- Two API processes may hold checkpoints up to ``interval`` apart: a client switching between them can
  see ``position`` go back by that much. ``min_position`` is the way to read monotonically.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class CheckpointWatch:
    def __init__(
        self, read: Callable[[], dict[str, int]], interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``read`` answers every checkpoint (``ProjectionRunner.positions``)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.read = read
        self.clock = clock
        self.interval = interval
        self.stale_after = max(1.0, 10 * interval)
        self._state: tuple[dict[str, int], float] | None = None
        """The checkpoints and when they were read, replaced whole (no lock: one reference)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> CheckpointWatch:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="checkpoint-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def current(self, floor: int = 0) -> dict[str, int] | None:
        """The checkpoints, if read within ``stale_after`` seconds and each at least ``floor``; else
        None, and the caller reads them from the database."""
        state = self._state
        if state is None or self.clock() - state[1] > self.stale_after:
            return None
        positions = state[0]
        if floor and min(positions.values(), default=0) < floor:
            return None
        return positions

    def refresh(self) -> None:
        """Read the checkpoints now (the thread does this every ``interval``)."""
        positions = self.read()
        self._state = (positions, self.clock())

    def _run(self) -> None:
        while True:
            try:
                self.refresh()
                if self._failing:
                    log.info("checkpoint watch reads again")
                self._failing = False
            except Exception:  # the database is away: reads fall back to it once stale_after passes
                if not self._failing:
                    log.exception("checkpoint watch cannot read the checkpoints; reads will ask the database")
                self._failing = True
            if self._stop.wait(self.interval):
                return

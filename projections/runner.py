"""Run projections: follow the event store's global order, catch up, rebuild.

Each projection has a checkpoint row in ``projection_positions``. A batch of events is applied and
the checkpoint advanced in one transaction, so a crash between batches repeats nothing and loses
nothing. On PostgreSQL the checkpoint row is locked (``FOR UPDATE``) for the batch, so two runners
on the same database never apply the same event twice; in one process a lock serialises callers.
Any error in a handler rolls the batch back and propagates: the projection stops loudly at the
position it had reached instead of going silently wrong.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update

from domain.application import Ledger
from projections.tables import metadata
from projections.tables import projection_positions as P

Progress = Callable[[str, int, int], None]


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]

    def handle(self, conn: Connection, event: Any, position: int) -> None: ...


class ProjectionRunner:
    def __init__(
        self,
        ledger: Ledger,
        engine: Engine,
        projections: Sequence[Projection],
        batch_size: int = 1000,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._caught_up = threading.Condition()
        self.failures: dict[str, str] = {}
        """The last error of each projection that stopped; cleared when it next catches up."""

    def setup(self) -> None:
        """Create the read tables that do not exist yet, and each projection's checkpoint row."""
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            known = set(conn.scalars(select(P.c.name)))
            for name in self.projections.keys() - known:
                conn.execute(insert(P).values(name=name, position=0))

    def head(self) -> int:
        """The position of the last event in the store (0 when empty)."""
        return self.ledger.recorder.max_notification_id() or 0

    def position(self, name: str, conn: Connection | None = None) -> int:
        if conn is not None:
            return _read_position(conn, name, lock=False)
        with self.engine.connect() as own:
            return _read_position(own, name, lock=False)

    def positions(self, conn: Connection | None = None) -> dict[str, int]:
        """Every projection's checkpoint (read on ``conn`` to share its snapshot, if given)."""
        if conn is not None:
            return {name: _read_position(conn, name, lock=False) for name in self.projections}
        with self.engine.connect() as own:
            return self.positions(own)

    def catch_up(
        self, names: Sequence[str] | None = None, progress: Progress | None = None, until: int | None = None
    ) -> int:
        """Apply every recorded event each projection has not seen (up to position ``until``, if
        given); return the number of events applied."""
        applied = 0
        with self._lock:
            for name in names or list(self.projections):
                try:
                    applied += self._catch_up_one(self.projections[name], progress, until)
                except Exception as e:
                    self.failures[name] = f"{type(e).__name__}: {e}"
                    raise
                self.failures.pop(name, None)
        with self._caught_up:
            self._caught_up.notify_all()
        return applied

    def _catch_up_one(
        self, projection: Projection, progress: Progress | None, until: int | None = None
    ) -> int:
        applied = 0
        head = self.head() if progress else 0
        while True:
            with self.engine.begin() as conn:
                position = _read_position(conn, projection.name, lock=True)
                notifications = self.ledger.recorder.select_notifications(
                    start=position, limit=self.batch_size, stop=until, inclusive_of_start=False
                )
                if not notifications:
                    return applied
                for notification in notifications:
                    event = self.ledger.mapper.to_domain_event(notification)
                    projection.handle(conn, event, notification.id)
                last = notifications[-1].id
                conn.execute(update(P).where(P.c.name == projection.name).values(position=last))
            applied += len(notifications)
            if progress:
                progress(projection.name, last, max(head, last))

    def rebuild(self, names: Sequence[str] | None = None, progress: Progress | None = None) -> int:
        """Empty the projections' tables and replay the whole store into them.

        This simple rebuild takes the tables offline while it runs; a rebuild beside the live
        tables with an atomic switch is issue #4.
        """
        chosen = list(names or self.projections)
        with self._lock:
            with self.engine.begin() as conn:
                for name in chosen:
                    _read_position(conn, name, lock=True)
                    for table in reversed(self.projections[name].tables):
                        conn.execute(delete(table))
                    conn.execute(update(P).where(P.c.name == name).values(position=0))
            return sum(self._catch_up_one(self.projections[n], progress) for n in chosen)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until every projection has reached ``position``, or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            if min(self.positions().values(), default=0) >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._caught_up:
                self._caught_up.wait(min(remaining, 0.05))


def _read_position(conn: Connection, name: str, *, lock: bool) -> int:
    query = select(P.c.position).where(P.c.name == name)
    if lock:
        query = query.with_for_update()
    position = conn.scalar(query)
    if position is None:
        if not lock:
            return 0
        conn.execute(insert(P).values(name=name, position=0))
        return 0
    return int(position)

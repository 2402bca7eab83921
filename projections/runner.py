"""Run projections: follow the event store's global order, catch up, rebuild.

Each projection has a checkpoint row in ``projection_positions``. A batch of events is applied and
the checkpoint advanced in one transaction, so a crash between batches repeats nothing and loses
nothing. On PostgreSQL the checkpoint row is locked (``FOR UPDATE``) for the batch, so two runners
on the same database never apply the same event twice; in one process a lock serialises callers.
Any error in a handler rolls the batch back and propagates: the projection stops loudly at the
position it had reached instead of going silently wrong.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener
from multiprocessing import get_context
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, insert, inspect, select, update

from domain.application import Ledger
from projections.rebuild import RebuildArea
from projections.tables import create_indexes, create_statistics, metadata, remake_reshaped
from projections.tables import projection_positions as P

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

DECODED_KEPT = 20_000
"""At most this many decoded events shared by the projections of one ``catch_up`` (bounded memory)."""


REPLAYING = "dangjian_replaying"
"""The execution option a rebuild's replay sets on its connections (``_replay``): a projection may
leave to ``finish_replay(conn)``, called once after the replay and before the catch-up that ends the
rebuild, what is cheaper worked out once over all its rows than batch by batch."""


REPLAY_GC_THRESHOLD = 10_000
"""The cyclic collector's first threshold while a rebuild works (``fewer_collections``; Python's default
is 700). A replay keeps a large heap (the histories and their folds) and makes many short-lived
containers: at the default the collector's full passes, each walking that heap, were about a quarter of
a one-process rebuild at scale 0.01 (48.5 s against 36.3 s with the collector off; issue #6, P3)."""


@contextmanager
def fewer_collections(threshold: int = REPLAY_GC_THRESHOLD) -> Iterator[None]:
    """The collector's first threshold raised to ``threshold`` (never lowered) meanwhile, then restored:
    fewer young collections, and so fewer of the full ones they lead to. Garbage without cycles is still
    freed at once (reference counting); cycles wait a little longer."""
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


RebuildApart = Callable[[Sequence[str]], tuple[int, list[str]]]
"""Rebuilds the named projections in the prepared rebuild area and switches them
(``ProjectionRunner.rebuild_in_area``) in the process it runs in: a picklable function that builds its
own runner from the same settings (``infra.store.rebuild_apart``), run in processes of its own by
``rebuild(jobs=N)``."""


class Projection(Protocol):
    """Optionally also ``replay_weight``: the projection's share of a replay's work, relative to the
    others (measured: issue #6, P3), by which ``rebuild(jobs=N)`` deals the projections out to its
    processes (1 if absent); ``prepare(conn)`` (``ProjectionRunner.setup``) and ``finish_replay(conn)``
    (``REPLAYING``)."""

    name: str
    tables: tuple[Table, ...]

    def handle(self, conn: Connection, event: Any, position: int) -> None: ...

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """Apply ``(event, position)`` pairs in position order, as ``handle`` on each would."""


class ProjectionRunner:
    def __init__(
        self,
        ledger: Ledger,
        engine: Engine,
        projections: Sequence[Projection],
        batch_size: int = 1000,
        rebuild_area: RebuildArea | None = None,
        rebuild_apart: RebuildApart | None = None,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.rebuild_area = rebuild_area
        self.rebuild_apart = rebuild_apart
        """How to rebuild projections in another process (None: ``rebuild`` works in this one)."""
        self._lock = threading.Lock()
        self._caught_up = threading.Condition()
        self.failures: dict[str, str] = {}
        """The last error of each projection that stopped; cleared when it next catches up."""

    def setup(self) -> None:
        """Create the read tables that do not exist yet, the indexes and statistics an existing table
        lacks, and each projection's checkpoint row; a projection with a ``prepare(conn)`` fills what
        its new tables derive from its others. A projection whose existing tables lack a declared
        column, or that has a new table beside existing ones (an upgrade changed its shape), gets its
        tables made again and replays from the start
        (``projections.tables.remake_reshaped``)."""
        with self.engine.connect() as conn:
            existed = set(inspect(conn).get_table_names())
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            for projection in self.projections.values():
                remake_reshaped(conn, projection.name, projection.tables, existed)
            create_indexes(conn)
            create_statistics(conn)
            known = set(conn.scalars(select(P.c.name)))
            for name in self.projections.keys() - known:
                conn.execute(insert(P).values(name=name, position=0))
        for projection in self.projections.values():
            prepare = getattr(projection, "prepare", None)
            if prepare is not None:
                with self.engine.begin() as conn:
                    _read_position(conn, projection.name, lock=True)  # no catch-up meanwhile
                    prepare(conn)

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
        if conn is not None:  # one query for all of them
            stored = {name: int(position) for name, position in conn.execute(select(P.c.name, P.c.position))}
            return {name: stored.get(name, 0) for name in self.projections}
        with self.engine.connect() as own:
            return self.positions(own)

    def catch_up(
        self, names: Sequence[str] | None = None, progress: Progress | None = None, until: int | None = None
    ) -> int:
        """Apply every recorded event each projection has not seen (up to position ``until``, if
        given); return the number of events applied."""
        applied = 0
        decoded: dict[int, Any] = {}  # each event decoded once for every projection (issue #6, P6)
        with self._lock:
            for name in names or list(self.projections):
                try:
                    applied += self._catch_up_one(self.projections[name], progress, until, decoded=decoded)
                except Exception as e:
                    self.failures[name] = f"{type(e).__name__}: {e}"
                    raise
                self.failures.pop(name, None)
        with self._caught_up:
            self._caught_up.notify_all()
        return applied

    def _catch_up_one(
        self,
        projection: Projection,
        progress: Progress | None,
        until: int | None = None,
        engine: Engine | None = None,
        decoded: dict[int, Any] | None = None,
    ) -> int:
        """``decoded``: events already decoded by position, shared by the projections of one
        ``catch_up`` (at most ``DECODED_KEPT`` of them), so a batch is decoded once, not once each."""
        applied = 0
        decoded = {} if decoded is None else decoded
        head = self.head() if progress else 0
        while True:
            with (engine or self.engine).begin() as conn:
                position = _read_position(conn, projection.name, lock=True)
                notifications = self.ledger.recorder.select_notifications(
                    start=position, limit=self.batch_size, stop=until, inclusive_of_start=False
                )
                if not notifications:
                    return applied
                missing = [n for n in notifications if n.id not in decoded]
                fresh = dict(zip((n.id for n in missing), self._decode(missing), strict=True))
                if len(decoded) + len(fresh) <= DECODED_KEPT:
                    decoded.update(fresh)
                events = [decoded[n.id] if n.id in decoded else fresh[n.id] for n in notifications]
                projection.handle_batch(conn, list(zip(events, (n.id for n in notifications), strict=True)))
                last = notifications[-1].id
                conn.execute(update(P).where(P.c.name == projection.name).values(position=last))
            applied += len(notifications)
            if progress:
                progress(projection.name, last, max(head, last))

    def rebuild(
        self,
        names: Sequence[str] | None = None,
        progress: Progress | None = None,
        restart: bool = False,
        jobs: int = 1,
    ) -> int:
        """Replay the whole store into fresh tables beside the live ones, then switch atomically.

        The live tables keep serving (and the live projections keep advancing) during the replay;
        an interrupted rebuild resumes from its own checkpoint unless ``restart``. With ``jobs`` > 1
        and a ``rebuild_apart``, the projections are dealt out to that many processes (``deal``; issue
        #6, P3: one Python process uses one core), each rebuilding its share in the area and switching
        it in a transaction of its own, while this one reports their checkpoints to ``progress``.
        Returns the number of events replayed by this call, summed over the projections.
        """
        if self.rebuild_area is None:
            raise RuntimeError("no rebuild area configured")
        area = self.rebuild_area
        chosen = list(names or self.projections)
        tables = {t.name: t for name in chosen for t in self.projections[name].tables}
        area.prepare(list(tables.values()), restart)
        with area.engine.begin() as conn:
            known = set(conn.scalars(select(P.c.name)))
            for name in set(chosen) - known:
                conn.execute(insert(P).values(name=name, position=0))
        groups = deal(chosen, {n: getattr(self.projections[n], "replay_weight", 1.0) for n in chosen}, jobs)
        if len(groups) > 1 and self.rebuild_apart is not None:
            applied, copied = self._rebuild_apart(groups, self.rebuild_apart, area, progress)
        else:
            applied, copied = self.rebuild_in_area(chosen, progress)
        area.drop(list(tables.values()))
        area.analyze([tables[name] for name in copied])  # a table left as it was or moved has its statistics
        with self._caught_up:
            self._caught_up.notify_all()
        return applied

    def rebuild_in_area(
        self, names: Sequence[str], progress: Progress | None = None
    ) -> tuple[int, list[str]]:
        """The named projections rebuilt in the area ``rebuild`` prepared and switched in one
        transaction: the replay, each one's ``finish_replay``, then the catch-up to the head and the
        switch, with ``fewer_collections``. Returns the events applied and the names of the live
        tables whose rows were copied (a table moved in whole was analyzed in the area: ``complete``)."""
        assert self.rebuild_area is not None
        area = self.rebuild_area
        phase = _Phases(", ".join(names))
        with fewer_collections():
            applied = self._replay([self.projections[n] for n in names], area.engine, progress)
            phase.done(f"replay ({applied:,} events handled)")
            for name in names:
                finish = getattr(self.projections[name], "finish_replay", None)
                if finish is not None:
                    area.index(self.projections[name].tables)  # what its refill reads the rows by
                    phase.done(f"{name}'s indexes for its finish")
                    with area.engine.begin() as conn:
                        finish(conn)
                    phase.done(f"{name}'s finish")
            tables = [t for name in names for t in self.projections[name].tables]
            area.complete(tables)  # the live tables' indexes and statistics, so the switch can move them
            phase.done("indexes and statistics")
            with self._lock:  # the switch: no live catch-up in this process meanwhile
                for name in names:
                    applied += self._catch_up_one(self.projections[name], progress, engine=area.engine)
                move = area.older_transactions_end()
                with area.engine.begin() as conn:
                    copied = area.switch(conn, names, tables, move=move)
                for name in names:
                    self.failures.pop(name, None)
            phase.done("catch-up and switch")
        return applied, [t.name for t in copied]

    def _rebuild_apart(
        self, groups: list[list[str]], rebuild: RebuildApart, area: RebuildArea, progress: Progress | None
    ) -> tuple[int, list[str]]:
        """Each group rebuilt by ``rebuild`` in a process of its own (spawned: a forked copy of this
        process would inherit its connections and threads), switching when it is done, as live
        projections each advance on their own; the area's checkpoints reported to ``progress`` twice a
        second meanwhile. The first failure is raised once every process has stopped; the area keeps
        what each committed, so running the rebuild again resumes."""
        names = [n for group in groups for n in group]
        head = self.head()
        context = get_context("spawn")
        logs = context.Queue()  # the processes' log records, handled here as this process's own
        listener = QueueListener(logs, _HandledHere())
        listener.start()
        level = logging.getLogger(_LOGS).getEffectiveLevel()
        try:
            with ProcessPoolExecutor(
                len(groups), mp_context=context, initializer=_log_to, initargs=(logs, level)
            ) as pool:
                futures = [pool.submit(rebuild, group) for group in groups]
                while True:
                    done, running = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                    if progress:
                        with area.engine.connect() as conn:  # the area's checkpoints, in one query
                            positions = self.positions(conn)
                        for name in names:
                            progress(name, positions[name], max(head, positions[name]))
                    if not running or any(f.exception() for f in done):
                        break
        finally:
            listener.stop()
        results = [f.result() for f in futures]
        return sum(applied for applied, _ in results), [name for _, copied in results for name in copied]

    def _replay(self, projections: Sequence[Projection], engine: Engine, progress: Progress | None) -> int:
        """One pass over the store for several projections (a rebuild): each batch of events is read
        and decoded once, handed to every projection that has not seen it, and their checkpoints
        advanced in the same transaction as their rows. Returns the events applied, summed over the
        projections."""
        applied = 0
        head = self.head()
        names = sorted(p.name for p in projections)  # checkpoints locked in one order: no deadlock
        while True:
            with engine.begin() as conn:
                conn.execution_options(**{REPLAYING: True})  # this connection only (see REPLAYING)
                positions = {name: _read_position(conn, name, lock=True) for name in names}
                notifications = self.ledger.recorder.select_notifications(
                    start=min(positions.values()),
                    limit=self.batch_size,
                    inclusive_of_start=False,
                )
                if not notifications:
                    return applied
                batch = list(zip(self._decode(notifications), (n.id for n in notifications), strict=True))
                last = notifications[-1].id
                for projection in projections:
                    seen = positions[projection.name]
                    todo = batch if seen < batch[0][1] else [(e, p) for e, p in batch if p > seen]
                    if todo:
                        projection.handle_batch(conn, todo)
                        applied += len(todo)
                conn.execute(update(P).where(P.c.name.in_(names), P.c.position < last).values(position=last))
            if progress:
                for name in names:
                    progress(name, last, max(head, last))

    def _decode(self, notifications: Sequence[Any]) -> list[Any]:
        return decode_all(self.ledger.mapper, notifications)

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


class _Phases:
    """Logs how long each phase of a rebuild took (INFO), so that an operator, or a benchmark,
    sees where a rebuild's time goes (issue #6, P3)."""

    def __init__(self, names: str) -> None:
        self.names = names
        self.started = self.last = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        log.info(
            "rebuild of %s: %s in %.1f s (%.1f s in all)",
            self.names,
            phase,
            now - self.last,
            now - self.started,
        )
        self.last = now


_LOGS = "projections"
"""The loggers whose records a rebuild's processes hand to the process that started them."""


def _log_to(queue: Any, level: int) -> None:
    """In a process of a rebuild in several: the records of ``_LOGS`` at ``level`` and above (the
    starting process's level) go to ``queue``, for that process to handle (``_HandledHere``)."""
    logger = logging.getLogger(_LOGS)
    logger.setLevel(level)
    logger.addHandler(QueueHandler(queue))
    logger.propagate = False


class _HandledHere(logging.Handler):
    """Handles a record from a rebuild's process as if this process had logged it: by its logger's
    handlers here (the command line's, a test's)."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def deal(names: Sequence[str], weights: dict[str, float], jobs: int) -> list[list[str]]:
    """The names dealt into at most ``jobs`` groups of about equal weight: heaviest first, each to the
    lightest group so far (longest processing time first); no empty group."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(jobs, len(names))))]
    loads = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: (-weights[n], n)):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += weights[name]
    return groups


def decode_all(mapper: Any, stored_events: Sequence[Any]) -> list[Any]:
    """Stored events' domain events, decoded together when the mapper can (it then reads the keys of
    personal data once for all of them, not once per member: issue #6, P3)."""
    many = getattr(mapper, "to_domain_events", None)
    if many is not None:
        return list(many(stored_events))
    return [mapper.to_domain_event(s) for s in stored_events]


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

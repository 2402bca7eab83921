"""Group commit of concurrent commands on PostgreSQL (issue #6, P1).

eventsourcing's ``PostgresApplicationRecorder`` writes each ``insert_events`` call (one command: its
aggregates' events and its receipt, ``domain.commands.base.LedgerBase._commit``) in a transaction of
its own that takes ``LOCK TABLE … IN EXCLUSIVE MODE`` (docs/ARCHITECTURE.md, "Ordered positions"),
so concurrent commands queue for the lock and pay one commit (one WAL flush) each. Worse, the lock
is held while the committing thread waits for the GIL to send its ``COMMIT``, behind every other
request thread of the process.

``GroupCommitRecorder`` is that recorder with the classic leader/follower group commit in front:

- a caller queues its events and, if no group is in flight, becomes the **leader** at once (a lone
  command waits for nothing: no timer, no sleep); otherwise it waits as a **follower**;
- the leader takes everything queued (up to ``max_group_events`` events) and writes it in **one**
  transaction, sent to the server as one pipeline — ``BEGIN``, the lock statements, ``NOTIFY``, one
  ``INSERT … RETURNING``, ``COMMIT`` — so the table lock is held for the server's work and one WAL
  flush only, never for a Python thread's turn at the GIL;
- the leader hands each member its own notification ids (matched by ``(originator_id,
  originator_version)``, not by row order) and wakes the followers; whoever is still queued elects
  the next leader.

The semantics are those of one transaction per command:

- **Any error in a group** (a unique violation on ``(originator_id, originator_version)``: optimistic
  concurrency, a duplicate credit code, a repeated command id's receipt; or anything else) rolls the
  group back, and every member then retries **alone**, through the stock
  ``PostgresApplicationRecorder.insert_events`` in a transaction of its own, so each command gets
  exactly the answer it would have had without grouping: the offender its ``IntegrityError``
  (``RecordConflictError``, which the Ledger reports as ``ConcurrentChange`` or finds the first
  result of a repeated command id), the others their ids. After a unique violation one probe
  (``_without_conflicts``) first sorts the members: a stored key is refused at once, a key taken
  by an earlier member retries alone, the rest commit again as one group.
- **Ordered positions** are kept: one group is one transaction under the same table lock, so no
  transaction commits a lower notification id after a higher one is visible, and within the group
  the rows are inserted in queue order, each command's events in its own order.
- **The append-only role** (``infra.app_role.lock_through_function``) replaces
  ``lock_table_statements``; the group uses whatever statements the recorder holds.
- A connection lost during a group's ``COMMIT`` leaves its outcome unknown, as it does for one command
  today: the members then retry alone, and one whose events did commit meets them as a conflict
  (``IntegrityError``), which is what eventsourcing's own retry of ``insert_events`` gives today.
- Calls with ``tracking`` (a ``ProcessRecorder``'s path; the Ledger uses none), calls that go through
  eventsourcing's database functions (``enable_db_functions``) and empty calls go to the stock path.

SQLite keeps eventsourcing's own recorder: it has a single writer anyway (``infra.store.build``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.errors import UniqueViolation
from psycopg.sql import SQL, Composed, Identifier

from infra.reads import TupleNotifications

TOPIC = "infra.groupcommit:GroupCommitRecorder"
"""The eventsourcing topic of the recorder class (env ``APPLICATION_RECORDER_TOPIC``)."""


class _Pending:
    """One ``insert_events`` call waiting in the queue."""

    __slots__ = ("done", "error", "events", "ids")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: list[int] | None = None  # set when its group committed
        # its group committed but the ids did not add up, or its key is already stored: retrying
        # would only collide
        self.error: Exception | None = None
        self.done = False  # its group is over: committed (ids set) or not (retry alone)


class GroupCommitRecorder(TupleNotifications):
    """``PostgresApplicationRecorder`` with leader/follower group commit (see the module docstring), reading
    notifications as tuples (``infra.reads``)."""

    max_group_events = 2000
    """At most this many events in one group's transaction (a single larger call is its own group)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self._queue: list[_Pending] = []
        self._leading = False
        self._turn = threading.Condition(threading.Lock())
        self.groups = 0
        """How many groups were committed (for tests and measurements)."""
        self.grouped = 0
        """How many calls were committed in a group of more than one."""
        self.retried_alone = 0
        """How many calls retried alone after their group failed."""
        self.group_insert_statement = self._insert(
            "RETURNING originator_id, originator_version, notification_id"
        )
        self.probe_insert_statement = self._insert(
            "ON CONFLICT DO NOTHING RETURNING originator_id, originator_version"
        )

    def _insert(self, tail: str) -> Composed:
        """The INSERT of a whole group's events from one array parameter, ending with ``tail``."""
        return SQL(
            "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%s::{schema}.{stored_event_type}[]) " + tail
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            stored_event_type=Identifier(self.stored_event_type_name),
        )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events or kwargs.get("tracking") is not None or self.datastore.enable_db_functions:
            return cast("Sequence[int] | None", super().insert_events(stored_events, **kwargs))
        mine = _Pending(stored_events)
        with self._turn:
            self._queue.append(mine)
        while True:
            with self._turn:
                while self._leading and not mine.done:
                    self._turn.wait()
                if mine.done:
                    break
                self._leading = True
                group = self._take()
            try:
                self._commit_group(group)
            finally:
                with self._turn:
                    for pending in group:
                        pending.done = True
                    self._leading = False
                    self._turn.notify_all()
        if mine.ids is not None:
            return mine.ids
        if mine.error is not None:  # committed: retrying would only collide with itself
            raise mine.error
        # Its group failed: this call alone, in its own transaction, gets its own answer (issue #6).
        with self._turn:
            self.retried_alone += 1
        return cast("Sequence[int] | None", super().insert_events(stored_events, **kwargs))

    def _take(self) -> list[_Pending]:
        """The queue's head, up to ``max_group_events`` events (at least one call). Holds ``_turn``."""
        count, size = 0, 0
        for pending in self._queue:
            if count and size + len(pending.events) > self.max_group_events:
                break
            count += 1
            size += len(pending.events)
        group = self._queue[:count]
        del self._queue[:count]
        return group

    def _commit_group(self, group: list[_Pending]) -> None:
        """One transaction for the whole group; on any error, nobody gets ids (each retries alone)."""
        events = [event for pending in group for event in pending.events]
        try:
            rows = self._transaction(self.group_insert_statement, events, commit=True)
        except Exception as failed:
            if len(group) > 1 and isinstance(failed, UniqueViolation):
                clean = self._without_conflicts(group, events)
                if 0 < len(clean) < len(group):
                    self._commit_group(clean)  # the others retry alone and meet their conflict
            return
        if len(rows) != len(events):  # cannot happen: one row per inserted event
            for pending in group:
                pending.error = ProgrammingError(f"group commit: {len(rows)} ids for {len(events)} events")
            return
        ids = {(str(row["originator_id"]), row["originator_version"]): row["notification_id"] for row in rows}
        for pending in group:
            pending.ids = [ids[(str(e.originator_id), e.originator_version)] for e in pending.events]
        self.groups += 1
        if len(group) > 1:
            self.grouped += len(group)

    def _rows(self, events: list[StoredEvent]) -> list[Any]:
        """The events as the statements' array of the stored-event type."""
        return [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in events
        ]

    def _transaction(self, statement: Composed, events: list[StoredEvent], *, commit: bool) -> list[Any]:
        """One pipelined transaction over a group's events: BEGIN, the table lock, ``statement`` and,
        with ``commit``, the NOTIFY and COMMIT; without it the transaction is rolled back once the rows
        are read (a probe). Answers the statement's rows; raises the first error, rolled back."""
        rows: list[Any] = []
        failed: BaseException | None = None
        try:
            with self.datastore.get_connection() as conn:
                assert conn.autocommit
                with conn.pipeline() as pipeline, conn.cursor() as curs, conn.cursor() as inserted:
                    try:
                        curs.execute("BEGIN", prepare=False)
                        self._lock_table(curs)
                        if commit:
                            self._notify_channel(curs)
                        inserted.execute(statement, (self._rows(events),))
                        if commit:
                            curs.execute("COMMIT", prepare=False)
                        pipeline.sync()
                        rows = inserted.fetchall()
                    except Exception as e:  # raised after the pipeline exits, to keep psycopg quiet
                        failed = e
                if failed is not None or not commit:
                    # the transaction, if the server still has it open. Outside the pipeline: a
                    # ROLLBACK sent inside one left psycopg's cache of prepared statements naming
                    # statements the server had dropped ("prepared statement _pg3_4 does not exist")
                    conn.rollback()
        except Exception as e:
            failed = failed or e
        if failed is not None:
            raise failed
        return rows

    def _without_conflicts(self, group: list[_Pending], events: list[StoredEvent]) -> list[_Pending]:
        """The members of a group that failed on a unique key whose events would all insert, found by
        inserting the group with ``ON CONFLICT DO NOTHING`` in a transaction that is rolled back (under
        the table lock). A member with a key the store already holds gets its ``IntegrityError`` at
        once: stored events are never deleted (the append-only trigger), so alone it would meet the
        same. A member with a key an earlier member took (the rows go in in queue order) retries
        alone: that member may be refused. The rest commit as a group again. A duplicate then costs
        one more round trip, not a transaction for every member (issue #6, P1). Any error: nobody is
        clean, and every member retries alone as before."""
        try:
            rows = self._transaction(self.probe_insert_statement, events, commit=False)
        except Exception:
            return []
        inserted = {(str(r["originator_id"]), r["originator_version"]) for r in rows}
        claimed: set[tuple[str, int]] = set()  # keys of earlier members: the rows go in in queue order
        clean = []
        for pending in group:
            keys = {(str(e.originator_id), e.originator_version) for e in pending.events}
            if not keys <= inserted:  # a key the store holds: stored events are never deleted
                taken = min(keys - inserted)
                pending.error = IntegrityError(f"the store already holds version {taken[1]} of {taken[0]}")
            elif not keys & claimed:
                clean.append(pending)
            claimed |= keys
        return clean

"""Bulk reads and writes of the event store for ``CommandBatch`` (issue #6, P2).

``PostgresBulkStore`` is what a batch of commands (``domain.commands.batch``) uses on PostgreSQL:

- ``select``: every event of many aggregates in one query (``originator_id = ANY(…)``), with its
  notification id, so a batch checks existence and uniqueness (R1.2's credit code, a repeated
  command id's receipt, R2.2's organisations) without one query per command;
- ``insert``: every staged event in **one** transaction, written with ``COPY … (FORMAT BINARY)``
  under the same insert lock eventsourcing's ``PostgresApplicationRecorder`` takes
  (``LOCK TABLE … IN EXCLUSIVE MODE``, or ``dangjian_lock_events()`` for the append-only role:
  whatever ``lock_table_statements`` the recorder holds, ``infra.app_role``), with the same
  ``NOTIFY``. The notification ids are drawn from the table's own sequence inside the lock, in the
  batch's order, and written explicitly, so positions stay ordered by commit exactly as for a single
  command (docs/ARCHITECTURE.md, "Ordered positions"), and the batch learns them without reading the
  rows back. A primary-key conflict (another writer stored one of these versions first) rolls the
  whole transaction back and raises ``IntegrityError`` (a ``RecordConflictError``): nothing is half
  written, and the batch falls back to one command per transaction.

SQLite needs no bulk store: a batch then writes through the recorder's own ``insert_events``, one
transaction with one ``INSERT`` per event (``executemany``-like), which is fast on a local file.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import errors as pg_errors
from psycopg.sql import SQL, Identifier

from domain.application import Ledger

SELECT_CHUNK = 5_000


class PostgresBulkStore:
    """``domain.commands.batch.BulkStore`` on eventsourcing's PostgreSQL recorder."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder
        datastore = recorder.datastore
        table = SQL("{0}.{1}").format(Identifier(datastore.schema), Identifier(recorder.events_table_name))
        self._select = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id FROM {0} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(table)
        self._copy = SQL(
            "COPY {0} (originator_id, originator_version, topic, state, notification_id) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(table)
        self._sequence = SQL("SELECT pg_get_serial_sequence(%s, 'notification_id')")
        self._qualified = f'"{datastore.schema}"."{recorder.events_table_name}"'
        self._ids = SQL("SELECT nextval(%s::regclass) FROM generate_series(1, %s)")
        self._notify = SQL("NOTIFY {0}").format(Identifier(recorder.channel_name))
        self._sequence_name: str | None = None

    def select(self, aggregate_ids: Collection[UUID]) -> Sequence[Notification]:
        ids = list(aggregate_ids)
        found: list[Notification] = []
        with self.recorder.datastore.transaction(commit=False) as cursor:
            for i in range(0, len(ids), SELECT_CHUNK):
                cursor.execute(self._select, (ids[i : i + SELECT_CHUNK],))
                found.extend(
                    Notification(
                        id=row["notification_id"],
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                    for row in cursor.fetchall()
                )
        return found

    def insert(self, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        if not stored_events:
            return []
        recorder = self.recorder
        try:
            with recorder.datastore.transaction(commit=True) as cursor:
                # the same lock and NOTIFY as PostgresApplicationRecorder._insert_stored_events
                for statement in recorder.lock_table_statements:
                    cursor.execute(statement, prepare=True)
                cursor.execute(self._notify)
                cursor.execute(self._ids, (self._sequence_of(cursor), len(stored_events)))
                ids = sorted(int(row["nextval"]) for row in cursor.fetchall())
                with cursor.copy(self._copy) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
                    write = copy.write_row
                    for s, notification_id in zip(stored_events, ids, strict=True):
                        write((s.originator_id, s.originator_version, s.topic, s.state, notification_id))
        except pg_errors.UniqueViolation as e:  # if the datastore has not already translated it
            raise IntegrityError(str(e)) from e
        return ids

    def _sequence_of(self, cursor: Any) -> str:
        if self._sequence_name is None:
            cursor.execute(self._sequence, (self._qualified,))
            row = cursor.fetchone()
            self._sequence_name = str(row["pg_get_serial_sequence"])
        return self._sequence_name


def install(ledger: Ledger) -> None:
    """Give the ledger's batches the bulk store of its event store (nothing to do on SQLite)."""
    recorder = ledger.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        ledger.bulk_store = PostgresBulkStore(recorder)

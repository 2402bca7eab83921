"""Reading the event store's notifications faster on PostgreSQL (issue #6, P3 and P6).

Every reader of the store in global order, the projections' replay and catch-up (``projections.runner``),
the relay (``infra.relay``) and the workers (``infra.worker``), asks the recorder for a page of
notifications with ``select_notifications``. eventsourcing's ``PostgresApplicationRecorder`` fetches
that page as one dict per row (its connections' ``dict_row``, a Python call per row) in the text
format, then copies each state. ``TupleNotifications`` runs the same query and returns the same
``Notification`` values, fetched as tuples (psycopg's C row maker) in the binary format: in pages of
1,000 at scale 0.1, 2.6-2.7 µs of CPU a notification against 5.3-5.8 µs (``docs/BENCHMARKS.md``, the
twenty-seventh round; decoding the event after it costs 18-20 µs).
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier


class TupleNotifications(PostgresApplicationRecorder):
    """``PostgresApplicationRecorder`` whose ``select_notifications`` fetches tuples in binary (see the
    module's docstring): the same statement, arguments, retries and answer as eventsourcing's."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        conditions: list[str] = []
        params: list[int | list[str]] = []
        if start is not None:
            conditions.append("notification_id>=%s" if inclusive_of_start else "notification_id>%s")
            params.append(start)
        if stop is not None:
            conditions.append("notification_id<=%s")
            params.append(stop)
        if topics:
            conditions.append("topic=ANY(%s)")
            params.append(list(topics))
        params.append(limit)
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table}"
            + (" WHERE " + " AND ".join(conditions) if conditions else "")
            + " ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(statement, params, prepare=True)
            return [
                Notification(
                    id=notification_id,
                    originator_id=originator_id,
                    originator_version=originator_version,
                    topic=topic,
                    state=state,
                )
                for notification_id, originator_id, originator_version, topic, state in curs.fetchall()
            ]

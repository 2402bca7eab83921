"""The audit trail: an index of every event (who, when, what changed), kept by a projection.

One row per event, with the aggregate, the event type, the actor, the correlation and causation
ids, the business date, the recorded moment and the event's own facts as JSON. ``GET /audit``
filters on the indexed columns and pages by position, a stable order; nothing scans the payloads.
The index also maps a moment to the position of the last event recorded by then, which is how the
read side answers "as known at".

The index never holds a member's personal data (issue #7): each personal field an event declares
(``domain.personal``) shows as ``〔个人信息〕``, so "what changed" says that a name was corrected without
saying to what; the member's own record has the current value while it is not erased.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.sql.elements import ColumnElement

from domain.personal import withhold
from projections.tables import audit_events as A
from projections.temporal import insert_rows

ENVELOPE = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "effective_on",
    "actor",
    "correlation_id",
    "causation_id",
}


def naive_utc(moment: datetime) -> datetime:
    """Stored moments are UTC without a zone, so SQLite and PostgreSQL compare them alike."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _plain_scalar(value: Any) -> str:
    """How the audit index writes the values JSON has no type for: ids and dates as strings."""
    if isinstance(value, UUID | date):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class AuditProjection:
    name = "audit"
    replay_weight = 20  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (A,)

    def handle(self, conn: Connection, event: Any, position: int) -> None:
        self.handle_batch(conn, [(event, position)])

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """One row per event, written with one ``COPY`` (PostgreSQL) or one executemany."""
        if batch:
            insert_rows(conn, A, COLUMNS, [self._row(event, position) for event, position in batch])

    @staticmethod
    def _row(event: Any, position: int) -> list[Any]:
        """The values of ``COLUMNS`` for an event."""
        aggregate_type, _, event_type = type(event).__qualname__.partition(".")
        facts = withhold(type(event), {k: v for k, v in vars(event).items() if k not in ENVELOPE})
        return [
            position,
            event.originator_id,
            aggregate_type,
            event.originator_version,
            event_type or aggregate_type,
            event.actor,
            event.correlation_id,
            event.causation_id,
            event.effective_on,
            naive_utc(event.timestamp),
            _dumps(facts),
        ]


COLUMNS = (
    "position",
    "aggregate_id",
    "aggregate_type",
    "aggregate_version",
    "event_type",
    "actor",
    "correlation_id",
    "causation_id",
    "effective_on",
    "recorded_at",
    "changes",
)

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=_plain_scalar).encode
"""The facts as JSON, ids and dates as strings: one pass in the C encoder instead of a copy made
plain first (issue #6, P3)."""


@dataclass(frozen=True)
class AuditFilter:
    aggregate_id: UUID | None = None
    aggregate_type: str | None = None
    event_type: str | None = None
    actor: str | None = None
    correlation_id: UUID | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        for name in ("aggregate_id", "aggregate_type", "event_type", "actor", "correlation_id"):
            value = getattr(self, name)
            if value is not None:
                conditions.append(A.c[name] == value)
        if self.recorded_from is not None:
            conditions.append(A.c.recorded_at >= naive_utc(self.recorded_from))
        if self.recorded_to is not None:
            conditions.append(A.c.recorded_at <= naive_utc(self.recorded_to))
        if self.effective_from is not None:
            conditions.append(A.c.effective_on >= self.effective_from)
        if self.effective_to is not None:
            conditions.append(A.c.effective_on <= self.effective_to)
        return conditions


@dataclass(frozen=True)
class AuditEntry:
    position: int
    aggregate_id: UUID
    aggregate_type: str
    aggregate_version: int
    event_type: str
    actor: str
    correlation_id: UUID
    causation_id: UUID
    effective_on: date
    recorded_at: datetime
    changes: dict[str, Any]


class AuditView:
    def page(
        self, conn: Connection, where: AuditFilter, after: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries after position ``after`` in position order (the cursor is the last position seen)."""
        query = select(A).where(A.c.position > after, *where.conditions()).order_by(A.c.position).limit(limit)
        return [
            AuditEntry(
                **{k: v for k, v in row._mapping.items() if k not in ("changes", "recorded_at")},
                recorded_at=row.recorded_at.replace(tzinfo=UTC),
                changes=json.loads(row.changes),
            )
            for row in conn.execute(query)
        ]

    def position_known_at(self, conn: Connection, moment: datetime) -> int:
        """The position of the last event recorded at or before ``moment`` (0 if none)."""
        query = select(func.max(A.c.position)).where(A.c.recorded_at <= naive_utc(moment))
        return int(conn.scalar(query) or 0)

"""Bitemporal read tables: every row holds along two axes.

- ``valid_from`` / ``valid_to`` (business dates, ``valid_to`` exclusive, NULL = open): when the fact
  held in the world, from the events' effective dates.
- ``known_from`` / ``known_to`` (event positions, ``known_to`` exclusive, NULL = still believed): from
  which recorded event on the ledger believed the row, and from which event on it no longer did.

A query *as of* a date *as known at* a position selects the rows whose two intervals contain both
(``visible``): an index lookup whose cost does not depend on how long the history is. A row is never
updated except to close its ``known_to``; a late entry or a correction closes the rows it changes and
inserts their successors, so every earlier answer stays reproducible.

``TemporalProjection`` derives the rows of an aggregate from its state: on each of its events the
aggregate's timeline (``domain.timetravel``) is rebuilt from the events known at that position and
compared with the rows currently believed; only the differences are closed and inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    Table,
    Uuid,
    and_,
    insert,
    or_,
    select,
    update,
)

from domain.timetravel import timeline

ALL_KNOWN = 2**62
"""A position past every event: "as known now"."""

RowKey = tuple[Any, ...]
History = Callable[[UUID, int], Sequence[Any]]
"""Events of an aggregate up to and including a version, in recorded order."""

TEMPORAL_COLUMNS = ("row_id", "subject_id", "valid_from", "valid_to", "known_from", "known_to")


def temporal_table(name: str, metadata: MetaData, *columns: Column[Any]) -> Table:
    """A table whose rows carry a subject (aggregate id) and both validity intervals."""
    table = Table(
        name,
        metadata,
        Column("row_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("subject_id", Uuid, nullable=False),
        Column("valid_from", Date, nullable=False),
        Column("valid_to", Date, nullable=True),
        Column("known_from", BigInteger, nullable=False),
        Column("known_to", BigInteger, nullable=True),
        *columns,
    )
    Index(f"ix_{name}_subject", table.c.subject_id, table.c.known_to)
    Index(f"ix_{name}_known", table.c.known_to, table.c.known_from, table.c.valid_from)
    return table


def visible(table: Table, as_of: date, known: int) -> ColumnElement[bool]:
    """Rows that held on ``as_of`` according to the events up to position ``known``."""
    return and_(
        table.c.valid_from <= as_of,
        or_(table.c.valid_to.is_(None), table.c.valid_to > as_of),
        table.c.known_from <= known,
        or_(table.c.known_to.is_(None), table.c.known_to > known),
    )


def attribute_names(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in TEMPORAL_COLUMNS]


class TemporalProjection:
    """Base of projections whose tables are bitemporal and derived from aggregate state.

    Subclasses name the aggregate classes they follow and map an aggregate's state to rows with
    ``rows(aggregate) -> {table: [row, ...]}`` (attribute columns only).
    """

    name: str
    tables: tuple[Table, ...]
    aggregates: tuple[type, ...]

    def __init__(self, history: History) -> None:
        self.history = history

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        raise NotImplementedError

    def handle(self, conn: Connection, event: Any, position: int) -> None:
        aggregate_type = type(event).__qualname__.split(".")[0]
        if aggregate_type not in {a.__name__ for a in self.aggregates}:
            return
        events = self.history(event.originator_id, event.originator_version)
        wanted: dict[Table, set[RowKey]] = {table: set() for table in self.tables}
        segments = list(self._segments(events))
        for i, (valid_from, table_rows) in enumerate(segments):
            valid_to = segments[i + 1][0] if i + 1 < len(segments) else None
            for table, rows in table_rows.items():
                names = attribute_names(table)
                for row in rows:
                    wanted[table].add((valid_from, valid_to, *(row[n] for n in names)))
        for table, keys in wanted.items():
            self._reconcile(conn, table, event.originator_id, keys, position)

    def _segments(self, events: Sequence[Any]) -> list[tuple[date, dict[Table, list[dict[str, Any]]]]]:
        """The aggregate's timeline as rows, consecutive equal states merged."""
        merged: list[tuple[date, dict[Table, list[dict[str, Any]]]]] = []
        for valid_from, aggregate in timeline(events):
            rows = self.rows(aggregate)
            if merged and _same(merged[-1][1], rows):
                continue
            merged.append((valid_from, rows))
        return merged

    def _reconcile(
        self, conn: Connection, table: Table, subject: UUID, wanted: set[RowKey], position: int
    ) -> None:
        names = ["valid_from", "valid_to", *attribute_names(table)]
        current = conn.execute(
            select(table.c.row_id, *(table.c[n] for n in names)).where(
                table.c.subject_id == subject, table.c.known_to.is_(None)
            )
        ).all()
        believed = {tuple(row[1:]): row[0] for row in current}
        stale = [row_id for key, row_id in believed.items() if key not in wanted]
        if stale:
            conn.execute(update(table).where(table.c.row_id.in_(stale)).values(known_to=position))
        fresh = [dict(zip(names, key, strict=True)) for key in wanted if key not in believed]
        if fresh:
            conn.execute(
                insert(table), [{**row, "subject_id": subject, "known_from": position} for row in fresh]
            )


def _same(a: dict[Table, list[dict[str, Any]]], b: dict[Table, list[dict[str, Any]]]) -> bool:
    return all(
        sorted(map(_hashable, a.get(t, []))) == sorted(map(_hashable, b.get(t, [])))
        for t in a.keys() | b.keys()
    )


def _hashable(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in row.items()))

"""Rebuilds without downtime: replay into tables beside the live ones, then switch in one transaction.

The rebuild area is a PostgreSQL schema next to the live one (``<schema>_rebuild``) or, on SQLite, a
database file attached as ``rebuild``. The projections write there unchanged, through SQLAlchemy's
``schema_translate_map``, with a checkpoint of their own: an interrupted rebuild resumes where it
stopped. The switch copies the rebuilt rows over the live ones and moves the live checkpoint in one
transaction, so readers see the old tables until the commit and the new ones after it (MVCC on
PostgreSQL, WAL snapshots on SQLite): no query ever sees a half-switched or empty table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, text

from projections.tables import metadata, missing_columns
from projections.tables import projection_positions as P


@dataclass
class RebuildArea:
    engine: Engine
    """Connections whose unqualified tables resolve to the rebuild area (and, on SQLite, see both)."""
    live: str
    """SQL qualifier of the live tables, e.g. ``"public"`` or ``main``."""
    area: str
    """SQL qualifier of the rebuild tables, e.g. ``"public_rebuild"`` or ``rebuild``."""
    create_schema: str | None = None
    """Statement creating the area first (PostgreSQL)."""

    def prepare(self, tables: Sequence[Table], restart: bool) -> None:
        """Create the area's tables (emptied first when ``restart``); keep them to resume otherwise.

        Only the replay reads them (a subject's believed rows, ``ix_<table>_subject``) and the switch
        (whole tables); the indexes that serve the queries on the live tables are left out, since
        each one only slows every row written into the area (issue #6, P3)."""
        with self.engine.begin() as conn:
            if self.create_schema:
                conn.execute(text(self.create_schema))
            schema = self.area.strip('"')
            if restart or any(missing_columns(conn, table, schema) for table in tables):
                # a rebuild begun by a version whose tables had another shape starts over
                metadata.drop_all(conn, tables=[*tables, P])
            metadata.create_all(conn, tables=[*tables, P])
            for table in tables:
                for index in table.indexes:
                    if not (index.unique or str(index.name).endswith("_subject")):
                        conn.execute(text(f'DROP INDEX IF EXISTS {self.area}."{index.name}"'))

    def switch(self, conn: Connection, names: Sequence[str], tables: Sequence[Table]) -> list[Table]:
        """Copy the rebuilt rows over the live ones and move the live checkpoints (one transaction);
        return the tables whose rows changed (the others already held the rebuilt rows)."""
        copied: list[Table] = []
        quoted = ", ".join(f"'{n}'" for n in names)
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        conn.execute(
            text(f"SELECT position FROM {self.live}.projection_positions WHERE name IN ({quoted}){lock}")
        )
        for table in tables:
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "row_id")
            if self._same_rows(conn, table.name, columns):
                continue  # nothing to copy: the live table already holds the rebuilt rows (issue #6, P3)
            copied.append(table)
            conn.execute(text(f'DELETE FROM {self.live}."{table.name}"'))
            conn.execute(
                text(
                    f'INSERT INTO {self.live}."{table.name}" ({columns}) '
                    f'SELECT {columns} FROM {self.area}."{table.name}"'
                )
            )
        conn.execute(
            text(
                f"UPDATE {self.live}.projection_positions SET position = ("
                f"SELECT r.position FROM {self.area}.projection_positions r "
                f"WHERE r.name = {self.live}.projection_positions.name) WHERE name IN ({quoted})"
            )
        )
        return copied

    def _same_rows(self, conn: Connection, name: str, columns: str) -> bool:
        """Whether the live table and the rebuilt one hold the same rows, as many times each (row ids
        aside): then the switch leaves it as it is instead of deleting and inserting every row."""
        live, area = f'{self.live}."{name}"', f'{self.area}."{name}"'
        counts = conn.execute(text(f"SELECT (SELECT COUNT(*) FROM {live}), (SELECT COUNT(*) FROM {area})"))
        if len(set(counts.one())) > 1:
            return False
        if conn.dialect.name == "postgresql":
            rows = {table: f"SELECT {columns} FROM {table}" for table in (live, area)}
            minus = "EXCEPT ALL"
        else:  # SQLite has no EXCEPT ALL: count the copies of each row
            rows = {
                table: f"SELECT {columns}, COUNT(*) AS n FROM {table} GROUP BY {columns}"
                for table in (live, area)
            }
            minus = "EXCEPT"
        # the counts are equal, so the tables differ exactly when one of them has a row the other lacks
        differs = f"{rows[live]} {minus} {rows[area]}"
        return conn.execute(text(f"SELECT 1 WHERE EXISTS ({differs})")).first() is None

    def analyze(self, tables: Sequence[Table]) -> None:
        """Refresh the planner's statistics of the switched live tables (PostgreSQL): every row was
        just replaced, and a plan made from stale estimates can turn a hash join into a nested loop
        over the whole table (issue #6, P4)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for table in tables:
                    conn.execute(text(f'ANALYZE {self.live}."{table.name}"'))

    def drop(self, tables: Sequence[Table]) -> None:
        with self.engine.begin() as conn:
            metadata.drop_all(conn, tables=[*tables, P])

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

from projections.tables import metadata
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
        """Create the area's tables (emptied first when ``restart``); keep them to resume otherwise."""
        with self.engine.begin() as conn:
            if self.create_schema:
                conn.execute(text(self.create_schema))
            if restart:
                metadata.drop_all(conn, tables=[*tables, P])
            metadata.create_all(conn, tables=[*tables, P])

    def switch(self, conn: Connection, names: Sequence[str], tables: Sequence[Table]) -> None:
        """Copy the rebuilt rows over the live ones and move the live checkpoints (one transaction)."""
        quoted = ", ".join(f"'{n}'" for n in names)
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        conn.execute(
            text(f"SELECT position FROM {self.live}.projection_positions WHERE name IN ({quoted}){lock}")
        )
        for table in tables:
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "row_id")
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

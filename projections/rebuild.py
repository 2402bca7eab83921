"""Rebuilds without downtime: replay into tables beside the live ones, then switch in one transaction.

The rebuild area is a PostgreSQL schema next to the live one (``<schema>_rebuild``) or, on SQLite, a
database file attached as ``rebuild``. The projections write there unchanged, through SQLAlchemy's
``schema_translate_map``, with a checkpoint of their own: an interrupted rebuild resumes where it
stopped. The switch puts the rebuilt rows in place of the live ones and moves the live checkpoint in one
transaction, so readers see the old tables until the commit and the new ones after it (MVCC on
PostgreSQL, WAL snapshots on SQLite): no query ever sees a half-switched or empty table.

On PostgreSQL the switch moves the rebuilt tables into the live schema instead of copying their rows
(issue #6, P3): copying wrote every row a second time and kept every live index up to date row by row,
a sixth of a one-process rebuild at scale 0.01 (6.7 s against 1.8 s for building the same indexes once).
Before the final catch-up, ``complete`` gives the area's tables what the live ones have besides their
rows: the indexes ``prepare`` left out, the grouping statistics and the planner's statistics (ANALYZE).
The switch then drops each live table and moves the rebuilt one in with its grants, in the same one
transaction, under an ACCESS EXCLUSIVE lock held for milliseconds.

Moving a table is not MVCC-safe the way copying is: a transaction whose snapshot is older than the
rebuilt rows would find the moved table with rows it cannot see. So the rows are moved only when

- every transaction that began before the final catch-up's rows were committed has ended
  (``older_transactions_end``, which waits up to ``wait_seconds`` for them: API reads last
  milliseconds), so every snapshot that can meet a moved table sees all its rows;
- no live checkpoint is ahead of the rebuilt one, so a reader whose snapshot falls between those
  commits and the switch's, and so still reads the old checkpoint, finds rows as new as it or newer;
- the locks come within ``LOCK_TIMEOUT`` (below PostgreSQL's deadlock_timeout, so that a reader
  holding one table and asking for another is never the transaction the deadlock detector aborts),
  and the role owns both tables (the application role of ``infra.app_role`` owns only the area's).

Otherwise the rows are copied as before. SQLite always copies (its area is another database file).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex

from projections.tables import (
    GROUPING_STATISTICS,
    create_statistics_sql,
    indexes_on,
    metadata,
    missing_columns,
)
from projections.tables import projection_positions as P

log = logging.getLogger(__name__)

REBUILD_APPLICATION = "dangjian rebuild"
"""The ``application_name`` of the processes a rebuild in several processes spawns
(``infra.store.rebuild_apart``). Each reads and writes only the area and, at its switch, the live tables
of its own projections, so its transactions never meet another process's moved tables and the switch
does not wait for them: one process's long ``finish_replay`` would otherwise make the other copy."""

LOCK_TIMEOUT = "500ms"
"""How long the switch waits for a live table's lock before it copies instead of moving (see the
module's docstring): below PostgreSQL's default deadlock_timeout of 1 s."""


def kept_in_area(index: Index) -> bool:
    """Whether the area keeps ``index`` during the replay: the replay reads a subject's believed rows
    (``ix_<table>_subject``) and needs the unique keys; the other indexes serve the live queries."""
    return bool(index.unique) or str(index.name).endswith("_subject")


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
    wait_seconds: float = 10.0
    """How long the switch waits for transactions older than the rebuilt rows to end before it
    copies the rows instead of moving the tables (``older_transactions_end``)."""

    def prepare(self, tables: Sequence[Table], restart: bool) -> None:
        """Create the area's tables (emptied first when ``restart``); keep them to resume otherwise.

        Only the replay reads them (a subject's believed rows, ``ix_<table>_subject``) and the switch
        (whole tables); the indexes that serve the queries on the live tables are left out, since
        each one only slows every row written into the area (issue #6, P3), and built once the
        replay is done (``index``, before a ``finish_replay``; ``complete``)."""
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
                    if not kept_in_area(index):
                        conn.execute(text(f'DROP INDEX IF EXISTS {self.area}."{index.name}"'))

    def index(self, tables: Sequence[Table]) -> None:
        """Build the indexes ``prepare`` left out on ``tables``, once over all the rows, and gather their
        planner's statistics (PostgreSQL): before a projection's ``finish_replay``, whose refill reads its
        rows by them (members by home organisation, training and volunteer rows by member, activities by
        organisation, guidance rows by entity), a chunk of subjects at a time. Without them each chunk
        scans whole tables, as many chunks as subjects over ``FILL_CHUNK``: a term quadratic in the
        history (issue #6, P3; at scale 1.0 a chunk's training rows took 166 ms by a parallel scan of the
        table, 51 ms by the index). Without statistics (autovacuum off, or not yet run on tables just
        filled) PostgreSQL guesses a ``= ANY`` of thousands of ids to match most rows, and scans the
        table all the same."""
        with self.engine.begin() as conn:
            self._build_indexes(conn, tables)
            if conn.dialect.name == "postgresql":
                for table in tables:
                    conn.execute(text(f'ANALYZE {self.area}."{table.name}"'))

    def complete(self, tables: Sequence[Table]) -> None:
        """Give the area's tables what the live ones have besides their rows, so that the switch can
        move them (PostgreSQL; see the module's docstring): the indexes ``prepare`` left out (those
        ``index`` built before a ``finish_replay`` aside), built once over all the rows, the grouping
        statistics, and ANALYZE."""
        if self.engine.dialect.name != "postgresql":
            return
        chosen = {table.name for table in tables}
        with self.engine.begin() as conn:
            self._build_indexes(conn, tables)
            for name, (table, _) in GROUPING_STATISTICS.items():
                if table.name in chosen:
                    conn.execute(text(create_statistics_sql(name, self.area)))
            for table in tables:
                conn.execute(text(f'ANALYZE {self.area}."{table.name}"'))

    @staticmethod
    def _build_indexes(conn: Connection, tables: Sequence[Table]) -> None:
        """Create the indexes of ``tables`` that ``prepare`` left out (``kept_in_area``), each only once:
        ``index`` and then ``complete`` both call this."""
        for table in tables:
            for index in indexes_on(table, conn.dialect.name):
                if not kept_in_area(index):
                    conn.execute(CreateIndex(index, if_not_exists=True))

    def older_transactions_end(self) -> bool:
        """Wait up to ``wait_seconds`` until every other client's transaction in the database that began
        before this call and holds a snapshot has ended, the rebuild's own processes' aside
        (``REBUILD_APPLICATION``); whether they all did (PostgreSQL; SQLite: False, its switch copies).
        Called after the rebuilt rows are committed: a transaction begun later sees them all."""
        if self.engine.dialect.name != "postgresql":
            return False
        deadline = time.monotonic() + self.wait_seconds
        with self.engine.connect() as conn:
            since = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            conn.commit()
            while True:
                older = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                        "AND backend_xmin IS NOT NULL AND xact_start < :since "
                        "AND application_name IS DISTINCT FROM :rebuild"
                    ),
                    {"since": since, "rebuild": REBUILD_APPLICATION},
                ).scalar_one()
                conn.commit()  # pg_stat_activity is read once per transaction: the next poll reads anew
                if not older:
                    return True
                if time.monotonic() > deadline:
                    log.info("%s transactions older than the rebuilt rows: the switch copies them", older)
                    return False
                time.sleep(0.02)

    def switch(
        self, conn: Connection, names: Sequence[str], tables: Sequence[Table], move: bool = False
    ) -> list[Table]:
        """Put the rebuilt rows in place of the live ones and move the live checkpoints (one
        transaction). With ``move`` (``older_transactions_end`` said so) and when the module's
        docstring allows it, the rebuilt tables themselves replace the live ones; else their rows are
        copied. Returns the tables whose rows were copied (not those moved, nor those whose live rows
        already were the rebuilt ones)."""
        quoted = ", ".join(f"'{n}'" for n in names)
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        at = f"SELECT name, position FROM {{}}.projection_positions WHERE name IN ({quoted})"
        live = conn.execute(text(at.format(self.live) + lock)).all()
        rebuilt: dict[str, int] = {row[0]: row[1] for row in conn.execute(text(at.format(self.area)))}
        changed = [
            table
            for table in tables
            # nothing to do when the live table already holds the rebuilt rows (issue #6, P3)
            if not self._same_rows(conn, table.name, self._columns(table))
        ]
        ahead = any(position > rebuilt[name] for name, position in live)
        copied = [] if move and changed and not ahead and self._move(conn, changed) else changed
        for table in copied:
            columns = self._columns(table)
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

    @staticmethod
    def _columns(table: Table) -> str:
        return ", ".join(f'"{c.name}"' for c in table.columns if c.name != "row_id")

    def _move(self, conn: Connection, tables: Sequence[Table]) -> bool:
        """Drop the live ``tables`` and move the rebuilt ones into the live schema, with the live
        tables' grants and their sequences' (a savepoint: on any refusal nothing is moved and the
        caller copies). Returns whether they were moved."""
        names = ", ".join(f'{self.live}."{t.name}"' for t in tables)
        try:
            with conn.begin_nested():
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
                for table in tables:
                    self._grant_as_live(conn, table)
                    conn.execute(text(f'DROP TABLE {self.live}."{table.name}"'))
                    conn.execute(text(f'ALTER TABLE {self.area}."{table.name}" SET SCHEMA {self.live}'))
                moving = {table.name for table in tables}
                for name, (table, _) in GROUPING_STATISTICS.items():
                    if table.name in moving:
                        conn.execute(text(f'ALTER STATISTICS {self.area}."{name}" SET SCHEMA {self.live}'))
                conn.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        except DBAPIError as error:
            log.info("the rebuilt tables were not moved (%s): their rows are copied", error.orig)
            return False
        return True

    def _grant_as_live(self, conn: Connection, table: Table) -> None:
        """Grant on the rebuilt table, and on the sequences of its columns, what is granted on the
        live ones to roles other than their owner (``infra.app_role``)."""
        live, area = f'{self.live}."{table.name}"', f'{self.area}."{table.name}"'
        sequences = conn.execute(
            text(
                "SELECT pg_get_serial_sequence(:live, c), pg_get_serial_sequence(:area, c) "
                "FROM unnest(CAST(:columns AS text[])) AS c"
            ),
            {"live": live, "area": area, "columns": [column.name for column in table.columns]},
        ).all()
        pairs = [(live, area, "TABLE")]
        pairs += [(of_live, of_area, "SEQUENCE") for of_live, of_area in sequences if of_live and of_area]
        for live, area, kind in pairs:
            grants = conn.execute(
                text(
                    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
                    "ELSE quote_ident(pg_get_userbyid(a.grantee)) END, a.privilege_type "
                    "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
                    "WHERE c.oid = CAST(:live AS regclass) AND a.grantee <> c.relowner"
                ),
                {"live": live},
            ).all()
            for grantee, privilege in grants:
                conn.execute(text(f"GRANT {privilege} ON {kind} {area} TO {grantee}"))

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

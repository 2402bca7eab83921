"""Indexes of existing read tables are brought up to date on set-up (issue #6, P4): an index declared
after a table was made, such as the covering ``_period`` indexes the half-year report's scans read
alone, reaches an upgraded database, and the index it replaced stops costing every write
(``projections.tables.create_indexes``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from infra.store import Container
from projections.tables import ONLY_ON, RETIRED_INDEXES, create_indexes, index_names, indexes_on, metadata
from tests.conftest import as_owner, built_as

NEW = "ix_activities_participants_period"
RETIRED = "ix_activities_held_type_day"
assert RETIRED in RETIRED_INDEXES


AS_BEFORE_THE_UPGRADE = (
    f'DROP INDEX "{NEW}"',
    f'CREATE INDEX "{RETIRED}" ON activities_held (activity_type, held_on)',
)
"""The tables as an earlier version left them: the narrow index, not the covering one."""


def test_P4_setup_creates_the_indexes_an_existing_table_lacks_and_drops_the_retired(
    container: Container,
) -> None:
    with container.engine.begin() as conn:
        dialect = conn.dialect.name
        declared = {str(i.name) for t in metadata.sorted_tables for i in indexes_on(t, dialect)}
        assert declared <= index_names(conn)  # a new database has them all
        assert not set(RETIRED_INDEXES) & index_names(conn)
        for statement in AS_BEFORE_THE_UPGRADE:
            conn.execute(text(statement))
        assert NEW not in index_names(conn) and RETIRED in index_names(conn)
    container.runner.setup()  # what every entry point and ``dangjian setup`` run
    with container.engine.begin() as conn:
        present = index_names(conn)
        assert NEW in present and RETIRED not in present
        assert declared == present & {str(i.name) for t in metadata.sorted_tables for i in t.indexes}
        create_indexes(conn)  # again: nothing left to do
        assert index_names(conn) == present
        if conn.dialect.name == "postgresql":
            definition = conn.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND indexname = :name"
                ),
                {"name": NEW},
            )
            included = "INCLUDE (member_id, valid_from, valid_to, known_from, known_to)"
            assert f"(activity_type, held_on) {included}" in (definition or "")


@pytest.mark.postgres
def test_P4_a_process_that_may_not_change_indexes_starts_and_says_so(
    pg_schema: str, app_role: str, caplog: pytest.LogCaptureFixture
) -> None:
    as_owner(pg_schema, *AS_BEFORE_THE_UPGRADE)
    with built_as(app_role, pg_schema, caplog) as container:
        with container.engine.connect() as conn:
            present = index_names(conn)
        assert NEW not in present and RETIRED in present  # left as they were
        assert f"index {NEW} not brought up to date" in caplog.text
        assert f"index {RETIRED} not brought up to date" in caplog.text
        container.runner.catch_up()  # and works


READ = "ix_coverage_counts_read"


def test_P4_the_counts_read_index_is_built_on_postgresql_only(container: Container) -> None:
    """The counts' covering read index (the key INCLUDE the change) is an index-only scan on
    PostgreSQL; SQLite has no INCLUDE, so there it would be a second copy of the primary key, written
    with every count for nothing: it is not built there, and set-up drops the one an earlier version
    built (``ONLY_ON``)."""
    with container.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        assert (READ in index_names(conn)) is postgres
        if not postgres:  # as the version before this one left a SQLite database
            conn.execute(text(f'CREATE INDEX "{READ}" ON coverage_counts (family, depth, level, period)'))
    container.runner.setup()
    with container.engine.connect() as conn:
        assert (READ in index_names(conn)) is postgres
    made_for = {
        str(i.name): i.info[ONLY_ON] for t in metadata.sorted_tables for i in t.indexes if ONLY_ON in i.info
    }
    assert made_for == {
        f"ix_{t}_read": "postgresql" for t in ("coverage_counts", "stars_counts", "stars_entity_counts")
    }

"""Extended statistics on the columns the half-year report groups by together (issue #6, P4): the
planner's estimate of the members statistics' groups decides between hashing and sorting every
member on disk (``projections.tables.GROUPING_STATISTICS``)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from infra.store import Container
from projections.tables import GROUPING_STATISTICS, create_statistics
from tests.conftest import PG_URL, built_as

STATISTICS = "SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = current_schema()::regnamespace"


def test_P4_every_entry_point_creates_the_grouping_statistics_once(container: Container) -> None:
    with container.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            create_statistics(conn)  # nothing to do on SQLite, and no error
            return
        assert set(conn.scalars(text(STATISTICS))) == set(GROUPING_STATISTICS)
        create_statistics(conn)  # again: already there
        columns = conn.scalars(
            text(
                "SELECT a.attname FROM pg_statistic_ext s JOIN pg_attribute a "
                "ON a.attrelid = s.stxrelid AND a.attnum = ANY (s.stxkeys) WHERE s.stxname = :name "
                "AND s.stxnamespace = current_schema()::regnamespace"
            ),
            {"name": "roster_members_groups"},
        )
        table, expected = GROUPING_STATISTICS["roster_members_groups"]
        assert table.name == "roster_members" and set(columns) == set(expected)


@pytest.mark.postgres
def test_P4_a_process_that_may_not_create_them_starts_and_says_so(
    pg_schema: str, app_role: str, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:  # as the owner: as before this change
        conn.execute(f'DROP STATISTICS "{pg_schema}"."roster_members_groups"')
    with built_as(app_role, pg_schema, caplog) as container:
        with container.engine.connect() as conn:
            assert "roster_members_groups" not in set(conn.scalars(text(STATISTICS)))
        assert "statistics roster_members_groups not created" in caplog.text
        container.runner.catch_up()  # and works

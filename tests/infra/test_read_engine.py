"""The read engine's PostgreSQL session settings (issue #6, P4): each is there for a measured reason."""

from __future__ import annotations

from sqlalchemy import text

from infra.settings import Settings
from infra.store import read_engine
from tests.conftest import PG_URL


def test_read_sessions_plan_each_query_for_its_parameters_and_never_jit(pg_schema: str) -> None:
    engine = read_engine(Settings(database_url=PG_URL, database_schema=pg_schema))
    try:
        with engine.connect() as conn:
            # a generic plan ignored the region prefix and the dates (the training section: 9 s per region)
            assert conn.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
            # compiling the coverage query took 14 of its 26 ms
            assert conn.scalar(text("SHOW jit")) == "off"
            assert conn.scalar(text("SHOW search_path")) == pg_schema
    finally:
        engine.dispose()

"""The event store's connection pool opens few connections at start and grows on demand (issue #6):
every process opened ten at start, so about nine processes (API workers, projection workers, a
rebuild's processes, the relay) filled PostgreSQL's default 100 connections."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from sqlalchemy import text

from infra.settings import Settings
from infra.store import build
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres


def test_a_process_opens_two_store_connections_at_start_and_grows_to_twenty_on_demand(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"pool-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq's application_name for this process's connections
    container = build(Settings(database_url=PG_URL, database_schema=pg_schema, demo_when_empty=False))
    try:
        pool = container.ledger.recorder.datastore.pool  # type: ignore[attr-defined]
        pool.wait(timeout=10)  # the minimum is opened in the background
        stats = pool.get_stats()
        assert (stats["pool_min"], stats["pool_max"]) == (2, 20)
        opened = stats["pool_size"]
        assert opened <= 3  # the two, and one more when set-up asked before they were open (was 10)
        container.engine.dispose()  # the read engine's connections: not the store's
        with container.engine.connect() as conn:
            backends = conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"), {"name": name}
            )
        assert backends == opened + 1  # the store's and the read engine's one asking

        held, release = threading.Barrier(6), threading.Event()

        def borrow() -> None:
            with pool.connection():
                held.wait(timeout=30)
                release.wait(timeout=30)

        threads = [threading.Thread(target=borrow) for _ in range(5)]
        for t in threads:
            t.start()
        held.wait(timeout=30)  # five connections borrowed at once
        assert pool.get_stats()["pool_size"] >= 5
        release.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        container.close()


def test_the_store_pool_is_sized_by_settings(pg_schema: str) -> None:
    settings = Settings(
        database_url=PG_URL,
        database_schema=pg_schema,
        demo_when_empty=False,
        store_pool_min=1,
        store_pool_max=3,
    )
    container = build(settings)
    try:
        stats = container.ledger.recorder.datastore.pool.get_stats()  # type: ignore[attr-defined]
        assert (stats["pool_min"], stats["pool_max"]) == (1, 3)
    finally:
        container.close()


def test_a_pool_smaller_than_one_connection_is_refused() -> None:
    with pytest.raises(ValueError, match="store_pool_min"):
        Settings(store_pool_min=0)


def test_a_pool_whose_most_is_below_its_least_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("store_pool_max (3) must be at least store_pool_min (4)")):
        Settings(store_pool_min=4, store_pool_max=3)

"""Fixtures shared by the infra tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.settings import Settings
from infra.store import Container, build
from tests.conftest import PG_URL, fixed_today


@pytest.fixture
def pg(pg_schema: str) -> Iterator[Container]:
    """A container on a fresh PostgreSQL schema, its ledger's today fixed."""
    container = build(Settings(database_url=PG_URL, database_schema=pg_schema, demo_when_empty=False))
    container.ledger.today = fixed_today
    try:
        yield container
    finally:
        container.close()

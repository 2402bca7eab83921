"""Processes started together set the store up one after the other (issue #6, P6 harness; compose
starts the relay and the workers at once): PostgreSQL fails a concurrent ``CREATE OR REPLACE`` of one
function or trigger with "tuple concurrently updated", which stopped a worker at start-up."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra.settings import Settings
from infra.store import Container, build
from tests.conftest import PG_URL

TOGETHER = 6


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_builds_started_together_on_a_fresh_schema_all_succeed(pg_schema: str, round_: int) -> None:
    settings = Settings(database_url=PG_URL, database_schema=pg_schema, demo_when_empty=False)
    start = threading.Barrier(TOGETHER)
    built: list[Container] = []
    errors: list[BaseException] = []

    def one() -> None:
        start.wait()
        try:
            built.append(build(settings))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(TOGETHER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors
        assert len(built) == TOGETHER
        heads: set[Any] = {c.runner.head() for c in built}
        assert heads == {0}
    finally:
        for c in built:
            c.close()

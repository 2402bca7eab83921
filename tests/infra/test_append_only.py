"""Append-only at the database level (issue #7 item 4): stored events cannot be updated, deleted
or truncated through the application's own connection, on either backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.envelope import CommandContext
from infra.store import Container
from tests import factories as f


@pytest.mark.parametrize("statement", ["UPDATE {t} SET topic = 'forged'", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_stored_events_are_append_only(container: Container, statement: str) -> None:
    f.register_entity(container.ledger, CommandContext.new("clerk"))
    table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    if statement.startswith("TRUNCATE") and container.engine.dialect.name == "sqlite":
        statement = "DELETE FROM {t}"  # SQLite has no TRUNCATE; its DELETE is the same operation
    with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as conn:
        conn.execute(text(statement.format(t=table)))
    assert container.ledger.recorder.max_notification_id() == 1
    assert len(container.ledger.recorder.select_notifications(start=1, limit=10)) == 1

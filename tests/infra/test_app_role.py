"""Append-only by role (issue #7 point 4), on PostgreSQL: the role ``dangjian setup`` prepares may read
and append stored events, and PostgreSQL itself refuses its UPDATE, DELETE and TRUNCATE of them with a
permission error (before the append-only triggers are even reached); it may delete a member's key."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from domain.envelope import CommandContext
from infra.personal import member_keys
from infra.settings import Settings
from infra.store import build, is_app_role
from tests import factories as f
from tests.conftest import TODAY, fixed_today, role_url

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    "statement",
    ["UPDATE {t} SET topic = %s", "DELETE FROM {t}", "TRUNCATE {t}"],
    ids=["update", "delete", "truncate"],
)
def test_the_application_role_appends_but_cannot_rewrite_events(
    pg_schema: str, app_role: str, statement: str
) -> None:
    settings = Settings(database_url=role_url(app_role), database_schema=pg_schema, app_role=app_role)
    assert is_app_role(settings)
    container = build(settings)  # as the role: no DDL on the event store
    container.ledger.today = fixed_today
    try:
        ctx = CommandContext.new("association")
        branch = f.establish(container.ledger, ctx, [])
        member = f.register_member(container.ledger, ctx, [branch]).id  # INSERT works, in order
        container.runner.catch_up()  # the read side writes its own tables
        assert container.ledger.recorder.max_notification_id() == 2
        table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
        with psycopg.connect(role_url(app_role)) as conn:
            conn.execute(f'SET search_path = "{pg_schema}"')
            params = ("forged",) if "%s" in statement else ()
            with pytest.raises(
                psycopg.errors.InsufficientPrivilege, match=f"permission denied for table {table}"
            ):
                conn.execute(statement.format(t=table), params)
        assert len(container.ledger.recorder.select_notifications(start=1, limit=10)) == 2
        # erasure deletes the member's key: the one DELETE the role may do besides the read side
        container.ledger.erase_member_personal_data(ctx, member, effective_on=TODAY, reason="本人申请")
        with container.engine.connect() as conn:
            assert (
                conn.scalar(select(member_keys.c.member_id).where(member_keys.c.member_id == member)) is None
            )
        assert container.ledger.get_member(member).erased
        assert container.runner.rebuild() > 0  # the rebuild area is the role's own
    finally:
        container.close()

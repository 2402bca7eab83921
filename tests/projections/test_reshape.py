"""A read table whose shape an upgrade changed is made again on set-up and its projection replays
(``projections.tables.remake_reshaped``; docs/ARCHITECTURE.md, "Read-table schema changes"). Issue #6's
eleventh round added the members statistics' columns to ``coverage_members`` (R3, R5.2, R5.3, R13.6):
a database the earlier version left must not fail on its first write, nor answer from half the rows."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import text

from domain.envelope import CommandContext
from infra.store import Container
from projections.report import half_year_report
from projections.tables import coverage_members, missing_columns
from tests import factories as f
from tests.conftest import as_owner, built_as

AS_BEFORE_THE_UPGRADE = "ALTER TABLE coverage_members DROP COLUMN away"
"""``coverage_members`` as the version before the members statistics' counts left it (one of the
four columns it lacked is enough)."""


def _history(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    org = f.establish(ledger, ctx, [], effective_on=date(2025, 1, 10))
    member = f.register_member(ledger, ctx, [org], effective_on=date(2025, 2, 1)).id
    f.register_member(ledger, ctx, [org], effective_on=date(2025, 3, 1))
    ledger.start_member_absence(ctx, member, effective_on=date(2025, 4, 1), place="上海")
    ledger.hold_activity(
        ctx,
        effective_on=date(2025, 5, 6),
        org_id=org,
        activity_type="training",
        topic="培训",
        host="书记",
        participant_ids=[member],
    )
    container.runner.catch_up()


def _report(container: Container) -> list[dict[str, object]]:
    with container.engine.connect() as conn:
        return half_year_report(conn, "330000", date(2025, 6, 30), container.runner.head())


@pytest.mark.parametrize(
    ("before_the_upgrade", "reshaped"),
    [
        (AS_BEFORE_THE_UPGRADE, "coverage_members lacks away"),
        ("DROP TABLE coverage_training", "coverage_training is new"),  # the training counts' table
    ],
)
def test_P4_setup_remakes_a_reshaped_projection_and_it_replays(
    container: Container,
    ctx: CommandContext,
    before_the_upgrade: str,
    reshaped: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _history(container, ctx)
    runner = container.runner
    before, positions = _report(container), runner.positions()
    members, training = before[0]["members"], before[0]["training"]
    assert members["away"] == 1 and members["total"] == 2
    assert training["by_affiliation"]["local"]["trained"] == 1
    with container.engine.begin() as conn:
        conn.execute(text(before_the_upgrade))

    with caplog.at_level(logging.WARNING, logger="projections.tables"):
        runner.setup()  # what every entry point and ``dangjian setup`` run
    assert f"projection coverage ({reshaped}): its tables made again" in caplog.text
    with container.engine.connect() as conn:
        assert missing_columns(conn, coverage_members) == []
        assert conn.scalar(text("SELECT COUNT(*) FROM coverage_members")) == 0
        assert conn.scalar(text("SELECT COUNT(*) FROM coverage_training")) == 0
    moved = runner.positions()
    assert moved["coverage"] == 0  # replays from the first event
    assert {n: p for n, p in moved.items() if n != "coverage"} == {
        n: p for n, p in positions.items() if n != "coverage"
    }  # the others keep their tables and checkpoints

    runner.catch_up()
    assert runner.positions() == positions
    assert _report(container) == before
    runner.setup()  # again: nothing to remake
    assert runner.positions() == positions


@pytest.mark.postgres
def test_P4_a_process_that_may_not_remake_tables_leaves_them_and_says_so(
    pg_schema: str, app_role: str, caplog: pytest.LogCaptureFixture
) -> None:
    as_owner(pg_schema, AS_BEFORE_THE_UPGRADE)
    with built_as(app_role, pg_schema, caplog) as container:
        with container.engine.connect() as conn:
            assert missing_columns(conn, coverage_members) == ["away"]  # left as it was
        assert "projection coverage (coverage_members lacks away): not made again" in caplog.text


def test_P4_setup_remakes_the_stars_projection_of_the_thirteenth_round(
    container: Container, ctx: CommandContext, caplog: pytest.LogCaptureFixture
) -> None:
    """The fourteenth round counts the pioneer index, 薪火 and markets (R5, R9.2, R4) and keeps the
    entities' counts in a new table: a store the thirteenth round left, whose ``stars_counts`` lacks
    them, is remade and replayed, and its report then reads the counts as a new store's does."""
    ledger = container.ledger
    market = f.register_entity(ledger, ctx, effective_on=date(2025, 1, 5))
    ledger.enroll_market_standardisation(
        ctx, effective_on=date(2025, 2, 1), entity_id=market, scope="county_central_farmers"
    )
    org = f.establish(ledger, ctx, [market], effective_on=date(2025, 1, 10))
    ledger.award_xinhuo_demonstration(ctx, effective_on=date(2025, 3, 1), awarding_body="市局", org_id=org)
    container.runner.catch_up()
    runner, before = container.runner, _report(container)
    stars = before[0]["stars"]
    assert stars["markets"]["total"]["enrolled"] == 1 and stars["xinhuo"]["total"] == 1  # type: ignore[index]
    with container.engine.begin() as conn:
        conn.execute(text("DROP TABLE stars_entity_counts"))
        conn.execute(text("DELETE FROM stars_counts WHERE family = 'O'"))

    with caplog.at_level(logging.WARNING, logger="projections.tables"):
        runner.setup()
    assert "projection stars (stars_entity_counts is new): its tables made again" in caplog.text
    assert runner.positions()["stars"] == 0
    runner.catch_up()
    assert _report(container) == before

"""The pre-aggregated coverage counts (issue #6, P4; ``projections.coverage_counts``) answer every
coverage figure (R13.1 buckets, R13.6 members) exactly as the scan of the coverage rows does, as of
any date, after random histories with late entries, corrections, transfers and guidance officers
applied in batches of any size, on both backends; a store that predates them is filled alike; a
position with rows recorded after it is answered from the rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from domain.envelope import CommandContext
from infra.store import Container
from projections import coverage_counts as counts
from projections.activities import ActivitiesView
from projections.coverage import Areas, CoverageView
from projections.members import MembersView
from projections.tables import coverage_counts as C
from tests import factories as f
from tests.projections.test_temporal import STEP, STEPS, figures, run_history

FROM_COUNTS, FROM_ROWS = CoverageView(counts=True), CoverageView(counts=False)
MEMBERS_FROM_COUNTS, MEMBERS_FROM_ROWS = MembersView(counts=True), MembersView(counts=False)
TRAINING_FROM_COUNTS, TRAINING_FROM_ROWS = ActivitiesView(counts=True), ActivitiesView(counts=False)
REGIONS = (None, "330000", "330400", "330402", "330411", "330100")


def _dates(container: Container, pick: random.Random) -> list[date]:
    """Some of the days a counted span starts or ends and the days before them, and year ends."""
    with container.engine.connect() as conn:
        days = set(conn.scalars(select(C.c.period).where(C.c.level == "D")))
    near = sorted({d + timedelta(days=k) for d in days for k in (-1, 0)})
    return [*pick.sample(near, min(8, len(near))), date(2024, 12, 31), date(2025, 1, 1), date.max]


def _rows(container: Container) -> list[tuple[Any, ...]]:
    with container.engine.connect() as conn:
        return sorted(map(tuple, conn.execute(select(C))))


def _assert_counts_answer_as_rows(container: Container, known: int, as_of: date) -> None:
    with container.engine.connect() as conn:
        for region in REGIONS:
            for group_by in (None, "region", "kind"):
                asked = {"as_of": as_of, "known": known, "region": region, "group_by": group_by}
                expected = figures(FROM_ROWS.report(conn, **asked))
                assert figures(FROM_COUNTS.report(conn, **asked)) == expected, asked
        kind = {"as_of": as_of, "known": known, "region": "330400", "kind": "farmers_market"}
        assert figures(FROM_COUNTS.report(conn, **kind)) == figures(FROM_ROWS.report(conn, **kind))
        areas = Areas(["330000", "330400", "330402", "330411", "330100", None])
        by_area = [figures(r) for r in FROM_COUNTS.report_by_area(conn, areas, as_of=as_of, known=known)]
        assert by_area == [
            figures(r) for r in FROM_ROWS.report_by_area(conn, areas, as_of=as_of, known=known)
        ]
    _assert_member_counts_answer_as_rows(container, known, as_of)


def _assert_member_counts_answer_as_rows(container: Container, known: int, as_of: date) -> None:
    regions = Areas(["330000", "330400", "330402", "330411", "330100"])
    with container.engine.connect() as conn:
        # the members statistics (R3, R13.6: by category, affiliation, distribution, flag, leavers)
        asked_members = {"as_of": as_of, "known": known, "organizations": False}
        assert MEMBERS_FROM_COUNTS.statistics_by_area(conn, regions, **asked_members) == (
            MEMBERS_FROM_ROWS.statistics_by_area(conn, regions, **asked_members)
        ), asked_members
        # the training figures (R7), for the year of the day asked
        if as_of < date.max:
            asked_training = {"year": as_of.year, "as_of": as_of, "known": known}
            assert TRAINING_FROM_COUNTS.training_by_area(conn, regions, **asked_training) == (
                TRAINING_FROM_ROWS.training_by_area(conn, regions, **asked_training)
            ), asked_training


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=4, max_size=20), batch=st.integers(1, 6), pick=st.randoms())
def test_R13_counts_answer_as_the_rows_after_random_histories(
    container: Container, steps: list[tuple[Any, ...]], batch: int, pick: random.Random
) -> None:
    """One store for every example (their histories add up); checked after each. Small batches, so a
    subject's later events (an officer sent to an entity, a transfer) fall in later batches."""
    run_history(container.ledger, steps)
    container.runner.batch_size = batch
    container.runner.catch_up()
    head = container.runner.head()
    with container.engine.connect() as conn:
        assert counts.settled(conn, head)
    for as_of in _dates(container, pick):
        _assert_counts_answer_as_rows(container, head, as_of)

    # a store whose coverage rows predate the counts: filled at start-up, to the same rows
    kept = _rows(container)
    with container.engine.begin() as conn:
        conn.execute(delete(C))
    container.runner.setup()
    assert _rows(container) == kept


MEMBER_STEP = st.one_of(
    *(
        STEPS[kind]
        for kind in (
            *("member", "member", "transfer", "leave", "away", "discipline", "suspend", "mobile"),
            *("dissolve", "cover", "entity", "training", "training", "lecture", "lecture"),
            *("attendance", "attendance", "void", "void"),
        )
    )
)
"""Histories of members and their activities: each step about them (members, activities and their
corrections twice as likely), so that the members statistics and the training figures meet many
members, and corrections and voids of trainings and of other activities."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(MEMBER_STEP, min_size=6, max_size=30), batch=st.integers(1, 6), pick=st.randoms())
def test_R7_member_and_training_counts_answer_as_the_rows_after_random_histories(
    container: Container, steps: list[tuple[Any, ...]], batch: int, pick: random.Random
) -> None:
    """The members statistics (R3, R13.6) and the training figures (R7: at least one session since 1
    January) from the counts equal those from the rows, after histories of registrations, transfers,
    leavers, absences, trainings and other activities, attendance corrections and voids."""
    run_history(container.ledger, steps)
    container.runner.batch_size = batch
    container.runner.catch_up()
    head = container.runner.head()
    for as_of in _dates(container, pick):
        _assert_member_counts_answer_as_rows(container, head, as_of)


def test_R3_a_position_with_rows_recorded_after_it_is_answered_from_the_rows(
    container: Container, ctx: CommandContext
) -> None:
    """The counts hold what the ledger believes now: asked as known at an earlier position, the view
    reads the rows (``settled`` is false), so the July answer stays what it was."""
    ledger, runner = container.ledger, container.runner
    org = f.establish(ledger, ctx, [], effective_on=date(2025, 1, 10))
    f.register_member(ledger, ctx, [org], effective_on=date(2025, 2, 1))
    f.register_entity(ledger, ctx, effective_on=date(2025, 2, 1))
    runner.catch_up()
    july = runner.head()
    f.register_member(ledger, ctx, [org], effective_on=date(2025, 5, 12))
    entity = f.register_entity(ledger, ctx, effective_on=date(2025, 3, 1))
    f.establish(ledger, ctx, [entity], effective_on=date(2025, 4, 1))
    runner.catch_up()
    with container.engine.connect() as conn:
        assert not counts.settled(conn, july) and counts.settled(conn, runner.head())
        filed = FROM_COUNTS.report(conn, as_of=date(2025, 6, 30), known=july, region="330400")
        now = FROM_COUNTS.report(conn, as_of=date(2025, 6, 30), known=runner.head(), region="330400")
    assert (filed.members, filed.total.operating, filed.total.standalone) == (1, 1, 0)
    assert (now.members, now.total.operating, now.total.standalone) == (2, 2, 1)


@pytest.mark.parametrize(
    ("span", "covers", "pieces"),
    [
        ((1, 10), [], [(1, 10, False)]),
        ((1, 10), [(3, 5), (4, 7)], [(1, 3, False), (3, 5, True), (5, 7, True), (7, 10, False)]),
        ((3, 6), [(1, 4), (5, 20)], [(3, 4, True), (4, 5, False), (5, 6, True)]),
        ((3, 6), [(6, 9), (1, 3)], [(3, 6, False)]),
    ],
)
def test_split_cuts_a_span_by_the_days_a_guidance_officer_covers(
    span: tuple[int, int], covers: list[tuple[int, int]], pieces: list[tuple[int, int, bool]]
) -> None:
    day = lambda n: date(2025, 1, n)  # noqa: E731
    got = list(counts._split(day(span[0]), day(span[1]), [(day(a), day(b)) for a, b in covers]))
    assert got == [(day(a), day(b), reached) for a, b, reached in pieces]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_coverage_batch_holds_the_counts_lock_until_it_commits(
    container: Container, ctx: CommandContext
) -> None:
    """Two Kafka workers applying an entity and the organisation that guides it at once would each
    recount the entity without the other's rows (write skew): the coverage handler holds a
    transaction-level advisory lock, so the second waits for the first to commit."""
    f.register_entity(container.ledger, ctx)
    runner = container.runner
    notifications = runner.ledger.recorder.select_notifications(start=1, limit=10)
    batch = list(zip(runner._decode(notifications), (n.id for n in notifications), strict=True))
    try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
    with container.engine.connect() as first, container.engine.connect() as second:
        with first.begin():
            runner.projections["coverage"].handle_batch(first, batch)
            with second.begin():
                assert second.scalar(try_lock, {"key": counts.LOCK}) is False
        with second.begin():
            assert second.scalar(try_lock, {"key": counts.LOCK}) is True

"""The pre-aggregated coverage counts (issue #6, P4; ``projections.coverage_counts``) answer every
coverage figure (R13.1 buckets, R13.6 members) exactly as the scan of the coverage rows does, as of
any date, after random histories with late entries, corrections, transfers and guidance officers
applied in batches of any size, on both backends; a store that predates them is filled alike; a
position with rows recorded after it is answered from the rows."""

from __future__ import annotations

import contextlib
import functools
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import astuple
from datetime import date, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, and_, create_engine, delete, event, select, text

from domain.envelope import CommandContext
from infra.store import Container
from projections import coverage_counts as counts
from projections.activities import ActivitiesView, period_compliance
from projections.coverage import Areas, CoverageView
from projections.members import MembersView
from projections.mobile_chain import MobileChainView
from projections.report import half_year_report
from projections.tables import coverage_counts as C
from projections.tables import metadata
from tests import factories as f
from tests.projections.test_temporal import STEP, STEPS, figures, run_history

FROM_COUNTS, FROM_ROWS = CoverageView(counts=True), CoverageView(counts=False)
MEMBERS_FROM_COUNTS, MEMBERS_FROM_ROWS = MembersView(counts=True), MembersView(counts=False)
ACTIVITIES_FROM_COUNTS, ACTIVITIES_FROM_ROWS = ActivitiesView(counts=True), ActivitiesView(counts=False)
CHAIN_FROM_COUNTS, CHAIN_FROM_ROWS = MobileChainView(counts=True), MobileChainView(counts=False)
REGIONS = (None, "330000", "330400", "330402", "330411", "330100")


def some_of(pick: random.Random, population: Sequence[date], k: int) -> list[date]:
    """Up to ``k`` of ``population``, each chosen by one ``pick.random()``: always ``k`` draws of the same
    kind, whatever the population. The population comes from the store, which keeps the rows of a test's
    earlier examples, so ``pick.sample`` drew differently when Hypothesis replayed an example and it
    stopped the test as flaky (``FlakyStrategyDefinition``, once in a ``make test`` run)."""
    draws = [pick.random() for _ in range(k)]
    return list(dict.fromkeys(population[int(x * len(population))] for x in draws)) if population else []


def _dates(container: Container, pick: random.Random) -> list[date]:
    """Some of the days a counted span starts or ends and the days before them, the last days of two
    such days' months (a month read as its one row: ``counts._periods``), and year ends."""
    with container.engine.connect() as conn:
        days = set(conn.scalars(select(C.c.period).where(C.c.level == "D")))
    near = sorted({d + timedelta(days=k) for d in days for k in (-1, 0)})
    month_ends = [_month_end(d) for d in some_of(pick, sorted(days), 2)]
    return [
        *some_of(pick, near, 8),
        *month_ends,
        date(2024, 12, 31),
        date(2025, 1, 1),
        date.max,
    ]


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _round_days(container: Container, pick: random.Random) -> list[date]:
    """Some of the days a mobile member's round takes a step (family ``C``) and the days before."""
    with container.engine.connect() as conn:
        query = select(C.c.period).where(C.c.family == counts.ROUNDS, C.c.level == "D")
        days = sorted({d + timedelta(days=k) for d in conn.scalars(query) for k in (-1, 0)})
    return some_of(pick, days, 8)


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
        # the training (R7), volunteer (R11.3) and themed party day (R10) figures, for the day's year
        if as_of < date.max:
            asked_year = {"year": as_of.year, "as_of": as_of, "known": known}
            for section in ("training_by_area", "volunteer_tallies_by_area", "compliance_tallies_by_area"):
                from_counts = getattr(ACTIVITIES_FROM_COUNTS, section)(conn, regions, **asked_year)
                from_rows = getattr(ACTIVITIES_FROM_ROWS, section)(conn, regions, **asked_year)
                assert from_counts == from_rows, (section, asked_year)
            # the mobile members' rounds (R6.2 steps, R6.3 by the deadline and overdue)
            from_counts = CHAIN_FROM_COUNTS.totals_by_area(conn, regions, **asked_year)
            assert from_counts == CHAIN_FROM_ROWS.totals_by_area(conn, regions, **asked_year), asked_year


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

    # a store whose coverage rows predate the counts: filled at start-up, to the same rows (a few
    # subjects at a time, as a rebuild's replay ends: coverage_counts.refill)
    assert_filled_alike(container, C)


def assert_filled_alike(container: Container, table: Table, *others: Table) -> None:
    """The counts ``table`` emptied, then filled by set-up (``fill``, two subjects at a time), holds
    the rows it held, and so do the ``others`` it fills with it."""
    tables = (table, *others)
    with container.engine.connect() as conn:
        kept = [sorted(map(tuple, conn.execute(select(t)))) for t in tables]
    with container.engine.begin() as conn:
        conn.execute(delete(table))
    with patch.object(counts, "FILL_CHUNK", 2):
        container.runner.setup()
    with container.engine.connect() as conn:
        assert [sorted(map(tuple, conn.execute(select(t)))) for t in tables] == kept
    # a table written before the balance rows, or before ``BALANCES_UNTIL`` was moved on to its year:
    # counted again at set-up (``counts.lacks_balances``)
    last = date(counts.BALANCES_UNTIL, 1, 1)
    for lacking in (table.c.level == "P", and_(table.c.level == "P", table.c.period == last)):
        with container.engine.begin() as conn:
            conn.execute(delete(table).where(lacking))
        container.runner.setup()
        with container.engine.connect() as conn:
            assert [sorted(map(tuple, conn.execute(select(t)))) for t in tables] == kept


DAYS = st.dates(date(2008, 1, 1), date(counts.BALANCES_UNTIL + 3, 12, 31))


@settings(max_examples=80, deadline=None)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["330101", "330102", "330201"]), DAYS, st.integers(-2, 3)), max_size=6
        ),
        min_size=1,
        max_size=5,
    ),
    asked=st.lists(st.one_of(DAYS, DAYS.map(_month_end), st.just(date.max)), min_size=1, max_size=6),
)
def test_P4_a_count_is_the_sum_of_its_changes_up_to_the_date_whatever_the_level_it_is_read_from(
    batches: list[list[tuple[str, date, int]]], asked: list[date]
) -> None:
    """``write`` and ``sums``: written in batches, a count as of a date is the sum of its changes up to
    that date, at each depth, read from the balance (``P``) before the date's year, or the years from
    ``BALANCES_UNTIL`` on, its months and days (issue #6, P4)."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[C])
    with engine.begin() as conn:
        for batch in batches:
            changes: Counter[tuple[str, counts.Key, date]] = Counter()
            for region, day, n in batch:
                changes[counts.ENTITIES, (region, "kind", "bucket"), day] += n
            counts.write(conn, changes)
        for as_of in asked:
            for depth in counts.DEPTHS:
                expected: Counter[str] = Counter()
                for region, day, n in (change for batch in batches for change in batch):
                    if day <= as_of:
                        expected[region[:depth]] += n
                found = {r: n for r, _, _, n in counts.sums(conn, counts.ENTITIES, as_of, depth)}
                assert found == {r: n for r, n in expected.items() if n}, (as_of, depth)


MEMBER_STEP = st.one_of(
    *(
        STEPS[kind]
        for kind in (
            *("member", "member", "transfer", "leave", "away", "discipline", "suspend", "mobile"),
            *("dissolve", "cover", "entity", "training", "training", "lecture", "lecture"),
            *("attendance", "attendance", "void", "void"),
            *("volunteer", "volunteer", "volunteer", "themed", "themed", "dissolve", "cover"),
            *("member", "member", "member", "mobile", "mobile", "chain", "chain", "chain", "chain"),
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
    # and in the years after the history: an organisation holding no themed party day from a year on
    for as_of in (
        *_dates(container, pick),
        *_round_days(container, pick),
        *(date(2027, 1, 30), date(2027, 1, 31), date(2028, 6, 30)),
    ):
        _assert_member_counts_answer_as_rows(container, head, as_of)


CHAIN_STEP = st.one_of(
    *(
        STEPS[kind]
        for kind in (
            *("member", "mobile", "mobile", "chain", "chain", "chain", "chain", "chain"),
            *("transfer", "leave", "dissolve"),
        )
    )
)
"""Histories of mobile members' rounds (R6): members made mobile and registered, their rounds taking up
to four steps at a time, some receipts after 30 November; after three members, two of them mobile with
rounds of 2024 (``MOBILE_START``)."""
MOBILE_START = [
    *(("member", date(2024, 3, 1), i) for i in range(3)),
    *(("mobile", date(2024, 3, 2), i) for i in range(2)),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(CHAIN_STEP, min_size=6, max_size=24), batch=st.integers(1, 6), pick=st.randoms())
def test_R6_mobile_chain_counts_answer_as_the_rows_after_random_histories(
    container: Container, steps: list[tuple[Any, ...]], batch: int, pick: random.Random
) -> None:
    """The half-year report's mobile-chain totals (R6.2 rounds by step, R6.3 completed by the deadline
    and overdue) from family ``C`` equal those from the rows, on the days rounds take a step and the
    days before, and after the year."""
    run_history(container.ledger, [*MOBILE_START, *steps])
    container.runner.batch_size = batch
    container.runner.catch_up()
    head = container.runner.head()
    regions = Areas(["330000", "330400", "330402", "330411", "330100"])
    with container.engine.connect() as conn:
        for as_of in (*_round_days(container, pick), date(2024, 12, 1), date(2025, 12, 31)):
            asked = {"year": as_of.year, "as_of": as_of, "known": head}
            from_counts = CHAIN_FROM_COUNTS.totals_by_area(conn, regions, **asked)
            assert from_counts == CHAIN_FROM_ROWS.totals_by_area(conn, regions, **asked), asked


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


def test_R11_3_volunteer_counts_follow_the_80_percent_share_a_year_at_a_time(
    container: Container, ctx: CommandContext
) -> None:
    """Four volunteers of five members are 80% (met); a sixth member makes it 4/6 (missed); a new
    year starts every count again. Each event is its own batch, so a volunteer service held by
    another organisation recounts its volunteers' home organisation by itself."""
    ledger, runner = container.ledger, container.runner
    runner.batch_size = 1
    home = f.establish(ledger, ctx, [], effective_on=date(2025, 1, 1))
    other = f.establish(ledger, ctx, [], effective_on=date(2025, 1, 1))
    members = [f.register_member(ledger, ctx, [home], effective_on=date(2025, 1, 10)).id for _ in range(5)]

    def hold(org: Any, day: date, participants: list[Any]) -> None:
        ledger.hold_activity(
            ctx,
            effective_on=day,
            org_id=org,
            activity_type="volunteer_service",
            topic="义诊",
            host="书记",
            participant_ids=participants,
        )

    hold(home, date(2025, 2, 1), [])
    hold(other, date(2025, 3, 1), members[:4])
    hold(home, date(2025, 4, 1), [])
    f.register_member(ledger, ctx, [home], effective_on=date(2025, 5, 1))
    runner.catch_up()

    expected = {  # day: (organisations, (with members, meeting the share), (all, meeting activities))
        date(2025, 2, 28): (2, (1, 0), (2, 0)),
        date(2025, 3, 1): (2, (1, 1), (2, 0)),
        date(2025, 4, 1): (2, (1, 1), (2, 1)),
        date(2025, 5, 1): (2, (1, 0), (2, 1)),
        date(2026, 1, 1): (2, (1, 0), (2, 0)),
    }
    with container.engine.connect() as conn:
        for day, (organizations, share, held) in expected.items():
            asked = {"year": day.year, "as_of": day, "known": runner.head()}
            areas = Areas(["330000", "330402"])
            tallies = ACTIVITIES_FROM_COUNTS.volunteer_tallies_by_area(conn, areas, **asked)
            assert tallies == ACTIVITIES_FROM_ROWS.volunteer_tallies_by_area(conn, areas, **asked)
            got = tallies[0]
            assert (got.organizations, astuple(got.meeting_share), astuple(got.meeting_activities)) == (
                organizations,
                share,
                held,
            ), day


def _spans_on(spans: list[tuple[str, date, date | None]], day: date, statistic: str) -> int:
    return sum(
        1 for a, start, stop in spans if a == statistic and start <= day and (stop is None or day < stop)
    )


MONTHS_RUNS = st.lists(
    st.tuples(st.integers(0, 60), st.one_of(st.none(), st.integers(1, 200))), min_size=1, max_size=4
)


@settings(max_examples=200, deadline=None)
@given(runs=MONTHS_RUNS, held=st.lists(st.integers(0, 1100), max_size=14), days=st.randoms())
def test_R10_themed_day_spans_answer_as_period_compliance_on_every_day(
    runs: list[tuple[int, int | None]], held: list[int], days: random.Random
) -> None:
    """An organisation's runs (not overlapping) and themed party days: on each day, counted and missed
    from its spans (``MISSING_FROM_JANUARY`` from 31 January) are what ``period_compliance`` says for
    that day's year up to it, years after the history included."""
    origin = date(2024, 1, 1)
    intervals, cursor = [], 0
    for gap, length in runs:  # consecutive, not overlapping, the last maybe open
        start = cursor + gap
        intervals.append(
            (origin + timedelta(start), None if length is None else origin + timedelta(start + length))
        )
        if length is None:
            break
        cursor = start + length
    held_days = sorted(origin + timedelta(n) for n in held)
    first_held: dict[tuple[int, int], date] = {}
    for day in held_days:
        first_held.setdefault((day.year, day.month), day)
    spans = list(counts._runs_themed_day_spans(tuple(intervals), first_held))
    for day in days.sample([origin + timedelta(n) for n in range(6 * 366)], 400):
        on = functools.partial(_spans_on, spans, day)
        year_start = date(day.year, 1, 1)
        runs_then = [(f, t) for f, t in intervals if f <= day and (t is None or t > year_start)]
        missed = on(counts.MISSED) + (on(counts.MISSING_FROM_JANUARY) if day >= date(day.year, 1, 31) else 0)
        assert on(counts.COUNTED) == (1 if runs_then else 0), day
        compliant = period_compliance(day.year, day, runs_then, [d for d in held_days if d <= day]).compliant
        assert missed == (0 if not runs_then or compliant else 1), day


def test_P4_a_report_asks_once_whether_the_counts_answer_its_position(
    container: Container, ctx: CommandContext
) -> None:
    """Each section the counts answer asks ``settled``; within one half-year report (R3) the database
    is asked once per position (``settled_once``), outside it every time."""
    org = f.establish(container.ledger, ctx, [], effective_on=date(2025, 1, 10))
    f.register_member(container.ledger, ctx, [org], effective_on=date(2025, 2, 1))
    container.runner.catch_up()
    known = container.runner.head()
    asked: list[int] = []
    real = counts._settled

    def counted(conn: Any, position: int, tables: Any) -> bool:
        asked.append((tables[0].name, position))
        return real(conn, position, tables)

    with container.engine.connect() as conn, patch.object(counts, "_settled", counted):
        report = half_year_report(conn, "330000", date(2025, 6, 30), known)
        # once for the coverage counts' rows, once for the stars counts' (projections.stars_counts)
        once = [("coverage_entities", known), ("stars_organizations", known)]
        assert sorted(asked) == once and report[0]["members"]["total"] == 1
        assert counts.settled(conn, known) and counts.settled(conn, known)
        assert sorted(asked) == sorted([*once, ("coverage_entities", known), ("coverage_entities", known)])


def test_P4_a_report_reads_each_counts_table_once_per_depth(
    container: Container, ctx: CommandContext
) -> None:
    """Within ``sums_once`` (the half-year report, R3) ``sums_by_area`` reads every family of a counts
    table at a depth in one statement and answers each family as it does alone: the report of a
    province and its cities makes two reads of each of the three counts tables instead of one per
    family and depth."""
    history = [("entity", date(2024, 5, 1), "330402"), ("entity", date(2024, 6, 1), "330102")]
    history += [
        ("cover", date(2024, 7, 1), 0),
        ("member", date(2024, 8, 1), 0),
        ("member", date(2024, 8, 2), 1),
    ]
    history += [("training", date(2025, 3, 1), 0, 0), ("market", date(2025, 4, 1), 1, 4)]
    run_history(container.ledger, history)
    container.runner.catch_up()
    day, prefixes = date(2025, 6, 30), ["33", "3301", "3304"]
    families = [(t, f) for t, fs in counts.FAMILIES.items() for f in fs]
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        reads.extend(t for t in counts.FAMILIES if re.search(rf"FROM (\S+\.)?\"?{t}\b", statement))

    with container.engine.connect() as conn:
        tables = {t.name: t for t in metadata.sorted_tables}
        alone = {(t, f): sorted(counts.sums_by_area(conn, f, day, prefixes, tables[t])) for t, f in families}
        assert any(alone.values())
        event.listen(container.engine, "before_cursor_execute", count)
        try:
            with counts.sums_once():
                together = {
                    (t, f): sorted(counts.sums_by_area(conn, f, day, prefixes, tables[t]))
                    for t, f in families
                }
        finally:
            event.remove(container.engine, "before_cursor_execute", count)
        assert together == alone
        assert sorted(reads) == sorted(t for t in counts.FAMILIES for _ in (2, 4))  # the two depths asked
        report = half_year_report(conn, "330000", day, container.runner.head())
        assert report[0]["stars"]["markets"]["total"]["enrolled"] == 1


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
    assert_batch_holds_lock(container, "coverage", counts.LOCK)


def assert_batch_holds_lock(container: Container, projection: str, key: int) -> None:
    """Applying the store's first events, ``projection``'s handler holds advisory lock ``key`` until
    its transaction commits: another transaction cannot take it meanwhile, and can afterwards."""
    runner = container.runner
    notifications = runner.ledger.recorder.select_notifications(start=1, limit=10)
    batch = list(zip(runner._decode(notifications), (n.id for n in notifications), strict=True))
    try_lock = text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), :key)")  # counts.LOCK_SQL
    with container.engine.connect() as first, container.engine.connect() as second:
        with first.begin():
            runner.projections[projection].handle_batch(first, batch)
            with second.begin():
                assert second.scalar(try_lock, {"key": key}) is False
        with second.begin():
            assert second.scalar(try_lock, {"key": key}) is True


def test_P3_writes_summed_at_the_end_give_the_rows_upserts_give(container: Container) -> None:
    """Issue #6 (P3): within ``summed`` (a refill), ``write`` stages its rows and each key's sum is added
    once at the end (PostgreSQL; SQLite upserts as ever): the same rows as a write at a time, for a
    key whose changes cancel across writes (no row), a key the table held (added to) and one the
    writes bring to zero (deleted); no staging table is left."""

    def key(region: str, day: date) -> tuple[str, tuple[str, str, str], date]:
        return (counts.ENTITIES, (region, "individual_business", "organized"), day)

    held = Counter({key("330402", date(2024, 3, 1)): 1, key("330402", date(2024, 5, 1)): 2})
    writes = [
        Counter({key("330402", date(2024, 3, 1)): -1, key("330411", date(2024, 6, 1)): 1}),
        Counter({key("330411", date(2024, 6, 1)): -1, key("330402", date(2024, 5, 1)): 1}),
        Counter({key("330411", date(2025, 1, 2)): 3}),
    ]
    columns = (C.c.level, C.c.period, C.c.region_code, C.c.delta)
    results = [_counts_after(container, held, writes, staged, columns) for staged in (False, True)]
    assert results[0] == results[1]
    days = {(p, region): n for level, p, region, n in results[1] if level == "D" and len(region) == 6}
    assert days == {(date(2024, 5, 1), "330402"): 3, (date(2025, 1, 2), "330411"): 3}  # counties


_COUNTIES, _PREFIXES = ("330402", "330411", "330501"), ("33", "3304", "330402")  # two cities; R per depth
_LAST = counts.BALANCES_UNTIL  # the last 1 January with a balance row
_CHANGE_DAYS = st.sampled_from(
    [
        *(date(2015, 3, 1), date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 31), date(2029, 12, 31)),
        *(date(_LAST, 1, 1), date(_LAST, 6, 1), date(_LAST + 1, 2, 1)),
    ]
)
_CHANGES = st.dictionaries(
    st.one_of(
        st.tuples(
            st.just(counts.ENTITIES),
            st.tuples(
                st.sampled_from(_COUNTIES),
                st.sampled_from(("enterprise", "individual_business")),
                st.just("organized"),
            ),
            _CHANGE_DAYS,
        ),
        st.tuples(
            st.just(counts.THEMED_DAYS),
            st.tuples(st.sampled_from(_PREFIXES), st.just(counts.COUNTED), st.just("")),
            _CHANGE_DAYS,
        ),
    ),
    st.integers(-2, 2),
    max_size=12,
).map(Counter)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=_CHANGES, writes=st.lists(_CHANGES, min_size=1, max_size=4))
def test_P3_day_changes_staged_by_a_refill_roll_up_to_the_rows_written_one_at_a_time(
    container: Container, held: Counter[Any], writes: list[Counter[Any]]
) -> None:
    """Issue #6 (P3): within ``summed`` (a refill) ``write`` stages the day changes, and PostgreSQL rolls
    them up at the end to the rows of every depth (its own prefix only for a ``PER_DEPTH`` family), level
    and balance, summed: the same table as writing the changes one write at a time, whatever they are (two
    counties of one city on the same day, days on either side of ``BALANCES_UNTIL``, changes that cancel
    across writes, a key the table already held)."""
    tables = [_counts_after(container, held, writes, staged, tuple(C.c)) for staged in (False, True)]
    assert tables[0] == tables[1]


def _counts_after(
    container: Container,
    held: Counter[Any],
    writes: list[Counter[Any]],
    staged: bool,
    columns: tuple[Any, ...],
) -> list[tuple[Any, ...]]:
    """``columns`` of the counts, in order, after ``held`` was written and then ``writes``, each on its
    own or, when ``staged``, within ``summed``, which leaves no staging table behind."""
    with container.engine.begin() as conn:
        conn.execute(delete(C))
        counts.write(conn, held)
        with counts.summed(conn) if staged else contextlib.nullcontext():
            for changes in writes:
                counts.write(conn, changes)
        rows = sorted(map(tuple, conn.execute(select(*columns)).all()))
        if conn.dialect.name == "postgresql":
            assert conn.scalar(text("SELECT to_regclass('pg_temp.stage_coverage_counts')")) is None
    return rows


@given(as_of=DAYS)
def test_a_figure_reads_each_level_whose_range_holds_a_period(as_of: date) -> None:
    # issue #6, P4: a level with nothing to read has no branch in the statement; one with a period in
    # its range must keep its branch, or its rows would be left out of the figure
    asked = counts._periods(as_of)
    first_days = [date(y, m, 1) for y in range(2008, counts.BALANCES_UNTIL + 5) for m in range(1, 13)]
    days = [asked["month"] + timedelta(days=n) for n in range(31)]
    has_rows = {
        "P": True,
        "Y": any(counts._BALANCES_FROM <= d < asked["year"] for d in first_days if d.month == 1),
        "M": any(asked["year"] <= d < asked["month"] for d in first_days),
        "D": any(asked["month"] <= d <= asked["as_of"] for d in days),
    }
    assert counts._levels(asked) == tuple(level for level, read in has_rows.items() if read)

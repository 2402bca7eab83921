"""The activities projection: training rates (R7), themed party days and R10 frequencies, volunteers
(R11.3), as of a date and as known at a position; corrections and voids change the record, not the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from domain.envelope import CommandContext
from domain.targets import VOLUNTEER_MIN_SHARE
from domain.values import ActivityType, Affiliation, MemberCategory, OrgKind, PairingKind, region_prefix
from infra.store import Container
from projections import coverage_counts
from projections.activities import (
    ActivitiesProjection,
    ActivitiesView,
    ComplianceTallies,
    Tally,
    VolunteerTallies,
    _pairing_tallies,
    _pairing_tallies_query,
    _periods,
    one_run_compliant,
    one_run_key,
    period_compliance,
    year_period,
)
from projections.coverage import Areas
from projections.tables import activities_held as A
from projections.tables import activities_pairings as PR
from projections.tables import activities_participants as P
from projections.tables import coverage_counts as coverage_counts_table
from projections.tables import coverage_organizations as O
from projections.temporal import ALL_KNOWN
from tests import factories as f
from tests.conftest import TODAY

JAN_10 = date(2025, 1, 10)
view = ActivitiesView()


@dataclass
class World:
    assoc: UUID  # 分会 in 330411: holds the 隶属 members
    market: UUID  # market organisation in 330402
    station: UUID
    agency: UUID
    sub1: UUID
    sub2: UUID
    mobile: UUID
    local: UUID


def org(container: Container, ctx: CommandContext, kind: OrgKind, region: str = "330402") -> UUID:
    return f.establish(
        container.ledger,
        ctx,
        [],
        kind=kind,
        name=f"{kind.value} 党组织",
        region_code=region,
        effective_on=JAN_10,
    )


def world(container: Container, ctx: CommandContext) -> World:
    ledger = container.ledger
    assoc = org(container, ctx, OrgKind.BRANCH_ASSOCIATION, "330411")
    market = org(container, ctx, OrgKind.MARKET)
    station = org(container, ctx, OrgKind.STATION_BRANCH)
    agency = org(container, ctx, OrgKind.AGENCY_BRANCH)

    def member(life: UUID, affiliation: Affiliation, **overrides: Any) -> UUID:
        return f.register_member(
            ledger, ctx, [life], affiliation=affiliation, effective_on=JAN_10, **overrides
        ).id

    sub1 = member(assoc, Affiliation.SUBORDINATE, relationship_org_id=assoc, name="隶属甲")
    sub2 = member(
        assoc,
        Affiliation.SUBORDINATE,
        relationship_org_id=assoc,
        name="隶属乙",
        category=MemberCategory.PROBATIONARY,
        admitted_on=date(2024, 12, 1),
    )
    mobile = member(market, Affiliation.MOBILE, name="流动丙")
    local = member(market, Affiliation.LOCAL, name="属地丁")
    return World(assoc, market, station, agency, sub1, sub2, mobile, local)


def hold(
    container: Container,
    ctx: CommandContext,
    org_id: UUID,
    day: date,
    activity_type: ActivityType,
    participants: list[UUID],
    **details: Any,
) -> UUID:
    return container.ledger.hold_activity(
        ctx,
        effective_on=day,
        org_id=org_id,
        activity_type=activity_type,
        topic="主题",
        host="王书记",
        participant_ids=participants,
        **details,
    ).id


def pair(container: Container, ctx: CommandContext, org_ids: list[UUID], day: date) -> UUID:
    return container.ledger.pair_organizations(
        ctx,
        effective_on=day,
        org_ids=org_ids,
        agreement_reference="共建协议〔2025〕1号",
        agreement_signed_on=day,
        plan_year=2025,
        plan_items=["每季度共建交流"],
    ).id


def rates(container: Container, **kwargs: Any) -> dict[str, tuple[int, int, bool | None]]:
    with container.engine.connect() as conn:
        report = view.training(conn, year=2025, **kwargs)
    return {a: (x.trained, x.members, x.meets_target) for a, x in report.by_affiliation.items()}


# --- training (R7) --------------------------------------------------------------------------------


def test_R7_training_rates_by_affiliation_with_a_late_entry_and_a_void(
    container: Container, ctx: CommandContext
) -> None:
    w = world(container, ctx)
    hold(container, ctx, w.assoc, date(2025, 3, 5), ActivityType.TRAINING, [w.sub1])
    market_training = hold(
        container, ctx, w.market, date(2025, 4, 1), ActivityType.TRAINING, [w.mobile, w.local]
    )
    hold(container, ctx, w.market, date(2025, 4, 2), ActivityType.PARTY_LECTURE, [w.sub2])  # not training
    container.runner.catch_up()
    cut = container.runner.head()

    assert rates(container) == {
        "subordinate": (1, 2, False),
        "mobile": (1, 1, True),
        "local": (1, 1, True),
    }
    assert rates(container, as_of=date(2025, 3, 31))["mobile"] == (0, 1, False)
    assert rates(container, as_of=date(2025, 3, 4))["subordinate"] == (0, 2, False)
    assert rates(container, region="330411") == {
        "subordinate": (1, 2, False),
        "mobile": (0, 0, None),
        "local": (0, 0, None),
    }
    assert rates(container, org_id=w.market)["local"] == (1, 1, True)

    # late entry in November: sub2 was trained (as a guest of the market) in May
    hold(container, ctx, w.market, date(2025, 5, 1), ActivityType.TRAINING, [w.sub2])
    container.runner.catch_up()
    assert rates(container, as_of=date(2025, 6, 30), known=cut)["subordinate"] == (1, 2, False)
    assert rates(container, as_of=date(2025, 6, 30))["subordinate"] == (2, 2, True)

    # voiding the market's April training (recorded in error) removes it on every business date
    before_void = container.runner.head()
    container.ledger.void_activity(ctx, market_training, effective_on=date(2025, 11, 1), reason="重复录入")
    container.runner.catch_up()
    assert rates(container, as_of=date(2025, 6, 30))["mobile"] == (0, 1, False)
    assert rates(container, as_of=date(2025, 6, 30), known=before_void)["mobile"] == (1, 1, True)
    with container.engine.connect() as conn:
        rows = conn.execute(select(P).where(P.c.known_to.is_(None))).all()
    assert {r.member_id for r in rows} == {w.sub1, w.sub2}
    assert {(r.member_id, r.role) for r in rows} == {(w.sub1, "attendee"), (w.sub2, "guest")}


# --- themed party days and R10 --------------------------------------------------------------------


def test_themed_party_day_months_held_missed_and_pending(container: Container, ctx: CommandContext) -> None:
    w = world(container, ctx)
    for day in (date(2025, 1, 20), date(2025, 2, 18), date(2025, 4, 8)):
        hold(container, ctx, w.market, day, ActivityType.THEMED_PARTY_DAY, [w.local])
    container.ledger.dissolve_organization(ctx, w.agency, effective_on=date(2025, 3, 15), reason="机构调整")
    container.runner.catch_up()

    with container.engine.connect() as conn:
        report = view.compliance(conn, year=2025, as_of=date(2025, 5, 15))
        by_org = {d.org_id: d.months for d in report.themed_days}
        assert (by_org[w.market].due, by_org[w.market].held) == ([1, 2, 3, 4, 5], [1, 2, 4])
        assert (by_org[w.market].missed, by_org[w.market].pending) == ([3], [5])
        assert by_org[w.agency].due == [1, 2, 3] and by_org[w.agency].missed == [1, 2, 3]
        assert report.period_end == date(2025, 5, 15)
        county = view.compliance(conn, year=2025, as_of=date(2025, 5, 15), region="330411")
        assert [d.org_id for d in county.themed_days] == [w.assoc]
        one = view.compliance(conn, year=2025, org_id=w.market)
        assert [d.org_id for d in one.themed_days] == [w.market]
        last_year = view.compliance(conn, year=2024, as_of=date(2025, 5, 15))
        assert last_year.themed_days == [] and last_year.period_end == date(2024, 12, 31)


def test_R10_quarterly_exchanges_and_monthly_station_visits(
    container: Container, ctx: CommandContext
) -> None:
    w = world(container, ctx)
    one_plus_one = pair(container, ctx, [w.agency, w.station], date(2025, 1, 15))
    station_market = pair(container, ctx, [w.station, w.market], date(2025, 2, 1))
    agency_market = pair(container, ctx, [w.agency, w.market], date(2025, 2, 1))
    for day in (date(2025, 2, 10), date(2025, 7, 1)):
        hold(container, ctx, w.agency, day, ActivityType.PAIRING_EXCHANGE, [], pairing_id=one_plus_one)
    for day in (date(2025, 2, 3), date(2025, 3, 10), date(2025, 5, 5)):
        hold(container, ctx, w.station, day, ActivityType.STATION_VISIT, [], visited_org_id=w.market)
    hold(container, ctx, w.agency, date(2025, 4, 4), ActivityType.STATION_VISIT, [], visited_org_id=w.market)
    container.runner.catch_up()

    with container.engine.connect() as conn:
        may = view.compliance(conn, year=2025, as_of=date(2025, 5, 31))
        (visits,) = may.visits  # only the station branch's pairing with a 小个专 organisation
        assert (visits.pairing_id, visits.station_org_id, visits.partner_org_id) == (
            station_market,
            w.station,
            w.market,
        )
        assert (visits.months.due, visits.months.held, visits.months.missed) == ([2, 3, 4, 5], [2, 3, 5], [4])
        assert visits.visits == 3
        exchanges = {e.pairing_id: e for e in may.exchanges}
        assert set(exchanges) == {one_plus_one, station_market, agency_market}
        q = exchanges[one_plus_one].quarters
        assert (q.due, q.held, q.missed, q.pending) == ([1, 2], [1], [], [2])

    # the station's pairing with the market ends mid-June
    cut = container.runner.head()
    container.ledger.end_pairing(ctx, station_market, effective_on=date(2025, 6, 15), reason="企业迁出")
    container.runner.catch_up()
    with container.engine.connect() as conn:
        now = view.compliance(conn, year=2025, as_of=TODAY)
        assert now.period_end == date(2025, 11, 20)
        (visits,) = now.visits
        assert (visits.months.due, visits.months.missed) == ([2, 3, 4, 5, 6], [4, 6])
        q = {e.pairing_id: e.quarters for e in now.exchanges}[one_plus_one]
        assert (q.due, q.held, q.missed, q.pending) == ([1, 2, 3, 4], [1, 3], [2], [4])
        before_end = view.compliance(conn, year=2025, as_of=TODAY, known=cut)
        (visits,) = before_end.visits
        assert visits.months.missed == [4, 6, 7, 8, 9, 10] and visits.months.pending == [11]
        by_region = view.compliance(conn, year=2025, region="330411")
        assert by_region.exchanges == [] and by_region.visits == []
        by_org = view.compliance(conn, year=2025, org_id=w.station)
        assert {e.pairing_id for e in by_org.exchanges} == {one_plus_one, station_market}


def test_period_compliance_counts_only_the_part_of_a_period_the_run_covers() -> None:
    result = period_compliance(2025, date(2025, 12, 31), [(date(2025, 3, 20), date(2025, 4, 1))], [])
    assert (result.due, result.missed) == ([3], [3])
    quarters = period_compliance(
        2025,
        date(2025, 8, 15),
        [(date(2024, 6, 1), None)],
        [date(2025, 5, 1), date(2024, 2, 1)],
        quarterly=True,
    )
    assert (quarters.due, quarters.held, quarters.missed, quarters.pending) == ([1, 2, 3], [2], [1], [3])


def _period_compliance_by_day(
    year: int, end: date, runs: list[tuple[date, date | None]], held: list[date], quarterly: bool
) -> tuple[list[int], list[int], list[int], list[int]]:
    """R10 read day by day: a period is due when a run covers one of its days on or before ``end``;
    held when an activity fell in it; else missed once the last day such a run covers in it has
    passed, pending before."""

    def number(day: date) -> int:
        return (day.month - 1) // 3 + 1 if quarterly else day.month

    days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
    days = [d for d in days if d.year == year]
    result: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
    for period in range(1, 5 if quarterly else 13):
        lasts = []
        for start, stop in runs:
            covered = [d for d in days if number(d) == period and start <= d and (stop is None or d < stop)]
            if covered and covered[0] <= end:
                lasts.append(covered[-1])
        if not lasts:
            continue
        result[0].append(period)
        if any(d.year == year and number(d) == period for d in held):
            result[1].append(period)
        elif max(lasts) <= end:
            result[2].append(period)
        else:
            result[3].append(period)
    return result


_DAYS = st.dates(date(2024, 1, 1), date(2026, 12, 31))


@given(
    year=st.integers(2024, 2026),
    end=_DAYS,
    runs=st.lists(st.tuples(_DAYS, st.one_of(st.none(), _DAYS)), max_size=3).map(
        lambda rs: [(a, b) for a, b in rs if b is None or a < b]
    ),
    held=st.lists(_DAYS, max_size=6),
    quarterly=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_R10_period_compliance_equals_reading_the_year_day_by_day(
    year: int, end: date, runs: list[tuple[date, date | None]], held: list[date], quarterly: bool
) -> None:
    result = period_compliance(year, end, runs, held, quarterly)
    expected = _period_compliance_by_day(year, end, runs, held, quarterly)
    assert (result.due, result.held, result.missed, result.pending) == expected


@given(
    year=st.integers(2024, 2026),
    end=_DAYS,
    run=st.tuples(_DAYS, st.one_of(st.none(), _DAYS)).filter(lambda r: r[1] is None or r[0] < r[1]),
    held=st.lists(_DAYS, max_size=6),
    quarterly=st.booleans(),
)
@settings(max_examples=500, deadline=None)
def test_R10_one_runs_compliance_depends_only_on_its_key(
    year: int, end: date, run: tuple[date, date | None], held: list[date], quarterly: bool
) -> None:
    """The report works out the themed-day compliance once per ``one_run_key`` (issue #6, P4): the
    run clipped to the year and the months held give every period as the run and days themselves."""
    key = one_run_key(year, *run, held)
    first, to, months = key
    original = period_compliance(year, end, [run], held, quarterly)
    keyed = period_compliance(year, end, [(first, to)], [date(year, m, 1) for m in months], quarterly)
    assert (keyed.due, keyed.held, keyed.missed, keyed.pending) == (
        original.due,
        original.held,
        original.missed,
        original.pending,
    )
    assert one_run_compliant(year, end, key, quarterly) is original.compliant


_AROUND_2025 = st.dates(date(2024, 12, 1), date(2026, 1, 31))
"""Days near one year, so that runs and activities often meet in the same month or quarter."""


_EDGES = st.one_of(
    _AROUND_2025,
    st.builds(
        lambda month, shift: date(2025, month, 1) + timedelta(days=shift),
        st.integers(1, 12),
        st.sampled_from([-1, 0, 1, 14]),
    ),
)
"""Days of 2025, often at the edge of a month or quarter: where a run's end, the period end and an
activity meet."""

_ORGS = [
    (UUID(int=1), OrgKind.AGENCY_BRANCH, "330400"),
    (UUID(int=2), OrgKind.STATION_BRANCH, "330411"),
    (UUID(int=3), OrgKind.MARKET, "330411"),
    (UUID(int=4), OrgKind.ENTERPRISE, "330502"),
]
"""The organisations the drawn pairings join: two regions of one city and one of another."""

_PAIRING_KINDS = st.sampled_from(
    [
        (PairingKind.AGENCY_STATION.value, 0, 1),
        (PairingKind.BRANCH_SMALL_PRIVATE.value, 1, 2),  # a station's: due a visit a month
        (PairingKind.BRANCH_SMALL_PRIVATE.value, 1, 3),
        (PairingKind.BRANCH_SMALL_PRIVATE.value, 0, 2),
    ]
)


def _most_periods(months: int) -> st.SearchStrategy[list[date]]:
    """A day in most periods of ``months`` months (1 or 3) of 2025 (all but at most one), often its first or
    last, and a few days around them: compliance then turns on the edges of the runs and periods, not
    on a missed period elsewhere."""
    bounds = [(first, last) for _, first, last in _periods(2025, quarterly=months == 3)]
    day_in = st.sampled_from(["first", "last", "between"])
    return st.tuples(
        st.sets(st.sampled_from(range(len(bounds))), max_size=1),
        st.lists(st.tuples(day_in, st.integers(1, 27)), min_size=len(bounds), max_size=len(bounds)),
        st.lists(_EDGES, max_size=2),
    ).map(
        lambda drawn: (
            [
                first if where == "first" else last if where == "last" else first + timedelta(days=offset)
                for n, ((first, last), (where, offset)) in enumerate(zip(bounds, drawn[1], strict=True))
                if n not in drawn[0]
            ]
            + drawn[2]
        )
    )


@st.composite
def _pairings(draw: st.DrawFn) -> tuple[date, list[dict[str, Any]], list[dict[str, Any]]]:
    """A period end, and rows of pairings among ``_ORGS`` (several may join the same station and
    partner) and of their exchanges and station visits, some recorded after the position asked about
    (``known`` 10)."""
    pairings, held = [], []
    for n in range(draw(st.integers(0, 5))):
        kind, lead, partner = draw(_PAIRING_KINDS)
        started = draw(_EDGES)
        ended = draw(st.one_of(st.none(), _EDGES.filter(lambda d, s=started: d > s)))
        subject = UUID(int=100 + n)
        lead_id, partner_id = _ORGS[lead][0], _ORGS[partner][0]
        pairings.append(
            {"subject_id": subject, "kind": kind, "lead_org_id": lead_id, "partner_org_id": partner_id}
            | {"started_on": started, "ended_on": ended, "known_from": draw(st.sampled_from([1, 1, 20]))}
        )
        for day in draw(_most_periods(3)):
            held.append({"org_id": lead_id, "held_on": day, "pairing_id": subject} | _EXCHANGE)
        for day in draw(_most_periods(1)):
            held.append({"org_id": lead_id, "held_on": day, "visited_org_id": partner_id} | _VISIT)
    ends = [row["ended_on"] - timedelta(days=1) for row in pairings if row["ended_on"]]
    # the period end often the last day a pairing ran: its last period is then over, not running
    end = draw(st.one_of(_EDGES, st.sampled_from(ends)) if ends else _EDGES)
    return end, pairings, held


_EXCHANGE = {"activity_type": ActivityType.PAIRING_EXCHANGE.value, "visited_org_id": None}
_VISIT = {"activity_type": ActivityType.STATION_VISIT.value, "pairing_id": None}


@given(drawn=_pairings())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_R10_the_pairing_tallies_count_what_the_pairing_lists_say(
    container: Container, drawn: tuple[date, list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    """The report's counted pairings (``_pairing_tallies``: one statement returning the tallies,
    issue #6, P4) equal ``Tally.of`` the lists of ``_pairing_compliance`` in every area, as known at a
    position: the quarters with an exchange of each pairing and the months with a visit of each station
    pairing, on the days it ran."""
    end, pairings, held = drawn
    never = {"valid_from": date(2000, 1, 1), "valid_to": None, "known_to": None}
    with container.engine.begin() as conn:
        for table in (PR, A, O):
            conn.execute(delete(table))
        conn.execute(
            insert(O),
            [
                {"subject_id": i, "name": k.value, "kind": k.value, "formation": "regional"}
                | {"region_code": r, "dissolved": False, "known_from": 1}
                | never
                for i, k, r in _ORGS
            ],
        )
        if pairings:
            conn.execute(insert(PR), [row | never for row in pairings])
        if held:
            conn.execute(
                insert(A),
                [
                    row | never | {"subject_id": UUID(int=1000 + i), "known_from": 1}
                    for i, row in enumerate(held)
                ],
            )
    areas = Areas(["330000", "330400", "330411", "330500", "330502"])
    start, period_end = year_period(2025, end)
    with container.engine.connect() as conn:
        for known in (10, ALL_KNOWN):
            tallies = _pairing_tallies(conn, 2025, start, period_end, known, areas)
            listed = view._pairings_by_area(conn, 2025, start, period_end, known, areas)
            assert tallies == [
                (Tally.of(e.quarters for e in ex), Tally.of(v.months for v in vi)) for ex, vi in listed
            ], known
            for code in ("330400", "330411", "330500"):  # one area, without the province: its filter
                (tally,) = _pairing_tallies(conn, 2025, start, period_end, known, Areas([code]))
                ex, vi = view._pairings(conn, 2025, start, period_end, known, region_prefix(code), None)
                assert tally == (Tally.of(e.quarters for e in ex), Tally.of(v.months for v in vi)), code


def test_P4_the_pairing_tallies_statement_is_built_once_per_year_begun_periods_and_areas(
    container: Container,
) -> None:
    """Issue #6, P4: ``_pairing_tallies`` reuses its statement (``_pairing_tallies_query``) for another
    position or another period end that begins and ends the same periods, and builds another when a
    period ends by the new end (its missed test changes) or the areas differ."""
    built = _pairing_tallies_query
    built.cache_clear()
    areas = Areas(["330000", "330400"])

    def ask(end: date, known: int = ALL_KNOWN, asked: Areas = areas) -> None:
        with container.engine.connect() as conn:
            _pairing_tallies(conn, 2025, date(2025, 1, 1), end, known, asked)

    ask(date(2025, 6, 29))
    ask(date(2025, 6, 29), known=10)
    ask(date(2025, 6, 28))  # the same periods begun, June still running
    assert (built.cache_info().misses, built.cache_info().hits) == (1, 2)
    ask(date(2025, 6, 30))  # June and the second quarter over: missed if not held
    ask(date(2025, 6, 29), asked=Areas(["330000"]))
    assert (built.cache_info().misses, built.cache_info().hits) == (3, 2)


def test_R10_themed_day_tallies_take_an_organisations_rows_area_by_area(
    container: Container, ctx: CommandContext
) -> None:
    """The report's counted themed days (``compliance_tallies_by_area``) count each organisation in
    the areas of its rows, each area with the months of the rows it holds, as the lists do. No event
    moves an organisation today (its rows in a year share one region code), so the read rows are
    edited here: the market's row closed on 1 April and continued in 330411 from then on, and the
    counts (family ``R``, worked out per prefix) counted again from the edited rows."""
    w = world(container, ctx)
    for day in (date(2025, 1, 20), date(2025, 2, 20), date(2025, 3, 20), date(2025, 5, 20)):
        hold(container, ctx, w.market, day, ActivityType.THEMED_PARTY_DAY, [w.local])
    container.runner.catch_up()
    known = container.runner.head()
    moved_on = date(2025, 4, 1)
    with container.engine.begin() as conn:
        row = conn.execute(select(O).where(O.c.subject_id == w.market, O.c.known_to.is_(None))).one()
        conn.execute(update(O).where(O.c.row_id == row.row_id).values(valid_to=moved_on))
        later = {**row._asdict(), "valid_from": moved_on, "region_code": "330411"}
        del later["row_id"]
        conn.execute(insert(O).values(**later))
        conn.execute(delete(coverage_counts_table))
        assert coverage_counts.fill(conn)
    areas = Areas(["330000", "330400", "330402", "330411"])
    with container.engine.connect() as conn:
        for as_of in (date(2025, 3, 31), date(2025, 5, 31), date(2025, 6, 30)):
            lists = view.compliance_by_area(conn, areas, year=2025, as_of=as_of, known=known)
            for counted in (False, True):  # from the rows, from the counts
                tallies = ActivitiesView(counts=counted).compliance_tallies_by_area(
                    conn, areas, year=2025, as_of=as_of, known=known
                )
                assert tallies == [ComplianceTallies.of(report) for report in lists], (as_of, counted)
            market = [[t.months for t in report.themed_days if t.org_id == w.market] for report in lists]
            if as_of >= moved_on:  # in both counties' areas, each with its own months
                assert market[2][0].held == [1, 2, 3] and market[3][0].held == [5]
                assert not market[2][0].missed
                assert market[3][0].missed == ([4] if as_of.month == 5 else [4, 6])
    assert [t.themed_days.total for t in tallies] == [4, 4, 3, 2]  # the market in 330402 and in 330411


# --- volunteers (R11.3) ---------------------------------------------------------------------------


def test_R11_3_volunteer_share_and_activities_with_a_late_correction(
    container: Container, ctx: CommandContext
) -> None:
    w = world(container, ctx)
    first = hold(container, ctx, w.market, date(2025, 6, 1), ActivityType.VOLUNTEER_SERVICE, [w.mobile])
    hold(container, ctx, w.market, date(2025, 7, 1), ActivityType.VOLUNTEER_SERVICE, [w.mobile])
    hold(container, ctx, w.station, date(2025, 7, 2), ActivityType.VOLUNTEER_SERVICE, [w.sub1])
    container.runner.catch_up()
    cut = container.runner.head()

    def figures(**kwargs: Any) -> dict[UUID, tuple[int, int, int, bool | None, bool]]:
        with container.engine.connect() as conn:
            report = view.volunteers(conn, year=2025, **kwargs)
        return {
            o.org_id: (o.volunteers, o.members, o.activities, o.meets_share, o.meets_activities)
            for o in report.organizations
        }

    now = figures()
    assert now[w.market] == (1, 2, 2, False, True)
    assert now[w.assoc] == (1, 2, 0, False, False)  # sub1 volunteered with the station
    assert now[w.station] == (0, 0, 1, None, False)
    assert figures(as_of=date(2025, 6, 30))[w.market] == (1, 2, 1, False, False)
    assert set(figures(region="330411")) == {w.assoc}

    # November: the June attendance is corrected to add the local member
    container.ledger.correct_activity_attendance(
        ctx, first, effective_on=date(2025, 11, 3), participant_ids=[w.mobile, w.local], reason="签到表核对"
    )
    container.runner.catch_up()
    assert figures(as_of=date(2025, 6, 30))[w.market] == (2, 2, 1, True, False)
    assert figures(as_of=date(2025, 6, 30), known=cut)[w.market] == (1, 2, 1, False, False)
    with container.engine.connect() as conn:
        share = view.volunteers(conn, year=2025, org_id=w.market, known=ALL_KNOWN).organizations[0].share
    assert share == pytest.approx(1.0)


def test_R11_3_volunteer_tallies_meet_the_share_at_exactly_80_percent(
    container: Container, ctx: CommandContext
) -> None:
    """The report's counted volunteers section compares the share in integers in SQL: 4 of 5 members
    meet the 80% share, 3 of 5 do not, as the organisation's own ``meets_share`` says."""
    exact, short = (
        org(container, ctx, OrgKind.MARKET, "330402"),
        org(container, ctx, OrgKind.MARKET, "330411"),
    )
    for home, volunteering in ((exact, 4), (short, 3)):
        members = [
            f.register_member(
                container.ledger, ctx, [home], affiliation=Affiliation.LOCAL, effective_on=JAN_10
            ).id
            for _ in range(5)
        ]
        for day in (date(2025, 3, 1), date(2025, 4, 1)):
            hold(container, ctx, home, day, ActivityType.VOLUNTEER_SERVICE, members[:volunteering])
    container.runner.catch_up()
    areas = Areas(["330000", "330400", "330402", "330411"])
    with container.engine.connect() as conn:
        lists = view.volunteers_by_area(conn, areas, year=2025)
        tallies = view.volunteer_tallies_by_area(conn, areas, year=2025)
    assert {o.org_id: o.meets_share for o in lists[0].organizations} == {exact: True, short: False}
    assert tallies == [VolunteerTallies.of(report) for report in lists]
    assert [(t.organizations, t.meeting_share, t.meeting_activities) for t in tallies] == [
        (2, Tally(2, 1), Tally(2, 2)),
        (2, Tally(2, 1), Tally(2, 2)),
        (1, Tally(1, 1), Tally(1, 1)),
        (1, Tally(1, 0), Tally(1, 1)),
    ]


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_R11_3_the_share_in_integers_is_the_share_as_a_quotient(members: int, data: st.DataObject) -> None:
    volunteers = data.draw(st.integers(min_value=0, max_value=members))
    num, den = Fraction(str(VOLUNTEER_MIN_SHARE)).as_integer_ratio()
    assert (volunteers * den >= members * num) == (volunteers / members >= VOLUNTEER_MIN_SHARE)


# --- the projection -------------------------------------------------------------------------------


def activity_rows(container: Container) -> dict[str, list[tuple[str, ...]]]:
    with container.engine.connect() as conn:
        return {
            table.name: sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(select(*(c for c in table.columns if c.name != "row_id")))
            )
            for table in ActivitiesProjection.tables
        }


def test_rebuild_gives_the_same_rows_as_incremental_updates(
    container: Container, ctx: CommandContext
) -> None:
    ledger, runner = container.ledger, container.runner
    runner.batch_size = 3
    w = world(container, ctx)
    runner.catch_up()
    pairing = pair(container, ctx, [w.station, w.market], date(2025, 2, 1))
    exchange = hold(
        container,
        ctx,
        w.station,
        date(2025, 3, 3),
        ActivityType.PAIRING_EXCHANGE,
        [w.local],
        pairing_id=pairing,
    )
    training = hold(container, ctx, w.market, date(2025, 4, 1), ActivityType.TRAINING, [w.mobile])
    runner.catch_up()
    ledger.correct_activity_attendance(
        ctx, exchange, effective_on=date(2025, 5, 1), participant_ids=[w.local, w.mobile], reason="补签"
    )
    ledger.void_activity(ctx, training, effective_on=date(2025, 5, 2), reason="误录")
    ledger.end_pairing(ctx, pairing, effective_on=date(2025, 9, 1), reason="到期")
    runner.catch_up()
    incremental = activity_rows(container)
    # the void closed the training's rows; the correction added a participant row to the exchange
    known_to = {row[0]: row[4] for row in incremental["activities_held"]}
    assert known_to[str(exchange)] == "None" and known_to[str(training)] != "None"
    assert (
        len(incremental["activities_participants"]) == 3
    )  # exchange: local, mobile (added); training (closed)
    runner.batch_size = 1000
    runner.rebuild(["activities"])
    assert activity_rows(container) == incremental

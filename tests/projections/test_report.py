"""The half-year report (R3) computes each section for all its areas at once (issue #6, P4); it must
give, area by area, exactly what the single-region views give for that area alone."""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.generate import generate
from domain.envelope import CommandContext
from domain.market_standardisation import standardisation_id_for
from domain.values import ActivityType, EntityKind, FocusIndustry, MarketScope, OrgKind
from infra.store import Container
from projections.coverage import Areas
from projections.report import SECTIONS, _plain, child_regions, half_year_report
from projections.temporal import ALL_KNOWN
from tests import factories as f
from tests.conftest import TODAY
from tests.projections import test_members, test_mobile_chain
from tests.projections.test_activities import hold, pair, world
from tests.projections.test_stars import BUREAU, award_strongest, meet_all, pioneer_round, rate


def _assert_same(
    conn: object, regions: tuple[str, ...], days: tuple[date, ...], positions: tuple[int, ...]
) -> None:
    for region in regions:
        for as_of in days:
            for known in positions:
                for organizations in (False, True):
                    _assert_same_report(conn, region, as_of, known, organizations)
                _assert_summaries_count_the_lists(conn, region, as_of, known)


def _assert_same_report(conn: object, region: str, as_of: date, known: int, organizations: bool) -> None:
    grouped = half_year_report(conn, region, as_of, known, organizations=organizations)  # type: ignore[arg-type]
    expected = _one_by_one(conn, region, as_of, known, organizations)
    assert [a["region"] for a in grouped] == [a["region"] for a in expected]
    for got, want in zip(grouped, expected, strict=True):
        for section in SECTIONS:
            assert got[section] == want[section], (region, as_of, known, got["region"], section)
    assert json.dumps(grouped, sort_keys=True) == json.dumps(expected, sort_keys=True)


def _one_by_one(
    conn: object, region: str, as_of: date, known: int, organizations: bool
) -> list[dict[str, object]]:
    """The report as it was computed before issue #6 P4: every section, area by area."""
    codes = [region, *child_regions(conn, region, as_of, known)]  # type: ignore[arg-type]
    return [
        {
            "region": code,
            **{name: _plain(s(conn, code, as_of, known, organizations)) for name, s in SECTIONS.items()},  # type: ignore[arg-type]
        }
        for code in codes
    ]


def _assert_summaries_count_the_lists(conn: object, region: str, as_of: date, known: int) -> None:
    """R3: the default report counts what the lists of organisations show, line by line; the
    sections without lists are the same in both."""
    summary = half_year_report(conn, region, as_of, known)  # type: ignore[arg-type]
    full = half_year_report(conn, region, as_of, known, organizations=True)  # type: ignore[arg-type]
    for short, long in zip(summary, full, strict=True):
        for section in ("coverage", "stars", "mobile_chain", "training"):
            assert short[section] == long[section]
        members = dict(long["members"])
        assert members.pop("by_home_organization") is not None and short["members"] == members
        compliance = long["compliance"]
        for name, periods in (("themed_days", "months"), ("exchanges", "quarters"), ("visits", "months")):
            lines = compliance[name]
            compliant = sum(1 for line in lines if not line[periods]["missed"])
            assert short["compliance"][name] == {
                "total": len(lines),
                "compliant": compliant,
                "not_compliant": len(lines) - compliant,
                "compliance_rate": compliant / len(lines) if lines else None,
            }, (region, as_of, known, name)
        organizations = long["volunteers"]["organizations"]
        with_members = [o for o in organizations if o["members"]]
        volunteers = short["volunteers"]
        assert volunteers["organizations"] == len(organizations)
        assert volunteers["meeting_share"]["total"] == len(with_members)
        assert volunteers["meeting_share"]["compliant"] == sum(1 for o in with_members if o["meets_share"])
        assert volunteers["meeting_activities"]["compliant"] == sum(
            1 for o in organizations if o["meets_activities"]
        )


def test_P4_the_grouped_report_equals_the_single_region_sections(
    container: Container, ctx: CommandContext
) -> None:
    ledger = container.ledger
    ledger.today = lambda: date(2026, 12, 31)  # the synthetic province runs to mid-2026
    generate(ledger, 0.00001, seed=7)  # a small province: every section has figures
    # Areas the grouping must get right: an entity and an organisation coded with the province's own
    # code, a city with entities but no organisation (no child area; counted in the province only),
    # an organisation at city level beside its counties.
    f.register_entity(ledger, ctx, region_code="330000", effective_on=date(2024, 3, 1))
    f.register_entity(ledger, ctx, region_code="330200", effective_on=date(2024, 3, 1))
    top = f.establish(ledger, ctx, [], name="省级分会", region_code="330000", effective_on=date(2024, 3, 1))
    city = f.establish(ledger, ctx, [], name="市级分会", region_code="330100", effective_on=date(2025, 2, 1))
    f.register_member(ledger, ctx, [top], effective_on=date(2024, 4, 1), name="省级党员")
    f.register_member(ledger, ctx, [city], effective_on=date(2025, 3, 1), name="市级党员")
    container.runner.catch_up()
    head = container.runner.head()

    days = (date(2024, 6, 30), date(2025, 12, 31), date(2026, 6, 30))
    with container.engine.connect() as conn:
        _assert_same(conn, ("330000", "330100", "330101", "330200"), days, (head // 2, ALL_KNOWN))
        province = half_year_report(conn, "330000", date(2026, 6, 30), ALL_KNOWN)
    assert [a["region"] for a in province] == ["330000", "330100"]
    parent, child = (a["coverage"]["entities"]["operating"] for a in province)
    assert parent >= child + 2  # the entities coded 330000 and 330200 count in the province only


def test_P4_every_section_of_the_grouped_report_equals_the_single_region_one(
    container: Container, ctx: CommandContext
) -> None:
    """The figures the synthetic province lacks: leavers and flags (R13.6, R5.2, R5.3), mobile rounds
    (R6), pioneer rounds, strongest branches, station stars, 薪火 and markets (R5, R11.2, R9, R4),
    pairings, exchanges and visits (R10), in two cities and their counties."""
    ledger = container.ledger
    test_members.build_history(container, ctx)
    chain = test_mobile_chain.build_history(container, ctx)
    test_mobile_chain.advance(container, ctx, chain["registered"], 2, date(2025, 5, 1))
    w = world(container, ctx)
    first = container.runner.head()
    station_market = pair(container, ctx, [w.station, w.market], date(2025, 2, 1))
    agency_market = pair(container, ctx, [w.agency, w.market], date(2025, 2, 1))
    for day in (date(2025, 2, 10), date(2025, 7, 1)):
        hold(container, ctx, w.agency, day, ActivityType.PAIRING_EXCHANGE, [], pairing_id=agency_market)
    for day in (date(2025, 2, 3), date(2025, 5, 5)):
        hold(container, ctx, w.station, day, ActivityType.STATION_VISIT, [], visited_org_id=w.market)
    for day in (date(2025, 3, 1), date(2025, 6, 1)):
        hold(container, ctx, w.assoc, day, ActivityType.TRAINING, [w.sub1, w.mobile, w.local])
        hold(container, ctx, w.market, day, ActivityType.VOLUNTEER_SERVICE, [w.local])
        hold(container, ctx, w.assoc, day, ActivityType.THEMED_PARTY_DAY, [w.sub1])
    ledger.end_pairing(ctx, station_market, effective_on=date(2025, 6, 15), reason="企业迁出")
    # stars: in Jiaxing (330402) and Hangzhou (330102)
    branch = f.establish(ledger, ctx, [], name="所支部", kind=OrgKind.STATION_BRANCH, region_code="330102")
    ledger.award_station_star(
        ctx, effective_on=date(2025, 6, 1), org_id=branch, level=5, awarding_body=BUREAU
    )
    f.establish(ledger, ctx, [], name="另一所支部", kind=OrgKind.STATION_BRANCH)
    award_strongest(ledger, ctx, w.agency)
    for org_id in (w.assoc, branch):
        members = [f.register_member(ledger, ctx, [org_id]).id for _ in range(2)]
        round_id = pioneer_round(ledger, ctx, org_id, members)
        rate(ledger, ctx, round_id, members[0], 2)
    market = f.register_entity(ledger, ctx)
    shop = f.register_entity(ledger, ctx, kind=EntityKind.INDIVIDUAL_BUSINESS, region_code="330106")
    covering = f.establish(ledger, ctx, [market], name="市场支部")
    owner = f.register_member(ledger, ctx, [covering], entity_id=shop).id
    on = date(2025, 7, 1)
    ledger.award_xinhuo_demonstration(
        ctx,
        effective_on=on,
        awarding_body=BUREAU,
        org_id=covering,
        focus_industry=FocusIndustry.FARMERS_MARKETS,
    )
    ledger.award_xinhuo_demonstration(
        ctx, effective_on=on, awarding_body=BUREAU, member_id=owner, entity_id=shop
    )
    professional = f.register_entity(ledger, ctx, kind=EntityKind.PROFESSIONAL_MARKET, region_code="330102")
    ledger.enroll_market_standardisation(
        ctx, effective_on=f.DAY, entity_id=market, scope=MarketScope.COUNTY_CENTRAL_FARMERS
    )
    ledger.enroll_market_standardisation(
        ctx, effective_on=f.DAY, entity_id=professional, scope=MarketScope.PROVINCIAL_KEY
    )
    meet_all(ledger, ctx, standardisation_id_for(market), date(2025, 8, 1))
    container.runner.catch_up()
    head = container.runner.head()

    regions = ("330000", "330400", "330100", "330402", "330411")
    days = (date(2025, 6, 30), date(2025, 8, 15), TODAY)
    with container.engine.connect() as conn:
        _assert_same(conn, regions, days, (first, (first + head) // 2, ALL_KNOWN))
        (province, *cities) = half_year_report(conn, "330000", TODAY, ALL_KNOWN)
    assert [c["region"] for c in cities] == ["330100", "330400"]
    assert province["members"]["left_by_reason"]
    compliance = province["compliance"]
    assert compliance["visits"]["total"] == 1 and compliance["exchanges"]["total"] == 2  # R10
    assert province["stars"]["pioneer"]["enrolled"] == 4 and province["stars"]["xinhuo"]["total"] == 2
    assert province["stars"]["markets"]["total"]["enrolled"] == 2
    assert province["mobile_chain"]["totals"]["rounds"] == 3


def test_P4_areas_take_the_rows_of_their_prefix() -> None:
    areas = Areas(["330000", "330100", "330102"])
    assert areas.prefixes == ("33", "3301", "330102")
    assert areas.of("330102") == (0, 1, 2)
    assert areas.of("330100") == (0, 1)
    assert areas.of("330000") == (0,)
    assert areas.of("340100") == ()
    assert areas.of(None) == ()
    unfiltered = Areas([None, "330100"])
    assert unfiltered.of(None) == (0,) and unfiltered.of("330101") == (0, 1)
    assert unfiltered.condition(object()) == []


@pytest.mark.parametrize("codes", [["330000", "330100"], ["330100", "340100"]])
def test_P4_areas_select_the_outermost_prefixes(codes: list[str]) -> None:
    from projections.tables import coverage_organizations as O

    (condition,) = Areas(codes).condition(O.c.region_code)
    sql = str(condition.compile(compile_kwargs={"literal_binds": True}))
    assert sql.count("LIKE") == (1 if codes[0] == "330000" else 2)


@given(st.lists(st.uuids(), max_size=50))
def test_organisations_sorted_by_uuid_come_in_the_order_of_their_text(ids: list[UUID]) -> None:
    """The report's lists break ties by organisation id as text; they sort by the UUID itself, which
    orders as its text (issue #6, P4: no string made per organisation for the sort)."""
    assert sorted(ids) == sorted(ids, key=str)


def test_R3_child_regions_are_those_holding_an_organisation_on_the_date(
    container: Container, ctx: CommandContext
) -> None:
    """The report's areas (R3): the region, then each region one level below it with an organisation
    on the date as known at the position, found by one probe per child region (issue #6, P4)."""
    ledger = container.ledger
    f.establish(ledger, ctx, [], region_code="330000", effective_on=date(2020, 1, 1))  # the province's own
    f.establish(ledger, ctx, [], region_code="330402", effective_on=date(2020, 1, 1))
    f.establish(ledger, ctx, [], region_code="330411", effective_on=date(2022, 1, 1))
    gone = f.establish(ledger, ctx, [], region_code="330102", effective_on=date(2020, 1, 1))
    ledger.dissolve_organization(ctx, gone, effective_on=date(2021, 1, 1), reason="撤销")
    container.runner.catch_up()
    known = container.runner.head()
    f.establish(ledger, ctx, [], region_code="331002", effective_on=date(2020, 1, 1))  # recorded later
    container.runner.catch_up()
    with container.engine.connect() as conn:

        def children(region: str, as_of: date, position: int = ALL_KNOWN) -> list[str]:
            return child_regions(conn, region, as_of, position)  # type: ignore[arg-type]

        assert children("330000", date(2019, 12, 31)) == []
        # a dissolved organisation keeps its row: its region still holds an organisation
        assert children("330000", date(2021, 6, 30)) == ["330100", "330400", "331000"]
        assert children("330000", date(2021, 6, 30), known) == ["330100", "330400"]
        assert children("330400", date(2021, 6, 30)) == ["330402"]
        assert children("330400", date(2022, 6, 30)) == ["330402", "330411"]
        assert children("330402", date(2022, 6, 30)) == []

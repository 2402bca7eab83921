"""The stars projection (issue #4 item 1): pioneer index (R5), strongest-branch share (R11.2), station
stars (R9.1), 薪火 (R9.2) and standardised markets (R4), as of a date and as known at a position."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, select

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.market_standardisation import standardisation_id_for
from domain.station_star import station_star_id_for
from domain.targets import FIVE_STAR_STATIONS_TARGET, XINHUO_TARGETS
from domain.values import (
    EntityKind,
    EntityStatus,
    EvaluationKind,
    FocusIndustry,
    MarketScope,
    MemberCategory,
    OrgKind,
    OrgRating,
    PioneerStep,
    RatingLevel,
    SocialResult,
    StandardisationCriterion,
)
from domain.xinhuo import organization_demonstration_id
from infra.store import Container
from projections.stars import StarsProjection, StarsReport, StarsView, strongest_branch_target
from tests import factories as f

YEAR = 2025
NOW = date(2025, 11, 20)
BUREAU = "嘉兴市市场监督管理局"
VIEW = StarsView()


def report(container: Container, **kwargs: Any) -> StarsReport:
    kwargs.setdefault("year", YEAR)
    kwargs.setdefault("as_of", NOW)
    with container.engine.connect() as conn:
        return VIEW.report(conn, **kwargs)


# --- histories -------------------------------------------------------------------------------------

STEP_DAYS = [date(2025, 10, 10), date(2025, 10, 20), date(2025, 11, 1), date(2025, 11, 10)]
RATED = date(2025, 11, 16)


def pioneer_round(ledger: Ledger, ctx: CommandContext, org_id: UUID, members: list[UUID]) -> UUID:
    round_id = ledger.open_pioneer_round(
        ctx, effective_on=date(2025, 10, 1), org_id=org_id, year=YEAR, round_date=date(2025, 11, 15)
    ).id
    for member_id in members:
        ledger.enrol_pioneer_member(ctx, round_id, effective_on=date(2025, 10, 1), member_id=member_id)
    return round_id


def rate(
    ledger: Ledger, ctx: CommandContext, round_id: UUID, member_id: UUID, stars: int, excellent: bool = False
) -> None:
    for step, day in zip(PioneerStep, STEP_DAYS, strict=True):
        ledger.record_pioneer_step(ctx, round_id, effective_on=day, member_id=member_id, step=step)
    ledger.rate_pioneer_member(
        ctx, round_id, effective_on=RATED, member_id=member_id, stars=stars, excellent=excellent
    )


def award_strongest(
    ledger: Ledger, ctx: CommandContext, org_id: UUID, on: date = date(2025, 11, 15), end: int = 2027
) -> UUID:
    """A branch through self-creation, the four evaluations and the agency committee, awarded."""
    rating_id = ledger.start_strongest_branch_rating(ctx, effective_on=f.DAY, org_id=org_id, year=YEAR).id

    def evaluate(kind: EvaluationKind, **fields: Any) -> None:
        ledger.record_strongest_branch_evaluation(ctx, rating_id, effective_on=on, kind=kind, **fields)

    evaluate(EvaluationKind.ORGANIZATION, rating=OrgRating.EXCELLENT)
    evaluate(EvaluationKind.MEMBERS, participants=20, excellent=19)
    evaluate(EvaluationKind.MASS, respondents=50, dissatisfied=1, verified=False)
    evaluate(EvaluationKind.SOCIAL, result=SocialResult.CLEAN)
    agency = RatingLevel.AGENCY_COMMITTEE
    ledger.apply_strongest_branch(ctx, rating_id, effective_on=on, level=agency, to_body="机关党委")
    ledger.decide_strongest_branch(ctx, rating_id, effective_on=on, level=agency, passed=True)
    ledger.award_strongest_branch(ctx, rating_id, effective_on=on, start_year=2026, end_year=end)
    return rating_id


def meet_all(ledger: Ledger, ctx: CommandContext, record_id: UUID, on: date) -> None:
    for criterion in StandardisationCriterion:
        extra: dict[str, Any] = {}
        if criterion == StandardisationCriterion.EDUCATION:
            extra["training_dates"] = [date(2025, 3, 3), date(2025, 6, 6)]
        if criterion == StandardisationCriterion.GUARANTEES:
            extra["party_affairs_workers"] = 2
        ledger.record_market_criterion_met(
            ctx,
            record_id,
            effective_on=on,
            criterion=criterion,
            evidence="台账齐全",
            evidence_on=on,
            **extra,
        )


# --- 1. pioneer index (R5) -----------------------------------------------------------------------


def test_R5_pioneer_distribution_by_standing_and_stars(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    org = f.establish(ledger, ctx, [], name="南湖分会")
    other = f.establish(ledger, ctx, [], name="上城分会", region_code="330102")
    five, two, three = (f.register_member(ledger, ctx, [org]).id for _ in range(3))
    probationary = f.register_member(
        ledger, ctx, [org], category=MemberCategory.PROBATIONARY, admitted_on=f.DAY
    ).id
    vetoed = f.register_member(ledger, ctx, [org]).id
    ledger.record_policy_violation(ctx, vetoed, effective_on=date(2025, 5, 5), description="违反计划生育政策")
    elsewhere = f.register_member(ledger, ctx, [other]).id
    round_id = pioneer_round(ledger, ctx, org, [five, two, three, probationary, vetoed])
    rate(ledger, ctx, round_id, five, 5, excellent=True)
    rate(ledger, ctx, round_id, two, 2)
    other_round = pioneer_round(ledger, ctx, other, [elsewhere])
    rate(ledger, ctx, other_round, elsewhere, 4)
    container.runner.catch_up()

    city = report(container, region="330400").pioneer
    assert (city.rounds, city.rounds_closed, city.enrolled) == (1, 0, 5)
    assert (city.eligible, city.excluded, city.vetoed) == (3, 1, 1)
    assert city.by_stars == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert (city.rated, city.excellent, city.awaiting_result, city.follow_ups_pending) == (2, 1, 1, 1)
    # before the results: enrolled, nobody rated yet
    october = report(container, region="330400", as_of=date(2025, 10, 31)).pioneer
    assert (october.enrolled, october.rated, october.awaiting_result) == (5, 0, 3)
    province = report(container, region="330000").pioneer
    assert (province.enrolled, province.by_stars[4]) == (6, 1)
    assert report(container, org_id=other).pioneer.enrolled == 1
    assert report(container, year=2024).pioneer.enrolled == 0

    # the follow-ups of the 2-star member, then the round closes
    ledger.record_pioneer_talk(ctx, round_id, effective_on=NOW, member_id=two, talked_by="支部书记")
    ledger.record_pioneer_support_pairing(ctx, round_id, effective_on=NOW, member_id=two, partner="王五")
    ledger.close_pioneer_round(ctx, round_id, effective_on=NOW)
    container.runner.catch_up()
    closed = report(container, region="330400").pioneer
    assert (closed.rounds_closed, closed.follow_ups_pending) == (1, 0)


# --- 2. strongest branch (R11.2) -------------------------------------------------------------------


def test_R11_2_strongest_branch_share_against_the_target(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    committee = f.establish(ledger, ctx, [], name="市局机关党委", kind=OrgKind.AGENCY_BRANCH)
    branches = [
        f.establish(ledger, ctx, [], name=f"机关第{i}党支部", kind=OrgKind.AGENCY_BRANCH, parent_id=committee)
        for i in range(3)
    ]
    f.establish(ledger, ctx, [], name="城西所党支部", kind=OrgKind.STATION_BRANCH)
    f.establish(ledger, ctx, [], name="某市场党支部")  # a branch association: not in the denominator
    gone = f.establish(ledger, ctx, [], name="已撤销党支部", kind=OrgKind.AGENCY_BRANCH)
    ledger.dissolve_organization(ctx, gone, effective_on=f.DAY, reason="机构改革")
    rating_id = award_strongest(ledger, ctx, branches[0])
    ledger.start_strongest_branch_rating(ctx, effective_on=f.DAY, org_id=branches[1], year=YEAR)
    container.runner.catch_up()

    figures = report(container, region="330400").strongest_branch
    assert (figures.branches, figures.awarded) == (5, 1)  # committee, 3 branches, the station branch
    assert figures.share == pytest.approx(1 / 5)
    assert (figures.target_share, figures.target_year, figures.meets_target) == (0.50, 2023, False)
    assert figures.ratings_by_stage == {"awarded": 1, "creating": 1}
    # before the award (15 November) nobody is counted
    assert report(container, as_of=date(2025, 11, 14)).strongest_branch.awarded == 0
    # the award runs through its term, not before its rating year
    assert report(container, year=2027, as_of=date(2027, 1, 1)).strongest_branch.awarded == 1
    assert report(container, year=2028, as_of=date(2028, 1, 1)).strongest_branch.awarded == 0
    assert strongest_branch_target(2021) == (0.30, 2021)
    assert strongest_branch_target(2019) == (None, None)
    # narrowed to the committee: itself and its three branches
    under = report(container, org_id=committee).strongest_branch
    assert (under.branches, under.awarded) == (4, 1)
    assert under.meets_target is False

    ledger.revoke_strongest_branch(ctx, rating_id, effective_on=NOW, reason="出现重大负面舆情")
    container.runner.catch_up()
    assert report(container).strongest_branch.awarded == 0
    assert report(container, as_of=date(2025, 11, 19)).strongest_branch.awarded == 1


# --- 3. station stars (R9.1) -------------------------------------------------------------------------


def test_R9_1_station_stars_against_the_targets(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    stations = [
        f.establish(ledger, ctx, [], name=f"第{i}所党支部", kind=OrgKind.STATION_BRANCH) for i in range(3)
    ]
    f.establish(ledger, ctx, [], name="杭州所党支部", kind=OrgKind.STATION_BRANCH, region_code="330106")
    on = date(2025, 6, 1)
    for org_id, level in zip(stations[:2], (5, 3), strict=True):
        ledger.award_station_star(ctx, effective_on=on, org_id=org_id, level=level, awarding_body=BUREAU)
    ledger.raise_station_star(
        ctx, station_star_id_for(stations[1]), effective_on=date(2025, 9, 1), level=4, awarding_body="省局"
    )
    container.runner.catch_up()

    figures = report(container, region="330400").station_stars
    assert (figures.stations, figures.starred, figures.unstarred, figures.five_star) == (3, 2, 1, 1)
    assert figures.by_level == {3: 0, 4: 1, 5: 1}
    assert figures.three_plus_share == pytest.approx(2 / 3)
    assert (figures.five_star_target, figures.three_plus_target_share) == (FIVE_STAR_STATIONS_TARGET, 1.0)
    assert report(container, region="330400", as_of=date(2025, 8, 1)).station_stars.by_level[3] == 1
    assert report(container, region="330400", as_of=date(2025, 5, 1)).station_stars.starred == 0
    assert report(container, org_id=stations[0]).station_stars.five_star == 1
    assert report(container, region="330000").station_stars.stations == 4

    ledger.revoke_station_star(ctx, station_star_id_for(stations[0]), effective_on=NOW, reason="复评未达标")
    container.runner.catch_up()
    assert report(container, region="330400").station_stars.five_star == 0


def test_R3_a_late_star_is_absent_as_known_before_its_entry(
    container: Container, ctx: CommandContext
) -> None:
    ledger, runner = container.ledger, container.runner
    station = f.establish(ledger, ctx, [], name="城南所党支部", kind=OrgKind.STATION_BRANCH)
    runner.catch_up()
    cut = runner.head()  # the half-year report filed in July is "as known" here

    # entered in August, effective in May (补录)
    ledger.award_station_star(
        ctx, effective_on=date(2025, 5, 20), org_id=station, level=5, awarding_body=BUREAU
    )
    runner.catch_up()
    june_30 = date(2025, 6, 30)
    assert report(container, as_of=june_30, known=cut).station_stars.five_star == 0
    assert report(container, as_of=june_30).station_stars.five_star == 1
    assert report(container, as_of=date(2025, 5, 19)).station_stars.five_star == 0


# --- 4. 薪火 (R9.2) ---------------------------------------------------------------------------------


def test_R9_2_xinhuo_counts_against_the_targets(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    market = f.register_entity(ledger, ctx)
    org = f.establish(ledger, ctx, [market])
    shop = f.register_entity(ledger, ctx, kind=EntityKind.INDIVIDUAL_BUSINESS, region_code="330411")
    micro = f.register_entity(ledger, ctx, kind=EntityKind.MICRO_ENTERPRISE, region_code="330106")
    owner = f.register_member(ledger, ctx, [org], entity_id=shop).id
    boss = f.register_member(ledger, ctx, [org], entity_id=micro).id
    on = date(2025, 7, 1)
    ledger.award_xinhuo_demonstration(
        ctx, effective_on=on, awarding_body=BUREAU, org_id=org, focus_industry=FocusIndustry.FARMERS_MARKETS
    )
    for member_id, entity_id in ((owner, shop), (boss, micro)):
        ledger.award_xinhuo_demonstration(
            ctx, effective_on=on, awarding_body=BUREAU, member_id=member_id, entity_id=entity_id
        )
    container.runner.catch_up()

    figures = report(container, region="330400").xinhuo
    counts = {k: (v.count, v.target) for k, v in figures.by_category.items()}
    assert counts == {
        "organization": (1, XINHUO_TARGETS["organization"]),
        "household_micro_internet": (0, 1_000),
        "household_market_individual": (1, 10_000),
    }
    assert figures.by_focus_industry == {"farmers_markets": 1}
    assert figures.by_category["organization"].share_of_target == pytest.approx(1 / 100)
    assert report(container, region="330000").xinhuo.total == 3
    assert report(container, region="330400", as_of=date(2025, 6, 30)).xinhuo.total == 0
    # narrowed to the organisation: itself; the households' entities are not covered by it
    assert report(container, org_id=org).xinhuo.total == 1

    ledger.revoke_xinhuo_demonstration(
        ctx, organization_demonstration_id(org), effective_on=NOW, reason="示范作用不明显"
    )
    container.runner.catch_up()
    assert report(container, region="330400").xinhuo.by_category["organization"].count == 0


# --- 5. standardised markets (R4) -----------------------------------------------------------------


def test_R4_markets_enrolled_and_standardised(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    farmers = f.register_entity(ledger, ctx)
    professional = f.register_entity(ledger, ctx, kind=EntityKind.PROFESSIONAL_MARKET)
    closed = f.register_entity(ledger, ctx, kind=EntityKind.COMMODITY_MARKET)
    org = f.establish(ledger, ctx, [farmers])
    enrol = ledger.enroll_market_standardisation
    enrol(ctx, effective_on=f.DAY, entity_id=farmers, scope=MarketScope.COUNTY_CENTRAL_FARMERS)
    enrol(ctx, effective_on=f.DAY, entity_id=professional, scope=MarketScope.PROVINCIAL_KEY)
    enrol(ctx, effective_on=f.DAY, entity_id=closed, scope=MarketScope.REGIONAL_KEY)
    meet_all(ledger, ctx, standardisation_id_for(farmers), date(2025, 8, 1))
    ledger.change_entity_status(ctx, closed, effective_on=date(2025, 9, 1), status=EntityStatus.DEREGISTERED)
    container.runner.catch_up()

    figures = report(container, region="330400").markets
    assert (figures.total.enrolled, figures.total.standardised) == (2, 1)
    assert figures.total.standardised_share == pytest.approx(1 / 2)
    assert {k: (g.enrolled, g.standardised) for k, g in figures.by_kind.items()} == {
        "farmers_market": (1, 1),
        "professional_market": (1, 0),
    }
    assert figures.by_scope["county_central_farmers"].standardised == 1
    assert set(figures.criteria_met.values()) == {1}
    august = report(container, region="330400", as_of=date(2025, 8, 15)).markets
    assert (august.total.enrolled, august.total.standardised) == (3, 1)
    assert report(container, as_of=date(2025, 7, 31)).markets.total.standardised == 0
    assert report(container, org_id=org).markets.total.enrolled == 1

    ledger.record_market_criterion_lapsed(
        ctx,
        standardisation_id_for(farmers),
        effective_on=date(2025, 10, 1),
        criterion=StandardisationCriterion.EDUCATION,
        reason="培训不足",
    )
    container.runner.catch_up()
    now = report(container).markets
    assert (now.total.standardised, now.criteria_met["education"]) == (0, 0)
    assert report(container, as_of=date(2025, 9, 30)).markets.total.standardised == 1


# --- the projection ---------------------------------------------------------------------------------


def stars_rows(conn: Connection) -> dict[str, list[tuple[str, ...]]]:
    return {
        table.name: sorted(
            tuple(str(v) for v in row)
            for row in conn.execute(select(*(c for c in table.columns if c.name != "row_id")))
        )
        for table in StarsProjection.tables
    }


def test_rebuild_gives_the_same_rows_as_incremental_updates(
    container: Container, ctx: CommandContext
) -> None:
    ledger, runner = container.ledger, container.runner
    runner.batch_size = 3
    station = f.establish(ledger, ctx, [], name="城东所党支部", kind=OrgKind.STATION_BRANCH)
    runner.catch_up()
    ledger.award_station_star(
        ctx, effective_on=date(2025, 4, 1), org_id=station, level=3, awarding_body=BUREAU
    )
    award_strongest(ledger, ctx, station)
    runner.catch_up()
    ledger.raise_station_star(
        ctx, station_star_id_for(station), effective_on=date(2025, 2, 1), level=5, awarding_body="省局"
    )  # dated before the record opened: it takes effect on the opening date
    market = f.register_entity(ledger, ctx)
    ledger.enroll_market_standardisation(
        ctx, effective_on=f.DAY, entity_id=market, scope=MarketScope.COUNTY_CENTRAL_FARMERS
    )
    meet_all(ledger, ctx, standardisation_id_for(market), date(2025, 8, 1))
    runner.catch_up()
    with container.engine.connect() as conn:
        incremental = stars_rows(conn)
        assert VIEW.report(conn, year=YEAR, as_of=NOW).strongest_branch.awarded == 1
    runner.batch_size = 1000
    runner.rebuild(["stars"])
    with container.engine.connect() as conn:
        assert stars_rows(conn) == incremental

"""Star stations (R9.1), 薪火 demonstrations (R9.2, R9.3) and market standardisation (六化, R4)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.market_standardisation import MarketStandardisation, standardisation_id_for
from domain.station_star import StationStar, station_star_id_for
from domain.targets import FIVE_STAR_STATIONS_TARGET, STATIONS_TOTAL, XINHUO_TARGETS
from domain.values import (
    EntityKind,
    EntityStatus,
    FocusIndustry,
    MarketScope,
    OrgKind,
    StandardisationCriterion,
    XinhuoCategory,
)
from domain.xinhuo import XinhuoDemonstration, household_demonstration_id, organization_demonstration_id
from tests.domain.helpers import events_after, position, rejected, replay, state
from tests.factories import DAY, establish, register_entity, register_member

ON = date(2025, 10, 8)
BUREAU = "杭州市市场监督管理局"
C = StandardisationCriterion


def station(ledger: Ledger, ctx: CommandContext) -> UUID:
    return establish(ledger, ctx, name="城西市场监管所党支部", kind=OrgKind.STATION_BRANCH)


def award_star(ledger: Ledger, ctx: CommandContext, org_id: UUID, level: int = 3) -> UUID:
    return ledger.award_station_star(
        ctx, effective_on=ON, org_id=org_id, level=level, awarding_body=BUREAU
    ).id


# --- R9.1: star stations ---------------------------------------------------------------------------


def test_R9_1_stars_are_awarded_to_a_station_branch(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = station(memory_ledger, ctx)
    before = position(memory_ledger)
    star_id = award_star(memory_ledger, ctx, org_id, 4)
    assert star_id == station_star_id_for(org_id)
    assert [type(e) for e in events_after(memory_ledger, before)] == [
        StationStar.Opened,
        StationStar.StarAwarded,
    ]
    star = memory_ledger.get_station_star(star_id)
    assert (star.org_id, star.level, star.awarded_on, star.awarding_body) == (org_id, 4, ON, BUREAU)
    assert star.starred is True
    assert state(replay(memory_ledger, star_id)) == state(star)


def test_R9_1_only_a_station_branch_gets_stars(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx, kind=OrgKind.AGENCY_BRANCH)
    with rejected(memory_ledger, errors.StationBranchRequired, rule="R9.1", field="org_id"):
        award_star(memory_ledger, ctx, org_id)


@pytest.mark.parametrize("level", [0, 1, 2, 6])
def test_R9_1_a_station_has_three_to_five_stars(
    memory_ledger: Ledger, ctx: CommandContext, level: int
) -> None:
    org_id = station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.InvalidStarLevel, rule="R9.1", field="level"):
        award_star(memory_ledger, ctx, org_id, level)


def test_R9_1_a_starred_station_is_raised_not_awarded_again(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = station(memory_ledger, ctx)
    award_star(memory_ledger, ctx, org_id, 3)
    with rejected(memory_ledger, errors.StationAlreadyStarred, rule="R9.1", field="org_id"):
        award_star(memory_ledger, ctx, org_id, 5)


def test_R9_1_stars_are_raised_only_upward(memory_ledger: Ledger, ctx: CommandContext) -> None:
    star_id = award_star(memory_ledger, ctx, station(memory_ledger, ctx), 4)
    for level in (3, 4):
        with rejected(memory_ledger, errors.StarLevelMayOnlyRise, rule="R9.1", field="level"):
            memory_ledger.raise_station_star(ctx, star_id, effective_on=ON, level=level, awarding_body=BUREAU)
    with rejected(memory_ledger, errors.InvalidStarLevel, rule="R9.1", field="level"):
        memory_ledger.raise_station_star(ctx, star_id, effective_on=ON, level=6, awarding_body=BUREAU)
    before = position(memory_ledger)
    memory_ledger.raise_station_star(
        ctx, star_id, effective_on=DAY.replace(month=11), level=5, awarding_body="省局"
    )
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, StationStar.StarRaised) and (event.from_level, event.to_level) == (4, 5)
    star = memory_ledger.get_station_star(star_id)
    assert (star.level, star.awarding_body) == (5, "省局")


def test_R9_1_lowering_is_revocation_then_award(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = station(memory_ledger, ctx)
    star_id = award_star(memory_ledger, ctx, org_id, 5)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.revoke_station_star(ctx, star_id, effective_on=ON, reason="")
    memory_ledger.revoke_station_star(ctx, star_id, effective_on=ON, reason="复评未达五星标准")
    star = memory_ledger.get_station_star(star_id)
    assert (star.level, star.revocation_reason) == (None, "复评未达五星标准")
    with rejected(memory_ledger, errors.StationNotStarred, rule="R9.1", field=None):
        memory_ledger.revoke_station_star(ctx, star_id, effective_on=ON, reason="again")
    with rejected(memory_ledger, errors.StationNotStarred, rule="R9.1", field=None):
        memory_ledger.raise_station_star(ctx, star_id, effective_on=ON, level=5, awarding_body=BUREAU)
    assert award_star(memory_ledger, ctx, org_id, 4) == star_id
    star = memory_ledger.get_station_star(star_id)
    assert (star.level, star.revocation_reason) == (4, None)
    assert state(replay(memory_ledger, star_id)) == state(star)


# --- R9.2, R9.3: 薪火 demonstrations ---------------------------------------------------------------


def household(ledger: Ledger, ctx: CommandContext, kind: EntityKind) -> tuple[UUID, UUID]:
    entity_id = register_entity(ledger, ctx, kind=kind)
    org_id = establish(ledger, ctx)
    member_id = register_member(ledger, ctx, [org_id], entity_id=entity_id).id
    return member_id, entity_id


def award_xinhuo(ledger: Ledger, ctx: CommandContext, **subject: Any) -> UUID:
    return ledger.award_xinhuo_demonstration(ctx, effective_on=ON, awarding_body=BUREAU, **subject).id


def test_R9_2_an_organisation_is_a_demonstration_organisation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = establish(memory_ledger, ctx, entity_ids=[register_entity(memory_ledger, ctx)])
    before = position(memory_ledger)
    demo_id = award_xinhuo(memory_ledger, ctx, org_id=org_id, focus_industry=FocusIndustry.FARMERS_MARKETS)
    assert demo_id == organization_demonstration_id(org_id)
    assert [type(e) for e in events_after(memory_ledger, before)] == [
        XinhuoDemonstration.Opened,
        XinhuoDemonstration.Awarded,
    ]
    demo = memory_ledger.get_xinhuo_demonstration(demo_id)
    assert (demo.subject, demo.category, demo.focus_industry) == (
        "organization",
        "organization",
        "farmers_markets",
    )
    assert (demo.active, demo.awarded_on, demo.awarding_body) == (True, ON, BUREAU)


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        (EntityKind.MICRO_ENTERPRISE, XinhuoCategory.HOUSEHOLD_MICRO_INTERNET),
        (EntityKind.INTERNET_ENTERPRISE, XinhuoCategory.HOUSEHOLD_MICRO_INTERNET),
        (EntityKind.INDIVIDUAL_BUSINESS, XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL),
        (EntityKind.PROFESSIONAL_MARKET, XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL),
        (EntityKind.FARMERS_MARKET, XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL),
    ],
)
def test_R9_2_a_household_counts_in_the_category_of_its_entity(
    memory_ledger: Ledger, ctx: CommandContext, kind: EntityKind, category: XinhuoCategory
) -> None:
    member_id, entity_id = household(memory_ledger, ctx, kind)
    demo_id = award_xinhuo(memory_ledger, ctx, member_id=member_id, entity_id=entity_id)
    assert demo_id == household_demonstration_id(member_id, entity_id)
    demo = memory_ledger.get_xinhuo_demonstration(demo_id)
    assert (demo.subject, demo.category, demo.focus_industry) == ("household", category.value, None)


def test_R9_2_a_given_category_must_agree_with_the_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id, entity_id = household(memory_ledger, ctx, EntityKind.INTERNET_ENTERPRISE)
    with rejected(memory_ledger, errors.XinhuoCategoryMismatch, rule="R9.2", field="category"):
        award_xinhuo(
            memory_ledger,
            ctx,
            member_id=member_id,
            entity_id=entity_id,
            category=XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL,
        )
    award_xinhuo(
        memory_ledger,
        ctx,
        member_id=member_id,
        entity_id=entity_id,
        category=XinhuoCategory.HOUSEHOLD_MICRO_INTERNET,
    )


def test_R9_2_the_subject_is_an_organisation_or_a_household(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, entity_id = household(memory_ledger, ctx, EntityKind.INDIVIDUAL_BUSINESS)
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.XinhuoSubjectInvalid, rule="R9.2", field="org_id"):
        award_xinhuo(memory_ledger, ctx, org_id=org_id, member_id=member_id, entity_id=entity_id)
    with rejected(memory_ledger, errors.XinhuoSubjectInvalid, rule="R9.2", field="entity_id"):
        award_xinhuo(memory_ledger, ctx, member_id=member_id)
    with rejected(memory_ledger, errors.XinhuoSubjectInvalid, rule="R9.2", field="member_id"):
        award_xinhuo(memory_ledger, ctx)


def test_R9_2_a_household_entity_is_the_members_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id, _ = household(memory_ledger, ctx, EntityKind.INDIVIDUAL_BUSINESS)
    other = register_entity(memory_ledger, ctx, kind=EntityKind.INDIVIDUAL_BUSINESS)
    with rejected(memory_ledger, errors.HouseholdEntityMismatch, rule="R9.2", field="entity_id"):
        award_xinhuo(memory_ledger, ctx, member_id=member_id, entity_id=other)
    with rejected(memory_ledger, errors.NotFound, rule="", field="member_id"):
        award_xinhuo(memory_ledger, ctx, member_id=uuid4(), entity_id=other)


def test_R9_2_one_demonstration_in_force_per_subject(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx)
    demo_id = award_xinhuo(memory_ledger, ctx, org_id=org_id)
    with rejected(memory_ledger, errors.XinhuoAlreadyActive, rule="R9.2", field="id"):
        award_xinhuo(memory_ledger, ctx, org_id=org_id, focus_industry=FocusIndustry.ADVERTISING)
    memory_ledger.revoke_xinhuo_demonstration(ctx, demo_id, effective_on=ON, reason="存在失信经营行为")
    demo = memory_ledger.get_xinhuo_demonstration(demo_id)
    assert (demo.active, demo.revocation_reason) == (False, "存在失信经营行为")
    with rejected(memory_ledger, errors.XinhuoNotActive, rule="R9.2", field=None):
        memory_ledger.revoke_xinhuo_demonstration(ctx, demo_id, effective_on=ON, reason="again")
    assert (
        award_xinhuo(memory_ledger, ctx, org_id=org_id, focus_industry=FocusIndustry.ADVERTISING) == demo_id
    )
    demo = memory_ledger.get_xinhuo_demonstration(demo_id)
    assert (demo.active, demo.focus_industry) == (True, "advertising")
    assert state(replay(memory_ledger, demo_id)) == state(demo)


def test_R9_3_seven_focus_industries() -> None:
    assert len(FocusIndustry) == 7


# --- R4: market standardisation (六化) ----------------------------------------------------------


def market(ledger: Ledger, ctx: CommandContext, kind: EntityKind = EntityKind.FARMERS_MARKET) -> UUID:
    return register_entity(ledger, ctx, kind=kind)


def enroll(
    ledger: Ledger,
    ctx: CommandContext,
    entity_id: UUID,
    scope: MarketScope = MarketScope.COUNTY_CENTRAL_FARMERS,
) -> UUID:
    return ledger.enroll_market_standardisation(ctx, effective_on=ON, entity_id=entity_id, scope=scope).id


def meet(ledger: Ledger, ctx: CommandContext, record_id: UUID, criterion: C, **evidence: Any) -> None:
    fields: dict[str, Any] = {"evidence": "台账齐全", "evidence_on": ON}
    if criterion == C.EDUCATION:
        fields["training_dates"] = [date(2025, 4, 10), date(2025, 9, 18)]
    if criterion == C.GUARANTEES:
        fields["party_affairs_workers"] = 2
    fields.update(evidence)
    ledger.record_market_criterion_met(ctx, record_id, effective_on=ON, criterion=criterion, **fields)


def test_R4_a_market_in_scope_is_enrolled(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = market(memory_ledger, ctx)
    before = position(memory_ledger)
    record_id = enroll(memory_ledger, ctx, entity_id)
    assert record_id == standardisation_id_for(entity_id)
    assert [type(e) for e in events_after(memory_ledger, before)] == [MarketStandardisation.Enrolled]
    record = memory_ledger.get_market_standardisation(record_id)
    assert (record.entity_id, record.scope, record.criteria, record.standardised) == (
        entity_id,
        "county_central_farmers",
        {},
        False,
    )


@pytest.mark.parametrize("kind", [EntityKind.INDIVIDUAL_BUSINESS, EntityKind.MICRO_ENTERPRISE])
def test_R4_only_markets_are_standardised(
    memory_ledger: Ledger, ctx: CommandContext, kind: EntityKind
) -> None:
    entity_id = market(memory_ledger, ctx, kind)
    with rejected(memory_ledger, errors.MarketKindRequired, rule="R4", field="entity_id"):
        enroll(memory_ledger, ctx, entity_id, MarketScope.PROVINCIAL_KEY)


def test_R4_farmers_market_scopes_need_a_farmers_market(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = market(memory_ledger, ctx, EntityKind.PROFESSIONAL_MARKET)
    with rejected(memory_ledger, errors.MarketScopeMismatch, rule="R4", field="scope"):
        enroll(memory_ledger, ctx, entity_id, MarketScope.CITY_DISTRICT_FARMERS_FOUR_STAR)
    enroll(memory_ledger, ctx, entity_id, MarketScope.REGIONAL_KEY)


def test_R4_a_market_is_enrolled_once(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = market(memory_ledger, ctx)
    enroll(memory_ledger, ctx, entity_id)
    with rejected(memory_ledger, errors.MarketAlreadyEnrolled, rule="R4", field="entity_id"):
        enroll(memory_ledger, ctx, entity_id, MarketScope.FIVE_STAR)


def test_R4_a_deregistered_market_is_not_enrolled(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = market(memory_ledger, ctx)
    memory_ledger.change_entity_status(ctx, entity_id, effective_on=ON, status=EntityStatus.DEREGISTERED)
    with rejected(memory_ledger, errors.EntityDeregistered, rule="R13.6", field="entity_id"):
        enroll(memory_ledger, ctx, entity_id)


def test_R4_standardised_when_all_six_criteria_are_met(memory_ledger: Ledger, ctx: CommandContext) -> None:
    record_id = enroll(memory_ledger, ctx, market(memory_ledger, ctx))
    for criterion in C:
        assert memory_ledger.get_market_standardisation(record_id).standardised is False
        meet(memory_ledger, ctx, record_id, criterion)
    record = memory_ledger.get_market_standardisation(record_id)
    assert record.standardised is True
    assert record.met_criteria == [c.value for c in C]
    assert record.criteria["education"]["training_dates"] == [date(2025, 4, 10), date(2025, 9, 18)]
    assert record.criteria["guarantees"]["party_affairs_workers"] == 2
    before = position(memory_ledger)
    memory_ledger.record_market_criterion_lapsed(
        ctx, record_id, effective_on=ON, criterion=C.ROLE, reason="三亮牌未悬挂"
    )
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, MarketStandardisation.CriterionLapsed)
    record = memory_ledger.get_market_standardisation(record_id)
    assert record.standardised is False and record.criteria["role"]["lapse_reason"] == "三亮牌未悬挂"
    meet(memory_ledger, ctx, record_id, C.ROLE)
    assert memory_ledger.get_market_standardisation(record_id).standardised is True
    assert state(replay(memory_ledger, record_id)) == state(
        memory_ledger.get_market_standardisation(record_id)
    )


def test_R4_education_needs_two_trainings_in_the_evidence_year(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    record_id = enroll(memory_ledger, ctx, market(memory_ledger, ctx))
    for dates in ([date(2025, 4, 10)], [date(2024, 11, 1), date(2025, 4, 10)], [date(2025, 4, 10)] * 2, []):
        with rejected(memory_ledger, errors.TrainingTwiceAYear, rule="R4", field="training_dates"):
            meet(memory_ledger, ctx, record_id, C.EDUCATION, training_dates=dates)
    with rejected(memory_ledger, errors.CriterionEvidenceInvalid, rule="R4", field="training_dates"):
        meet(memory_ledger, ctx, record_id, C.EDUCATION, training_dates=[date(2025, 3, 1), date(2025, 10, 9)])
    meet(memory_ledger, ctx, record_id, C.EDUCATION, training_dates=[date(2025, 3, 1), date(2025, 10, 8)])


@pytest.mark.parametrize("workers", [None, 0, 3])
def test_R4_guarantees_need_one_or_two_party_affairs_workers(
    memory_ledger: Ledger, ctx: CommandContext, workers: int | None
) -> None:
    record_id = enroll(memory_ledger, ctx, market(memory_ledger, ctx))
    with rejected(
        memory_ledger, errors.PartyAffairsWorkersOneOrTwo, rule="R4", field="party_affairs_workers"
    ):
        meet(memory_ledger, ctx, record_id, C.GUARANTEES, party_affairs_workers=workers)
    meet(memory_ledger, ctx, record_id, C.GUARANTEES, party_affairs_workers=1)


def test_R4_figures_belong_to_their_criterion(memory_ledger: Ledger, ctx: CommandContext) -> None:
    record_id = enroll(memory_ledger, ctx, market(memory_ledger, ctx))
    with rejected(memory_ledger, errors.CriterionEvidenceInvalid, rule="R4", field="party_affairs_workers"):
        meet(memory_ledger, ctx, record_id, C.ROLE, party_affairs_workers=1)
    with rejected(memory_ledger, errors.CriterionEvidenceInvalid, rule="R4", field="training_dates"):
        meet(memory_ledger, ctx, record_id, C.INSTITUTIONS, training_dates=[ON])
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="evidence"):
        meet(memory_ledger, ctx, record_id, C.ROLE, evidence=" ")
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="evidence_on"):
        meet(memory_ledger, ctx, record_id, C.ROLE, evidence_on=date(2025, 12, 1))


def test_R4_only_a_met_criterion_lapses(memory_ledger: Ledger, ctx: CommandContext) -> None:
    record_id = enroll(memory_ledger, ctx, market(memory_ledger, ctx))
    with rejected(memory_ledger, errors.CriterionNotMet, rule="R4", field="criterion"):
        memory_ledger.record_market_criterion_lapsed(
            ctx, record_id, effective_on=ON, criterion=C.EDUCATION, reason="培训未开展"
        )


def test_R9_2_targets_cover_every_category() -> None:
    assert set(XINHUO_TARGETS) == {c.value for c in XinhuoCategory}
    assert sum(XINHUO_TARGETS.values()) == 11_100
    assert (FIVE_STAR_STATIONS_TARGET, STATIONS_TOTAL) == (25, 99)

"""Pairing rules: "(1+1)+N" organisation kinds (R10), active organisations, one active pairing per
pair even under a race (R10), the agreement and its yearly plans (R12), ending (R10)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.pairing import Pairing, pairing_id_for
from domain.values import PAIRING_BRANCH_KINDS, SMALL_PRIVATE_KINDS, OrgKind, PairingKind
from tests.conftest import TODAY
from tests.domain.helpers import events_after, position, rejected, replay, state
from tests.factories import DAY, establish


def org(ledger: Ledger, ctx: CommandContext, kind: OrgKind) -> UUID:
    return establish(ledger, ctx, kind=kind, name=f"{kind.value} 党组织")


def pair(ledger: Ledger, ctx: CommandContext, org_ids: list[UUID], **overrides: Any) -> UUID:
    fields: dict[str, Any] = {
        "effective_on": DAY,
        "org_ids": org_ids,
        "agreement_reference": " 共建协议〔2025〕1号 ",
        "agreement_signed_on": date(2025, 2, 20),
        "plan_year": 2025,
        "plan_items": [" 每季度共建交流 ", "党课共讲"],
        "brand": " 红色市监 ",
    }
    fields.update(overrides)
    return ledger.pair_organizations(ctx, **fields).id


def agency_and_station(ledger: Ledger, ctx: CommandContext) -> tuple[UUID, UUID]:
    return org(ledger, ctx, OrgKind.AGENCY_BRANCH), org(ledger, ctx, OrgKind.STATION_BRANCH)


# --- pairing ----------------------------------------------------------------------------------


def test_R10_agency_branch_pairs_with_station_branch(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    before = position(memory_ledger)

    pairing_id = pair(memory_ledger, ctx, [station, agency])  # any order

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Pairing.Paired)
    assert pairing_id == pairing_id_for(agency, station, 1) == pairing_id_for(station, agency, 1)
    pairing = memory_ledger.get_pairing(pairing_id)
    assert pairing.kind == PairingKind.AGENCY_STATION.value
    assert (pairing.lead_org_id, pairing.partner_org_id) == (agency, station)  # the agency branch leads
    assert pairing.sequence == 1 and pairing.started_on == DAY and pairing.ended_on is None
    assert pairing.agreement_reference == "共建协议〔2025〕1号"
    assert pairing.agreement_signed_on == date(2025, 2, 20)
    assert pairing.brand == "红色市监"
    assert pairing.plans == {2025: ["每季度共建交流", "党课共讲"]}
    assert state(replay(memory_ledger, pairing_id)) == state(pairing)


@pytest.mark.parametrize(
    ("branch_kind", "partner_kind"), sorted(itertools.product(PAIRING_BRANCH_KINDS, SMALL_PRIVATE_KINDS))
)
def test_R10_branch_pairs_with_small_private_organisation(
    memory_ledger: Ledger, ctx: CommandContext, branch_kind: OrgKind, partner_kind: OrgKind
) -> None:
    branch, partner = org(memory_ledger, ctx, branch_kind), org(memory_ledger, ctx, partner_kind)
    pairing = memory_ledger.get_pairing(pair(memory_ledger, ctx, [partner, branch]))
    assert pairing.kind == PairingKind.BRANCH_SMALL_PRIVATE.value
    assert (pairing.lead_org_id, pairing.partner_org_id) == (branch, partner)


NOT_ALLOWED = [
    (OrgKind.AGENCY_BRANCH, OrgKind.AGENCY_BRANCH),
    (OrgKind.STATION_BRANCH, OrgKind.STATION_BRANCH),
    *itertools.combinations_with_replacement(sorted(SMALL_PRIVATE_KINDS), 2),
]


@pytest.mark.parametrize(("kind_a", "kind_b"), NOT_ALLOWED)
def test_R10_pairing_kinds_not_allowed(
    memory_ledger: Ledger, ctx: CommandContext, kind_a: OrgKind, kind_b: OrgKind
) -> None:
    a, b = org(memory_ledger, ctx, kind_a), org(memory_ledger, ctx, kind_b)
    with rejected(memory_ledger, errors.PairingKindsNotAllowed, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [a, b])


def test_R10_pairing_needs_two_different_organisations(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PairingNeedsTwoOrganizations, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [agency, agency])
    with rejected(memory_ledger, errors.PairingNeedsTwoOrganizations, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [agency, station, agency])
    with rejected(memory_ledger, errors.PairingNeedsTwoOrganizations, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [agency])


def test_R10_paired_organisations_exist_and_are_active(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_ids"):
        pair(memory_ledger, ctx, [agency, uuid4()])
    memory_ledger.dissolve_organization(ctx, station, effective_on=DAY, reason="机构改革")
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="org_ids"):
        pair(memory_ledger, ctx, [agency, station])


def test_R1_3_agreement_is_not_signed_in_the_future(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="agreement_signed_on"):
        pair(memory_ledger, ctx, [agency, station], agreement_signed_on=date(2025, 11, 22))


def test_R12_agreement_reference_is_required(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="agreement_reference"):
        pair(memory_ledger, ctx, [agency, station], agreement_reference=" ")


# --- one active pairing per pair ----------------------------------------------------------------


def test_R10_one_active_pairing_per_pair_of_organisations(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    pair(memory_ledger, ctx, [agency, station])
    with rejected(memory_ledger, errors.PairingAlreadyActive, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [station, agency])


def test_R10_concurrent_duplicate_pairing_conflicts_in_the_store(
    memory_ledger: Ledger, ctx: CommandContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two officers pair the same organisations at once: both compute the same id, one wins."""
    agency, station = agency_and_station(memory_ledger, ctx)
    pair(memory_ledger, ctx, [agency, station])
    # the second command read the store before the first one saved
    monkeypatch.setattr(memory_ledger, "_last_pairing", lambda a, b: None)
    with rejected(memory_ledger, errors.PairingAlreadyActive, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [station, agency])


def test_R10_organisations_pair_again_after_ending(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    first = pair(memory_ledger, ctx, [agency, station])
    memory_ledger.end_pairing(ctx, first, effective_on=date(2025, 6, 30), reason="协议到期")

    second = pair(memory_ledger, ctx, [station, agency], effective_on=date(2025, 7, 1))

    assert second == pairing_id_for(agency, station, 2) != first
    assert memory_ledger.get_pairing(second).sequence == 2
    assert memory_ledger.get_pairing(first).ended_on == date(2025, 6, 30)
    with rejected(memory_ledger, errors.PairingAlreadyActive, rule="R10", field="org_ids"):
        pair(memory_ledger, ctx, [agency, station], effective_on=date(2025, 8, 1))


def test_R10_new_pairing_does_not_start_before_the_last_ended(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    first = pair(memory_ledger, ctx, [agency, station])
    memory_ledger.end_pairing(ctx, first, effective_on=date(2025, 6, 30), reason="协议到期")
    with rejected(memory_ledger, errors.PairingPeriodInvalid, rule="R10", field="effective_on"):
        pair(memory_ledger, ctx, [agency, station], effective_on=date(2025, 6, 1))


def test_R10_one_branch_pairs_with_several_organisations_under_one_brand(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """一支部一品牌: the branch carries its one brand into each pairing; uniqueness is not enforced."""
    agency, station = agency_and_station(memory_ledger, ctx)
    market = org(memory_ledger, ctx, OrgKind.MARKET)
    one = pair(memory_ledger, ctx, [agency, station], brand="红色市监")
    two = pair(memory_ledger, ctx, [station, market], brand="红色市监")
    assert memory_ledger.get_pairing(one).brand == memory_ledger.get_pairing(two).brand == "红色市监"


# --- yearly plans -------------------------------------------------------------------------------


def test_R12_plan_added_for_a_later_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    pairing_id = pair(memory_ledger, ctx, list(agency_and_station(memory_ledger, ctx)))
    before = position(memory_ledger)

    memory_ledger.add_pairing_plan(
        ctx, pairing_id, effective_on=TODAY, plan_year=2026, plan_items=["主题党日共参与"]
    )

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Pairing.PlanAdded) and event.year == 2026
    assert memory_ledger.get_pairing(pairing_id).plans == {
        2025: ["每季度共建交流", "党课共讲"],
        2026: ["主题党日共参与"],
    }


def test_R12_one_plan_per_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    pairing_id = pair(memory_ledger, ctx, list(agency_and_station(memory_ledger, ctx)))
    with rejected(memory_ledger, errors.PlanYearAlreadyPlanned, rule="R12", field="plan_year"):
        memory_ledger.add_pairing_plan(ctx, pairing_id, effective_on=TODAY, plan_year=2025, plan_items=["x"])


def test_R12_plan_is_not_for_a_year_before_the_pairing(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PlanYearInvalid, rule="R12", field="plan_year"):
        pair(memory_ledger, ctx, [agency, station], plan_year=2024)
    pairing_id = pair(memory_ledger, ctx, [agency, station], plan_year=2026)
    with rejected(memory_ledger, errors.PlanYearInvalid, rule="R12", field="plan_year"):
        memory_ledger.add_pairing_plan(ctx, pairing_id, effective_on=TODAY, plan_year=2024, plan_items=["x"])
    memory_ledger.add_pairing_plan(
        ctx, pairing_id, effective_on=TODAY, plan_year=2025, plan_items=["补录计划"]
    )


@pytest.mark.parametrize("items", [[], ["  "], ["党课共讲", ""]])
def test_R12_plan_lists_items(memory_ledger: Ledger, ctx: CommandContext, items: list[str]) -> None:
    agency, station = agency_and_station(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PlanItemsRequired, rule="R12", field="plan_items"):
        pair(memory_ledger, ctx, [agency, station], plan_items=items)
    pairing_id = pair(memory_ledger, ctx, [agency, station])
    with rejected(memory_ledger, errors.PlanItemsRequired, rule="R12", field="plan_items"):
        memory_ledger.add_pairing_plan(ctx, pairing_id, effective_on=TODAY, plan_year=2026, plan_items=items)


# --- ending -------------------------------------------------------------------------------------


def test_R10_ended_pairing_is_kept_and_accepts_nothing(memory_ledger: Ledger, ctx: CommandContext) -> None:
    pairing_id = pair(memory_ledger, ctx, list(agency_and_station(memory_ledger, ctx)))
    before = position(memory_ledger)

    memory_ledger.end_pairing(ctx, pairing_id, effective_on=TODAY, reason=" 机构调整 ")

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Pairing.Ended)
    pairing = memory_ledger.get_pairing(pairing_id)
    assert (pairing.ended_on, pairing.end_reason, pairing.is_active) == (TODAY, "机构调整", False)
    with rejected(memory_ledger, errors.PairingEnded, rule="R10", field=None):
        memory_ledger.end_pairing(ctx, pairing_id, effective_on=TODAY, reason="again")
    with rejected(memory_ledger, errors.PairingEnded, rule="R10", field=None):
        memory_ledger.add_pairing_plan(ctx, pairing_id, effective_on=TODAY, plan_year=2026, plan_items=["x"])


def test_R10_pairing_does_not_end_before_it_started(memory_ledger: Ledger, ctx: CommandContext) -> None:
    pairing_id = pair(memory_ledger, ctx, list(agency_and_station(memory_ledger, ctx)))
    with rejected(memory_ledger, errors.PairingPeriodInvalid, rule="R10", field="effective_on"):
        memory_ledger.end_pairing(ctx, pairing_id, effective_on=date(2025, 2, 1), reason="录错")
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.end_pairing(ctx, pairing_id, effective_on=TODAY, reason="")


def test_unknown_pairing_is_not_found(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.end_pairing(ctx, uuid4(), effective_on=TODAY, reason="x")

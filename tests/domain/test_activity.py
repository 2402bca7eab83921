"""Activity rules: holding organisation active (R2.2), attendees and guests (R2.2), present members
(R13.6), R10 details (pairing for an exchange, visited organisation for a visit), attendance
correction (R1.3) and voiding (R13.6)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.activity import Activity
from domain.application import Ledger
from domain.envelope import CommandContext, EventMeta
from domain.values import ActivityType, LeavingReason, OrgKind
from tests.conftest import TODAY
from tests.domain.helpers import events_after, position, rejected, replay, state, stored_events
from tests.factories import DAY, establish, register_member

HELD_ON = date(2025, 6, 1)


def branch(ledger: Ledger, ctx: CommandContext, kind: OrgKind = OrgKind.STATION_BRANCH) -> UUID:
    return establish(ledger, ctx, kind=kind, name=f"{kind.value} 党支部")


def member_of(ledger: Ledger, ctx: CommandContext, org_id: UUID, **overrides: Any) -> UUID:
    return register_member(ledger, ctx, [org_id], **overrides).id


def leave(ledger: Ledger, ctx: CommandContext, member_id: UUID) -> None:
    """The member leaves (R13.6), recorded on the aggregate itself."""
    member = ledger.get_member(member_id)
    member.leave(LeavingReason.DIED, "", EventMeta.build(ctx, HELD_ON, TODAY))
    ledger.save(member)


def hold(
    ledger: Ledger, ctx: CommandContext, org_id: UUID, participant_ids: list[UUID], **overrides: Any
) -> UUID:
    fields: dict[str, Any] = {
        "effective_on": HELD_ON,
        "org_id": org_id,
        "activity_type": ActivityType.THEMED_PARTY_DAY,
        "topic": "学习党章",
        "host": "王书记",
        "participant_ids": participant_ids,
    }
    fields.update(overrides)
    return ledger.hold_activity(ctx, **fields).id


def pair(ledger: Ledger, ctx: CommandContext, a: UUID, b: UUID, effective_on: date = DAY) -> UUID:
    return ledger.pair_organizations(
        ctx,
        effective_on=effective_on,
        org_ids=[a, b],
        agreement_reference="共建协议〔2025〕1号",
        agreement_signed_on=effective_on,
        plan_year=effective_on.year,
        plan_items=["每季度共建交流"],
    ).id


# --- holding ----------------------------------------------------------------------------------


def test_R2_2_activity_records_attendees_and_guests(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org, other = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    life = member_of(memory_ledger, ctx, org)
    relationship = member_of(memory_ledger, ctx, other, relationship_org_id=org)
    guest = member_of(memory_ledger, ctx, other)
    before = position(memory_ledger)

    activity_id = hold(memory_ledger, ctx, org, [guest, life, relationship, life], topic=" 学习党章 ")

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Activity.Held)
    assert event.effective_on == HELD_ON
    activity = memory_ledger.get_activity(activity_id)
    assert activity.org_id == org and activity.held_on == HELD_ON
    assert activity.activity_type == ActivityType.THEMED_PARTY_DAY.value
    assert activity.topic == "学习党章" and activity.host == "王书记"
    assert activity.attendee_ids == [life, relationship]  # listed once, in the given order
    assert activity.guest_ids == [guest]
    assert activity.pairing_id is None and activity.visited_org_id is None and not activity.voided
    assert state(replay(memory_ledger, activity_id)) == state(activity)


@pytest.mark.parametrize("activity_type", [t for t in ActivityType if t != ActivityType.STATION_VISIT])
def test_R4_3_every_activity_type_is_recorded(
    memory_ledger: Ledger, ctx: CommandContext, activity_type: ActivityType
) -> None:
    org = branch(memory_ledger, ctx)
    activity_id = hold(memory_ledger, ctx, org, [], activity_type=activity_type)
    assert memory_ledger.get_activity(activity_id).activity_type == activity_type.value


def test_R2_2_activity_without_registered_participants_is_recorded(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """Bureau officers are not registered members here; their branch meetings list nobody."""
    org = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH)
    activity = memory_ledger.get_activity(hold(memory_ledger, ctx, org, []))
    assert activity.attendee_ids == [] and activity.guest_ids == []


def test_R2_2_holding_organisation_must_exist(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_id"):
        hold(memory_ledger, ctx, uuid4(), [])


def test_R2_2_dissolved_organisation_holds_no_activity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    memory_ledger.dissolve_organization(ctx, org, effective_on=DAY, reason="撤并")
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="org_id"):
        hold(memory_ledger, ctx, org, [])


def test_R2_2_participants_must_exist(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    present = member_of(memory_ledger, ctx, org)
    with rejected(memory_ledger, errors.NotFound, rule="", field="participant_ids"):
        hold(memory_ledger, ctx, org, [present, uuid4()])


def test_R13_6_member_who_left_does_not_take_part(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    gone = member_of(memory_ledger, ctx, org)
    leave(memory_ledger, ctx, gone)
    with rejected(memory_ledger, errors.MemberHasLeft, rule="R13.6", field="participant_ids"):
        hold(memory_ledger, ctx, org, [gone])


def test_R1_3_activity_is_not_held_in_the_future(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="effective_on"):
        hold(memory_ledger, ctx, org, [], effective_on=date(2025, 11, 22))


def test_R1_1_topic_and_host_are_required(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="topic"):
        hold(memory_ledger, ctx, org, [], topic="  ")
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="host"):
        hold(memory_ledger, ctx, org, [], host="")


# --- R10 details: pairing exchanges and station visits ------------------------------------------


def test_R10_pairing_exchange_names_its_pairing(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH)
    station = branch(memory_ledger, ctx)
    pairing = pair(memory_ledger, ctx, agency, station)
    guest = member_of(memory_ledger, ctx, station)
    activity_id = hold(
        memory_ledger, ctx, agency, [guest], activity_type=ActivityType.PAIRING_EXCHANGE, pairing_id=pairing
    )
    activity = memory_ledger.get_activity(activity_id)
    assert activity.pairing_id == pairing and activity.guest_ids == [guest]
    # the pairing id is optional for an exchange
    hold(memory_ledger, ctx, station, [], activity_type=ActivityType.PAIRING_EXCHANGE)


def test_R10_exchange_entered_after_the_pairing_ended_is_accepted(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    agency, station = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH), branch(memory_ledger, ctx)
    pairing = pair(memory_ledger, ctx, agency, station)
    memory_ledger.end_pairing(ctx, pairing, effective_on=date(2025, 7, 1), reason="机构调整")
    hold(memory_ledger, ctx, station, [], activity_type=ActivityType.PAIRING_EXCHANGE, pairing_id=pairing)


@pytest.mark.parametrize("held_on", [date(2025, 2, 28), date(2025, 7, 1)])
def test_R10_exchange_outside_the_pairing_period_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, held_on: date
) -> None:
    agency, station = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH), branch(memory_ledger, ctx)
    pairing = pair(memory_ledger, ctx, agency, station)  # from 2025-03-01
    memory_ledger.end_pairing(ctx, pairing, effective_on=date(2025, 7, 1), reason="机构调整")
    with rejected(memory_ledger, errors.PairingDoesNotCoverActivity, rule="R10", field="pairing_id"):
        hold(
            memory_ledger,
            ctx,
            agency,
            [],
            effective_on=held_on,
            activity_type=ActivityType.PAIRING_EXCHANGE,
            pairing_id=pairing,
        )


def test_R10_exchange_is_held_by_a_paired_organisation(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH), branch(memory_ledger, ctx)
    outsider = branch(memory_ledger, ctx)
    pairing = pair(memory_ledger, ctx, agency, station)
    with rejected(memory_ledger, errors.PairingDoesNotCoverActivity, rule="R10", field="pairing_id"):
        hold(
            memory_ledger, ctx, outsider, [], activity_type=ActivityType.PAIRING_EXCHANGE, pairing_id=pairing
        )


def test_R10_exchange_pairing_must_exist(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="pairing_id"):
        hold(memory_ledger, ctx, org, [], activity_type=ActivityType.PAIRING_EXCHANGE, pairing_id=uuid4())


def test_R10_station_visit_names_the_visited_organisation(memory_ledger: Ledger, ctx: CommandContext) -> None:
    station, market = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    activity_id = hold(
        memory_ledger, ctx, station, [], activity_type=ActivityType.STATION_VISIT, visited_org_id=market
    )
    assert memory_ledger.get_activity(activity_id).visited_org_id == market


def test_R10_station_visit_without_visited_organisation_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    station = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.VisitedOrganizationRequired, rule="R10", field="visited_org_id"):
        hold(memory_ledger, ctx, station, [], activity_type=ActivityType.STATION_VISIT)


def test_R10_visited_organisation_is_another_active_one(memory_ledger: Ledger, ctx: CommandContext) -> None:
    station, market = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    visit = {"activity_type": ActivityType.STATION_VISIT}
    with rejected(memory_ledger, errors.VisitedOrganizationInvalid, rule="R10", field="visited_org_id"):
        hold(memory_ledger, ctx, station, [], visited_org_id=station, **visit)
    with rejected(memory_ledger, errors.NotFound, rule="", field="visited_org_id"):
        hold(memory_ledger, ctx, station, [], visited_org_id=uuid4(), **visit)
    memory_ledger.dissolve_organization(ctx, market, effective_on=DAY, reason="市场关闭")
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="visited_org_id"):
        hold(memory_ledger, ctx, station, [], visited_org_id=market, **visit)


def test_R10_details_only_for_their_activity_type(memory_ledger: Ledger, ctx: CommandContext) -> None:
    agency, station = branch(memory_ledger, ctx, OrgKind.AGENCY_BRANCH), branch(memory_ledger, ctx)
    pairing = pair(memory_ledger, ctx, agency, station)
    with rejected(memory_ledger, errors.ActivityDetailNotApplicable, rule="R10", field="pairing_id"):
        hold(memory_ledger, ctx, station, [], activity_type=ActivityType.STATION_VISIT, pairing_id=pairing)
    with rejected(memory_ledger, errors.ActivityDetailNotApplicable, rule="R10", field="visited_org_id"):
        hold(memory_ledger, ctx, station, [], activity_type=ActivityType.TRAINING, visited_org_id=agency)


# --- attendance correction and voiding ----------------------------------------------------------


def test_R1_3_attendance_corrected_with_a_full_list(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org, other = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    a, b = member_of(memory_ledger, ctx, org), member_of(memory_ledger, ctx, org)
    guest = member_of(memory_ledger, ctx, other)
    activity_id = hold(memory_ledger, ctx, org, [a])
    before = position(memory_ledger)

    memory_ledger.correct_activity_attendance(
        ctx, activity_id, effective_on=TODAY, participant_ids=[b, guest], reason="签到表核对"
    )

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Activity.AttendanceCorrected)
    assert (event.attendee_ids, event.guest_ids, event.reason) == ([b], [guest], "签到表核对")
    activity = memory_ledger.get_activity(activity_id)
    assert (activity.attendee_ids, activity.guest_ids) == ([b], [guest])
    assert activity.held_on == HELD_ON


def test_R1_3_correction_keeps_the_classification_of_listed_members(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """A member listed as an attendee stays one after transferring away, and may have left since."""
    org, other = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    a, b = member_of(memory_ledger, ctx, org), member_of(memory_ledger, ctx, org)
    activity_id = hold(memory_ledger, ctx, org, [a])
    memory_ledger.join_life_organization(ctx, a, effective_on=HELD_ON, org_id=other)
    memory_ledger.leave_life_organization(ctx, a, effective_on=HELD_ON, org_id=org)
    leave(memory_ledger, ctx, a)
    memory_ledger.correct_activity_attendance(
        ctx, activity_id, effective_on=TODAY, participant_ids=[a, b], reason="漏登"
    )
    activity = memory_ledger.get_activity(activity_id)
    assert (activity.attendee_ids, activity.guest_ids) == ([a, b], [])


def test_R1_3_correction_that_changes_nothing_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    a, b = member_of(memory_ledger, ctx, org), member_of(memory_ledger, ctx, org)
    activity_id = hold(memory_ledger, ctx, org, [a, b])
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field="participant_ids"):
        memory_ledger.correct_activity_attendance(
            ctx, activity_id, effective_on=TODAY, participant_ids=[b, a], reason="核对"
        )


def test_R13_6_newly_listed_member_who_left_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    a, gone = member_of(memory_ledger, ctx, org), member_of(memory_ledger, ctx, org)
    activity_id = hold(memory_ledger, ctx, org, [a])
    leave(memory_ledger, ctx, gone)
    with rejected(memory_ledger, errors.MemberHasLeft, rule="R13.6", field="participant_ids"):
        memory_ledger.correct_activity_attendance(
            ctx, activity_id, effective_on=TODAY, participant_ids=[a, gone], reason="补录"
        )


def test_R13_6_voided_activity_is_kept_and_accepts_nothing(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org = branch(memory_ledger, ctx)
    a = member_of(memory_ledger, ctx, org)
    activity_id = hold(memory_ledger, ctx, org, [a])
    before = position(memory_ledger)

    memory_ledger.void_activity(ctx, activity_id, effective_on=TODAY, reason="重复录入")

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Activity.Voided)
    activity = memory_ledger.get_activity(activity_id)
    assert activity.voided and activity.void_reason == "重复录入" and activity.attendee_ids == [a]
    with rejected(memory_ledger, errors.ActivityVoided, rule="R13.6", field=None):
        memory_ledger.void_activity(ctx, activity_id, effective_on=TODAY, reason="again")
    with rejected(memory_ledger, errors.ActivityVoided, rule="R13.6", field=None):
        memory_ledger.correct_activity_attendance(
            ctx, activity_id, effective_on=TODAY, participant_ids=[], reason="清空"
        )
    assert [type(e) for e in stored_events(memory_ledger) if e.originator_id == activity_id] == [
        Activity.Held,
        Activity.Voided,
    ]


def test_R13_6_voiding_requires_a_reason(memory_ledger: Ledger, ctx: CommandContext) -> None:
    activity_id = hold(memory_ledger, ctx, branch(memory_ledger, ctx), [])
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.void_activity(ctx, activity_id, effective_on=TODAY, reason=" ")


def test_unknown_activity_is_not_found(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.void_activity(ctx, uuid4(), effective_on=TODAY, reason="x")

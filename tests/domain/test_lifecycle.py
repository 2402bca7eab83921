"""Member lifecycle: admission and probation (R13.5), business suspended and away (R5.2),
disciplinary periods and policy violations (R5.3), leaving (R13.6), in date order (R1.3), and the
member as of a business date (``member_as_of``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.member import Member, add_months, member_as_of
from domain.values import LeavingReason, MemberCategory
from tests.domain.helpers import events_after, position, rejected, replay, state
from tests.factories import DAY, establish, register_member

ADMITTED = date(2024, 6, 1)  # probation over on 2025-06-01
RECENT = date(2025, 2, 1)  # probation runs until 2026-02-01, after "today" (2025-11-20)


def org(ledger: Ledger, ctx: CommandContext) -> UUID:
    return establish(ledger, ctx, [])


def probationary(ledger: Ledger, ctx: CommandContext, admitted_on: date = ADMITTED) -> UUID:
    return register_member(
        ledger, ctx, [org(ledger, ctx)], category=MemberCategory.PROBATIONARY, admitted_on=admitted_on
    ).id


def full(ledger: Ledger, ctx: CommandContext) -> UUID:
    return register_member(ledger, ctx, [org(ledger, ctx)]).id


def kinds(ledger: Ledger, before: int) -> list[type]:
    return [type(e) for e in events_after(ledger, before)]


# --- R13.5: admission and probation -------------------------------------------------------------


def test_R13_5_probationary_registration_records_the_admission_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member = memory_ledger.get_member(probationary(memory_ledger, ctx))
    assert member.admitted_on == ADMITTED
    assert member.probation_ends_on == date(2025, 6, 1)
    assert member.probation_extension_months is None
    assert (member.business_suspended, member.away_since, member.in_disciplinary_period) == (
        False,
        None,
        False,
    )
    assert (member.has_left, member.left_reason, member.policy_violations) == (False, None, [])
    assert member.registered_on == DAY


def test_R13_5_probationary_registration_requires_the_admission_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.AdmissionDateRequired, rule="R13.5", field="admitted_on"):
        register_member(memory_ledger, ctx, [life], category=MemberCategory.PROBATIONARY)


def test_R13_5_admission_after_the_registration_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.AdmissionDateInvalid, rule="R13.5", field="admitted_on"):
        register_member(
            memory_ledger, ctx, [life], category=MemberCategory.PROBATIONARY, admitted_on=date(2025, 3, 2)
        )


def test_R13_5_full_member_may_be_registered_without_an_admission_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member = memory_ledger.get_member(full(memory_ledger, ctx))
    assert member.admitted_on is None and member.probation_ends_on is None


def test_R13_5_probation_completed_one_year_after_admission(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = probationary(memory_ledger, ctx)
    before = position(memory_ledger)
    result = memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 6, 1))
    assert kinds(memory_ledger, before) == [Member.ProbationCompleted]
    assert result.position == position(memory_ledger)
    member = memory_ledger.get_member(member_id)
    assert (member.category, member.full_since, member.probation_ends_on) == ("full", date(2025, 6, 1), None)


def test_R13_5_probation_cannot_complete_before_one_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = probationary(memory_ledger, ctx)
    with rejected(memory_ledger, errors.ProbationNotOver, rule="R13.5", field="effective_on"):
        memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 5, 31))
    assert memory_ledger.get_member(member_id).category == "probationary"


def test_R13_5_full_member_cannot_complete_probation(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MemberNotProbationary, rule="R13.5", field="category"):
        memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 6, 1))
    with rejected(memory_ledger, errors.MemberNotProbationary, rule="R13.5", field="category"):
        memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 6, 1), months=6)


def test_R13_5_probation_extended_moves_the_earliest_completion(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = probationary(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 5, 20), months=6)
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Member.ProbationExtended)
    assert (event.months, event.probation_ends_on) == (6, date(2025, 12, 1))
    member = memory_ledger.get_member(member_id)
    assert (member.probation_extension_months, member.probation_ends_on) == (6, date(2025, 12, 1))
    with rejected(memory_ledger, errors.ProbationNotOver, rule="R13.5", field="effective_on"):
        memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 11, 20))


def test_R13_5_probation_extended_once_only(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = probationary(memory_ledger, ctx)
    memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 5, 20), months=6)
    with rejected(memory_ledger, errors.ProbationAlreadyExtended, rule="R13.5", field="months"):
        memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 6, 20), months=6)


@pytest.mark.parametrize(("months", "ends_on"), [(6, date(2025, 12, 1)), (12, date(2026, 6, 1))])
def test_R13_5_probation_extension_of_6_to_12_months(
    memory_ledger: Ledger, ctx: CommandContext, months: int, ends_on: date
) -> None:
    member_id = probationary(memory_ledger, ctx)
    memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 5, 20), months=months)
    assert memory_ledger.get_member(member_id).probation_ends_on == ends_on


@pytest.mark.parametrize("months", [0, 5, 13, 24])
def test_R13_5_probation_extension_outside_6_to_12_months_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, months: int
) -> None:
    member_id = probationary(memory_ledger, ctx)
    with rejected(memory_ledger, errors.ProbationExtensionOutOfRange, rule="R13.5", field="months"):
        memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 5, 20), months=months)


def test_R13_5_add_months_keeps_the_day_or_takes_the_month_end() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2025, 1, 15), 18) == date(2026, 7, 15)


# --- R5.2: business suspended, away -------------------------------------------------------------


def test_R5_2_business_suspended_and_resumed(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 4, 1), reason=" 装修 ")
    member = memory_ledger.get_member(member_id)
    assert (member.business_suspended, member.suspended_since) == (True, date(2025, 4, 1))
    memory_ledger.resume_member_business(ctx, member_id, effective_on=date(2025, 5, 1))
    member = memory_ledger.get_member(member_id)
    assert (member.business_suspended, member.suspended_since) == (False, None)
    events = events_after(memory_ledger, before)
    assert [type(e) for e in events] == [Member.BusinessSuspended, Member.BusinessResumed]
    assert events[0].reason == "装修"


def test_R5_2_resume_when_not_suspended_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.BusinessNotSuspended, rule="R5.2", field=None):
        memory_ledger.resume_member_business(ctx, member_id, effective_on=date(2025, 5, 1))


def test_R5_2_suspend_when_suspended_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 4, 1))
    with rejected(memory_ledger, errors.BusinessAlreadySuspended, rule="R5.2", field=None):
        memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 5, 1))


def test_R5_2_away_remembers_the_start_date(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 4, 1), place="上海市松江区")
    assert memory_ledger.get_member(member_id).away_since == date(2025, 4, 1)
    memory_ledger.end_member_absence(ctx, member_id, effective_on=date(2025, 10, 1))
    assert memory_ledger.get_member(member_id).away_since is None
    events = events_after(memory_ledger, before)
    assert [type(e) for e in events] == [Member.AwayStarted, Member.AwayEnded]
    assert events[0].place == "上海市松江区"


def test_R5_2_return_when_not_away_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotAway, rule="R5.2", field=None):
        memory_ledger.end_member_absence(ctx, member_id, effective_on=date(2025, 5, 1))


def test_R5_2_away_when_away_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 4, 1))
    with rejected(memory_ledger, errors.AlreadyAway, rule="R5.2", field=None):
        memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 5, 1))


# --- R5.3: disciplinary periods and policy violations -------------------------------------------


def test_R5_3_disciplinary_period_started_and_ended(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 4, 1), reason="警告处分")
    member = memory_ledger.get_member(member_id)
    assert (member.in_disciplinary_period, member.disciplinary_since) == (True, date(2025, 4, 1))
    memory_ledger.end_disciplinary_period(ctx, member_id, effective_on=date(2025, 10, 1))
    member = memory_ledger.get_member(member_id)
    assert (member.in_disciplinary_period, member.disciplinary_since) == (False, None)
    assert kinds(memory_ledger, before) == [Member.DisciplinaryPeriodStarted, Member.DisciplinaryPeriodEnded]


def test_R5_3_end_of_a_disciplinary_period_never_started_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotInDisciplinaryPeriod, rule="R5.3", field=None):
        memory_ledger.end_disciplinary_period(ctx, member_id, effective_on=date(2025, 5, 1))


def test_R5_3_second_disciplinary_period_while_one_runs_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = full(memory_ledger, ctx)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 4, 1), reason="警告")
    with rejected(memory_ledger, errors.AlreadyInDisciplinaryPeriod, rule="R5.3", field=None):
        memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 5, 1), reason="警告")


def test_R5_3_policy_violation_recorded(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.record_policy_violation(
        ctx, member_id, effective_on=date(2025, 4, 1), description="违反计划生育"
    )
    assert kinds(memory_ledger, before) == [Member.PolicyViolationRecorded]
    assert memory_ledger.get_member(member_id).policy_violations == [date(2025, 4, 1)]


def test_R5_3_policy_violation_needs_a_description(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="description"):
        memory_ledger.record_policy_violation(ctx, member_id, effective_on=date(2025, 4, 1), description=" ")


# --- R1.3: date order ---------------------------------------------------------------------------


def test_R1_3_lifecycle_change_before_the_registration_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = full(memory_ledger, ctx)
    with rejected(memory_ledger, errors.LifecycleOutOfOrder, rule="R1.3", field="effective_on"):
        memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 2, 28))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("suspend_member_business", "resume_member_business"),
        ("start_member_absence", "end_member_absence"),
    ],
)
def test_R1_3_end_before_its_start_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, start: str, end: str
) -> None:
    member_id = full(memory_ledger, ctx)
    getattr(memory_ledger, start)(ctx, member_id, effective_on=date(2025, 6, 1))
    with rejected(memory_ledger, errors.LifecycleOutOfOrder, rule="R1.3", field="effective_on"):
        getattr(memory_ledger, end)(ctx, member_id, effective_on=date(2025, 5, 31))


def test_R1_3_new_start_before_the_last_end_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 4, 1), reason="警告")
    memory_ledger.end_disciplinary_period(ctx, member_id, effective_on=date(2025, 8, 1))
    with rejected(memory_ledger, errors.LifecycleOutOfOrder, rule="R1.3", field="effective_on"):
        memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 7, 1), reason="警告")


# --- R13.6: leaving -----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(LeavingReason))
def test_R13_6_member_leaves_with_a_reason_and_is_kept(
    memory_ledger: Ledger, ctx: CommandContext, reason: LeavingReason
) -> None:
    member_id = full(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.record_member_departure(
        ctx, member_id, effective_on=date(2025, 9, 1), reason=reason, note=" 备注 "
    )
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, Member.Left)
    assert (event.reason, event.note) == (reason.value, "备注")
    member = memory_ledger.get_member(member_id)
    assert (member.has_left, member.left_on, member.left_reason) == (True, date(2025, 9, 1), reason.value)


LATER = date(2025, 10, 1)
AFTER_LEAVING: list[Callable[[Ledger, CommandContext, UUID], Any]] = [
    lambda led, c, m: led.complete_probation(c, m, effective_on=LATER),
    lambda led, c, m: led.extend_probation(c, m, effective_on=LATER, months=6),
    lambda led, c, m: led.suspend_member_business(c, m, effective_on=LATER),
    lambda led, c, m: led.resume_member_business(c, m, effective_on=LATER),
    lambda led, c, m: led.start_member_absence(c, m, effective_on=LATER),
    lambda led, c, m: led.end_member_absence(c, m, effective_on=LATER),
    lambda led, c, m: led.start_disciplinary_period(c, m, effective_on=LATER, reason="警告"),
    lambda led, c, m: led.end_disciplinary_period(c, m, effective_on=LATER),
    lambda led, c, m: led.record_policy_violation(c, m, effective_on=LATER, description="x"),
    lambda led, c, m: led.record_member_departure(c, m, effective_on=LATER, reason=LeavingReason.DIED),
    lambda led, c, m: led.correct_member(c, m, effective_on=LATER, changes={"name": "李五"}, reason="核对"),
]


@pytest.mark.parametrize("command", AFTER_LEAVING)
def test_R13_6_member_who_left_accepts_nothing(
    memory_ledger: Ledger, ctx: CommandContext, command: Callable[[Ledger, CommandContext, UUID], Any]
) -> None:
    member_id = probationary(memory_ledger, ctx)
    memory_ledger.record_member_departure(
        ctx, member_id, effective_on=date(2025, 9, 1), reason=LeavingReason.TRANSFERRED_OUT
    )
    with rejected(memory_ledger, errors.MemberHasLeft, rule="R13.6", field=None):
        command(memory_ledger, ctx, member_id)


def test_R13_6_leaving_before_the_last_change_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = full(memory_ledger, ctx)
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 8, 1))
    with rejected(memory_ledger, errors.LifecycleOutOfOrder, rule="R1.3", field="effective_on"):
        memory_ledger.record_member_departure(
            ctx, member_id, effective_on=date(2025, 7, 1), reason=LeavingReason.LAPSED
        )


# --- the member as of a business date -----------------------------------------------------------


def test_member_as_of_applies_only_the_events_effective_by_that_day(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = probationary(memory_ledger, ctx)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 9, 1), reason="警告")
    memory_ledger.complete_probation(
        ctx, member_id, effective_on=date(2025, 6, 1)
    )  # recorded later, dated earlier
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 4, 1))
    events = list(memory_ledger.events.get(member_id))

    assert member_as_of(events, date(2025, 2, 28)) is None  # not yet registered
    march = member_as_of(events, date(2025, 3, 31))
    assert march is not None
    assert (march.category, march.away_since, march.in_disciplinary_period) == ("probationary", None, False)
    assert march.version == 1
    july = member_as_of(events, date(2025, 7, 1))
    assert july is not None
    assert (july.category, july.away_since, july.in_disciplinary_period) == ("full", date(2025, 4, 1), False)
    assert july.version == 4  # the last event applied
    today = member_as_of(events, date(2025, 11, 20))
    assert today is not None
    assert state(today) == state(memory_ledger.get_member(member_id))
    assert memory_ledger.member_as_of(member_id, date(2025, 7, 1), version=2) is not None
    limited = memory_ledger.member_as_of(member_id, date(2025, 11, 20), version=2)
    assert limited is not None and limited.in_disciplinary_period and limited.category == "probationary"


def test_member_as_of_replays_to_the_same_member_and_the_lifecycle_is_replayable(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = probationary(memory_ledger, ctx)
    memory_ledger.extend_probation(ctx, member_id, effective_on=date(2025, 5, 20), months=6)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 6, 1))
    memory_ledger.record_policy_violation(ctx, member_id, effective_on=date(2025, 6, 2), description="x")
    memory_ledger.record_member_departure(
        ctx, member_id, effective_on=date(2025, 7, 1), reason=LeavingReason.REMOVED
    )
    assert state(replay(memory_ledger, member_id)) == state(memory_ledger.get_member(member_id))


def test_R13_5_registration_recorded_before_admission_dates_upcasts_to_unknown(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """A stored version-1 ``Registered`` (no ``admitted_on``) still loads, with the date unknown."""
    member_id = full(memory_ledger, ctx)
    (registered,) = memory_ledger.events.get(member_id)
    stored = memory_ledger.mapper.to_stored_event(registered)
    body = json.loads(stored.state)
    assert body.pop("class_version") == 2
    del body["admitted_on"]
    old = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(body).encode()
    )
    event = memory_ledger.mapper.to_domain_event(old)
    assert isinstance(event, Member.Registered) and event.admitted_on is None
    member = event.mutate(None)
    assert member is not None and member.admitted_on is None and member.probation_ends_on is None

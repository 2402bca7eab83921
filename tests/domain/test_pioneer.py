"""The pioneer index (先锋指数, R5): one round per organisation and year dated by 30 November (R5.4,
R5.6), scope (R5.1), exclusions (R5.2) and vetoes (R5.3) judged on the round's date, the steps in
order (R5.4), the result and its follow-ups (R5.5), and the result recorded on the member too."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.pioneer_round import PioneerRound, pioneer_round_id_for
from domain.values import LeavingReason, MemberCategory, OrgKind, PioneerStanding, PioneerStep
from tests.domain.helpers import events_after, position, rejected
from tests.factories import establish, register_member

YEAR = 2025
ROUND_DATE = date(2025, 11, 15)
OPENED = date(2025, 10, 1)
STEP_DAYS = [date(2025, 10, 10), date(2025, 10, 20), date(2025, 11, 1), date(2025, 11, 10)]
RATED = date(2025, 11, 16)


def org(ledger: Ledger, ctx: CommandContext, **overrides: object) -> UUID:
    return establish(ledger, ctx, [], **overrides)


def member(ledger: Ledger, ctx: CommandContext, org_id: UUID, **overrides: object) -> UUID:
    return register_member(ledger, ctx, [org_id], **overrides).id


def open_round(ledger: Ledger, ctx: CommandContext, org_id: UUID, round_date: date = ROUND_DATE) -> UUID:
    return ledger.open_pioneer_round(
        ctx, effective_on=OPENED, org_id=org_id, year=YEAR, round_date=round_date
    ).id


def enrol(ledger: Ledger, ctx: CommandContext, round_id: UUID, member_id: UUID) -> None:
    ledger.enrol_pioneer_member(ctx, round_id, effective_on=OPENED, member_id=member_id)


def steps(ledger: Ledger, ctx: CommandContext, round_id: UUID, member_id: UUID, upto: int = 4) -> None:
    for step, day in list(zip(PioneerStep, STEP_DAYS, strict=True))[:upto]:
        ledger.record_pioneer_step(ctx, round_id, effective_on=day, member_id=member_id, step=step)


def rate(
    ledger: Ledger, ctx: CommandContext, round_id: UUID, member_id: UUID, stars: int, excellent: bool = False
) -> None:
    ledger.rate_pioneer_member(
        ctx, round_id, effective_on=RATED, member_id=member_id, stars=stars, excellent=excellent
    )


def setup(ledger: Ledger, ctx: CommandContext, **member_overrides: object) -> tuple[UUID, UUID, UUID]:
    """An organisation, one of its members and the organisation's round: (org, member, round)."""
    org_id = org(ledger, ctx)
    member_id = member(ledger, ctx, org_id, **member_overrides)
    return org_id, member_id, open_round(ledger, ctx, org_id)


def ready(ledger: Ledger, ctx: CommandContext, **member_overrides: object) -> tuple[UUID, UUID]:
    """A member enrolled and through all four steps: (member, round)."""
    _, member_id, round_id = setup(ledger, ctx, **member_overrides)
    enrol(ledger, ctx, round_id, member_id)
    steps(ledger, ctx, round_id, member_id)
    return member_id, round_id


def standing(ledger: Ledger, round_id: UUID, member_id: UUID) -> tuple[str, list[str]]:
    enrolment = ledger.get_pioneer_round(round_id).enrolments[member_id]
    return enrolment.standing, enrolment.reasons


# --- R5.4 / R5.6: the round ---------------------------------------------------------------------


def test_R5_4_round_opened_once_per_organisation_and_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = org(memory_ledger, ctx)
    before = position(memory_ledger)
    round_id = open_round(memory_ledger, ctx, org_id)
    assert round_id == pioneer_round_id_for(org_id, YEAR)
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, PioneerRound.Opened)
    round_ = memory_ledger.get_pioneer_round(round_id)
    assert (round_.org_id, round_.year, round_.round_date, round_.closed) == (org_id, YEAR, ROUND_DATE, False)
    assert round_.enrolments == {}
    other_year = memory_ledger.open_pioneer_round(
        ctx, effective_on=OPENED, org_id=org_id, year=2024, round_date=date(2024, 11, 30)
    )
    assert other_year.id != round_id


def test_R5_4_second_round_for_the_same_organisation_and_year_conflicts(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = org(memory_ledger, ctx)
    open_round(memory_ledger, ctx, org_id)
    with rejected(memory_ledger, errors.PioneerRoundAlreadyOpened, rule="R5.4", field="year") as info:
        open_round(memory_ledger, ctx, org_id, round_date=date(2025, 11, 1))
    assert info.value.status == 409


def test_R5_6_round_dated_30_november_is_accepted(memory_ledger: Ledger, ctx: CommandContext) -> None:
    round_id = open_round(memory_ledger, ctx, org(memory_ledger, ctx), round_date=date(2025, 11, 30))
    assert memory_ledger.get_pioneer_round(round_id).round_date == date(2025, 11, 30)


@pytest.mark.parametrize("round_date", [date(2025, 12, 1), date(2025, 12, 31), date(2024, 11, 1)])
def test_R5_6_round_dated_after_november_or_in_another_year_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, round_date: date
) -> None:
    org_id = org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PioneerRoundDateInvalid, rule="R5.6", field="round_date"):
        open_round(memory_ledger, ctx, org_id, round_date=round_date)


def test_R5_4_round_of_an_unknown_organisation_is_not_found(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_id"):
        open_round(memory_ledger, ctx, uuid4())


# --- R5.1: scope --------------------------------------------------------------------------------


def test_R5_1_member_with_organisational_life_here_is_enrolled_eligible(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    before = position(memory_ledger)
    enrol(memory_ledger, ctx, round_id, member_id)
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, PioneerRound.MemberEnrolled)
    assert (event.member_id, event.name, event.standing, event.reasons) == (member_id, "张三", "eligible", [])


def test_R5_1_member_whose_relationship_is_here_is_in_scope(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    association = org(memory_ledger, ctx, kind=OrgKind.BRANCH_ASSOCIATION)
    elsewhere = org(memory_ledger, ctx)
    member_id = member(
        memory_ledger, ctx, elsewhere, relationship_org_id=association, affiliation="subordinate"
    )
    round_id = open_round(memory_ledger, ctx, association)
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == ("eligible", [])


def test_R5_1_member_of_another_organisation_is_out_of_scope(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, _, round_id = setup(memory_ledger, ctx)
    stranger = member(memory_ledger, ctx, org(memory_ledger, ctx))
    with rejected(memory_ledger, errors.MemberOutOfScope, rule="R5.1", field="member_id"):
        enrol(memory_ledger, ctx, round_id, stranger)


def test_R5_1_member_registered_after_the_round_date_is_out_of_scope(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = org(memory_ledger, ctx)
    round_id = open_round(memory_ledger, ctx, org_id, round_date=date(2025, 2, 1))
    member_id = member(memory_ledger, ctx, org_id)  # registered 2025-03-01
    with rejected(memory_ledger, errors.MemberOutOfScope, rule="R5.1", field="member_id"):
        enrol(memory_ledger, ctx, round_id, member_id)


def test_R5_1_member_who_left_before_the_round_date_is_out_of_scope(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.record_member_departure(
        ctx, member_id, effective_on=date(2025, 9, 1), reason=LeavingReason.DIED
    )
    with rejected(memory_ledger, errors.MemberOutOfScope, rule="R5.1", field="member_id"):
        enrol(memory_ledger, ctx, round_id, member_id)


def test_R5_1_unknown_member_is_not_found(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, _, round_id = setup(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="member_id"):
        enrol(memory_ledger, ctx, round_id, uuid4())


# --- R5.2: exclusions, judged on the round's date -----------------------------------------------


def test_R5_2_probationary_member_is_excluded(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(
        memory_ledger, ctx, category=MemberCategory.PROBATIONARY, admitted_on=date(2025, 1, 10)
    )
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == ("excluded", ["probationary member"])
    with rejected(memory_ledger, errors.MemberExcluded, rule="R5.2", field="member_id"):
        steps(memory_ledger, ctx, round_id, member_id, upto=1)


def test_R5_2_member_made_full_after_the_round_date_is_still_excluded(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(
        memory_ledger, ctx, category=MemberCategory.PROBATIONARY, admitted_on=date(2024, 11, 16)
    )
    memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 11, 16))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id)[0] == "excluded"


def test_R5_2_member_made_full_before_the_round_date_is_eligible(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(
        memory_ledger, ctx, category=MemberCategory.PROBATIONARY, admitted_on=date(2024, 6, 1)
    )
    memory_ledger.complete_probation(ctx, member_id, effective_on=date(2025, 6, 1))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == ("eligible", [])


def test_R5_2_member_whose_business_is_suspended_is_excluded(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 8, 1))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == (
        "excluded",
        ["business suspended since 2025-08-01"],
    )


def test_R5_2_business_resumed_before_the_round_date_is_eligible(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 8, 1))
    memory_ledger.resume_member_business(ctx, member_id, effective_on=date(2025, 9, 1))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id)[0] == "eligible"


def test_R5_2_member_away_more_than_six_months_is_excluded(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 5, 14))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id)[0] == "excluded"


def test_R5_2_member_away_six_months_or_less_is_eligible(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.start_member_absence(ctx, member_id, effective_on=date(2025, 5, 15))  # 6 months to the day
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == ("eligible", [])


# --- R5.3: vetoes -------------------------------------------------------------------------------


def test_R5_3_member_in_a_disciplinary_period_is_vetoed(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(
        memory_ledger, ctx, category=MemberCategory.PROBATIONARY, admitted_on=date(2025, 1, 1)
    )
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 7, 1), reason="警告")
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == (
        "vetoed",
        ["in a disciplinary period since 2025-07-01"],
    )
    with rejected(memory_ledger, errors.MemberVetoed, rule="R5.3", field="member_id"):
        steps(memory_ledger, ctx, round_id, member_id, upto=1)


def test_R5_3_disciplinary_period_ended_before_the_round_date_does_not_veto(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 4, 1), reason="警告")
    memory_ledger.end_disciplinary_period(ctx, member_id, effective_on=date(2025, 10, 1))
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id)[0] == "eligible"


def test_R5_3_policy_violation_in_the_round_year_vetoes(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    memory_ledger.record_policy_violation(
        ctx, member_id, effective_on=date(2025, 6, 1), description="违反计划生育"
    )
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id) == (
        "vetoed",
        ["basic-policy violation on 2025-06-01"],
    )


def test_R5_3_policy_violation_of_an_earlier_year_does_not_veto(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, org_id, effective_on=date(2024, 3, 1), form_date=date(2024, 3, 1))
    memory_ledger.record_policy_violation(ctx, member_id, effective_on=date(2024, 6, 1), description="x")
    round_id = open_round(memory_ledger, ctx, org_id)
    enrol(memory_ledger, ctx, round_id, member_id)
    assert standing(memory_ledger, round_id, member_id)[0] == "eligible"


# --- R5.4: steps in order -----------------------------------------------------------------------


def test_R5_4_steps_in_order(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    enrol(memory_ledger, ctx, round_id, member_id)
    before = position(memory_ledger)
    steps(memory_ledger, ctx, round_id, member_id)
    events = events_after(memory_ledger, before)
    assert [e.step for e in events] == [s.value for s in PioneerStep]
    enrolment = memory_ledger.get_pioneer_round(round_id).enrolments[member_id]
    assert enrolment.steps == {s.value: d for s, d in zip(PioneerStep, STEP_DAYS, strict=True)}


@pytest.mark.parametrize("done", [0, 1, 2, 3])
def test_R5_4_step_out_of_order_is_rejected(memory_ledger: Ledger, ctx: CommandContext, done: int) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    enrol(memory_ledger, ctx, round_id, member_id)
    steps(memory_ledger, ctx, round_id, member_id, upto=done)
    for wrong in [s for i, s in enumerate(PioneerStep) if i != done]:
        with rejected(memory_ledger, errors.PioneerStepOutOfOrder, rule="R5.4", field="step"):
            memory_ledger.record_pioneer_step(
                ctx, round_id, effective_on=RATED, member_id=member_id, step=wrong
            )


def test_R5_4_step_dated_before_the_one_before_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    enrol(memory_ledger, ctx, round_id, member_id)
    steps(memory_ledger, ctx, round_id, member_id, upto=1)
    with rejected(memory_ledger, errors.PioneerStepOutOfOrder, rule="R5.4", field="effective_on"):
        memory_ledger.record_pioneer_step(
            ctx,
            round_id,
            effective_on=STEP_DAYS[0] - timedelta(days=1),
            member_id=member_id,
            step=PioneerStep.PEER_EVALUATION,
        )


def test_R5_4_step_of_a_member_not_enrolled_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MemberNotEnrolled, rule="R5.4", field="member_id"):
        steps(memory_ledger, ctx, round_id, member_id, upto=1)


def test_R5_4_member_enrolled_twice_conflicts(memory_ledger: Ledger, ctx: CommandContext) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    enrol(memory_ledger, ctx, round_id, member_id)
    with rejected(memory_ledger, errors.MemberAlreadyEnrolled, rule="R5.4", field="member_id"):
        enrol(memory_ledger, ctx, round_id, member_id)


@pytest.mark.parametrize("done", [0, 3])
def test_R5_4_result_before_the_public_notice_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, done: int
) -> None:
    _, member_id, round_id = setup(memory_ledger, ctx)
    enrol(memory_ledger, ctx, round_id, member_id)
    steps(memory_ledger, ctx, round_id, member_id, upto=done)
    with rejected(memory_ledger, errors.PioneerStepsIncomplete, rule="R5.4", field="member_id"):
        rate(memory_ledger, ctx, round_id, member_id, 4)


def test_R5_4_result_dated_before_the_public_notice_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PioneerStepOutOfOrder, rule="R5.4", field="effective_on"):
        memory_ledger.rate_pioneer_member(
            ctx, round_id, effective_on=STEP_DAYS[3] - timedelta(days=1), member_id=member_id, stars=4
        )


# --- R5.5: results ------------------------------------------------------------------------------


def test_R5_5_result_is_recorded_on_the_round_and_on_the_member_together(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    before = position(memory_ledger)
    result = memory_ledger.rate_pioneer_member(
        ctx, round_id, effective_on=RATED, member_id=member_id, stars=5, excellent=True
    )
    rated, on_member = events_after(memory_ledger, before)
    assert isinstance(rated, PioneerRound.MemberRated)
    assert (rated.member_id, rated.stars, rated.excellent) == (member_id, 5, True)
    assert isinstance(on_member, Member.PioneerRated)
    assert (on_member.round_id, on_member.year, on_member.stars, on_member.excellent) == (
        round_id,
        YEAR,
        5,
        True,
    )
    assert on_member.correlation_id == rated.correlation_id
    assert result == type(result)(round_id, position(memory_ledger))
    assert memory_ledger.get_member(member_id).pioneer_ratings == {YEAR: 5}
    assert memory_ledger.get_member(member_id).excellent_years == [YEAR]
    enrolment = memory_ledger.get_pioneer_round(round_id).enrolments[member_id]
    assert (enrolment.stars, enrolment.excellent, enrolment.rated_on) == (5, True, RATED)


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_R5_5_stars_out_of_range_are_rejected(memory_ledger: Ledger, ctx: CommandContext, stars: int) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    with rejected(memory_ledger, errors.PioneerStarsOutOfRange, rule="R5.5", field="stars"):
        rate(memory_ledger, ctx, round_id, member_id, stars)


@pytest.mark.parametrize("stars", [4, 5])
def test_R5_5_excellent_with_four_or_five_stars(
    memory_ledger: Ledger, ctx: CommandContext, stars: int
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    rate(memory_ledger, ctx, round_id, member_id, stars, excellent=True)
    assert memory_ledger.get_pioneer_round(round_id).enrolments[member_id].excellent is True


@pytest.mark.parametrize("stars", [1, 2, 3])
def test_R5_5_excellent_requires_four_stars(memory_ledger: Ledger, ctx: CommandContext, stars: int) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    with rejected(memory_ledger, errors.ExcellentRequiresFourStars, rule="R5.5", field="excellent"):
        rate(memory_ledger, ctx, round_id, member_id, stars, excellent=True)


def test_R5_5_member_rated_twice_conflicts(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    rate(memory_ledger, ctx, round_id, member_id, 3)
    with rejected(memory_ledger, errors.MemberAlreadyRated, rule="R5.5", field="member_id"):
        rate(memory_ledger, ctx, round_id, member_id, 4)


def test_R5_3_rating_checks_the_member_itself_on_the_round_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """A disciplinary period entered late (dated before the round) vetoes the result, though the
    member was eligible when enrolled: the rating reads the member, not the enrolment."""
    member_id, round_id = ready(memory_ledger, ctx)
    memory_ledger.start_disciplinary_period(ctx, member_id, effective_on=date(2025, 11, 1), reason="警告")
    with rejected(memory_ledger, errors.MemberVetoed, rule="R5.3", field="member_id"):
        rate(memory_ledger, ctx, round_id, member_id, 4)


def test_R5_5_rating_after_the_round_date_ignores_later_changes(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    memory_ledger.suspend_member_business(ctx, member_id, effective_on=date(2025, 11, 16))
    rate(memory_ledger, ctx, round_id, member_id, 4)
    assert memory_ledger.get_member(member_id).pioneer_ratings == {YEAR: 4}


def test_R13_6_member_who_left_after_the_round_date_cannot_be_rated(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    memory_ledger.record_member_departure(
        ctx, member_id, effective_on=date(2025, 11, 16), reason=LeavingReason.DIED
    )
    with rejected(memory_ledger, errors.MemberHasLeft, rule="R13.6", field=None):
        rate(memory_ledger, ctx, round_id, member_id, 4)


def test_R5_5_low_result_needs_a_talk_and_a_support_pairing_before_closing(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    rate(memory_ledger, ctx, round_id, member_id, 2)
    close = {"effective_on": date(2025, 11, 20)}
    with rejected(memory_ledger, errors.FollowUpMissing, rule="R5.5", field="member_id"):
        memory_ledger.close_pioneer_round(ctx, round_id, **close)
    memory_ledger.record_pioneer_talk(
        ctx, round_id, effective_on=RATED, member_id=member_id, talked_by=" 王书记 "
    )
    with rejected(memory_ledger, errors.FollowUpMissing, rule="R5.5", field="member_id"):
        memory_ledger.close_pioneer_round(ctx, round_id, **close)
    memory_ledger.record_pioneer_support_pairing(
        ctx, round_id, effective_on=RATED, member_id=member_id, partner="李四（五星党员）"
    )
    before = position(memory_ledger)
    memory_ledger.close_pioneer_round(ctx, round_id, **close)
    assert [type(e) for e in events_after(memory_ledger, before)] == [PioneerRound.Closed]
    round_ = memory_ledger.get_pioneer_round(round_id)
    enrolment = round_.enrolments[member_id]
    assert (enrolment.talked_by, enrolment.talked_on) == ("王书记", RATED)
    assert (enrolment.support_partner, enrolment.support_on) == ("李四（五星党员）", RATED)
    assert (round_.closed, round_.closed_on) == (True, date(2025, 11, 20))


@pytest.mark.parametrize("stars", [3, None])
def test_R5_5_talk_for_a_member_without_a_low_result_is_rejected(
    memory_ledger: Ledger, ctx: CommandContext, stars: int | None
) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    if stars:
        rate(memory_ledger, ctx, round_id, member_id, stars)
    with rejected(memory_ledger, errors.FollowUpNotRequired, rule="R5.5", field="member_id"):
        memory_ledger.record_pioneer_talk(
            ctx, round_id, effective_on=RATED, member_id=member_id, talked_by="王"
        )
    with rejected(memory_ledger, errors.FollowUpNotRequired, rule="R5.5", field="member_id"):
        memory_ledger.record_pioneer_support_pairing(
            ctx, round_id, effective_on=RATED, member_id=member_id, partner="李"
        )


def test_R5_5_talk_dated_before_the_result_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id, round_id = ready(memory_ledger, ctx)
    rate(memory_ledger, ctx, round_id, member_id, 1)
    with rejected(memory_ledger, errors.PioneerStepOutOfOrder, rule="R5.5", field="effective_on"):
        memory_ledger.record_pioneer_talk(
            ctx, round_id, effective_on=RATED - timedelta(days=1), member_id=member_id, talked_by="王"
        )


def test_R5_4_closed_round_accepts_nothing(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = org(memory_ledger, ctx)
    rated, waiting, late = (member(memory_ledger, ctx, org_id) for _ in range(3))
    round_id = open_round(memory_ledger, ctx, org_id)
    for member_id in (rated, waiting):
        enrol(memory_ledger, ctx, round_id, member_id)
        steps(memory_ledger, ctx, round_id, member_id)
    rate(memory_ledger, ctx, round_id, rated, 4)
    memory_ledger.close_pioneer_round(ctx, round_id, effective_on=date(2025, 11, 20))
    with rejected(memory_ledger, errors.PioneerRoundClosed, rule="R5.4", field=None):
        enrol(memory_ledger, ctx, round_id, late)
    with rejected(memory_ledger, errors.PioneerRoundClosed, rule="R5.4", field=None):
        rate(memory_ledger, ctx, round_id, waiting, 4)
    with rejected(memory_ledger, errors.PioneerRoundClosed, rule="R5.4", field=None):
        memory_ledger.close_pioneer_round(ctx, round_id, effective_on=date(2025, 11, 20))
    assert (
        PioneerStanding(memory_ledger.get_pioneer_round(round_id).enrolments[waiting].standing).value
        == "eligible"
    )

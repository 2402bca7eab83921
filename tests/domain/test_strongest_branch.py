"""StrongestBranchRating rules: one rating per branch and year (R11.6), the four evaluations (R11.4),
disqualifications (R11.5), applications and decisions up the chain (R11.6), award, revocation and
change of parent (R11.7)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.strongest_branch import (
    StrongestBranchRating,
    mass_share_exceeded,
    member_share_qualifies,
    rating_id_for,
)
from domain.values import (
    DisqualificationKind,
    EvaluationFailure,
    EvaluationKind,
    OrgKind,
    OrgRating,
    RatingLevel,
    SocialResult,
)
from tests.domain.helpers import events_after, position, rejected, replay, state
from tests.factories import DAY, establish

DEC = date(2025, 11, 15)
AGENCY = RatingLevel.AGENCY_COMMITTEE
UPPER = RatingLevel.UPPER


def branch(ledger: Ledger, ctx: CommandContext, parent: UUID | None = None) -> UUID:
    return establish(ledger, ctx, name="市局机关第一党支部", kind=OrgKind.AGENCY_BRANCH, parent_id=parent)


def start(ledger: Ledger, ctx: CommandContext, org_id: UUID | None = None, year: int = 2025) -> UUID:
    org_id = org_id or branch(ledger, ctx)
    on = DAY if year == DAY.year else date(year, 3, 1)
    return ledger.start_strongest_branch_rating(ctx, effective_on=on, org_id=org_id, year=year).id


def evaluate(
    ledger: Ledger, ctx: CommandContext, rating_id: UUID, kind: EvaluationKind, **fields: Any
) -> None:
    ledger.record_strongest_branch_evaluation(ctx, rating_id, effective_on=DEC, kind=kind, **fields)


def evaluate_all(ledger: Ledger, ctx: CommandContext, rating_id: UUID) -> None:
    """Four evaluations that qualify the branch."""
    evaluate(ledger, ctx, rating_id, EvaluationKind.ORGANIZATION, rating=OrgRating.EXCELLENT)
    evaluate(ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=20, excellent=18)
    evaluate(ledger, ctx, rating_id, EvaluationKind.MASS, respondents=50, dissatisfied=2, verified=False)
    evaluate(ledger, ctx, rating_id, EvaluationKind.SOCIAL, result=SocialResult.CLEAN)


def apply(ledger: Ledger, ctx: CommandContext, rating_id: UUID, level: RatingLevel) -> None:
    body = "机关党委" if level == AGENCY else "市直机关工委"
    ledger.apply_strongest_branch(ctx, rating_id, effective_on=DEC, level=level, to_body=body)


def decide(
    ledger: Ledger, ctx: CommandContext, rating_id: UUID, level: RatingLevel, passed: bool = True
) -> None:
    ledger.decide_strongest_branch(ctx, rating_id, effective_on=DEC, level=level, passed=passed)


def award(ledger: Ledger, ctx: CommandContext, rating_id: UUID, start: int = 2026, end: int = 2027) -> None:
    ledger.award_strongest_branch(ctx, rating_id, effective_on=DEC, start_year=start, end_year=end)


def passed_by_agency(ledger: Ledger, ctx: CommandContext, org_id: UUID | None = None) -> UUID:
    rating_id = start(ledger, ctx, org_id)
    evaluate_all(ledger, ctx, rating_id)
    apply(ledger, ctx, rating_id, AGENCY)
    decide(ledger, ctx, rating_id, AGENCY)
    return rating_id


def awarded(ledger: Ledger, ctx: CommandContext, org_id: UUID | None = None) -> UUID:
    rating_id = passed_by_agency(ledger, ctx, org_id)
    award(ledger, ctx, rating_id)
    return rating_id


def reasons(ledger: Ledger, rating_id: UUID) -> list[str]:
    return ledger.get_strongest_branch_rating(rating_id).disqualification_reasons


# --- R11.6: one rating per branch and year --------------------------------------------------------


def test_R11_6_self_creation_starts_the_rating_of_a_branch_and_year(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    parent = establish(memory_ledger, ctx, name="市局机关党委", kind=OrgKind.AGENCY_BRANCH)
    org_id = branch(memory_ledger, ctx, parent)
    before = position(memory_ledger)
    result = memory_ledger.start_strongest_branch_rating(ctx, effective_on=DAY, org_id=org_id, year=2025)
    assert result.id == rating_id_for(org_id, 2025)
    rating = memory_ledger.get_strongest_branch_rating(result.id)
    assert (rating.org_id, rating.year, rating.parent_id, rating.started_on) == (org_id, 2025, parent, DAY)
    assert rating.missing_evaluations == ["organization", "members", "mass", "social"]
    assert rating.disqualified is False and rating.awarded is False
    assert [type(e) for e in events_after(memory_ledger, before)] == [
        StrongestBranchRating.SelfCreationStarted
    ]


def test_R11_6_a_branch_has_one_rating_a_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = branch(memory_ledger, ctx)
    start(memory_ledger, ctx, org_id)
    with rejected(memory_ledger, errors.StrongestBranchRatingAlreadyStarted, rule="R11.6", field="org_id"):
        start(memory_ledger, ctx, org_id)


def test_R11_6_another_year_is_another_rating(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = branch(memory_ledger, ctx)
    assert start(memory_ledger, ctx, org_id, 2024) != start(memory_ledger, ctx, org_id, 2025)


def test_R11_6_self_creation_starts_in_the_rating_year(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.RatingYearInvalid, rule="R11.6", field="year"):
        memory_ledger.start_strongest_branch_rating(ctx, effective_on=DAY, org_id=org_id, year=2024)
    with rejected(memory_ledger, errors.RatingYearInvalid, rule="R11.6", field="year"):
        memory_ledger.start_strongest_branch_rating(ctx, effective_on=DAY, org_id=org_id, year=2026)


def test_R11_6_the_branch_must_exist(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_id"):
        memory_ledger.start_strongest_branch_rating(ctx, effective_on=DAY, org_id=uuid4(), year=2025)


# --- R11.4: the four evaluations ------------------------------------------------------------------


def test_R11_4_four_evaluations_are_recorded(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    before = position(memory_ledger)
    evaluate_all(memory_ledger, ctx, rating_id)
    assert [type(e) for e in events_after(memory_ledger, before)] == [
        StrongestBranchRating.OrganizationRated,
        StrongestBranchRating.MembersEvaluated,
        StrongestBranchRating.MassSurveyed,
        StrongestBranchRating.SociallyEvaluated,
    ]
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.organization_rating == "excellent"
    assert (rating.member_participants, rating.member_excellent) == (20, 18)
    assert (rating.mass_respondents, rating.mass_dissatisfied, rating.mass_verified) == (50, 2, False)
    assert rating.social_result == "clean"
    assert rating.missing_evaluations == []
    assert rating.disqualification_reasons == []
    assert state(replay(memory_ledger, rating_id)) == state(rating)


@given(participants=st.integers(1, 500), data=st.data())
def test_R11_4_member_share_is_at_least_90_percent(participants: int, data: st.DataObject) -> None:
    excellent = data.draw(st.integers(0, participants))
    assert member_share_qualifies(participants, excellent) == (
        Fraction(excellent, participants) >= Fraction(9, 10)
    )


@given(respondents=st.integers(1, 500), data=st.data())
def test_R11_4_mass_dissatisfaction_above_10_percent(respondents: int, data: st.DataObject) -> None:
    dissatisfied = data.draw(st.integers(0, respondents))
    assert mass_share_exceeded(respondents, dissatisfied) == (
        Fraction(dissatisfied, respondents) > Fraction(1, 10)
    )


def test_R11_4_members_rating_excellent_below_90_percent_disqualifies(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=10, excellent=9)
    assert reasons(memory_ledger, rating_id) == []
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=100, excellent=89)
    assert reasons(memory_ledger, rating_id) == [EvaluationFailure.MEMBER_EXCELLENT_BELOW_90.value]
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=100, excellent=90)
    assert reasons(memory_ledger, rating_id) == [], "a later evaluation of a kind replaces the earlier"


def test_R11_4_member_counts_must_be_consistent(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EvaluationInvalid, rule="R11.4", field="excellent"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=10, excellent=11)
    with rejected(memory_ledger, errors.EvaluationInvalid, rule="R11.4", field="participants"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=0, excellent=0)
    with rejected(memory_ledger, errors.EvaluationInvalid, rule="R11.4", field="dissatisfied"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MASS, respondents=10, dissatisfied=-1)


def test_R11_4_evaluation_fields_belong_to_their_kind(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EvaluationInvalid, rule="R11.4", field="participants"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.ORGANIZATION, rating="good", participants=3)
    with rejected(memory_ledger, errors.EvaluationInvalid, rule="R11.4", field="rating"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.ORGANIZATION)


def test_R11_4_verified_dissatisfaction_above_10_percent_disqualifies(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate(
        memory_ledger, ctx, rating_id, EvaluationKind.MASS, respondents=100, dissatisfied=11, verified=False
    )
    assert reasons(memory_ledger, rating_id) == [], "unverified dissatisfaction does not disqualify"
    evaluate(
        memory_ledger, ctx, rating_id, EvaluationKind.MASS, respondents=100, dissatisfied=10, verified=True
    )
    assert reasons(memory_ledger, rating_id) == [], "exactly 10% does not disqualify"
    evaluate(
        memory_ledger, ctx, rating_id, EvaluationKind.MASS, respondents=100, dissatisfied=11, verified=True
    )
    assert reasons(memory_ledger, rating_id) == [EvaluationFailure.MASS_DISSATISFACTION_VERIFIED.value]


def test_R11_4_adverse_social_feedback_disqualifies(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.SOCIAL, result=SocialResult.ADVERSE)
    assert reasons(memory_ledger, rating_id) == [EvaluationFailure.SOCIAL_ADVERSE.value]


def test_R11_4_social_exemption_only_without_public_function(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.SocialEvaluationExemptionNotAllowed, rule="R11.4", field="result"):
        evaluate(memory_ledger, ctx, rating_id, EvaluationKind.SOCIAL, result=SocialResult.EXEMPT)
    evaluate(
        memory_ledger,
        ctx,
        rating_id,
        EvaluationKind.SOCIAL,
        result=SocialResult.EXEMPT,
        no_public_function=True,
    )
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.social_result == "exempt" and "social" not in rating.missing_evaluations
    assert rating.disqualification_reasons == []


def test_R11_4_organisation_rating_below_excellent_disqualifies(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.ORGANIZATION, rating=OrgRating.GOOD)
    assert reasons(memory_ledger, rating_id) == [EvaluationFailure.ORGANIZATION_BELOW_EXCELLENT.value]


# --- R11.5: disqualifications of the year ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(DisqualificationKind))
def test_R11_5_a_fact_of_the_year_disqualifies(
    memory_ledger: Ledger, ctx: CommandContext, kind: DisqualificationKind
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate_all(memory_ledger, ctx, rating_id)
    before = position(memory_ledger)
    memory_ledger.record_strongest_branch_disqualification(
        ctx, rating_id, effective_on=DEC, kind=kind, occurred_on=date(2025, 6, 3), description=" 通报 "
    )
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, StrongestBranchRating.DisqualificationRecorded)
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.disqualified is True
    assert rating.disqualification_reasons == [kind.value]
    assert rating.disqualifications == [
        {"kind": kind.value, "description": "通报", "occurred_on": date(2025, 6, 3)}
    ]


def test_R11_5_a_fact_of_another_year_is_rejected(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.DisqualificationOutsideYear, rule="R11.5", field="occurred_on"):
        memory_ledger.record_strongest_branch_disqualification(
            ctx,
            rating_id,
            effective_on=DEC,
            kind=DisqualificationKind.HEAD_DISCIPLINED,
            occurred_on=date(2024, 12, 30),
        )


def test_R11_5_another_reason_needs_a_description(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="description"):
        memory_ledger.record_strongest_branch_disqualification(
            ctx, rating_id, effective_on=DEC, kind=DisqualificationKind.OTHER, occurred_on=DEC
        )


def test_R11_5_a_disqualified_branch_cannot_pass(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate_all(memory_ledger, ctx, rating_id)
    apply(memory_ledger, ctx, rating_id, AGENCY)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.SOCIAL, result=SocialResult.ADVERSE)
    with rejected(memory_ledger, errors.StrongestBranchDisqualified, rule="R11.5", field=None):
        decide(memory_ledger, ctx, rating_id, AGENCY)
    decide(memory_ledger, ctx, rating_id, AGENCY, passed=False)
    assert (
        memory_ledger.get_strongest_branch_rating(rating_id).decisions["agency_committee"]["passed"] is False
    )


def test_R11_5_a_fact_recorded_after_the_pass_blocks_the_award(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    memory_ledger.record_strongest_branch_disqualification(
        ctx,
        rating_id,
        effective_on=DEC,
        kind=DisqualificationKind.MAJOR_NEGATIVE_OPINION,
        occurred_on=date(2025, 11, 1),
    )
    with rejected(memory_ledger, errors.StrongestBranchDisqualified, rule="R11.5", field=None):
        award(memory_ledger, ctx, rating_id)


# --- R11.6: applications and decisions up the chain -----------------------------------------------


def test_R11_6_agency_committee_pass_awards_without_upward_application(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    before = position(memory_ledger)
    award(memory_ledger, ctx, rating_id, 2026, 2028)
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, StrongestBranchRating.Awarded)
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.awarded is True
    assert (rating.awarded_level, rating.term_start_year, rating.term_end_year) == (
        "agency_committee",
        2026,
        2028,
    )
    assert rating.applications["agency_committee"] == {"to_body": "机关党委", "applied_on": DEC}
    assert state(replay(memory_ledger, rating_id)) == state(rating)


def test_R11_6_applying_to_the_agency_committee_needs_90_percent_excellent(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MemberRatingNotQualifying, rule="R11.4", field="level"):
        apply(memory_ledger, ctx, rating_id, AGENCY)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=20, excellent=17)
    with rejected(memory_ledger, errors.MemberRatingNotQualifying, rule="R11.4", field="level"):
        apply(memory_ledger, ctx, rating_id, AGENCY)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=20, excellent=18)
    apply(memory_ledger, ctx, rating_id, AGENCY)


def test_R11_6_applying_upward_needs_the_agency_committee_pass(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate_all(memory_ledger, ctx, rating_id)
    with rejected(memory_ledger, errors.ApplicationOutOfOrder, rule="R11.6", field="level"):
        apply(memory_ledger, ctx, rating_id, UPPER)
    apply(memory_ledger, ctx, rating_id, AGENCY)
    with rejected(memory_ledger, errors.ApplicationOutOfOrder, rule="R11.6", field="level"):
        apply(memory_ledger, ctx, rating_id, AGENCY)
    with rejected(memory_ledger, errors.ApplicationOutOfOrder, rule="R11.6", field="level"):
        apply(memory_ledger, ctx, rating_id, UPPER)
    decide(memory_ledger, ctx, rating_id, AGENCY)
    apply(memory_ledger, ctx, rating_id, UPPER)


def test_R11_6_a_level_decides_once_on_an_application_to_it(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate_all(memory_ledger, ctx, rating_id)
    with rejected(memory_ledger, errors.DecisionWithoutApplication, rule="R11.6", field="level"):
        decide(memory_ledger, ctx, rating_id, AGENCY)
    apply(memory_ledger, ctx, rating_id, AGENCY)
    decide(memory_ledger, ctx, rating_id, AGENCY)
    with rejected(memory_ledger, errors.DecisionWithoutApplication, rule="R11.6", field="level"):
        decide(memory_ledger, ctx, rating_id, AGENCY, passed=False)


def test_R11_4_a_pass_needs_all_four_evaluations(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate(memory_ledger, ctx, rating_id, EvaluationKind.MEMBERS, participants=10, excellent=10)
    apply(memory_ledger, ctx, rating_id, AGENCY)
    with rejected(memory_ledger, errors.EvaluationsIncomplete, rule="R11.4", field="evaluations") as info:
        decide(memory_ledger, ctx, rating_id, AGENCY)
    assert "organization, mass, social" in info.value.message


def test_R11_6_a_lower_pass_does_not_decide_an_upward_application(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    apply(memory_ledger, ctx, rating_id, UPPER)
    with rejected(memory_ledger, errors.AwardNotDecided, rule="R11.6", field=None):
        award(memory_ledger, ctx, rating_id)
    decide(memory_ledger, ctx, rating_id, UPPER, passed=False)
    with rejected(memory_ledger, errors.AwardNotDecided, rule="R11.6", field=None):
        award(memory_ledger, ctx, rating_id)
    assert memory_ledger.get_strongest_branch_rating(rating_id).awarded is False


def test_R11_6_the_upper_level_pass_awards(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    apply(memory_ledger, ctx, rating_id, UPPER)
    decide(memory_ledger, ctx, rating_id, UPPER)
    award(memory_ledger, ctx, rating_id)
    assert memory_ledger.get_strongest_branch_rating(rating_id).awarded_level == "upper"


def test_R11_6_no_award_without_a_pass(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = start(memory_ledger, ctx)
    evaluate_all(memory_ledger, ctx, rating_id)
    with rejected(memory_ledger, errors.AwardNotDecided, rule="R11.6", field=None):
        award(memory_ledger, ctx, rating_id)
    apply(memory_ledger, ctx, rating_id, AGENCY)
    decide(memory_ledger, ctx, rating_id, AGENCY, passed=False)
    with rejected(memory_ledger, errors.AwardNotDecided, rule="R11.6", field=None):
        award(memory_ledger, ctx, rating_id)


# --- R11.7: term, revocation, change of parent ----------------------------------------------------


def test_R11_7_the_term_starts_in_the_rating_year_or_later(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    with rejected(memory_ledger, errors.AwardTermInvalid, rule="R11.7", field="start_year"):
        award(memory_ledger, ctx, rating_id, 2024, 2026)
    with rejected(memory_ledger, errors.AwardTermInvalid, rule="R11.7", field="end_year"):
        award(memory_ledger, ctx, rating_id, 2026, 2025)
    award(memory_ledger, ctx, rating_id, 2025, 2025)


def test_R11_7_an_award_is_made_once(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = awarded(memory_ledger, ctx)
    with rejected(memory_ledger, errors.StrongestBranchAlreadyAwarded, rule="R11.7", field=None):
        award(memory_ledger, ctx, rating_id)
    with rejected(memory_ledger, errors.ApplicationOutOfOrder, rule="R11.6", field="level"):
        apply(memory_ledger, ctx, rating_id, UPPER)


def test_R11_7_revocation_when_the_branch_stops_meeting_the_standard(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    rating_id = awarded(memory_ledger, ctx)
    before = position(memory_ledger)
    memory_ledger.revoke_strongest_branch(ctx, rating_id, effective_on=DEC, reason=" 支部书记受到党纪处分 ")
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, StrongestBranchRating.Revoked)
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.awarded is False and rating.revoked is True
    assert (rating.revoked_on, rating.revocation_reason) == (DEC, "支部书记受到党纪处分")
    assert rating.awarded_level == "agency_committee", "the history of the award stays"


def test_R11_7_only_an_award_in_force_is_revoked(memory_ledger: Ledger, ctx: CommandContext) -> None:
    rating_id = passed_by_agency(memory_ledger, ctx)
    with rejected(memory_ledger, errors.StrongestBranchNotAwarded, rule="R11.7", field=None):
        memory_ledger.revoke_strongest_branch(ctx, rating_id, effective_on=DEC, reason="不再符合")
    award(memory_ledger, ctx, rating_id)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.revoke_strongest_branch(ctx, rating_id, effective_on=DEC, reason=" ")
    memory_ledger.revoke_strongest_branch(ctx, rating_id, effective_on=DEC, reason="不再符合")
    with rejected(memory_ledger, errors.RatingRevoked, rule="R11.7", field=None):
        memory_ledger.revoke_strongest_branch(ctx, rating_id, effective_on=DEC, reason="不再符合")
    with rejected(memory_ledger, errors.RatingRevoked, rule="R11.7", field=None):
        award(memory_ledger, ctx, rating_id)


def test_R11_7_the_award_continues_across_a_change_of_parent(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    old = establish(memory_ledger, ctx, name="旧机关党委", kind=OrgKind.AGENCY_BRANCH)
    new = establish(memory_ledger, ctx, name="新机关党委", kind=OrgKind.AGENCY_BRANCH)
    rating_id = awarded(memory_ledger, ctx, branch(memory_ledger, ctx, old))
    before = position(memory_ledger)
    memory_ledger.change_strongest_branch_parent(ctx, rating_id, effective_on=DEC, to_parent_id=new)
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, StrongestBranchRating.ParentChanged)
    assert (event.from_parent_id, event.to_parent_id) == (old, new)
    rating = memory_ledger.get_strongest_branch_rating(rating_id)
    assert rating.parent_id == new and rating.awarded is True


def test_R11_7_a_change_of_parent_names_another_active_parent(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    parent = establish(memory_ledger, ctx, name="机关党委", kind=OrgKind.AGENCY_BRANCH)
    org_id = branch(memory_ledger, ctx, parent)
    rating_id = start(memory_ledger, ctx, org_id)
    with rejected(memory_ledger, errors.ParentUnchanged, rule="R11.7", field="to_parent_id"):
        memory_ledger.change_strongest_branch_parent(ctx, rating_id, effective_on=DEC, to_parent_id=parent)
    with rejected(memory_ledger, errors.ParentOrganizationInvalid, rule="R2.2", field="to_parent_id"):
        memory_ledger.change_strongest_branch_parent(ctx, rating_id, effective_on=DEC, to_parent_id=org_id)
    with rejected(memory_ledger, errors.NotFound, rule="", field="to_parent_id"):
        memory_ledger.change_strongest_branch_parent(ctx, rating_id, effective_on=DEC, to_parent_id=uuid4())

"""MobileRound rules (流动党员双向反馈): mobile members only (R6.1), one round per member and year
(R6.3), the steps in their order (R6.2), activities within the year, overdue after 30 November (R6.3)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.mobile_round import MobileRound, round_id
from domain.values import Affiliation, MobileStep
from tests import factories as f
from tests.domain.helpers import events_after, position, rejected, replay, state, stored_events

HOME = "安徽省某县某镇党委"  # the relationship organisation, outside the system


class World:
    """A business-place branch in the system and a mobile member whose relationship lies elsewhere."""

    def __init__(self, ledger: Ledger, ctx: CommandContext) -> None:
        self.ledger, self.ctx = ledger, ctx
        self.branch = f.establish(ledger, ctx, [], name="南湖区个私协会城西分会党支部")
        self.member = f.register_member(
            ledger, ctx, [self.branch], affiliation=Affiliation.MOBILE, relationship_org_name=HOME
        ).id

    def register(self, **overrides: Any) -> UUID:
        fields: dict[str, Any] = {
            "effective_on": date(2025, 3, 5),
            "member_id": self.member,
            "year": 2025,
            "business_org_id": self.branch,
        }
        fields.update(overrides)
        return self.ledger.register_mobile_round(self.ctx, **fields).id

    def confirm(self, round_id: UUID, **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "effective_on": date(2025, 3, 20),
            "certificate_ref": "皖某镇党证字2025-7号",
        }
        fields.update(overrides)
        self.ledger.confirm_mobile_identity(self.ctx, round_id, **fields)

    def file(self, round_id: UUID, *activities: dict[str, Any], on: date = date(2025, 6, 30)) -> None:
        listed = list(activities) or [{"on": date(2025, 6, 1), "description": "主题党日：参观南湖红船"}]
        self.ledger.file_mobile_activities(self.ctx, round_id, effective_on=on, activities=listed)

    def feedback(self, round_id: UUID, **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "effective_on": date(2025, 11, 10),
            "assessment": "按时参加组织生活，经营守法，群众评价好。",
            "secretary_name": "王书记",
            "feedback_form_ref": "反馈表2025-3",
            "letter_ref": "南个协函〔2025〕3号",
        }
        fields.update(overrides)
        self.ledger.issue_mobile_feedback(self.ctx, round_id, **fields)

    def receipt(self, round_id: UUID, on: date = date(2025, 11, 19)) -> None:
        self.ledger.return_mobile_receipt(self.ctx, round_id, effective_on=on, archive_ref="档案2025-流动-3")

    def round(self, round_id: UUID) -> MobileRound:
        return self.ledger.get_mobile_round(round_id)


@pytest.fixture
def world(memory_ledger: Ledger, ctx: CommandContext) -> World:
    return World(memory_ledger, ctx)


def test_R6_2_the_whole_chain_in_order(world: World) -> None:
    before = position(world.ledger)
    rid = world.register()
    assert rid == round_id(world.member, 2025)
    r = world.round(rid)
    assert (r.member_id, r.member_name, r.year, r.step) == (world.member, "张三", 2025, "registered")
    assert (r.business_org_id, r.business_org_name) == (world.branch, "南湖区个私协会城西分会党支部")
    assert (r.relationship_org_id, r.relationship_org_name) == (None, HOME)
    world.confirm(rid)
    r = world.round(rid)
    assert (r.step, r.certificate_ref, r.confirming_org_id, r.confirming_org_name) == (
        "identity_confirmed",
        "皖某镇党证字2025-7号",
        None,
        HOME,
    )
    world.file(rid)
    world.file(
        rid,
        {"on": date(2025, 9, 1), "description": " 党课培训 ", "activity_id": uuid4()},
        on=date(2025, 9, 2),
    )
    world.feedback(rid)
    world.receipt(rid)
    r = world.round(rid)
    assert r.step == "receipt_returned" and r.complete and not r.overdue(date(2025, 12, 31))
    assert [a["description"] for a in r.activities] == ["主题党日：参观南湖红船", "党课培训"]
    assert (r.assessment, r.secretary_name, r.feedback_form_ref, r.letter_ref, r.archive_ref) == (
        "按时参加组织生活，经营守法，群众评价好。",
        "王书记",
        "反馈表2025-3",
        "南个协函〔2025〕3号",
        "档案2025-流动-3",
    )
    assert [(s["step"], s["effective_on"], s["actor"]) for s in r.steps] == [
        ("registered", date(2025, 3, 5), world.ctx.actor),
        ("identity_confirmed", date(2025, 3, 20), world.ctx.actor),
        ("activities_filed", date(2025, 6, 30), world.ctx.actor),
        ("activities_filed", date(2025, 9, 2), world.ctx.actor),
        ("feedback_issued", date(2025, 11, 10), world.ctx.actor),
        ("receipt_returned", date(2025, 11, 19), world.ctx.actor),
    ]
    assert [type(e) for e in events_after(world.ledger, before)] == [
        MobileRound.Registered,
        MobileRound.IdentityConfirmed,
        MobileRound.ActivitiesFiled,
        MobileRound.ActivitiesFiled,
        MobileRound.FeedbackIssued,
        MobileRound.ReceiptReturned,
    ]
    feedback = stored_events(world.ledger)[-2]
    assert (feedback.to_org_id, feedback.to_org_name) == (None, HOME)


def test_R6_2_stored_activities_keep_their_dates_and_ids(world: World) -> None:
    rid = world.register()
    world.confirm(rid)
    activity = uuid4()
    world.file(rid, {"on": date(2025, 5, 4), "description": "志愿服务", "activity_id": activity})
    event = stored_events(world.ledger)[-1]
    assert event.activities == [{"on": date(2025, 5, 4), "description": "志愿服务", "activity_id": activity}]
    assert state(replay(world.ledger, rid)) == state(world.round(rid))


# --- scope and one round per year --------------------------------------------------------------


@pytest.mark.parametrize("affiliation", [Affiliation.LOCAL, Affiliation.SUBORDINATE])
def test_R6_1_only_mobile_members_have_a_round(
    memory_ledger: Ledger, ctx: CommandContext, affiliation: Affiliation
) -> None:
    association = f.establish(memory_ledger, ctx, [])  # an association organisation (分会)
    member = f.register_member(
        memory_ledger, ctx, [association], affiliation=affiliation, relationship_org_id=association
    ).id
    with rejected(memory_ledger, errors.MemberNotMobile, rule="R6.1", field="member_id"):
        memory_ledger.register_mobile_round(
            ctx, effective_on=date(2025, 3, 5), member_id=member, year=2025, business_org_id=association
        )


def test_R6_3_one_round_per_member_and_year(world: World) -> None:
    world.register()
    with rejected(world.ledger, errors.MobileRoundAlreadyRegistered, rule="R6.3", field="member_id") as info:
        world.register(effective_on=date(2025, 4, 1))
    assert isinstance(info.value, errors.Conflict)
    other = world.register(effective_on=date(2024, 4, 1), year=2024)
    assert other == round_id(world.member, 2024) != round_id(world.member, 2025)


def test_R6_3_a_round_is_registered_within_its_year(world: World) -> None:
    with rejected(world.ledger, errors.MobileRoundYearMismatch, rule="R6.3", field="year"):
        world.register(year=2024)


def test_R6_2_business_place_organisation_must_exist(world: World) -> None:
    with rejected(world.ledger, errors.NotFound, rule="", field="business_org_id"):
        world.register(business_org_id=uuid4())


# --- order of the steps ------------------------------------------------------------------------


def _at(world: World, step: MobileStep) -> UUID:
    """A round brought to ``step``."""
    rid = world.register()
    actions = [world.confirm, world.file, world.feedback, world.receipt]
    for action in actions[: list(MobileStep).index(step)]:
        action(rid)
    return rid


STEPS = {
    "confirm": (
        MobileStep.IDENTITY_CONFIRMED,
        lambda w, rid: w.confirm(rid, effective_on=date(2025, 11, 20)),
    ),
    "file": (MobileStep.ACTIVITIES_FILED, lambda w, rid: w.file(rid, on=date(2025, 11, 20))),
    "feedback": (MobileStep.FEEDBACK_ISSUED, lambda w, rid: w.feedback(rid, effective_on=date(2025, 11, 20))),
    "receipt": (MobileStep.RECEIPT_RETURNED, lambda w, rid: w.receipt(rid, on=date(2025, 11, 20))),
}
ALLOWED = {
    "confirm": {MobileStep.REGISTERED},
    "file": {MobileStep.IDENTITY_CONFIRMED, MobileStep.ACTIVITIES_FILED},
    "feedback": {MobileStep.ACTIVITIES_FILED},
    "receipt": {MobileStep.FEEDBACK_ISSUED},
}


@pytest.mark.parametrize("at", list(MobileStep))
@pytest.mark.parametrize("action", list(STEPS))
def test_R6_2_each_step_only_after_the_one_before(
    memory_ledger: Ledger, ctx: CommandContext, action: str, at: MobileStep
) -> None:
    world = World(memory_ledger, ctx)
    rid = _at(world, at)
    step, act = STEPS[action]
    if at in ALLOWED[action]:
        act(world, rid)
        assert world.round(rid).step == step
    else:
        with rejected(memory_ledger, errors.MobileStepOutOfOrder, rule="R6.2", field="step"):
            act(world, rid)


def test_R6_2_a_step_takes_effect_on_or_after_the_previous_one(world: World) -> None:
    rid = world.register()
    with rejected(world.ledger, errors.MobileStepBeforePrevious, rule="R6.2", field="effective_on"):
        world.confirm(rid, effective_on=date(2025, 3, 4))
    world.confirm(rid, effective_on=date(2025, 3, 5))
    assert world.round(rid).step == "identity_confirmed"


def test_R6_2_identity_is_confirmed_by_the_relationship_organisation(world: World) -> None:
    rid = world.register()
    with rejected(
        world.ledger,
        errors.IdentityNotConfirmedByRelationshipOrganization,
        rule="R6.2",
        field="confirming_org_id",
    ):
        world.confirm(rid, confirming_org_id=world.branch)
    world.confirm(rid, confirming_org_name="安徽省某县某镇党委第三支部")
    assert world.round(rid).confirming_org_name == "安徽省某县某镇党委第三支部"


def test_R6_2_relationship_organisation_in_the_system_confirms_by_id(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    branch = f.establish(memory_ledger, ctx, [], name="经营地党支部")
    home = f.establish(memory_ledger, ctx, [], name="户籍地党支部")
    member = f.register_member(
        memory_ledger,
        ctx,
        [branch],
        affiliation=Affiliation.MOBILE,
        relationship_org_id=home,
        relationship_org_name="",
    ).id
    rid = memory_ledger.register_mobile_round(
        ctx, effective_on=date(2025, 3, 5), member_id=member, year=2025, business_org_id=branch
    ).id
    memory_ledger.confirm_mobile_identity(
        ctx, rid, effective_on=date(2025, 3, 6), certificate_ref="证明1", confirming_org_id=home
    )
    r = memory_ledger.get_mobile_round(rid)
    assert (r.confirming_org_id, r.confirming_org_name) == (home, "户籍地党支部")


# --- the facts of each step -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["certificate_ref"])
def test_R6_2_identity_confirmation_names_its_certificate(world: World, field: str) -> None:
    rid = world.register()
    with rejected(world.ledger, errors.MobileStepIncomplete, rule="R6.2", field=field):
        world.confirm(rid, **{field: " "})


@pytest.mark.parametrize("field", ["assessment", "secretary_name", "feedback_form_ref", "letter_ref"])
def test_R6_2_feedback_has_assessment_form_and_letter(world: World, field: str) -> None:
    rid = _at(world, MobileStep.ACTIVITIES_FILED)
    with rejected(world.ledger, errors.MobileStepIncomplete, rule="R6.2", field=field):
        world.feedback(rid, **{field: ""})


@pytest.mark.parametrize(
    "activities",
    [
        [],
        [{"on": date(2025, 6, 1), "description": " "}],
        [{"description": "无日期"}],
        [{"on": date(2025, 6, 1), "description": "x", "place": "y"}],
        [{"on": date(2025, 6, 1), "description": "x", "activity_id": "not-a-uuid"}],
    ],
)
def test_R6_2_activity_filing_lists_dated_activities(world: World, activities: list[dict[str, Any]]) -> None:
    rid = _at(world, MobileStep.IDENTITY_CONFIRMED)
    with rejected(world.ledger, errors.MobileStepIncomplete, rule="R6.2", field="activities"):
        world.ledger.file_mobile_activities(
            world.ctx, rid, effective_on=date(2025, 6, 30), activities=activities
        )


@pytest.mark.parametrize("on", [date(2024, 12, 31), date(2025, 7, 1)])
def test_R6_3_activities_lie_within_the_year_and_before_their_filing(world: World, on: date) -> None:
    rid = _at(world, MobileStep.IDENTITY_CONFIRMED)
    with rejected(world.ledger, errors.MobileActivityOutsideRound, rule="R6.3", field="activities"):
        world.file(rid, {"on": on, "description": "党课"}, on=date(2025, 6, 30))


# --- overdue ------------------------------------------------------------------------------------


def test_R6_3_an_incomplete_round_is_overdue_after_30_november(world: World) -> None:
    rid = _at(world, MobileStep.FEEDBACK_ISSUED)
    r = world.round(rid)
    assert r.deadline == date(2025, 11, 30)
    assert not r.overdue(date(2025, 11, 30))
    assert r.overdue(date(2025, 12, 1))
    world.receipt(rid)
    assert not world.round(rid).overdue(date(2025, 12, 1))


def test_R6_3_overdue_is_derived_not_recorded(world: World) -> None:
    rid = world.register()
    before = position(world.ledger)
    assert world.round(rid).overdue(date(2026, 1, 1))
    assert position(world.ledger) == before

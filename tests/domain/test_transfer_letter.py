"""TransferLetter rules (组织关系介绍信): three parts and validity (R13.4), one open letter per member,
acceptance moves the relationship in the same transaction (R2.3, R13.4), refusal, cancellation,
receipt after acceptance, overdue derived and re-issue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.transfer_letter import TransferLetter, add_months, valid_until
from domain.values import Affiliation, OrgKind, TransferScope
from tests import factories as f
from tests.domain.helpers import events_after, position, rejected, replay, state

ISSUED = date(2025, 11, 10)


class World:
    """A sending organisation holding the member's relationship and a receiving organisation."""

    def __init__(self, ledger: Ledger, ctx: CommandContext) -> None:
        self.ledger, self.ctx = ledger, ctx
        self.sender = f.establish(ledger, ctx, [], name="南湖区个私协会城西分会党支部")
        self.receiver = f.establish(ledger, ctx, [], name="秀洲区个私协会新城分会党支部")
        self.member = f.register_member(
            ledger, ctx, [self.sender], relationship_org_id=self.sender, relationship_org_name=""
        ).id

    def issue(self, **overrides: Any) -> UUID:
        return self.ledger.issue_transfer_letter(self.ctx, **self.letter_fields(**overrides)).id

    def letter_fields(self, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "effective_on": ISSUED,
            "member_id": self.member,
            "letter_number": "嘉南组转字第12号",
            "stub_ref": "存根12",
            "receipt_ref": "回执12",
            "scope": TransferScope.SAME_CITY,
            "to_org_id": self.receiver,
        }
        fields.update(overrides)
        return fields

    def letter(self, letter_id: UUID) -> TransferLetter:
        return self.ledger.get_transfer_letter(letter_id)

    def get_member(self) -> Member:
        return self.ledger.get_member(self.member)


@pytest.fixture
def world(memory_ledger: Ledger, ctx: CommandContext) -> World:
    return World(memory_ledger, ctx)


# --- issuing ----------------------------------------------------------------------------------


def test_R13_4_issue_records_the_letter_and_opens_it_on_the_member(world: World) -> None:
    before = position(world.ledger)
    letter_id = world.issue()
    letter = world.letter(letter_id)
    assert (letter.member_id, letter.member_name) == (world.member, "张三")
    assert (letter.from_org_id, letter.from_org_name) == (world.sender, "南湖区个私协会城西分会党支部")
    assert (letter.to_org_id, letter.to_org_name) == (world.receiver, "秀洲区个私协会新城分会党支部")
    assert (letter.letter_number, letter.stub_ref, letter.receipt_ref) == (
        "嘉南组转字第12号",
        "存根12",
        "回执12",
    )
    assert (letter.issued_on, letter.valid_days, letter.valid_until) == (ISSUED, 10, date(2025, 11, 20))
    assert letter.status == "issued" and letter.is_open and letter.reissue_of is None
    assert world.get_member().open_transfer_letter_id == letter_id
    assert [type(e) for e in events_after(world.ledger, before)] == [
        TransferLetter.Issued,
        Member.TransferLetterIssued,
    ]


def test_R13_4_sending_organisation_keeps_the_member_until_acceptance(world: World) -> None:
    world.issue()
    member = world.get_member()
    assert member.relationship_org_id == world.sender
    assert member.relationship_since == f.DAY


def test_R13_4_letter_elsewhere_is_valid_30_days(world: World) -> None:
    letter = world.letter(world.issue(scope=TransferScope.ELSEWHERE))
    assert (letter.scope, letter.valid_days, letter.valid_until) == ("elsewhere", 30, ISSUED + timedelta(30))


def test_R13_4_explicit_validity_up_to_three_months(world: World) -> None:
    # 2025-11-10 + 3 months = 2026-02-10, 92 days later
    letter = world.letter(world.issue(valid_days=92))
    assert letter.valid_until == date(2026, 2, 10)


@pytest.mark.parametrize("days", [93, 365, 0, -1])
def test_R13_4_validity_beyond_three_months_or_below_one_day_is_rejected(world: World, days: int) -> None:
    with rejected(world.ledger, errors.TransferLetterValidityInvalid, rule="R13.4", field="valid_days"):
        world.issue(valid_days=days)


@given(
    issued=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    days=st.integers(min_value=1, max_value=200),
    scope=st.sampled_from(list(TransferScope)),
)
def test_R13_4_validity_never_exceeds_three_months(issued: date, days: int, scope: TransferScope) -> None:
    try:
        got_days, until = valid_until(issued, scope, days)
    except errors.TransferLetterValidityInvalid:
        assert issued + timedelta(days) > add_months(issued, 3)
    else:
        assert got_days == days and until == issued + timedelta(days) <= add_months(issued, 3)


@pytest.mark.parametrize("part", ["letter_number", "stub_ref", "receipt_ref"])
def test_R13_4_letter_has_stub_letter_and_receipt(world: World, part: str) -> None:
    with rejected(world.ledger, errors.TransferLetterPartMissing, rule="R13.4", field=part):
        world.issue(**{part: "  "})


def test_R2_3_letter_to_the_member_s_own_organisation_is_rejected(world: World) -> None:
    with rejected(world.ledger, errors.TransferToSameOrganization, rule="R2.3", field="to_org_id"):
        world.issue(to_org_id=world.sender)


def test_R2_3_letter_needs_a_receiving_organisation(world: World) -> None:
    with rejected(world.ledger, errors.RelationshipOrganizationRequired, rule="R2.2", field="to_org_id"):
        world.issue(to_org_id=None, to_org_name=" ")


def test_R13_4_letter_for_an_unknown_member_is_not_found(world: World) -> None:
    with rejected(world.ledger, errors.NotFound, rule="", field="member_id"):
        world.issue(member_id=world.sender)


def test_R13_4_one_open_letter_per_member(world: World) -> None:
    first = world.issue()
    with rejected(world.ledger, errors.TransferLetterAlreadyOpen, rule="R13.4", field="member_id") as info:
        world.issue(letter_number="嘉南组转字第13号")
    assert isinstance(info.value, errors.Conflict)
    assert world.get_member().open_transfer_letter_id == first


# --- acceptance -------------------------------------------------------------------------------


def test_R13_4_acceptance_moves_the_relationship_in_the_same_commit(world: World) -> None:
    letter_id = world.issue()
    before = position(world.ledger)
    result = world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=date(2025, 11, 15))
    assert result.id == letter_id and result.position == position(world.ledger) == before + 3
    assert [type(e) for e in events_after(world.ledger, before)] == [
        TransferLetter.Accepted,
        Member.RelationshipTransferred,
        Member.TransferLetterClosed,
    ]
    letter, member = world.letter(letter_id), world.get_member()
    assert (letter.status, letter.closed_on, letter.closed_by) == (
        "accepted",
        date(2025, 11, 15),
        world.ctx.actor,
    )
    assert (member.relationship_org_id, member.relationship_org_name) == (
        world.receiver,
        "秀洲区个私协会新城分会党支部",
    )
    assert member.relationship_since == date(2025, 11, 15)
    assert member.open_transfer_letter_id is None
    assert not letter.is_overdue(date(2026, 1, 1))


def test_R13_4_acceptance_may_change_the_affiliation(world: World) -> None:
    letter_id = world.issue()
    world.ledger.accept_transfer_letter(
        world.ctx, letter_id, effective_on=date(2025, 11, 15), affiliation=Affiliation.MOBILE
    )
    assert world.get_member().affiliation == "mobile"
    assert world.letter(letter_id).affiliation == "mobile"


def test_R13_4_letter_to_an_organisation_outside_the_system(world: World) -> None:
    letter_id = world.issue(to_org_id=None, to_org_name="安徽省某县某镇党委", scope=TransferScope.ELSEWHERE)
    world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=date(2025, 11, 20))
    member = world.get_member()
    assert (member.relationship_org_id, member.relationship_org_name) == (None, "安徽省某县某镇党委")


def test_R2_1_acceptance_into_a_non_association_keeps_the_subordinate_rule(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    association = f.establish(memory_ledger, ctx, [], kind=OrgKind.BRANCH_ASSOCIATION)
    station = f.establish(memory_ledger, ctx, [], kind=OrgKind.STATION_BRANCH)
    member = f.register_member(
        memory_ledger,
        ctx,
        [association],
        relationship_org_id=association,
        affiliation=Affiliation.SUBORDINATE,
    ).id
    letter = memory_ledger.issue_transfer_letter(
        ctx,
        effective_on=ISSUED,
        member_id=member,
        letter_number="1",
        stub_ref="1",
        receipt_ref="1",
        scope=TransferScope.SAME_CITY,
        to_org_id=station,
    ).id
    with rejected(memory_ledger, errors.AffiliationRequiresAssociation, rule="R2.1", field="to_org_id"):
        memory_ledger.accept_transfer_letter(ctx, letter, effective_on=ISSUED)
    memory_ledger.accept_transfer_letter(ctx, letter, effective_on=ISSUED, affiliation=Affiliation.LOCAL)
    assert memory_ledger.get_member(member).relationship_org_id == station


def test_R13_4_acceptance_entered_late_counts_within_the_validity(world: World) -> None:
    letter_id = world.issue(effective_on=date(2025, 11, 1))  # valid until 2025-11-11; today is 11-20
    assert world.letter(letter_id).is_overdue(date(2025, 11, 20))
    world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=date(2025, 11, 11))
    assert world.get_member().relationship_org_id == world.receiver


def test_R13_4_overdue_letter_cannot_be_accepted(world: World) -> None:
    letter_id = world.issue(effective_on=date(2025, 11, 1))
    letter = world.letter(letter_id)
    assert not letter.is_overdue(date(2025, 11, 11))
    assert letter.is_overdue(date(2025, 11, 12))
    with rejected(world.ledger, errors.TransferLetterOverdue, rule="R13.4", field="effective_on"):
        world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=date(2025, 11, 12))
    assert world.get_member().relationship_org_id == world.sender


def test_R13_4_acceptance_before_issue_is_rejected(world: World) -> None:
    letter_id = world.issue()
    with rejected(world.ledger, errors.TransferLetterDateTooEarly, rule="R13.4", field="effective_on"):
        world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED - timedelta(1))


def test_R13_4_accepted_letter_cannot_be_accepted_again(world: World) -> None:
    letter_id = world.issue()
    world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED)
    with rejected(world.ledger, errors.TransferLetterNotOpen, rule="R13.4", field="id"):
        world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED)
    with rejected(world.ledger, errors.TransferLetterNotOpen, rule="R13.4", field="id"):
        world.ledger.cancel_transfer_letter(world.ctx, letter_id, effective_on=ISSUED, reason="错开")


def test_R2_3_acceptance_after_a_direct_transfer_is_stale(world: World, memory_ledger: Ledger) -> None:
    letter_id = world.issue()
    other = f.establish(memory_ledger, world.ctx, [], name="另一党支部")
    memory_ledger.transfer_member_relationship(world.ctx, world.member, effective_on=ISSUED, to_org_id=other)
    with rejected(memory_ledger, errors.TransferLetterStale, rule="R2.3", field="member_id"):
        memory_ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED)


# --- refusal, cancellation, re-issue -------------------------------------------------------------


def test_R13_4_refusal_keeps_the_member_and_closes_the_letter(world: World) -> None:
    letter_id = world.issue()
    before = position(world.ledger)
    world.ledger.refuse_transfer_letter(world.ctx, letter_id, effective_on=ISSUED, reason="  介绍信抬头有误 ")
    assert [type(e) for e in events_after(world.ledger, before)] == [
        TransferLetter.Refused,
        Member.TransferLetterClosed,
    ]
    letter, member = world.letter(letter_id), world.get_member()
    assert (letter.status, letter.reason) == ("refused", "介绍信抬头有误")
    assert member.relationship_org_id == world.sender and member.open_transfer_letter_id is None
    with rejected(world.ledger, errors.TransferLetterNotOpen, rule="R13.4", field="id"):
        world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED)
    world.issue(letter_number="嘉南组转字第13号")  # a new letter may follow


def test_R13_4_refusal_needs_a_reason(world: World) -> None:
    letter_id = world.issue()
    with rejected(world.ledger, errors.MissingField, rule="R1.1", field="reason"):
        world.ledger.refuse_transfer_letter(world.ctx, letter_id, effective_on=ISSUED, reason=" ")


def test_R13_4_cancellation_closes_the_open_letter(world: World) -> None:
    letter_id = world.issue()
    world.ledger.cancel_transfer_letter(world.ctx, letter_id, effective_on=ISSUED, reason="党员暂缓转出")
    letter = world.letter(letter_id)
    assert (letter.status, letter.reason, letter.closed_on) == ("cancelled", "党员暂缓转出", ISSUED)
    assert world.get_member().open_transfer_letter_id is None
    with rejected(world.ledger, errors.TransferLetterNotOpen, rule="R13.4", field="id"):
        world.ledger.cancel_transfer_letter(world.ctx, letter_id, effective_on=ISSUED, reason="再次")


def test_R13_4_overdue_letter_is_reissued_as_a_new_letter(world: World) -> None:
    old_id = world.issue(effective_on=date(2025, 11, 1))
    before = position(world.ledger)
    new_id = world.ledger.reissue_transfer_letter(
        world.ctx,
        old_id,
        effective_on=date(2025, 11, 18),
        letter_number="嘉南组转字第20号",
        stub_ref="存根20",
        receipt_ref="回执20",
    ).id
    assert [type(e) for e in events_after(world.ledger, before)] == [
        TransferLetter.Issued,
        TransferLetter.Reissued,
        Member.TransferLetterClosed,
        Member.TransferLetterIssued,
    ]
    old, new = world.letter(old_id), world.letter(new_id)
    assert (old.status, old.reissued_as, old.is_overdue(date(2025, 11, 20))) == ("reissued", new_id, False)
    assert (new.reissue_of, new.to_org_id, new.scope, new.valid_until) == (
        old_id,
        world.receiver,
        "same_city",
        date(2025, 11, 28),
    )
    assert world.get_member().open_transfer_letter_id == new_id
    world.ledger.accept_transfer_letter(world.ctx, new_id, effective_on=date(2025, 11, 20))
    assert world.get_member().relationship_org_id == world.receiver


def test_R13_4_a_valid_letter_is_not_reissued(world: World) -> None:
    letter_id = world.issue()
    with rejected(world.ledger, errors.TransferLetterNotOverdue, rule="R13.4", field="id"):
        world.ledger.reissue_transfer_letter(
            world.ctx, letter_id, effective_on=ISSUED, letter_number="2", stub_ref="2", receipt_ref="2"
        )


# --- receipt ----------------------------------------------------------------------------------


def test_R13_4_receipt_returns_to_the_issuer_after_acceptance(world: World) -> None:
    letter_id = world.issue()
    with rejected(world.ledger, errors.TransferReceiptNotExpected, rule="R13.4", field="id"):
        world.ledger.return_transfer_receipt(world.ctx, letter_id, effective_on=ISSUED)
    world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=date(2025, 11, 12))
    with rejected(world.ledger, errors.TransferLetterDateTooEarly, rule="R13.4", field="effective_on"):
        world.ledger.return_transfer_receipt(world.ctx, letter_id, effective_on=date(2025, 11, 11))
    world.ledger.return_transfer_receipt(world.ctx, letter_id, effective_on=date(2025, 11, 19))
    letter = world.letter(letter_id)
    assert (letter.receipt_returned_on, letter.receipt_returned_by) == (date(2025, 11, 19), world.ctx.actor)
    with rejected(world.ledger, errors.TransferReceiptNotExpected, rule="R13.4", field="id"):
        world.ledger.return_transfer_receipt(world.ctx, letter_id, effective_on=date(2025, 11, 20))


def test_R1_3_letter_dates_are_never_ahead(world: World) -> None:
    with rejected(world.ledger, errors.EffectiveDateInFuture, rule="R1.3", field="effective_on"):
        world.issue(effective_on=date(2025, 11, 22))


def test_replay_gives_the_same_letter(world: World) -> None:
    letter_id = world.issue()
    world.ledger.accept_transfer_letter(world.ctx, letter_id, effective_on=ISSUED)
    world.ledger.return_transfer_receipt(world.ctx, letter_id, effective_on=ISSUED)
    assert state(replay(world.ledger, letter_id)) == state(world.letter(letter_id))
    assert state(replay(world.ledger, world.member)) == state(world.get_member())

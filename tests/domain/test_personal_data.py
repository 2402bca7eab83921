"""Erasure of a member's personal data (issue #7) in the domain: the event, its rules (R13.6, R1.1), and
which fields of which events are declared personal (``domain.personal``)."""

from __future__ import annotations

from uuid import uuid4

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.mobile_round import MobileRound
from domain.personal import ERASED, WITHHELD, erasures, personal_data_of, withhold
from domain.pioneer_round import PioneerRound
from domain.transfer_letter import TransferLetter
from tests.conftest import TODAY
from tests.domain.helpers import position, rejected, stored_events
from tests.factories import DAY, establish, register_member


def test_erasure_records_the_event_and_erases_the_personal_fields(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = register_member(memory_ledger, ctx, [establish(memory_ledger, ctx)]).id
    before = position(memory_ledger)
    memory_ledger.erase_member_personal_data(ctx, member_id, effective_on=TODAY, reason="本人申请")
    (event,) = stored_events(memory_ledger, start=before + 1)
    assert isinstance(event, Member.PersonalDataErased) and event.reason == "本人申请"
    member = memory_ledger.get_member(member_id)
    assert (member.name, member.mobile, member.household_district) == (ERASED, ERASED, ERASED)
    assert member.erased and member.personal_data_erased_on == TODAY
    assert member.unit_name == "南湖区某某农贸市场" and not member.has_left  # the record stays (R13.6)
    assert erasures([event]) == {member_id}


def test_R13_6_a_member_is_erased_once_and_their_data_cannot_come_back(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = register_member(memory_ledger, ctx, [establish(memory_ledger, ctx)]).id
    memory_ledger.erase_member_personal_data(ctx, member_id, effective_on=TODAY, reason="本人申请")
    with rejected(memory_ledger, errors.PersonalDataAlreadyErased, rule="R13.6", field="id"):
        memory_ledger.erase_member_personal_data(ctx, member_id, effective_on=TODAY, reason="again")
    for name in ("name", "mobile", "household_district"):
        value = "13800001111" if name == "mobile" else "王五"
        with rejected(memory_ledger, errors.PersonalDataErasedMember, rule="R13.6", field=name):
            memory_ledger.correct_member(
                ctx, member_id, effective_on=TODAY, changes={name: value}, reason="恢复"
            )
    memory_ledger.correct_member(
        ctx, member_id, effective_on=TODAY, changes={"unit_name": "新店"}, reason="改名"
    )


def test_R1_1_erasure_needs_a_reason_and_the_marker_is_no_name(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org = establish(memory_ledger, ctx)
    member_id = register_member(memory_ledger, ctx, [org]).id
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.erase_member_personal_data(ctx, member_id, effective_on=TODAY, reason=" ")
    with rejected(memory_ledger, errors.ErasedMarkerNotAllowed, rule="R1.1", field="name"):
        register_member(memory_ledger, ctx, [org], name=ERASED, id=uuid4())
    with rejected(memory_ledger, errors.ErasedMarkerNotAllowed, rule="R1.1", field="household_district"):
        memory_ledger.correct_member(
            ctx, member_id, effective_on=DAY, changes={"household_district": ERASED}, reason="x"
        )
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.erase_member_personal_data(ctx, uuid4(), effective_on=TODAY, reason="本人申请")


def test_personal_fields_are_declared_on_every_event_that_copies_them() -> None:
    declared = {
        cls.__qualname__: (spec.subject, spec.paths)
        for cls in (
            Member.Registered,
            Member.DetailsCorrected,
            TransferLetter.Issued,
            MobileRound.Registered,
            PioneerRound.MemberEnrolled,
        )
        if (spec := personal_data_of(cls)) is not None
    }
    assert declared == {
        "Member.Registered": ("originator_id", ("name", "mobile", "household_district")),
        "Member.DetailsCorrected": (
            "originator_id",
            ("changes.name", "changes.mobile", "changes.household_district"),
        ),
        "TransferLetter.Issued": ("member_id", ("member_name",)),
        "MobileRound.Registered": ("member_id", ("member_name",)),
        "PioneerRound.MemberEnrolled": ("member_id", ("name",)),
    }
    assert personal_data_of(Member.Left) is None
    facts = {"changes": {"name": "王五", "unit_name": "新店"}, "reason": "笔误"}
    assert withhold(Member.DetailsCorrected, facts) == {
        "changes": {"name": WITHHELD, "unit_name": "新店"},
        "reason": "笔误",
    }
    assert facts["changes"]["name"] == "王五"  # the event's own facts are not touched

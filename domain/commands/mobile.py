"""Commands on the mobile-member two-way feedback chain (流动党员双向反馈, R6).

A round is registered for a mobile member (checked on the Member aggregate, R6.1/R13.3) and a year;
its id is derived from both, so a second registration for the same member and year collides, also
when two arrive at once. The later steps change only the round.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext
from domain.member import Member
from domain.mobile_round import MobileRound, round_id
from domain.values import Affiliation


class MobileCommands(MemberCommands):
    def get_mobile_round(self, id: UUID) -> MobileRound:
        return self._get(MobileRound, id, "mobile-member round")

    def _round_exists(self, id: UUID) -> bool:
        try:
            self.get_mobile_round(id)
        except errors.NotFound:
            return False
        return True

    @command
    def register_mobile_round(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        member_id: UUID,
        year: int,
        business_org_id: UUID,
    ) -> CommandResult:
        """Register a mobile member for the year's feedback chain (流动党员登记, R6.1, R6.2 step 1).

        The relationship organisation is the member's; the business-place organisation hosts the
        member's organisational life where they do business.
        """
        meta = self._meta(ctx, effective_on)
        member = self._get(Member, member_id, "member", "member_id")
        if member.has_left:
            raise errors.MemberHasLeft(f"member {member.id} has left", field="member_id")
        if member.affiliation != Affiliation.MOBILE:
            raise errors.MemberNotMobile(f"member {member.name} is {member.affiliation}, not mobile (流动)")
        business = self._active_organization(business_org_id, "business_org_id")
        duplicate = errors.MobileRoundAlreadyRegistered(f"member {member.name} already has a {year} round")
        if self._round_exists(round_id(member.id, year)):
            raise duplicate
        mobile_round = MobileRound.register(
            member_id=member.id,
            member_name=member.name,
            year=year,
            business_org_id=business.id,
            business_org_name=business.name,
            relationship_org_id=member.relationship_org_id,
            relationship_org_name=member.relationship_org_name,
            meta=meta,
        )
        return self._commit(mobile_round.id, mobile_round, on_conflict=duplicate)

    @command
    def confirm_mobile_identity(
        self,
        ctx: CommandContext,
        id: UUID,
        *,
        effective_on: date,
        certificate_ref: str,
        confirming_org_id: UUID | None = None,
        confirming_org_name: str = "",
    ) -> CommandResult:
        """The relationship organisation confirms the member's identity (党员身份确认, R6.2 step 2)."""
        mobile_round = self.get_mobile_round(id)
        mobile_round.confirm_identity(
            certificate_ref=certificate_ref,
            confirming_org_id=confirming_org_id,
            confirming_org_name=confirming_org_name,
            meta=self._meta(ctx, effective_on),
        )
        return self._commit(mobile_round.id, mobile_round)

    @command
    def file_mobile_activities(
        self,
        ctx: CommandContext,
        id: UUID,
        *,
        effective_on: date,
        activities: list[Mapping[str, Any]],
    ) -> CommandResult:
        """File activities the member attended (参加组织活动备案, R6.2 step 3); may repeat until feedback."""
        mobile_round = self.get_mobile_round(id)
        mobile_round.file_activities(activities, self._meta(ctx, effective_on))
        return self._commit(mobile_round.id, mobile_round)

    @command
    def issue_mobile_feedback(
        self,
        ctx: CommandContext,
        id: UUID,
        *,
        effective_on: date,
        assessment: str,
        secretary_name: str,
        feedback_form_ref: str,
        letter_ref: str,
    ) -> CommandResult:
        """The business-place secretary's assessment, feedback form and letter go to the relationship
        organisation (党员情况反馈, R6.2 step 4)."""
        mobile_round = self.get_mobile_round(id)
        mobile_round.issue_feedback(
            assessment=assessment,
            secretary_name=secretary_name,
            feedback_form_ref=feedback_form_ref,
            letter_ref=letter_ref,
            meta=self._meta(ctx, effective_on),
        )
        return self._commit(mobile_round.id, mobile_round)

    @command
    def return_mobile_receipt(
        self, ctx: CommandContext, id: UUID, *, effective_on: date, archive_ref: str
    ) -> CommandResult:
        """The relationship organisation's receipt (回执) is back and archived (R6.2 step 5)."""
        mobile_round = self.get_mobile_round(id)
        mobile_round.return_receipt(archive_ref, self._meta(ctx, effective_on))
        return self._commit(mobile_round.id, mobile_round)

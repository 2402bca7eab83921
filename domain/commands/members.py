"""Commands on members: registration (R1.1), affiliation and relationship (R2)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.commands.base import CommandResult, command
from domain.commands.organizations import OrganizationCommands
from domain.envelope import CommandContext, check_not_ahead
from domain.market_entity import MarketEntity
from domain.member import Member
from domain.values import ASSOCIATION_KINDS, Affiliation, Distribution, MemberCategory


class MemberCommands(OrganizationCommands):
    def get_member(self, member_id: UUID) -> Member:
        return self._get(Member, member_id, "member")

    @command
    def register_member(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        unit_name: str,
        name: str,
        mobile: str,
        is_business_owner: bool,
        household_district: str,
        life_org_ids: list[UUID],
        category: MemberCategory,
        affiliation: Affiliation,
        distribution: Distribution,
        form_date: date,
        filled_by_name: str,
        filled_by_phone: str,
        relationship_org_id: UUID | None = None,
        relationship_org_name: str = "",
        entity_id: UUID | None = None,
        id: UUID | None = None,
        admitted_on: date | None = None,
    ) -> CommandResult:
        """Register a member from the 《个体工商户党建信息登记表》 (R1.1, R2.1, R2.2); a probationary
        member's admission date (入党日期) is required (R13.5)."""
        meta = self._meta(ctx, effective_on)
        check_not_ahead(form_date, self.today(), "form_date")
        is_association = False
        if relationship_org_id is not None:
            rel = self._active_organization(relationship_org_id, "relationship_org_id")
            is_association = rel.kind in ASSOCIATION_KINDS
            relationship_org_name = relationship_org_name or rel.name
        for org_id in life_org_ids:
            self._active_organization(org_id, "life_org_ids")
        if entity_id is not None:
            self._get(MarketEntity, entity_id, "market entity", "entity_id")
        member = Member.register(
            id=id or uuid4(),
            unit_name=unit_name,
            entity_id=entity_id,
            name=name,
            mobile=mobile,
            is_business_owner=is_business_owner,
            household_district=household_district,
            life_org_ids=life_org_ids,
            relationship_org_id=relationship_org_id,
            relationship_org_name=relationship_org_name,
            relationship_is_association=is_association,
            category=category,
            affiliation=affiliation,
            distribution=distribution,
            form_date=form_date,
            filled_by_name=filled_by_name,
            filled_by_phone=filled_by_phone,
            meta=meta,
            admitted_on=admitted_on,
        )
        return self._commit(member.id, member)

    @command
    def transfer_member_relationship(
        self,
        ctx: CommandContext,
        member_id: UUID,
        *,
        effective_on: date,
        to_org_id: UUID | None = None,
        to_org_name: str = "",
        affiliation: Affiliation | None = None,
    ) -> CommandResult:
        """Transfer the organisational relationship (组织关系转接) on its effective date (R2.3)."""
        meta = self._meta(ctx, effective_on)
        member = self.get_member(member_id)
        is_association = False
        if to_org_id is not None:
            target = self._active_organization(to_org_id, "to_org_id")
            is_association = target.kind in ASSOCIATION_KINDS
            to_org_name = to_org_name or target.name
        member.transfer_relationship(
            to_org_id=to_org_id,
            to_org_name=to_org_name,
            to_is_association=is_association,
            affiliation=affiliation,
            meta=meta,
        )
        return self._commit(member.id, member)

    @command
    def join_life_organization(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, org_id: UUID
    ) -> CommandResult:
        """Add an organisational-life organisation (R2.2 一方隶属，多重管理)."""
        meta = self._meta(ctx, effective_on)
        member = self.get_member(member_id)
        self._active_organization(org_id, "org_id")
        member.join_life_organization(org_id, meta)
        return self._commit(member.id, member)

    @command
    def leave_life_organization(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, org_id: UUID
    ) -> CommandResult:
        member = self.get_member(member_id)
        member.leave_life_organization(org_id, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def correct_member(
        self,
        ctx: CommandContext,
        member_id: UUID,
        *,
        effective_on: date,
        changes: dict[str, Any],
        reason: str,
    ) -> CommandResult:
        """Correct form details (R1.3)."""
        member = self.get_member(member_id)
        member.correct_details(changes, reason, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def erase_member_personal_data(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Erase a member's personal data (issue #7): destroy the member's key, then record
        ``Member.PersonalDataErased``. The member stays on file and in every figure (R13.6).

        The key goes first: if the event then fails to save (a concurrent change, 409), the data is
        already unreadable and a retry records the event."""
        meta = self._meta(ctx, effective_on)
        member = self.get_member(member_id)
        member.erase_personal_data(reason, meta)
        if self.vault is not None:
            self.vault.destroy(member.id)
        return self._commit(member.id, member)

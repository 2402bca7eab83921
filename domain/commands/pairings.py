"""Commands on pairings (结对共建, R10) and leaders' liaison points (联系点, R12)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext, check_not_ahead
from domain.liaison import LiaisonPoint, liaison_point_id_for
from domain.pairing import Pairing, pairing_id_for
from domain.values import require_text


class PairingCommands(MemberCommands):
    def get_pairing(self, pairing_id: UUID) -> Pairing:
        return self._get(Pairing, pairing_id, "pairing")

    def get_liaison_point(self, point_id: UUID) -> LiaisonPoint:
        return self._get(LiaisonPoint, point_id, "liaison point")

    def _last_pairing(self, org_a: UUID, org_b: UUID) -> Pairing | None:
        """The latest pairing of these two organisations: their pairings have ids 1, 2, ... in turn."""
        last = None
        sequence = 1
        while (pairing_id := pairing_id_for(org_a, org_b, sequence)) in self.repository:
            last = self._get(Pairing, pairing_id, "pairing", "org_ids")
            sequence += 1
        return last

    @command
    def pair_organizations(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        org_ids: list[UUID],
        agreement_reference: str,
        agreement_signed_on: date,
        plan_year: int,
        plan_items: list[str],
        brand: str = "",
    ) -> CommandResult:
        """Pair two organisations under a co-building agreement with its first yearly plan (R10, R12)."""
        meta = self._meta(ctx, effective_on)
        check_not_ahead(agreement_signed_on, self.today(), "agreement_signed_on")
        if len(org_ids) != 2:
            raise errors.PairingNeedsTwoOrganizations(
                f"a pairing joins two organisations, not {len(org_ids)}"
            )
        first_id, second_id = org_ids
        first = self._active_organization(first_id, "org_ids")
        second = self._active_organization(second_id, "org_ids")
        pairing = Pairing.pair(
            first=first,
            second=second,
            previous=self._last_pairing(first_id, second_id) if first_id != second_id else None,
            agreement_reference=agreement_reference,
            agreement_signed_on=agreement_signed_on,
            brand=brand,
            plan_year=plan_year,
            plan_items=plan_items,
            meta=meta,
        )
        duplicate = errors.PairingAlreadyActive(f"{first.name} and {second.name} are already paired")
        return self._commit(pairing.id, pairing, on_conflict=duplicate)

    @command
    def add_pairing_plan(
        self,
        ctx: CommandContext,
        pairing_id: UUID,
        *,
        effective_on: date,
        plan_year: int,
        plan_items: list[str],
    ) -> CommandResult:
        """Add the co-building plan for a later year (R12)."""
        pairing = self.get_pairing(pairing_id)
        pairing.add_plan(plan_year, plan_items, self._meta(ctx, effective_on))
        duplicate = errors.PlanYearAlreadyPlanned(f"the pairing already has a plan for {plan_year}")
        return self._commit(pairing.id, pairing, on_conflict=duplicate)

    @command
    def end_pairing(
        self, ctx: CommandContext, pairing_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """End a pairing; it is kept, and the organisations may pair again later (R10)."""
        pairing = self.get_pairing(pairing_id)
        pairing.end(reason, self._meta(ctx, effective_on))
        return self._commit(pairing.id, pairing)

    @command
    def link_liaison_point(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        leader_name: str,
        leader_title: str,
        org_id: UUID,
        leader_ref: str = "",
    ) -> CommandResult:
        """Link a leader to a branch (联系点) from ``effective_on``: one at a time per leader (R12).

        ``leader_ref`` identifies the leader (e.g. a staff number); it defaults to the name.
        """
        meta = self._meta(ctx, effective_on)
        ref = leader_ref.strip() or require_text(leader_name, "leader_name")
        org = self._active_organization(org_id, "org_id")
        point_id = liaison_point_id_for(ref)
        if point_id in self.repository:
            point = self.get_liaison_point(point_id)
            point.relink(leader_name=leader_name, leader_title=leader_title, org=org, meta=meta)
        else:
            point = LiaisonPoint.link(
                leader_ref=ref, leader_name=leader_name, leader_title=leader_title, org=org, meta=meta
            )
        duplicate = errors.LeaderAlreadyLinked(f"{leader_name} was linked to a branch by another command")
        return self._commit(point.id, point, on_conflict=duplicate)

    @command
    def end_liaison_point(
        self, ctx: CommandContext, point_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """End a leader's current link; the leader may link again later (R12)."""
        point = self.get_liaison_point(point_id)
        point.end(reason, self._meta(ctx, effective_on))
        return self._commit(point.id, point)

"""Commands on star stations (R9.1), 薪火 demonstrations (R9.2, R9.3) and market standardisation (R4)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext, check_not_ahead
from domain.market_entity import MarketEntity
from domain.market_standardisation import MarketStandardisation, check_market_in_scope, standardisation_id_for
from domain.member import Member
from domain.station_star import StationStar, check_star_level, station_star_id_for
from domain.values import (
    EntityKind,
    EntityStatus,
    FocusIndustry,
    MarketScope,
    OrgKind,
    StandardisationCriterion,
    XinhuoCategory,
)
from domain.xinhuo import XinhuoDemonstration, category_for


class StarCommands(MemberCommands):
    # --- star stations (R9.1) --------------------------------------------------------------------

    def get_station_star(self, star_id: UUID) -> StationStar:
        return self._get(StationStar, star_id, "station star record")

    @command
    def award_station_star(
        self, ctx: CommandContext, *, effective_on: date, org_id: UUID, level: int, awarding_body: str
    ) -> CommandResult:
        """Award 3, 4 or 5 stars to a station branch holding none; the date is ``effective_on`` (R9.1)."""
        meta = self._meta(ctx, effective_on)
        check_star_level(level)
        org = self._active_organization(org_id, "org_id")
        if org.kind != OrgKind.STATION_BRANCH:
            raise errors.StationBranchRequired(f"{org.name} is a {org.kind}, not a station branch")
        star_id = station_star_id_for(org_id)
        fresh = star_id not in self.repository
        star = StationStar.open(org_id=org_id, meta=meta) if fresh else self.get_station_star(star_id)
        star.award(level, awarding_body, meta)
        conflict = errors.StationAlreadyStarred("the station's stars were recorded concurrently")
        return self._commit(star.id, star, on_conflict=conflict if fresh else None)

    @command
    def raise_station_star(
        self, ctx: CommandContext, star_id: UUID, *, effective_on: date, level: int, awarding_body: str
    ) -> CommandResult:
        """Raise the station's stars to a higher level (R9.1)."""
        star = self.get_station_star(star_id)
        star.raise_level(level, awarding_body, self._meta(ctx, effective_on))
        return self._commit(star.id, star)

    @command
    def revoke_station_star(
        self, ctx: CommandContext, star_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Revoke the station's stars with a reason (R9.1); lowering is revoke, then award."""
        star = self.get_station_star(star_id)
        star.revoke(reason, self._meta(ctx, effective_on))
        return self._commit(star.id, star)

    # --- 薪火 demonstrations (R9.2, R9.3) -------------------------------------------------------------

    def get_xinhuo_demonstration(self, demonstration_id: UUID) -> XinhuoDemonstration:
        return self._get(XinhuoDemonstration, demonstration_id, "薪火 demonstration")

    @command
    def award_xinhuo_demonstration(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        awarding_body: str,
        org_id: UUID | None = None,
        member_id: UUID | None = None,
        entity_id: UUID | None = None,
        category: XinhuoCategory | None = None,
        focus_industry: FocusIndustry | None = None,
    ) -> CommandResult:
        """Award a 薪火 demonstration organisation or member household in its category (R9.2, R9.3)."""
        meta = self._meta(ctx, effective_on)
        opened = XinhuoDemonstration.open(org_id=org_id, member_id=member_id, entity_id=entity_id, meta=meta)
        kind: EntityKind | None = None
        if org_id is not None:
            self._active_organization(org_id, "org_id")
        if member_id is not None and entity_id is not None:  # a household: ``open`` allows nothing else
            member = self._present_member(member_id)
            entity = self._get(MarketEntity, entity_id, "market entity", "entity_id")
            if entity.status == EntityStatus.DEREGISTERED:
                raise errors.EntityDeregistered(
                    f"entity {entity.credit_code} is deregistered", field="entity_id"
                )
            if member.entity_id is not None and member.entity_id != entity_id:
                raise errors.HouseholdEntityMismatch("the member is registered with another market entity")
            kind = EntityKind(entity.kind)
        resolved = category_for(kind, category)
        fresh = opened.id not in self.repository
        demonstration = opened if fresh else self.get_xinhuo_demonstration(opened.id)
        demonstration.award(resolved, focus_industry, awarding_body, meta)
        conflict = errors.XinhuoAlreadyActive("the demonstration was recorded concurrently", field="id")
        return self._commit(demonstration.id, demonstration, on_conflict=conflict if fresh else None)

    def _present_member(self, member_id: UUID) -> Member:
        member = self._get(Member, member_id, "member", "member_id")
        if member.has_left:
            raise errors.MemberHasLeft(f"member {member_id} has left", field="member_id")
        return member

    @command
    def revoke_xinhuo_demonstration(
        self, ctx: CommandContext, demonstration_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Revoke a 薪火 demonstration with a reason (R9.2)."""
        demonstration = self.get_xinhuo_demonstration(demonstration_id)
        demonstration.revoke(reason, self._meta(ctx, effective_on))
        return self._commit(demonstration.id, demonstration)

    # --- market standardisation (六化, R4) ------------------------------------------------------------

    def get_market_standardisation(self, standardisation_id: UUID) -> MarketStandardisation:
        return self._get(MarketStandardisation, standardisation_id, "market standardisation")

    @command
    def enroll_market_standardisation(
        self, ctx: CommandContext, *, effective_on: date, entity_id: UUID, scope: MarketScope
    ) -> CommandResult:
        """Enrol a market in party-building standardisation in its R4 scope category."""
        meta = self._meta(ctx, effective_on)
        entity = self._get(MarketEntity, entity_id, "market entity", "entity_id")
        if entity.status == EntityStatus.DEREGISTERED:
            raise errors.EntityDeregistered(f"entity {entity.credit_code} is deregistered", field="entity_id")
        check_market_in_scope(EntityKind(entity.kind), scope)
        duplicate = errors.MarketAlreadyEnrolled(f"market {entity.credit_code} is already enrolled")
        if standardisation_id_for(entity_id) in self.repository:
            raise duplicate
        record = MarketStandardisation.enroll(
            entity_id=entity_id, entity_kind=EntityKind(entity.kind), scope=scope, meta=meta
        )
        return self._commit(record.id, record, on_conflict=duplicate)

    @command
    def record_market_criterion_met(
        self,
        ctx: CommandContext,
        standardisation_id: UUID,
        *,
        effective_on: date,
        criterion: StandardisationCriterion,
        evidence: str,
        evidence_on: date,
        training_dates: list[date] | None = None,
        party_affairs_workers: int | None = None,
    ) -> CommandResult:
        """Record one of the six criteria (六化) as met, with its evidence (R4)."""
        meta = self._meta(ctx, effective_on)
        check_not_ahead(evidence_on, self.today(), "evidence_on")
        for day in training_dates or []:
            check_not_ahead(day, self.today(), "training_dates")
        record = self.get_market_standardisation(standardisation_id)
        record.record_met(
            criterion, evidence, evidence_on, list(training_dates or []), party_affairs_workers, meta
        )
        return self._commit(record.id, record)

    @command
    def record_market_criterion_lapsed(
        self,
        ctx: CommandContext,
        standardisation_id: UUID,
        *,
        effective_on: date,
        criterion: StandardisationCriterion,
        reason: str,
    ) -> CommandResult:
        """Record that a criterion is no longer met (R4)."""
        record = self.get_market_standardisation(standardisation_id)
        record.record_lapsed(criterion, reason, self._meta(ctx, effective_on))
        return self._commit(record.id, record)

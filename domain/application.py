"""The command side: one eventsourcing Application, get → call → save.

Every command takes a ``CommandContext`` (who, correlation, causation) and an effective date, checks
all rules before anything is recorded, and saves every aggregate it touched in one ``save()`` — one
database transaction with optimistic concurrency on each aggregate's version. Rules that span
aggregates (an entity covered by at most one organisation, R13.1) are therefore checked on the
aggregates themselves, never on a read model that may lag, and a race between two such commands
ends with one success and one ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, RecordConflictError, Transcoding

from domain import errors
from domain.envelope import CommandContext, EventMeta, check_not_ahead
from domain.market_entity import MarketEntity, entity_id_for
from domain.member import Member
from domain.organization import PartyOrganization
from domain.values import (
    ASSOCIATION_KINDS,
    Affiliation,
    Distribution,
    EntityKind,
    EntityStatus,
    Formation,
    MemberCategory,
    OrgKind,
    validate_credit_code,
)

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
A = TypeVar("A", bound=Aggregate)


def business_today() -> date:
    """Today's date where the business happens (China Standard Time)."""
    return datetime.now(BUSINESS_TZ).date()


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ConcurrentChange(errors.Conflict):
    """Another command changed the same aggregate first (optimistic concurrency); retry."""


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the aggregate it created or changed and the last event position."""

    id: UUID
    position: int


class Ledger(Application[UUID]):
    """The dangjian command side."""

    name = "Ledger"

    def __init__(
        self, env: Mapping[str, str] | None = None, today: Callable[[], date] = business_today
    ) -> None:
        super().__init__(env)
        self.today = today

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # --- plumbing --------------------------------------------------------------------------

    def _meta(self, ctx: CommandContext, effective_on: date) -> EventMeta:
        return EventMeta.build(ctx, effective_on, self.today())

    def _get(self, cls: type[A], aggregate_id: UUID, label: str, field: str = "id") -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise errors.NotFound(f"no {label} {aggregate_id}", field=field) from None
        if not isinstance(aggregate, cls):
            raise errors.NotFound(f"{aggregate_id} is not a {label}", field=field)
        return aggregate

    def _commit(self, subject: UUID, *aggregates: Aggregate) -> CommandResult:
        try:
            recordings = self.save(*aggregates)
        except RecordConflictError as e:
            raise ConcurrentChange(
                "another command changed the same record first; reload and retry", field="id"
            ) from e
        return CommandResult(subject, max(r.notification.id for r in recordings))

    def get_entity(self, entity_id: UUID) -> MarketEntity:
        return self._get(MarketEntity, entity_id, "market entity")

    def get_organization(self, org_id: UUID, field: str = "id") -> PartyOrganization:
        return self._get(PartyOrganization, org_id, "party organisation", field)

    def get_member(self, member_id: UUID) -> Member:
        return self._get(Member, member_id, "member")

    def _active_organization(self, org_id: UUID, field: str) -> PartyOrganization:
        org = self.get_organization(org_id, field)
        if org.dissolved:
            raise errors.OrganizationDissolved(f"organisation {org.name} is dissolved", field=field)
        return org

    # --- market entities -------------------------------------------------------------------

    def register_entity(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        credit_code: str,
        name: str,
        kind: EntityKind,
        industry: str,
        region_code: str,
        station: str,
    ) -> CommandResult:
        """Register a market entity as captured at business registration (R1.2)."""
        meta = self._meta(ctx, effective_on)
        code = validate_credit_code(credit_code)
        if entity_id_for(code) in self.repository:
            raise errors.EntityAlreadyRegistered(f"credit code {code} is already registered")
        entity = MarketEntity.register(
            credit_code=code,
            name=name,
            kind=kind,
            industry=industry,
            region_code=region_code,
            station=station,
            meta=meta,
        )
        try:
            recordings = self.save(entity)
        except RecordConflictError:
            raise errors.EntityAlreadyRegistered(f"credit code {code} is already registered") from None
        return CommandResult(entity.id, max(r.notification.id for r in recordings))

    def change_entity_status(
        self,
        ctx: CommandContext,
        entity_id: UUID,
        *,
        effective_on: date,
        status: EntityStatus,
        reason: str = "",
    ) -> CommandResult:
        """Operating, suspended (停歇业) or deregistered (注销)."""
        entity = self.get_entity(entity_id)
        entity.change_status(status, reason, self._meta(ctx, effective_on))
        return self._commit(entity.id, entity)

    def correct_entity(
        self,
        ctx: CommandContext,
        entity_id: UUID,
        *,
        effective_on: date,
        changes: dict[str, Any],
        reason: str,
    ) -> CommandResult:
        """Correct registration details (R1.3)."""
        entity = self.get_entity(entity_id)
        entity.correct_details(changes, reason, self._meta(ctx, effective_on))
        return self._commit(entity.id, entity)

    # --- party organisations ---------------------------------------------------------------

    def _coverable_entities(self, entity_ids: list[UUID]) -> list[MarketEntity]:
        entities = [self._get(MarketEntity, e, "market entity", "entity_ids") for e in entity_ids]
        for entity in entities:
            if not entity.is_operating:
                raise errors.EntityNotOperating(
                    f"entity {entity.credit_code} is {entity.status}, not operating"
                )
            if entity.organization_id is not None:
                raise errors.EntityAlreadyCovered(
                    f"entity {entity.credit_code} is already covered by organisation {entity.organization_id}"
                )
        return entities

    def establish_organization(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        name: str,
        kind: OrgKind,
        formation: Formation,
        region_code: str,
        entity_ids: list[UUID],
        parent_id: UUID | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Establish an organisation and mark the entities it covers, in one transaction (R13.1/2)."""
        meta = self._meta(ctx, effective_on)
        org_id = id or uuid4()
        if parent_id is not None:
            if parent_id == org_id:
                raise errors.ParentOrganizationInvalid("an organisation cannot be its own parent")
            parent = self.get_organization(parent_id, "parent_id")
            if parent.dissolved:
                raise errors.ParentOrganizationInvalid(f"parent {parent.name} is dissolved")
        org = PartyOrganization.establish(
            id=org_id,
            name=name,
            kind=kind,
            formation=formation,
            parent_id=parent_id,
            region_code=region_code,
            entity_ids=entity_ids,
            meta=meta,
        )
        entities = self._coverable_entities(entity_ids)
        for entity in entities:
            entity.assign_coverage(org.id, Formation(formation), meta)
        return self._commit(org.id, org, *entities)

    def add_organization_entity(
        self, ctx: CommandContext, org_id: UUID, *, effective_on: date, entity_id: UUID
    ) -> CommandResult:
        """Add an entity to a joint organisation (R13.1, R13.2)."""
        meta = self._meta(ctx, effective_on)
        org = self.get_organization(org_id)
        org.add_entity(entity_id, meta)
        (entity,) = self._coverable_entities([entity_id])
        entity.assign_coverage(org.id, Formation(org.formation), meta)
        return self._commit(org.id, org, entity)

    def remove_organization_entity(
        self, ctx: CommandContext, org_id: UUID, *, effective_on: date, entity_id: UUID, reason: str
    ) -> CommandResult:
        """Remove an entity from a joint organisation (R13.2 keeps at least two)."""
        meta = self._meta(ctx, effective_on)
        org = self.get_organization(org_id)
        org.remove_entity(entity_id, reason, meta)
        entity = self._get(MarketEntity, entity_id, "market entity", "entity_id")
        entity.release_coverage(org.id, meta)
        return self._commit(org.id, org, entity)

    def assign_guidance_officer(
        self,
        ctx: CommandContext,
        org_id: UUID,
        *,
        effective_on: date,
        officer: str,
        entity_ids: list[UUID],
    ) -> CommandResult:
        """Send a guidance officer (党建指导员) to entities: work coverage (R13.1)."""
        meta = self._meta(ctx, effective_on)
        org = self.get_organization(org_id)
        for entity_id in entity_ids:
            if entity_id not in self.repository:
                raise errors.NotFound(f"no market entity {entity_id}", field="entity_ids")
        org.assign_guidance_officer(officer, entity_ids, meta)
        return self._commit(org.id, org)

    def withdraw_guidance_officer(
        self, ctx: CommandContext, org_id: UUID, *, effective_on: date, officer: str, reason: str
    ) -> CommandResult:
        org = self.get_organization(org_id)
        org.withdraw_guidance_officer(officer, reason, self._meta(ctx, effective_on))
        return self._commit(org.id, org)

    def dissolve_organization(
        self, ctx: CommandContext, org_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Dissolve; the entities it covered become uncovered in the same transaction."""
        meta = self._meta(ctx, effective_on)
        org = self.get_organization(org_id)
        entities = [self.get_entity(e) for e in org.entity_ids]
        org.dissolve(reason, meta)
        for entity in entities:
            entity.release_coverage(org.id, meta)
        return self._commit(org.id, org, *entities)

    # --- members ---------------------------------------------------------------------------

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
    ) -> CommandResult:
        """Register a member from the 《个体工商户党建信息登记表》 (R1.1, R2.1, R2.2)."""
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
        )
        return self._commit(member.id, member)

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

    def join_life_organization(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, org_id: UUID
    ) -> CommandResult:
        """Add an organisational-life organisation (R2.2 一方隶属，多重管理)."""
        meta = self._meta(ctx, effective_on)
        member = self.get_member(member_id)
        self._active_organization(org_id, "org_id")
        member.join_life_organization(org_id, meta)
        return self._commit(member.id, member)

    def leave_life_organization(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, org_id: UUID
    ) -> CommandResult:
        member = self.get_member(member_id)
        member.leave_life_organization(org_id, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

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

"""Commands on party organisations and their coverage (R13.1, R13.2)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.entities import EntityCommands
from domain.envelope import CommandContext
from domain.market_entity import MarketEntity
from domain.organization import PartyOrganization
from domain.values import Formation, OrgKind


class OrganizationCommands(EntityCommands):
    def get_organization(self, org_id: UUID, field: str = "id") -> PartyOrganization:
        return self._get(PartyOrganization, org_id, "party organisation", field)

    def _active_organization(self, org_id: UUID, field: str) -> PartyOrganization:
        org = self.get_organization(org_id, field)
        if org.dissolved:
            raise errors.OrganizationDissolved(f"organisation {org.name} is dissolved", field=field)
        return org

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

    @command
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

    @command
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

    @command
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

    @command
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
        for entity_id in entity_ids:  # a market entity, not just any aggregate (R13.1)
            self._get(MarketEntity, entity_id, "market entity", "entity_ids")
        org.assign_guidance_officer(officer, entity_ids, meta)
        return self._commit(org.id, org)

    @command
    def withdraw_guidance_officer(
        self, ctx: CommandContext, org_id: UUID, *, effective_on: date, officer: str, reason: str
    ) -> CommandResult:
        org = self.get_organization(org_id)
        org.withdraw_guidance_officer(officer, reason, self._meta(ctx, effective_on))
        return self._commit(org.id, org)

    @command
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

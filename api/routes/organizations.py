"""Party organisations (党组织): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import AsKnownAt, AsOf, CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.organizations import (
    GuidanceOfficerAssign,
    GuidanceOfficerWithdraw,
    OrganizationDissolve,
    OrganizationEntityAdd,
    OrganizationEntityRemove,
    OrganizationEstablish,
    OrganizationPublic,
)
from domain.organization import PartyOrganization

router = APIRouter(prefix="/organizations", tags=["party organisations"])


@router.post("", status_code=201)
async def establish_organization(
    body: OrganizationEstablish, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Establish an organisation and the entities it covers (R13.1, R13.2)."""
    return await commands.run(lambda ledger: ledger.establish_organization(ctx, **body.model_dump()))


@router.post("/{org_id}/entities", status_code=201)
async def add_organization_entity(
    org_id: UUID, body: OrganizationEntityAdd, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Add an entity to a joint organisation (at most five, R13.2)."""
    return await commands.run(lambda ledger: ledger.add_organization_entity(ctx, org_id, **body.model_dump()))


@router.post("/{org_id}/entity-removals", status_code=201)
async def remove_organization_entity(
    org_id: UUID, body: OrganizationEntityRemove, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Remove an entity from a joint organisation (at least two remain, R13.2)."""
    return await commands.run(
        lambda ledger: ledger.remove_organization_entity(ctx, org_id, **body.model_dump())
    )


@router.post("/{org_id}/guidance-officers", status_code=201)
async def assign_guidance_officer(
    org_id: UUID, body: GuidanceOfficerAssign, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Assign a guidance officer (党建指导员) to entities: work coverage (R13.1)."""
    return await commands.run(lambda ledger: ledger.assign_guidance_officer(ctx, org_id, **body.model_dump()))


@router.post("/{org_id}/guidance-officer-withdrawals", status_code=201)
async def withdraw_guidance_officer(
    org_id: UUID, body: GuidanceOfficerWithdraw, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Withdraw a guidance officer."""
    return await commands.run(
        lambda ledger: ledger.withdraw_guidance_officer(ctx, org_id, **body.model_dump())
    )


@router.post("/{org_id}/dissolution", status_code=201)
async def dissolve_organization(
    org_id: UUID, body: OrganizationDissolve, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Dissolve an organisation; its entities become uncovered."""
    return await commands.run(lambda ledger: ledger.dissolve_organization(ctx, org_id, **body.model_dump()))


@router.get("/{org_id}")
def get_organization(
    org_id: UUID, parts: PartsDep, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> OrganizationPublic:
    """One party organisation as it stands now, or as of a date as known at a moment."""
    return OrganizationPublic.of(
        parts.ledger.aggregate_at(PartyOrganization, org_id, "party organisation", as_of, as_known_at)
    )

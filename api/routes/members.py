"""Party members (党员): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import AsKnownAt, AsOf, CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.members import (
    MemberCorrection,
    MemberErasure,
    MemberLifeOrganization,
    MemberPublic,
    MemberRegister,
    MemberTransfer,
)
from domain.member import Member

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=201)
async def register_member(body: MemberRegister, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Register a member from the 《个体工商户党建信息登记表》 (R1.1, R2.1, R2.2)."""
    return await commands.run(lambda ledger: ledger.register_member(ctx, **body.model_dump()))


@router.post("/{member_id}/transfers", status_code=201)
async def transfer_member(
    member_id: UUID, body: MemberTransfer, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Transfer the organisational relationship on its effective date (R2.3)."""
    return await commands.run(
        lambda ledger: ledger.transfer_member_relationship(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/life-organizations", status_code=201)
async def join_life_organization(
    member_id: UUID, body: MemberLifeOrganization, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Take part in another organisation's organisational life (R2.2)."""
    return await commands.run(
        lambda ledger: ledger.join_life_organization(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/life-organization-departures", status_code=201)
async def leave_life_organization(
    member_id: UUID, body: MemberLifeOrganization, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Stop taking part in an organisation's organisational life (one remains, R2.2)."""
    return await commands.run(
        lambda ledger: ledger.leave_life_organization(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/corrections", status_code=201)
async def correct_member(
    member_id: UUID, body: MemberCorrection, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Correct registration-form details (R1.3)."""
    fields = body.model_dump(exclude={"effective_on", "reason"}, exclude_none=True)
    return await commands.run(
        lambda ledger: ledger.correct_member(
            ctx, member_id, effective_on=body.effective_on, changes=fields, reason=body.reason
        )
    )


@router.post("/{member_id}/erasure", status_code=201)
async def erase_member_personal_data(
    member_id: UUID, body: MemberErasure, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Erase a member's personal data by destroying its key; the member stays in every figure (R13.6)."""
    return await commands.run(
        lambda ledger: ledger.erase_member_personal_data(ctx, member_id, **body.model_dump())
    )


@router.get("/{member_id}")
def get_member(
    member_id: UUID, parts: PartsDep, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> MemberPublic:
    """One member as they stand now, or as of a date as known at a moment."""
    return MemberPublic.of(parts.ledger.aggregate_at(Member, member_id, "member", as_of, as_known_at))

"""Pairings (结对共建, R10) and leaders' liaison points (联系点, R12): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.pairings import (
    LiaisonPointEnding,
    LiaisonPointLink,
    LiaisonPointPublic,
    PairingCreate,
    PairingEnding,
    PairingPlanAdd,
    PairingPublic,
)

router = APIRouter(tags=["pairings and liaison points"])


@router.post("/pairings", status_code=201)
async def pair_organizations(body: PairingCreate, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Pair two organisations under a co-building agreement and yearly plan (R10 "(1+1)+N", R12)."""
    return await commands.run(lambda ledger: ledger.pair_organizations(ctx, **body.model_dump()))


@router.post("/pairings/{pairing_id}/plans", status_code=201)
async def add_pairing_plan(
    pairing_id: UUID, body: PairingPlanAdd, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Add the co-building plan for a later year (R12)."""
    return await commands.run(lambda ledger: ledger.add_pairing_plan(ctx, pairing_id, **body.model_dump()))


@router.post("/pairings/{pairing_id}/ending", status_code=201)
async def end_pairing(
    pairing_id: UUID, body: PairingEnding, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """End a pairing; the organisations may pair again later (R10)."""
    return await commands.run(lambda ledger: ledger.end_pairing(ctx, pairing_id, **body.model_dump()))


@router.get("/pairings/{pairing_id}")
def get_pairing(pairing_id: UUID, parts: PartsDep) -> PairingPublic:
    """One pairing as it stands now, with its yearly plans."""
    return PairingPublic.of(parts.ledger.get_pairing(pairing_id))


@router.post("/liaison-points", status_code=201)
async def link_liaison_point(
    body: LiaisonPointLink, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Link a leader to one branch (联系点); the id is the leader's (R12)."""
    return await commands.run(lambda ledger: ledger.link_liaison_point(ctx, **body.model_dump()))


@router.post("/liaison-points/{point_id}/ending", status_code=201)
async def end_liaison_point(
    point_id: UUID, body: LiaisonPointEnding, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """End a leader's current link; the leader may link again (R12)."""
    return await commands.run(lambda ledger: ledger.end_liaison_point(ctx, point_id, **body.model_dump()))


@router.get("/liaison-points/{point_id}")
def get_liaison_point(point_id: UUID, parts: PartsDep) -> LiaisonPointPublic:
    """A leader's liaison point as it stands now, with earlier links."""
    return LiaisonPointPublic.of(parts.ledger.get_liaison_point(point_id))

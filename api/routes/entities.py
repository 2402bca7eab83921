"""Market entities (市场主体): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import AsKnownAt, AsOf, CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.entities import (
    EntityCorrection,
    EntityPublic,
    EntityRegister,
    EntityStatusChange,
)
from domain.market_entity import MarketEntity

router = APIRouter(prefix="/market-entities", tags=["market entities"])


@router.post("", status_code=201)
async def register_entity(body: EntityRegister, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Register a market entity as captured at business registration (R1.2)."""
    return await commands.run(lambda ledger: ledger.register_entity(ctx, **body.model_dump()))


@router.post("/{entity_id}/status", status_code=201)
async def change_entity_status(
    entity_id: UUID, body: EntityStatusChange, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Change an entity's status: operating, suspended or deregistered."""
    return await commands.run(lambda ledger: ledger.change_entity_status(ctx, entity_id, **body.model_dump()))


@router.post("/{entity_id}/corrections", status_code=201)
async def correct_entity(
    entity_id: UUID, body: EntityCorrection, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Correct an entity's registration details (R1.3)."""
    fields = body.model_dump(exclude={"effective_on", "reason"}, exclude_none=True)
    return await commands.run(
        lambda ledger: ledger.correct_entity(
            ctx, entity_id, effective_on=body.effective_on, changes=fields, reason=body.reason
        )
    )


@router.get("/{entity_id}")
def get_entity(
    entity_id: UUID, parts: PartsDep, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> EntityPublic:
    """One market entity as it stands now, or as of a date as known at a moment."""
    return EntityPublic.of(
        parts.ledger.aggregate_at(MarketEntity, entity_id, "market entity", as_of, as_known_at)
    )

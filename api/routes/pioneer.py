"""The pioneer-index evaluation (先锋指数, R5): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.pioneer import (
    PioneerClosure,
    PioneerEnrolment,
    PioneerResult,
    PioneerRoundOpen,
    PioneerRoundPublic,
    PioneerStepDone,
    PioneerSupportPairing,
    PioneerTalk,
)

router = APIRouter(prefix="/pioneer-rounds", tags=["pioneer index"])


@router.post("", status_code=201)
async def open_round(body: PioneerRoundOpen, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Open an organisation's yearly round, dated by 30 November (R5.4, R5.6)."""
    return await commands.run(lambda ledger: ledger.open_pioneer_round(ctx, **body.model_dump()))


@router.post("/{round_id}/enrolments", status_code=201)
async def enrol(
    round_id: UUID, body: PioneerEnrolment, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Enrol a member with their standing on the round's date (R5.1, R5.2, R5.3)."""
    return await commands.run(lambda ledger: ledger.enrol_pioneer_member(ctx, round_id, **body.model_dump()))


@router.post("/{round_id}/steps", status_code=201)
async def record_step(
    round_id: UUID, body: PioneerStepDone, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record the next evaluation step of a member, in order (R5.4)."""
    return await commands.run(lambda ledger: ledger.record_pioneer_step(ctx, round_id, **body.model_dump()))


@router.post("/{round_id}/results", status_code=201)
async def rate(
    round_id: UUID, body: PioneerResult, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record a member's result, 1 to 5 stars (R5.5)."""
    return await commands.run(lambda ledger: ledger.rate_pioneer_member(ctx, round_id, **body.model_dump()))


@router.post("/{round_id}/talks", status_code=201)
async def record_talk(
    round_id: UUID, body: PioneerTalk, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record the talk with a 1- or 2-star member (R5.5)."""
    return await commands.run(lambda ledger: ledger.record_pioneer_talk(ctx, round_id, **body.model_dump()))


@router.post("/{round_id}/support-pairings", status_code=201)
async def record_support_pairing(
    round_id: UUID, body: PioneerSupportPairing, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record the support pairing of a 1- or 2-star member (R5.5)."""
    return await commands.run(
        lambda ledger: ledger.record_pioneer_support_pairing(ctx, round_id, **body.model_dump())
    )


@router.post("/{round_id}/closure", status_code=201)
async def close_round(
    round_id: UUID, body: PioneerClosure, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Close the round (R5.5: every 1- or 2-star member followed up)."""
    return await commands.run(lambda ledger: ledger.close_pioneer_round(ctx, round_id, **body.model_dump()))


@router.get("/{round_id}")
def get_round(round_id: UUID, parts: PartsDep) -> PioneerRoundPublic:
    """One pioneer round with its members' standings, steps and results."""
    return PioneerRoundPublic.of(parts.ledger.get_pioneer_round(round_id))

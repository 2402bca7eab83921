"""Star stations (R9.1), 薪火 demonstrations (R9.2) and market standardisation (R4): one command or
one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.stars import (
    CriterionLapse,
    CriterionMet,
    MarketEnrollment,
    MarketStandardisationPublic,
    Revocation,
    StationStarAward,
    StationStarPublic,
    StationStarRaise,
    XinhuoAward,
    XinhuoDemonstrationPublic,
)

router = APIRouter(tags=["stars, 薪火 and market standardisation"])


@router.post("/station-stars", status_code=201)
async def award_station_star(
    body: StationStarAward, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Award 3, 4 or 5 stars to a station branch holding none (R9.1)."""
    return await commands.run(lambda ledger: ledger.award_station_star(ctx, **body.model_dump()))


@router.post("/station-stars/{star_id}/raise", status_code=201)
async def raise_station_star(
    star_id: UUID, body: StationStarRaise, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Raise a station's stars to a higher level (R9.1)."""
    return await commands.run(lambda ledger: ledger.raise_station_star(ctx, star_id, **body.model_dump()))


@router.post("/station-stars/{star_id}/revocation", status_code=201)
async def revoke_station_star(
    star_id: UUID, body: Revocation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Revoke a station's stars with a reason; to lower them, revoke then award (R9.1)."""
    return await commands.run(lambda ledger: ledger.revoke_station_star(ctx, star_id, **body.model_dump()))


@router.get("/station-stars/{star_id}")
def get_station_star(star_id: UUID, parts: PartsDep) -> StationStarPublic:
    """One station's star record as it stands now."""
    return StationStarPublic.of(parts.ledger.get_station_star(star_id))


@router.post("/xinhuo-demonstrations", status_code=201)
async def award_xinhuo_demonstration(
    body: XinhuoAward, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Award a 薪火 demonstration organisation or member household (R9.2, R9.3)."""
    return await commands.run(lambda ledger: ledger.award_xinhuo_demonstration(ctx, **body.model_dump()))


@router.post("/xinhuo-demonstrations/{demonstration_id}/revocation", status_code=201)
async def revoke_xinhuo_demonstration(
    demonstration_id: UUID, body: Revocation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Revoke a 薪火 demonstration with a reason (R9.2)."""
    return await commands.run(
        lambda ledger: ledger.revoke_xinhuo_demonstration(ctx, demonstration_id, **body.model_dump())
    )


@router.get("/xinhuo-demonstrations/{demonstration_id}")
def get_xinhuo_demonstration(demonstration_id: UUID, parts: PartsDep) -> XinhuoDemonstrationPublic:
    """One 薪火 demonstration as it stands now."""
    return XinhuoDemonstrationPublic.of(parts.ledger.get_xinhuo_demonstration(demonstration_id))


@router.post("/market-standardisations", status_code=201)
async def enroll_market(body: MarketEnrollment, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Enrol a market in party-building standardisation (六化) in its R4 scope category."""
    return await commands.run(lambda ledger: ledger.enroll_market_standardisation(ctx, **body.model_dump()))


@router.post("/market-standardisations/{standardisation_id}/criteria", status_code=201)
async def record_criterion_met(
    standardisation_id: UUID, body: CriterionMet, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record one of the six criteria as met, with its evidence (R4)."""
    return await commands.run(
        lambda ledger: ledger.record_market_criterion_met(ctx, standardisation_id, **body.model_dump())
    )


@router.post("/market-standardisations/{standardisation_id}/lapses", status_code=201)
async def record_criterion_lapsed(
    standardisation_id: UUID, body: CriterionLapse, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record that a criterion is no longer met (R4)."""
    return await commands.run(
        lambda ledger: ledger.record_market_criterion_lapsed(ctx, standardisation_id, **body.model_dump())
    )


@router.get("/market-standardisations/{standardisation_id}")
def get_market_standardisation(standardisation_id: UUID, parts: PartsDep) -> MarketStandardisationPublic:
    """One market's standardisation record as it stands now, with whether it is standardised."""
    return MarketStandardisationPublic.of(parts.ledger.get_market_standardisation(standardisation_id))

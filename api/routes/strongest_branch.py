"""Strongest-branch ratings (最强党支部, R11): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.strongest_branch import (
    RatingApplication,
    RatingAward,
    RatingDecision,
    RatingDisqualification,
    RatingEvaluation,
    RatingParentChange,
    RatingRevocation,
    RatingStart,
    StrongestBranchRatingPublic,
)

router = APIRouter(prefix="/strongest-branch-ratings", tags=["strongest branch"])


@router.post("", status_code=201)
async def start_rating(body: RatingStart, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Start a branch's self-creation (自创) for a year: one rating per branch and year (R11.6)."""
    return await commands.run(lambda ledger: ledger.start_strongest_branch_rating(ctx, **body.model_dump()))


@router.post("/{rating_id}/evaluations", status_code=201)
async def record_evaluation(
    rating_id: UUID, body: RatingEvaluation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record one of the four evaluations (四评, R11.4)."""
    return await commands.run(
        lambda ledger: ledger.record_strongest_branch_evaluation(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/disqualifications", status_code=201)
async def record_disqualification(
    rating_id: UUID, body: RatingDisqualification, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record a disqualifying fact of the rating's year (R11.5)."""
    return await commands.run(
        lambda ledger: ledger.record_strongest_branch_disqualification(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/applications", status_code=201)
async def apply(
    rating_id: UUID, body: RatingApplication, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Apply to the agency committee, or upward after its pass (R11.6 逐级申报)."""
    return await commands.run(
        lambda ledger: ledger.apply_strongest_branch(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/decisions", status_code=201)
async def decide(
    rating_id: UUID, body: RatingDecision, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The level applied to passes or fails the branch (R11.6 分级评定)."""
    return await commands.run(
        lambda ledger: ledger.decide_strongest_branch(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/award", status_code=201)
async def award(
    rating_id: UUID, body: RatingAward, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Award for a term on the deciding level's pass, unless disqualified (R11.5-R11.7)."""
    return await commands.run(
        lambda ledger: ledger.award_strongest_branch(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/revocation", status_code=201)
async def revoke(
    rating_id: UUID, body: RatingRevocation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Revoke the award: the branch no longer meets the standard (R11.7)."""
    return await commands.run(
        lambda ledger: ledger.revoke_strongest_branch(ctx, rating_id, **body.model_dump())
    )


@router.post("/{rating_id}/parent-changes", status_code=201)
async def change_parent(
    rating_id: UUID, body: RatingParentChange, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Record the branch's change of parent; the rating and its award continue (R11.7)."""
    return await commands.run(
        lambda ledger: ledger.change_strongest_branch_parent(ctx, rating_id, **body.model_dump())
    )


@router.get("/{rating_id}")
def get_rating(rating_id: UUID, parts: PartsDep) -> StrongestBranchRatingPublic:
    """One strongest-branch rating as it stands now, with its derived disqualification."""
    return StrongestBranchRatingPublic.of(parts.ledger.get_strongest_branch_rating(rating_id))

"""The mobile-member two-way feedback chain (流动党员双向反馈, R6): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.mobile import (
    MobileActivityFiling,
    MobileFeedback,
    MobileIdentityConfirmation,
    MobileReceipt,
    MobileRoundPublic,
    MobileRoundRegister,
)

router = APIRouter(prefix="/mobile-rounds", tags=["mobile members"])


@router.post("", status_code=201)
async def register_mobile_round(
    body: MobileRoundRegister, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Register a mobile member for the year's feedback chain (R6.1, R6.2 step 1, R6.3)."""
    return await commands.run(lambda ledger: ledger.register_mobile_round(ctx, **body.model_dump()))


@router.post("/{round_id}/identity-confirmation", status_code=201)
async def confirm_mobile_identity(
    round_id: UUID, body: MobileIdentityConfirmation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The relationship organisation confirms the member's identity (R6.2 step 2)."""
    return await commands.run(
        lambda ledger: ledger.confirm_mobile_identity(ctx, round_id, **body.model_dump())
    )


@router.post("/{round_id}/activity-filings", status_code=201)
async def file_mobile_activities(
    round_id: UUID, body: MobileActivityFiling, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """File activities the member attended (R6.2 step 3; may repeat until the feedback)."""
    return await commands.run(
        lambda ledger: ledger.file_mobile_activities(ctx, round_id, **body.model_dump())
    )


@router.post("/{round_id}/feedback", status_code=201)
async def issue_mobile_feedback(
    round_id: UUID, body: MobileFeedback, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The business-place secretary's assessment, form and letter go out (R6.2 step 4)."""
    return await commands.run(lambda ledger: ledger.issue_mobile_feedback(ctx, round_id, **body.model_dump()))


@router.post("/{round_id}/receipt", status_code=201)
async def return_mobile_receipt(
    round_id: UUID, body: MobileReceipt, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The relationship organisation's receipt is back and archived (R6.2 step 5)."""
    return await commands.run(lambda ledger: ledger.return_mobile_receipt(ctx, round_id, **body.model_dump()))


@router.get("/{round_id}")
def get_mobile_round(round_id: UUID, parts: PartsDep) -> MobileRoundPublic:
    """One member's round as it stands, with whether it is overdue today (R6.3)."""
    return MobileRoundPublic.at(parts.ledger.get_mobile_round(round_id), parts.ledger.today())

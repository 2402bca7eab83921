"""Relationship-transfer letters (组织关系介绍信, R13.4): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.common import CommandAccepted
from api.schemas.transfers import (
    TransferLetterAccept,
    TransferLetterClose,
    TransferLetterIssue,
    TransferLetterPublic,
    TransferLetterReissue,
    TransferReceipt,
)

router = APIRouter(prefix="/transfer-letters", tags=["transfer letters"])


@router.post("", status_code=201)
async def issue_transfer_letter(
    body: TransferLetterIssue, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Issue a transfer letter from the member's relationship organisation (R13.4)."""
    return await commands.run(lambda ledger: ledger.issue_transfer_letter(ctx, **body.model_dump()))


@router.post("/{letter_id}/acceptance", status_code=201)
async def accept_transfer_letter(
    letter_id: UUID, body: TransferLetterAccept, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The receiving organisation accepts: the relationship moves (R2.3, R13.4)."""
    return await commands.run(
        lambda ledger: ledger.accept_transfer_letter(ctx, letter_id, **body.model_dump())
    )


@router.post("/{letter_id}/refusal", status_code=201)
async def refuse_transfer_letter(
    letter_id: UUID, body: TransferLetterClose, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The receiving organisation refuses the letter, with a reason (R13.4)."""
    return await commands.run(
        lambda ledger: ledger.refuse_transfer_letter(ctx, letter_id, **body.model_dump())
    )


@router.post("/{letter_id}/cancellation", status_code=201)
async def cancel_transfer_letter(
    letter_id: UUID, body: TransferLetterClose, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The sending organisation withdraws an open letter, with a reason (R13.4)."""
    return await commands.run(
        lambda ledger: ledger.cancel_transfer_letter(ctx, letter_id, **body.model_dump())
    )


@router.post("/{letter_id}/reissue", status_code=201)
async def reissue_transfer_letter(
    letter_id: UUID, body: TransferLetterReissue, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Re-issue an overdue letter as a new letter; answers the new letter's id (R13.4)."""
    return await commands.run(
        lambda ledger: ledger.reissue_transfer_letter(ctx, letter_id, **body.model_dump())
    )


@router.post("/{letter_id}/receipt", status_code=201)
async def return_transfer_receipt(
    letter_id: UUID, body: TransferReceipt, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The receipt (回执) is back with the issuing organisation, after acceptance (R13.4)."""
    return await commands.run(
        lambda ledger: ledger.return_transfer_receipt(ctx, letter_id, **body.model_dump())
    )


@router.get("/{letter_id}")
def get_transfer_letter(letter_id: UUID, parts: PartsDep) -> TransferLetterPublic:
    """One transfer letter as it stands, with whether it is overdue today (R13.4)."""
    return TransferLetterPublic.at(parts.ledger.get_transfer_letter(letter_id), parts.ledger.today())

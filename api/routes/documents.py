"""Printable documents (HTML, A4, Chinese fonts): the mobile-member feedback form and letter (R6.2),
and the relationship-transfer letter with stub, letter and receipt (R13.4)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api import printing
from api.deps import PartsDep
from domain.application import Ledger
from domain.errors import NotFound
from domain.member import Member

router = APIRouter(tags=["documents"])


def _member(ledger: Ledger, member_id: UUID) -> Member | None:
    try:
        return ledger.get_member(member_id)
    except NotFound:
        return None


@router.get("/mobile-rounds/{round_id}/feedback-form.html", response_class=HTMLResponse)
def mobile_feedback_form(round_id: UUID, parts: PartsDep) -> HTMLResponse:
    """The 《个体工商户和商品交易市场流动党员双重管理反馈表》 of a round, ready to print (R6.2 step 4)."""
    mobile_round = parts.ledger.get_mobile_round(round_id)
    member = _member(parts.ledger, mobile_round.member_id)
    return HTMLResponse(printing.mobile_feedback_form(mobile_round, member))


@router.get("/mobile-rounds/{round_id}/letter.html", response_class=HTMLResponse)
def mobile_letter(round_id: UUID, parts: PartsDep) -> HTMLResponse:
    """The 《函》 to the relationship organisation with its receipt (回执), ready to print (R6.2 step 4)."""
    mobile_round = parts.ledger.get_mobile_round(round_id)
    member = _member(parts.ledger, mobile_round.member_id)
    return HTMLResponse(printing.mobile_letter(mobile_round, member))


@router.get("/transfer-letters/{letter_id}/letter.html", response_class=HTMLResponse)
def transfer_letter(letter_id: UUID, parts: PartsDep) -> HTMLResponse:
    """The transfer letter with stub (存根), letter and receipt (回执), ready to print (R13.4)."""
    letter = parts.ledger.get_transfer_letter(letter_id)
    return HTMLResponse(printing.transfer_letter(letter, _member(parts.ledger, letter.member_id)))

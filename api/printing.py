"""Print-ready HTML documents (jinja2 templates in ``api/templates``): the mobile-member feedback form
and its covering letter (R6.2 step 4), and the relationship-transfer letter with stub, letter and
receipt (R13.4).

The pages are A4, with Chinese fonts declared in CSS ("Noto Serif CJK SC", "SimSun", serif) so they
print the same from any browser. A document is rendered from the aggregate as it stands; before the
step that issues it (the feedback of a round), it is marked as a draft (草稿), so an officer can
print it for filling in by hand. Dates are written the Chinese way (2025年6月30日).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.member import Member
from domain.mobile_round import MobileRound
from domain.transfer_letter import TransferLetter
from domain.values import MemberCategory, MobileStep, TransferLetterStatus

TEMPLATES = Path(__file__).parent / "templates"
CATEGORY = {MemberCategory.FULL: "正式", MemberCategory.PROBATIONARY: "预备"}
LETTER_STATUS = {
    TransferLetterStatus.ISSUED: "开具",
    TransferLetterStatus.ACCEPTED: "接收",
    TransferLetterStatus.REFUSED: "被拒收",
    TransferLetterStatus.CANCELLED: "撤销",
    TransferLetterStatus.REISSUED: "逾期重开",
}


def cndate(day: date | None) -> str:
    """2025年6月30日; blanks to fill in by hand when there is no date yet."""
    if day is None:
        return "　　年　月　日"
    return f"{day.year}年{day.month}月{day.day}日"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cndate"] = cndate
    return env


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def _step_on(mobile_round: MobileRound, step: MobileStep) -> date | None:
    days = [s["effective_on"] for s in mobile_round.steps if s["step"] == step]
    return days[0] if days else None


def _round_context(mobile_round: MobileRound, member: Member | None) -> dict[str, Any]:
    return {
        "round": mobile_round,
        "member": member,
        "category": CATEGORY.get(MemberCategory(member.category), "") if member else "",
        "issued": mobile_round.feedback_form_ref is not None,
        "registered_on": _step_on(mobile_round, MobileStep.REGISTERED),
        "confirmed_on": _step_on(mobile_round, MobileStep.IDENTITY_CONFIRMED),
        "feedback_on": _step_on(mobile_round, MobileStep.FEEDBACK_ISSUED),
        "receipt_on": _step_on(mobile_round, MobileStep.RECEIPT_RETURNED),
    }


def mobile_feedback_form(mobile_round: MobileRound, member: Member | None) -> str:
    """《个体工商户和商品交易市场流动党员双重管理反馈表》 of one member's round (R6.2 step 4)."""
    return _render("mobile_feedback_form.html", **_round_context(mobile_round, member))


def mobile_letter(mobile_round: MobileRound, member: Member | None) -> str:
    """The covering 《函》 to the relationship organisation, with its receipt (回执) to return (R6.2)."""
    return _render("mobile_letter.html", **_round_context(mobile_round, member))


def transfer_letter(letter: TransferLetter, member: Member | None) -> str:
    """The transfer letter in its three parts: stub (存根), letter and receipt (回执) (R13.4)."""
    return _render(
        "transfer_letter.html",
        letter=letter,
        member=member,
        category=CATEGORY.get(MemberCategory(member.category), "") if member else "",
        status=LETTER_STATUS.get(TransferLetterStatus(letter.status), letter.status),
    )

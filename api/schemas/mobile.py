"""The mobile-member two-way feedback chain (流动党员双向反馈, R6)."""

from __future__ import annotations

from datetime import date
from typing import Self
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Strict, Text
from domain.mobile_round import MobileRound
from domain.values import MobileStep

LongText = Field(min_length=1, max_length=2000)


class MobileRoundRegister(Command):
    """流动党员登记 (R6.2 step 1): the member, the year and the business-place organisation."""

    member_id: UUID
    year: int = Field(ge=2000, le=2100)
    business_org_id: UUID = Field(description="经营地党组织, hosting the member where they do business")


class MobileIdentityConfirmation(Command):
    certificate_ref: Text = Field(description="The relationship organisation's stamped certificate")
    confirming_org_id: UUID | None = Field(
        default=None, description="Defaults to the relationship organisation"
    )
    confirming_org_name: OptionalText = ""


class MobileActivity(Strict):
    on: date
    description: Text
    activity_id: UUID | None = Field(default=None, description="An activity recorded in this system")


class MobileActivityFiling(Command):
    activities: list[MobileActivity] = Field(min_length=1, max_length=200)


class MobileFeedback(Command):
    assessment: str = LongText
    secretary_name: Text = Field(description="The business-place branch secretary")
    feedback_form_ref: Text = Field(description="反馈表")
    letter_ref: Text = Field(description="函")


class MobileReceipt(Command):
    archive_ref: Text = Field(description="Where the receipt (回执) is archived")


class MobileStepRecord(Strict):
    step: MobileStep
    effective_on: date
    actor: str


class MobileRoundPublic(AggregatePublic):
    member_id: UUID
    member_name: str
    year: int
    business_org_id: UUID
    business_org_name: str
    relationship_org_id: UUID | None
    relationship_org_name: str
    step: MobileStep
    steps: list[MobileStepRecord]
    certificate_ref: str | None
    confirming_org_id: UUID | None
    confirming_org_name: str | None
    activities: list[MobileActivity]
    assessment: str | None
    secretary_name: str | None
    feedback_form_ref: str | None
    letter_ref: str | None
    archive_ref: str | None
    deadline: date | None = Field(default=None, description="30 November of the year (R6.3)")
    overdue: bool = Field(default=False, description="Not complete after the deadline, as of today (derived)")

    @classmethod
    def at(cls, mobile_round: MobileRound, today: date) -> Self:
        """The round as it stands, with ``overdue`` computed for ``today``."""
        return cls.of(mobile_round).model_copy(
            update={"deadline": mobile_round.deadline, "overdue": mobile_round.overdue(today)}
        )

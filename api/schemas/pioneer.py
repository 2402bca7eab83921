"""The pioneer-index evaluation (先锋指数, R5): rounds, enrolments, steps, results, follow-ups."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import AggregatePublic, Command, OptionalText, Text
from domain.values import PioneerStanding, PioneerStep


class PioneerRoundOpen(Command):
    org_id: UUID = Field(description="The organisation whose members are evaluated (R5.1)")
    year: int = Field(ge=2000, le=2100, description="One round per organisation and year (R5.4)")
    round_date: date = Field(description="Standings are judged on this date; by 30 November (R5.6)")


class PioneerEnrolment(Command):
    member_id: UUID


class PioneerStepDone(Command):
    member_id: UUID
    step: PioneerStep = Field(description="R5.4, in order: self, peer, organisation review, public notice")


class PioneerResult(Command):
    member_id: UUID
    stars: int = Field(description="R5.5: 1 to 5 stars (checked by the domain)")
    excellent: bool = Field(default=False, description="R5.5: 优秀党员, only with 4 or 5 stars")


class PioneerTalk(Command):
    member_id: UUID
    talked_by: Text = Field(description="R5.5 谈心谈话: who talked with the member")
    note: OptionalText = ""


class PioneerSupportPairing(Command):
    member_id: UUID
    partner: Text = Field(description="R5.5 结对帮扶: who supports the member")
    note: OptionalText = ""


class PioneerClosure(Command):
    """Close the round."""


class PioneerEnrolmentPublic(BaseModel):
    member_id: UUID
    name: str
    standing: PioneerStanding
    reasons: list[str]
    enrolled_on: date
    steps: dict[PioneerStep, date] = Field(description="R5.4: steps done, with their dates")
    stars: int | None
    excellent: bool
    rated_on: date | None
    talked_on: date | None
    talked_by: str | None
    support_partner: str | None
    support_on: date | None


class PioneerRoundPublic(AggregatePublic):
    org_id: UUID
    year: int
    round_date: date
    closed: bool
    closed_on: date | None
    enrolments: list[PioneerEnrolmentPublic]

    @field_validator("enrolments", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [asdict(e) if is_dataclass(e) and not isinstance(e, type) else e for e in value.values()]
        return value

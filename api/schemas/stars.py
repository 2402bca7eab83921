"""Star stations (R9.1), 薪火 demonstrations (R9.2, R9.3) and market standardisation (六化, R4)."""

from __future__ import annotations

from datetime import date
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import AggregatePublic, Command, Reason, Text
from domain.values import FocusIndustry, MarketScope, StandardisationCriterion, XinhuoCategory

# --- star stations ---------------------------------------------------------------------------------


class StationStarAward(Command):
    """Stars awarded on ``effective_on`` (the award date) by ``awarding_body``."""

    org_id: UUID = Field(description="The station branch (市场所党支部)")
    level: int = Field(description="3, 4 or 5 stars (R9.1)")
    awarding_body: Text


class StationStarRaise(Command):
    level: int = Field(description="A higher level: 4 or 5 (R9.1)")
    awarding_body: Text


class Revocation(Command):
    reason: Reason


class StationStarPublic(AggregatePublic):
    org_id: UUID
    level: int | None = Field(description="None once revoked")
    awarded_on: date | None
    awarding_body: str | None
    revoked_on: date | None
    revocation_reason: str | None


# --- 薪火 demonstrations -----------------------------------------------------------------------------


class XinhuoAward(Command):
    """An organisation (``org_id``), or a member household (``member_id`` and ``entity_id``)."""

    org_id: UUID | None = None
    member_id: UUID | None = None
    entity_id: UUID | None = None
    category: XinhuoCategory | None = Field(default=None, description="Derived from the subject when omitted")
    focus_industry: FocusIndustry | None = Field(default=None, description="R9.3")
    awarding_body: Text


class XinhuoDemonstrationPublic(AggregatePublic):
    subject: str
    org_id: UUID | None
    member_id: UUID | None
    entity_id: UUID | None
    category: XinhuoCategory | None
    focus_industry: FocusIndustry | None
    awarding_body: str | None
    awarded_on: date | None
    active: bool
    revoked_on: date | None
    revocation_reason: str | None


# --- market standardisation ---------------------------------------------------------------------------


class MarketEnrollment(Command):
    entity_id: UUID = Field(description="A professional, commodity-trading or farmers' market")
    scope: MarketScope


class CriterionMet(Command):
    criterion: StandardisationCriterion
    evidence: Reason = Field(description="What shows the criterion is met")
    evidence_on: date
    training_dates: list[date] = Field(
        default_factory=list, max_length=366, description="education: at least two in the evidence year"
    )
    party_affairs_workers: int | None = Field(default=None, description="guarantees: 1 or 2")


class CriterionLapse(Command):
    criterion: StandardisationCriterion
    reason: Reason


class CriterionPublic(BaseModel):
    met: bool
    evidence: str
    evidence_on: date
    training_dates: list[date]
    party_affairs_workers: int | None
    since: date
    lapse_reason: str | None


class MarketStandardisationPublic(AggregatePublic):
    entity_id: UUID
    scope: MarketScope
    criteria: dict[StandardisationCriterion, CriterionPublic]
    met_criteria: list[StandardisationCriterion]
    standardised: bool = Field(description="All six criteria currently met (R4)")

    @classmethod
    def of(cls, aggregate: Any) -> Self:
        """The record as it stands, with what is derived from its criteria."""
        return cls.model_validate(
            {
                **vars(aggregate),
                "met_criteria": aggregate.met_criteria,
                "standardised": aggregate.standardised,
                "id": aggregate.id,
                "version": aggregate.version,
                "created_on": aggregate.created_on,
                "modified_on": aggregate.modified_on,
            }
        )

"""Strongest-branch ratings (最强党支部, R11)."""

from __future__ import annotations

from datetime import date
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Reason, Text
from domain.values import (
    DisqualificationKind,
    EvaluationKind,
    OrgRating,
    RatingLevel,
    SocialResult,
)


class RatingStart(Command):
    org_id: UUID = Field(description="The branch (党支部) that starts self-creation (自创)")
    year: int = Field(ge=2000, le=2100, description="The rating year; self-creation starts in it (R11.6)")


class RatingEvaluation(Command):
    """One of the four evaluations (四评, R11.4); give the fields of its ``kind`` only."""

    kind: EvaluationKind
    rating: OrgRating | None = Field(default=None, description="organization: 组织评定 grade")
    participants: int | None = Field(default=None, ge=0, le=1_000_000, description="members: 参评党员")
    excellent: int | None = Field(default=None, ge=0, le=1_000_000, description='members: rating "excellent"')
    respondents: int | None = Field(default=None, ge=0, le=10_000_000, description="mass: respondents")
    dissatisfied: int | None = Field(default=None, ge=0, le=10_000_000, description='mass: "dissatisfied"')
    verified: bool | None = Field(
        default=None, description="mass: the dissatisfaction was verified (查核属实)"
    )
    result: SocialResult | None = Field(default=None, description="social: clean, adverse or exempt")
    no_public_function: bool | None = Field(
        default=None, description="social: the unit has no public-facing function (needed for exempt)"
    )


class RatingDisqualification(Command):
    kind: DisqualificationKind
    occurred_on: date = Field(description="When it happened: in the rating's year (R11.5)")
    description: OptionalText = ""


class RatingApplication(Command):
    level: RatingLevel
    to_body: Text = Field(description="The body applied to, e.g. 机关党委 or 市直机关工委")


class RatingDecision(Command):
    level: RatingLevel
    passed: bool
    reason: OptionalText = ""


class RatingAward(Command):
    start_year: int = Field(ge=2000, le=2100)
    end_year: int = Field(ge=2000, le=2100)


class RatingRevocation(Command):
    reason: Reason


class RatingParentChange(Command):
    to_parent_id: UUID


class DisqualificationPublic(BaseModel):
    kind: DisqualificationKind
    description: str
    occurred_on: date


class ApplicationPublic(BaseModel):
    to_body: str
    applied_on: date


class DecisionPublic(BaseModel):
    passed: bool
    reason: str
    decided_on: date


class StrongestBranchRatingPublic(AggregatePublic):
    org_id: UUID
    year: int
    parent_id: UUID | None
    started_on: date
    organization_rating: OrgRating | None
    member_participants: int | None
    member_excellent: int | None
    mass_respondents: int | None
    mass_dissatisfied: int | None
    mass_verified: bool | None
    social_result: SocialResult | None
    disqualifications: list[DisqualificationPublic]
    applications: dict[RatingLevel, ApplicationPublic]
    decisions: dict[RatingLevel, DecisionPublic]
    awarded_level: RatingLevel | None
    awarded_on: date | None
    term_start_year: int | None
    term_end_year: int | None
    revoked: bool
    revoked_on: date | None
    revocation_reason: str | None
    missing_evaluations: list[EvaluationKind] = Field(description="Evaluations (四评) not yet recorded")
    disqualified: bool = Field(description="Derived from the recorded inputs (R11.4, R11.5)")
    disqualification_reasons: list[str]
    awarded: bool = Field(description="An award in force: made and not revoked (R11.7)")

    @classmethod
    def of(cls, aggregate: Any) -> Self:
        """The rating as it stands, with what is derived from its inputs."""
        derived = ("missing_evaluations", "disqualified", "disqualification_reasons", "awarded")
        return cls.model_validate(
            {
                **vars(aggregate),
                **{name: getattr(aggregate, name) for name in derived},
                "id": aggregate.id,
                "version": aggregate.version,
                "created_on": aggregate.created_on,
                "modified_on": aggregate.modified_on,
            }
        )

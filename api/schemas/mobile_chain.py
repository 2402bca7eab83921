"""Statistics of the mobile-member two-way feedback chain (R6)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime
from domain.values import MobileStep


class ChainRoundPublic(BaseModel):
    round_id: UUID
    member_id: UUID
    member_name: str
    year: int
    business_org_id: UUID
    business_org_name: str
    business_region_code: str | None
    relationship_org_id: UUID | None
    relationship_org_name: str
    step: MobileStep = Field(description="The step reached on as_of (R6.2)")
    step_dates: dict[str, date | None] = Field(description="The date each step was reached; null if not yet")
    activities_filed: int
    deadline: date = Field(description="R6.3: 30 November of the round's year")
    complete: bool
    overdue: bool = Field(description="R6.3: not complete and as_of is after the deadline")


class ChainTotalsPublic(BaseModel):
    rounds: int
    completed: int = Field(description="Receipt returned and archived (R6.2 step 5)")
    completed_by_deadline: int = Field(description="Receipt returned by 30 November (R6.3)")
    completion_rate: float | None = Field(description="completed ÷ rounds")
    overdue: int = Field(description="R6.3: not complete and as_of after 30 November")
    by_step: dict[str, int] = Field(description="Rounds at each step on as_of")


class MobileChainPublic(BaseModel):
    as_of: date = Field(description="The business date the figures describe")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    year: int
    region: str | None
    step: MobileStep | None
    overdue: bool | None
    deadline: date = Field(description="R6.3: the year's rounds are done by 30 November")
    position: int = Field(description="Event position the figures include")
    totals: ChainTotalsPublic = Field(
        description="Over the year and region; step and overdue filter rounds only"
    )
    rounds: list[ChainRoundPublic]
    next_cursor: UUID | None = Field(description="Pass as `after` for the next page; null on the last page")

"""Coverage statistics and health."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime
from domain.values import (
    EntityKind,
)

# --- coverage -----------------------------------------------------------------------------------


class CoverageFiguresPublic(BaseModel):
    operating: int = Field(description="Operating entities in scope")
    standalone: int = Field(description="Covered by an organisation of their own (单独建立)")
    joint: int = Field(description="Covered by a joint organisation (联合建立)")
    work_only: int = Field(description="No organisation, reached by a guidance officer (工作覆盖)")
    uncovered: int
    organization_coverage_rate: float | None = Field(description="R13.1: (standalone + joint) ÷ operating")
    work_coverage_share: float | None = Field(description="work_only ÷ operating")


class MemberCounts(BaseModel):
    total: int
    by_category: dict[str, int]
    by_affiliation: dict[str, int]


class CoveragePublic(BaseModel):
    as_of: date = Field(description="The business date the figures describe")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    region: str | None
    kind: EntityKind | None
    industry: str | None
    station: str | None
    group_by: str | None
    position: int = Field(description="Event position the figures include")
    total: CoverageFiguresPublic
    groups: dict[str, CoverageFiguresPublic]
    members: MemberCounts | None = Field(description="Absent when filtered by kind, industry or station")


class Health(BaseModel):
    status: str = Field(description="ok, catching-up, or failed (a projection stopped on an error)")
    head: int = Field(description="Position of the last event in the store")
    projections: dict[str, int] = Field(description="Each projection's checkpoint")
    failures: dict[str, str] = Field(description="The error each failed projection stopped on")

"""The member roster and member counts (issue #4 item 1)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime
from domain.values import Affiliation, Distribution, MemberCategory


class RosterMemberPublic(BaseModel):
    member_id: UUID
    name: str
    unit_name: str
    category: MemberCategory
    affiliation: Affiliation
    distribution: Distribution
    is_business_owner: bool
    home_org_id: UUID | None = Field(
        description="Where the member is counted (R13.6): the relationship organisation if in this "
        "system, else the first organisational-life organisation"
    )
    home_org_name: str | None
    home_region_code: str | None
    relationship_org_id: UUID | None = Field(description="Null when the relationship lies outside the system")
    relationship_org_name: str
    life_org_ids: list[UUID] = Field(
        description="Organisations hosting the member's organisational life (R2.2)"
    )
    present: bool = Field(description="False once the member has left (R13.6)")
    left_on: date | None
    left_reason: str | None
    business_suspended: bool = Field(description="停歇业 (R5.2)")
    away_since: date | None = Field(description="外出经营 since (R5.2)")
    away_over_six_months: bool = Field(description="R5.2: away more than six months on as_of")
    in_disciplinary_period: bool = Field(description="处分期 (R5.3)")
    erased: bool = Field(
        default=False, description="Personal data erased (issue #7): name reads 已删除; still counted"
    )


class RosterPage(BaseModel):
    as_of: date = Field(description="The business date the roster describes")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    position: int = Field(description="Event position the roster includes")
    members: list[RosterMemberPublic]
    next_cursor: UUID | None = Field(description="Pass as `after` for the next page; null on the last page")


class HomeOrganizationCount(BaseModel):
    org_id: UUID | None
    name: str | None
    region_code: str | None
    members: int


class MemberStatisticsPublic(BaseModel):
    as_of: date = Field(description="The business date the figures describe")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    region: str | None
    position: int = Field(description="Event position the figures include")
    total: int = Field(description="Present members whose home organisation is in the region")
    by_category: dict[str, int]
    by_affiliation: dict[str, int]
    by_distribution: dict[str, int]
    business_owners: int
    not_business_owners: int
    by_home_organization: list[HomeOrganizationCount] = Field(
        description="R13.6: where the relationship sits"
    )
    business_suspended: int = Field(description="Present members whose business is suspended (R5.2)")
    away: int = Field(description="Present members doing business elsewhere (R5.2)")
    in_disciplinary_period: int = Field(description="Present members in a disciplinary period (R5.3)")
    left_by_reason: dict[str, int] = Field(description="Members who had left by as_of, by reason (R13.6)")

"""Members (the R1.1 form)."""

from __future__ import annotations

from datetime import date
from typing import Any, Self
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Reason, Text
from domain.values import (
    Affiliation,
    Distribution,
    LeavingReason,
    MemberCategory,
)

# --- members ------------------------------------------------------------------------------------


class MemberRegister(Command):
    """The 《个体工商户党建信息登记表》, field by field (R1.1), with the affiliation (R2.1)."""

    unit_name: Text = Field(description="单位名称")
    entity_id: UUID | None = Field(default=None, description="The market entity, when registered here")
    name: Text = Field(description="姓名")
    mobile: str = Field(min_length=11, max_length=20, description="手机号码")
    is_business_owner: bool = Field(description="是否业主")
    household_district: Text = Field(description="户籍所在区")
    life_org_ids: list[UUID] = Field(min_length=1, max_length=20, description="辖区党组织（组织生活）")
    relationship_org_id: UUID | None = Field(
        default=None, description="组织关系所在地党组织 (in this system)"
    )
    relationship_org_name: OptionalText = Field(default="", description="its name, when outside this system")
    category: MemberCategory = Field(description="正式 / 预备")
    affiliation: Affiliation = Field(description="隶属 / 属地 / 流动 (R2.1)")
    distribution: Distribution = Field(description="分布：个体户 / 市场内个体户")
    form_date: date = Field(description="填表日期")
    filled_by_name: Text = Field(description="填表人")
    filled_by_phone: str = Field(min_length=1, max_length=20, description="填表人联系电话")
    admitted_on: date | None = Field(
        default=None, description="入党日期: required for a probationary member (R13.5)"
    )


class MemberTransfer(Command):
    to_org_id: UUID | None = None
    to_org_name: OptionalText = ""
    affiliation: Affiliation | None = None


class MemberLifeOrganization(Command):
    org_id: UUID


class MemberCorrection(Command):
    unit_name: Text | None = None
    name: Text | None = None
    mobile: str | None = Field(default=None, min_length=11, max_length=20)
    is_business_owner: bool | None = None
    household_district: Text | None = None
    distribution: Distribution | None = None
    reason: Reason


class MemberErasure(Command):
    """Erase the member's personal data (issue #7); the reason is recorded with the event."""

    reason: Reason


class MemberPublic(AggregatePublic):
    erased: bool = Field(
        default=False,
        description="Personal data erased (issue #7): name, mobile and household read 已删除; the member "
        "stays in every figure (R13.6)",
    )
    personal_data_erased_on: date | None = Field(default=None, description="the erasure's effective date")
    unit_name: str
    entity_id: UUID | None
    name: str
    mobile: str
    is_business_owner: bool
    household_district: str
    life_org_ids: list[UUID]
    relationship_org_id: UUID | None
    relationship_org_name: str
    relationship_since: date
    category: MemberCategory
    affiliation: Affiliation
    distribution: Distribution
    form_date: date
    filled_by_name: str
    filled_by_phone: str
    admitted_on: date | None = Field(description="入党日期")
    probation_ends_on: date | None = Field(description="R13.5: earliest 转正 (probationary members only)")
    probation_extension_months: int | None = Field(description="R13.5: the one extension, if any")
    full_since: date | None = Field(description="the date of 转正, when recorded here")
    business_suspended: bool = Field(description="停歇业 (R5.2)")
    suspended_since: date | None
    away_since: date | None = Field(description="外出经营 since (R5.2)")
    in_disciplinary_period: bool = Field(description="处分期 (R5.3)")
    disciplinary_since: date | None
    policy_violations: list[date] = Field(description="违反基本国策, by effective date (R5.3)")
    has_left: bool = Field(description="R13.6: kept for history, accepts nothing more")
    left_on: date | None
    left_reason: LeavingReason | None
    pioneer_ratings: dict[int, int] = Field(description="R5.5: pioneer-index stars by year")
    excellent_years: list[int] = Field(description="R5.5: years designated excellent member")

    @classmethod
    def of(cls, aggregate: Any) -> Self:
        public = super().of(aggregate)
        public.erased = aggregate.erased
        public.personal_data_erased_on = aggregate.personal_data_erased_on
        return public

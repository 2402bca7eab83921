"""Request and response models, in families per resource (``XRegister``, ``XPublic``).

Requests are strict: unknown fields are rejected and text lengths bounded. The domain validates
the rules again; these schemas only give early, field-level errors.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.values import (
    Affiliation,
    Distribution,
    EntityKind,
    EntityStatus,
    Formation,
    MemberCategory,
    OrgKind,
)

Text = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
OptionalText = Annotated[str, Field(max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Command(Strict):
    effective_on: date = Field(
        description="Business date the fact takes effect (R1.3: at most one day ahead)."
    )


class CommandAccepted(BaseModel):
    """A command was recorded: the aggregate it concerns and the position of its last event."""

    id: UUID
    position: int


class AggregatePublic(BaseModel):
    id: UUID
    version: int
    created_on: datetime = Field(description="When its first event was recorded (UTC)")
    modified_on: datetime = Field(description="When its last event was recorded (UTC)")

    @classmethod
    def of(cls, aggregate: Any) -> Self:
        """The public view of an aggregate's current state."""
        base = {
            "id": aggregate.id,
            "version": aggregate.version,
            "created_on": aggregate.created_on,
            "modified_on": aggregate.modified_on,
        }
        return cls.model_validate({**vars(aggregate), **base})


# --- market entities ----------------------------------------------------------------------------


class EntityRegister(Command):
    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100-2015)")
    name: Text
    kind: EntityKind
    industry: Text
    region_code: str = Field(pattern=r"^\d{6}$", description="6-digit region code (GB/T 2260)")
    station: Text = Field(description="Supervising market-supervision station (市场监管所)")


class EntityStatusChange(Command):
    status: EntityStatus
    reason: OptionalText = ""


class EntityCorrection(Command):
    name: Text | None = None
    kind: EntityKind | None = None
    industry: Text | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    station: Text | None = None
    reason: Reason


class EntityPublic(AggregatePublic):
    credit_code: str
    name: str
    kind: EntityKind
    industry: str
    region_code: str
    station: str
    status: EntityStatus
    status_since: date
    organization_id: UUID | None
    formation: Formation | None


# --- party organisations ------------------------------------------------------------------------


class OrganizationEstablish(Command):
    name: Text
    kind: OrgKind
    formation: Formation
    parent_id: UUID | None = None
    region_code: str = Field(pattern=r"^\d{6}$")
    entity_ids: list[UUID] = Field(default_factory=list, max_length=5)


class OrganizationEntityAdd(Command):
    entity_id: UUID


class OrganizationEntityRemove(Command):
    entity_id: UUID
    reason: Reason


class GuidanceOfficerAssign(Command):
    officer: Text
    entity_ids: list[UUID] = Field(min_length=1, max_length=1000)


class GuidanceOfficerWithdraw(Command):
    officer: Text
    reason: Reason


class OrganizationDissolve(Command):
    reason: Reason


class OrganizationPublic(AggregatePublic):
    name: str
    kind: OrgKind
    formation: Formation
    parent_id: UUID | None
    region_code: str
    entity_ids: list[UUID]
    guidance: dict[str, list[UUID]]
    dissolved: bool


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


class MemberPublic(AggregatePublic):
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
    status: str
    head: int
    projections: dict[str, int]

"""Compliance statistics: training rates (R7), themed party days and R10 frequencies, volunteers (R11.3)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime


class StatisticsPeriod(BaseModel):
    as_of: date = Field(description="The business date asked for")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    year: int
    period_end: date = Field(description="The figures cover 1 January to min(as_of, 31 December)")
    region: str | None
    org_id: UUID | None
    position: int = Field(description="Event position the figures include")


# --- training (R7) --------------------------------------------------------------------------------


class TrainingFiguresPublic(BaseModel):
    members: int = Field(description="Members of this affiliation present on the period end")
    trained: int = Field(description="Of them, members who took part in at least one training")
    rate: float | None = Field(description="trained ÷ members; null without members")
    target_rate: float = Field(description="R7: 隶属 100%, 流动 at least 80%, 属地 every member")
    min_sessions_each: int | None = Field(description="R7 属地: trainings each member attends at least")
    meets_target: bool | None = Field(description="null without members")


class TrainingPublic(StatisticsPeriod):
    members: int
    trained: int
    by_affiliation: dict[str, TrainingFiguresPublic] = Field(description="subordinate, mobile, local")


# --- themed party days and R10 --------------------------------------------------------------------


class PeriodCompliancePublic(BaseModel):
    due: list[int] = Field(description="Months (1-12) or quarters (1-4) in which the activity was due")
    held: list[int] = Field(description="Due periods with at least one such activity")
    missed: list[int] = Field(description="Due periods over by the period end without one")
    pending: list[int] = Field(description="Due periods still running on the period end, without one yet")
    compliant: bool = Field(description="Nothing missed")


class ThemedDayPublic(BaseModel):
    org_id: UUID
    name: str
    kind: str
    region_code: str
    months: PeriodCompliancePublic = Field(description="主题党日: at least one a month")


class ExchangePublic(BaseModel):
    pairing_id: UUID
    kind: str
    lead_org_id: UUID
    partner_org_id: UUID
    started_on: date
    ended_on: date | None
    exchanges: int = Field(description="Pairing exchanges in the period")
    quarters: PeriodCompliancePublic = Field(description="R10: paired branches meet at least once a quarter")


class VisitPublic(BaseModel):
    pairing_id: UUID
    station_org_id: UUID
    partner_org_id: UUID
    visits: int = Field(description="Visits of the station branch to the partner while paired, in the period")
    months: PeriodCompliancePublic = Field(
        description="R10: a station branch visits each paired 小个专 organisation at least monthly"
    )


class CompliancePublic(StatisticsPeriod):
    themed_days: list[ThemedDayPublic]
    exchanges: list[ExchangePublic]
    visits: list[VisitPublic]


# --- volunteers (R11.3) ---------------------------------------------------------------------------


class VolunteerFiguresPublic(BaseModel):
    org_id: UUID
    name: str
    members: int = Field(description="Members whose home organisation it is, present on the period end")
    volunteers: int = Field(description="Of them, members who took part in a volunteer-service activity")
    share: float | None = Field(description="volunteers ÷ members; null without members")
    target_share: float = Field(description="R11.3: at least 80%")
    meets_share: bool | None
    activities: int = Field(description="Volunteer-service activities the organisation held")
    min_activities: int = Field(description="R11.3: at least 2 a year")
    meets_activities: bool


class VolunteersPublic(StatisticsPeriod):
    organizations: list[VolunteerFiguresPublic]

"""Compliance statistics (R7 training, R10 meetings and visits, R11.3 volunteers) from the activities
read model, for a year up to a business date, as known at a moment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.deps import PartsDep, ReadConnection, ReadTime, ReadTimeDep
from api.schemas.compliance import (
    CompliancePublic,
    ExchangePublic,
    PeriodCompliancePublic,
    ThemedDayPublic,
    TrainingFiguresPublic,
    TrainingPublic,
    VisitPublic,
    VolunteerFiguresPublic,
    VolunteersPublic,
)
from domain.errors import RuleViolation
from domain.targets import VOLUNTEER_MIN_ACTIVITIES_PER_YEAR, VOLUNTEER_MIN_SHARE
from projections.activities import ActivitiesView, PeriodCompliance, year_period

router = APIRouter(tags=["statistics"])


@dataclass(frozen=True)
class Selection:
    """What a compliance figure is about: a year, a region or an organisation, and where in time."""

    year: int
    region: str | None
    org_id: UUID | None
    position: int

    def period(self, at: ReadTime) -> dict[str, Any]:
        return {
            "as_of": at.as_of,
            "as_known_at": at.as_known_at,
            "year": self.year,
            "period_end": year_period(self.year, at.as_of)[1],
            "region": self.region,
            "org_id": self.org_id,
            "position": self.position,
        }


def get_selection(
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="The year (default: as_of's)")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="6-digit region code of the organisations")
    ] = None,
    org_id: Annotated[UUID | None, Query(description="Only this organisation")] = None,
) -> Selection:
    year = year or at.as_of.year
    if year > at.as_of.year:
        raise RuleViolation(f"year {year} begins after as_of {at.as_of}", field="year", rule="R3")
    position = min(
        parts.runner.position("activities", conn), parts.runner.position("coverage", conn), at.known
    )
    return Selection(year, region, org_id, position)


SelectionDep = Annotated[Selection, Depends(get_selection)]


def _view_args(selection: Selection, at: ReadTime) -> dict[str, Any]:
    return {
        "year": selection.year,
        "as_of": at.as_of,
        "known": at.known,
        "region": selection.region,
        "org_id": selection.org_id,
    }


def _periods(p: PeriodCompliance) -> PeriodCompliancePublic:
    return PeriodCompliancePublic(**asdict(p), compliant=p.compliant)


@router.get("/statistics/training")
def get_training(conn: ReadConnection, at: ReadTimeDep, selection: SelectionDep) -> TrainingPublic:
    """Training rates by affiliation in the year, beside the R7 targets."""
    report = ActivitiesView().training(conn, **_view_args(selection, at))
    return TrainingPublic(
        **selection.period(at),
        members=report.members,
        trained=report.trained,
        by_affiliation={
            a: TrainingFiguresPublic(
                members=f.members,
                trained=f.trained,
                rate=f.rate,
                target_rate=f.target_rate,
                min_sessions_each=f.min_sessions_each,
                meets_target=f.meets_target,
            )
            for a, f in report.by_affiliation.items()
        },
    )


@router.get("/statistics/compliance")
def get_compliance(conn: ReadConnection, at: ReadTimeDep, selection: SelectionDep) -> CompliancePublic:
    """Monthly themed party days, quarterly pairing exchanges and monthly station visits (R10)."""
    report = ActivitiesView().compliance(conn, **_view_args(selection, at))
    return CompliancePublic(
        **selection.period(at),
        themed_days=[
            ThemedDayPublic(
                org_id=d.org_id,
                name=d.name,
                kind=d.kind,
                region_code=d.region_code,
                months=_periods(d.months),
            )
            for d in report.themed_days
        ],
        exchanges=[
            ExchangePublic(**{**asdict(e), "quarters": _periods(e.quarters)}) for e in report.exchanges
        ],
        visits=[VisitPublic(**{**asdict(v), "months": _periods(v.months)}) for v in report.visits],
    )


@router.get("/statistics/volunteers")
def get_volunteers(conn: ReadConnection, at: ReadTimeDep, selection: SelectionDep) -> VolunteersPublic:
    """Volunteer share and volunteer activities per organisation, beside the R11.3 thresholds."""
    report = ActivitiesView().volunteers(conn, **_view_args(selection, at))
    return VolunteersPublic(
        **selection.period(at),
        organizations=[
            VolunteerFiguresPublic(
                **asdict(o),
                share=o.share,
                target_share=VOLUNTEER_MIN_SHARE,
                meets_share=o.meets_share,
                min_activities=VOLUNTEER_MIN_ACTIVITIES_PER_YEAR,
                meets_activities=o.meets_activities,
            )
            for o in report.organizations
        ],
    )

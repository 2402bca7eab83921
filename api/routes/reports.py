"""The half-year report (R3), in JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import PartsDep, ReadConnection, ReadTimeDep
from api.schemas.reports import HalfYearReport
from projections.answers import seen_at
from projections.report import half_year_report, is_cut_off, to_csv

router = APIRouter(tags=["statistics"])

REPORT_READS = ("coverage", "members", "stars", "mobile_chain", "activities")
"""The projections whose tables ``half_year_report`` reads (the key of its kept answers)."""


@router.get(
    "/reports/half-year",
    response_model=HalfYearReport,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_half_year_report(
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    region: Annotated[str, Query(pattern=r"^\d{6}$", description="6-digit region code")],
    format: Literal["json", "csv"] = "json",
    organizations: Annotated[
        bool,
        Query(
            description="Also list every organisation in the members, compliance and volunteers sections "
            "(large: a province has thousands; one region's are also at /statistics/members, "
            "/statistics/compliance and /statistics/volunteers); without it, those sections count them"
        ),
    ] = False,
) -> HalfYearReport | Response:
    """Every figure for a region and its children, as of a cut-off and as known at a moment (R3)."""
    checkpoints = parts.runner.positions(conn)
    seen = seen_at(at.known, checkpoints, *REPORT_READS)
    areas = parts.answers.answer(
        ("half-year", region, at.as_of, organizations, seen),
        lambda: half_year_report(conn, region, at.as_of, at.known, organizations=organizations),
    )
    if format == "csv":
        filename = f"dangjian-{region}-{at.as_of.isoformat()}.csv"
        return Response(
            to_csv(areas),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return HalfYearReport(
        region=region,
        as_of=at.as_of,
        as_known_at=at.as_known_at,
        official_cut_off=is_cut_off(at.as_of),
        position=min(checkpoints["coverage"], at.known),
        areas=areas,
    )

"""The half-year report (R3) as an XLSX workbook with the official tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ReadConnection, ReadTimeDep
from projections.exports import half_year_workbook, to_xlsx

router = APIRouter(tags=["statistics"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports/half-year.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The workbook"}},
)
def get_half_year_workbook(
    conn: ReadConnection,
    at: ReadTimeDep,
    region: Annotated[str, Query(pattern=r"^\d{6}$", description="6-digit region code")],
) -> Response:
    """The half-year report as a workbook: summary, members, market party building, market counts (R3)."""
    workbook = half_year_workbook(conn, region, at.as_of, at.known, at.as_known_at)
    filename = f"dangjian-{region}-{at.as_of.isoformat()}.xlsx"
    return Response(
        to_xlsx(workbook),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

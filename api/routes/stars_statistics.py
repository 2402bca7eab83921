"""Stars statistics (issue #4 item 1) from the stars read model."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import PartsDep, ReadConnection, ReadTimeDep
from api.schemas.stars_statistics import (
    MarketFiguresPublic,
    MarketGroupPublic,
    PioneerFiguresPublic,
    StarsStatisticsPublic,
    StationStarFiguresPublic,
    StrongestBranchFiguresPublic,
    XinhuoCategoryPublic,
    XinhuoFiguresPublic,
)
from projections.stars import MarketFigures, MarketGroupFigures, StarsProjection, StarsView, XinhuoFigures

router = APIRouter(tags=["statistics"])


def _group(g: MarketGroupFigures) -> MarketGroupPublic:
    return MarketGroupPublic(**asdict(g), standardised_share=g.standardised_share)


def _xinhuo(x: XinhuoFigures) -> XinhuoFiguresPublic:
    return XinhuoFiguresPublic(
        total=x.total,
        by_category={
            k: XinhuoCategoryPublic(count=c.count, target=c.target, share_of_target=c.share_of_target)
            for k, c in x.by_category.items()
        },
        by_focus_industry=dict(sorted(x.by_focus_industry.items())),
    )


def _markets(m: MarketFigures) -> MarketFiguresPublic:
    return MarketFiguresPublic(
        total=_group(m.total),
        by_kind={k: _group(g) for k, g in sorted(m.by_kind.items())},
        by_scope={k: _group(g) for k, g in sorted(m.by_scope.items())},
        criteria_met=m.criteria_met,
    )


@router.get("/statistics/stars")
def get_stars_statistics(
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit region code")] = None,
    org_id: Annotated[
        UUID | None, Query(description="Narrow to this organisation and its direct children")
    ] = None,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="The year of the figures (default: as_of's year)")
    ] = None,
) -> StarsStatisticsPublic:
    """Pioneer index (R5), strongest-branch share (R11.2), station stars (R9.1), 薪火 (R9.2) and
    standardised markets (R4) against their targets, as of a date and as known at a moment."""
    position = min(parts.runner.position(StarsProjection.name, conn), at.known)
    the_year = year or at.as_of.year
    report = StarsView().report(
        conn, year=the_year, as_of=at.as_of, known=at.known, region=region, org_id=org_id
    )
    p, s, st = report.pioneer, report.strongest_branch, report.station_stars
    return StarsStatisticsPublic(
        as_of=at.as_of,
        as_known_at=at.as_known_at,
        region=region,
        org_id=org_id,
        year=the_year,
        position=position,
        pioneer=PioneerFiguresPublic(**asdict(p), rated=p.rated, awaiting_result=p.awaiting_result),
        strongest_branch=StrongestBranchFiguresPublic(
            **asdict(s), share=s.share, meets_target=s.meets_target
        ),
        station_stars=StationStarFiguresPublic(
            **asdict(st),
            starred=st.starred,
            unstarred=st.unstarred,
            five_star=st.five_star,
            three_plus_share=st.three_plus_share,
        ),
        xinhuo=_xinhuo(report.xinhuo),
        markets=_markets(report.markets),
    )

"""Coverage statistics (两个覆盖) from the coverage read model."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import Parts, PartsDep, ReadTime, ReadTimeDep, Snapshot, read_in_snapshot
from api.schemas.coverage import CoverageFiguresPublic, CoveragePublic, MemberCounts
from domain.values import EntityKind
from projections.answers import seen_at
from projections.coverage import CoverageFigures

router = APIRouter(tags=["statistics"])


def _figures(f: CoverageFigures) -> CoverageFiguresPublic:
    return CoverageFiguresPublic(
        **asdict(f),
        organization_coverage_rate=f.organization_coverage_rate,
        work_coverage_share=f.work_coverage_share,
    )


@router.get("/coverage")
async def get_coverage(
    parts: PartsDep,
    at: ReadTimeDep,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit region code")] = None,
    kind: EntityKind | None = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    station: Annotated[str | None, Query(max_length=100)] = None,
    group_by: Literal["kind", "industry", "station", "region"] | None = None,
) -> CoveragePublic:
    """Organisation and work coverage of operating entities, with member counts (R13.1), as of a date
    and as known at a moment."""
    # an answer kept in memory is given on the event loop, one read from the database in a worker
    # thread (issue #6, P5)
    return await read_in_snapshot(
        parts, partial(_coverage, parts, at, region, kind, industry, station, group_by)
    )


def _coverage(
    parts: Parts,
    at: ReadTime,
    region: str | None,
    kind: EntityKind | None,
    industry: str | None,
    station: str | None,
    group_by: Literal["kind", "industry", "station", "region"] | None,
    snapshot: Snapshot,
) -> CoveragePublic:
    (position,) = seen_at(at.known, parts.checkpoints(snapshot, at.floor), "coverage")
    question = (at.as_of, position, region, kind, industry, station, group_by)
    report = parts.answers.answer(
        ("coverage", *question),
        lambda: parts.coverage.report(
            snapshot.conn,
            as_of=at.as_of,
            known=position,
            region=region,
            kind=kind,
            industry=industry,
            station=station,
            group_by=group_by,
        ),
        wait=snapshot.may_open,  # on the event loop, never wait for another thread's computation
    )
    members = None
    if not (kind or industry or station):
        members = MemberCounts(
            total=report.members,
            by_category=report.members_by_category,
            by_affiliation=report.members_by_affiliation,
        )
    return CoveragePublic(
        as_of=at.as_of,
        as_known_at=at.as_known_at,
        region=region,
        kind=kind,
        industry=industry,
        station=station,
        group_by=group_by,
        position=position,
        total=_figures(report.total),
        groups={k: _figures(v) for k, v in sorted(report.groups.items())},
        members=members,
    )

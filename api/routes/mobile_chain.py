"""Statistics of the mobile-member feedback chain (R6) from its read model."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import PartsDep, ReadConnection, ReadTimeDep
from api.schemas.mobile_chain import ChainRoundPublic, ChainTotalsPublic, MobileChainPublic
from domain.values import MobileStep
from projections.mobile_chain import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MobileChainView

router = APIRouter(tags=["statistics"])


@router.get("/statistics/mobile-chain")
def get_mobile_chain(
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="The rounds' year (default: as_of's)")
    ] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="6-digit code of the business place's region")
    ] = None,
    step: Annotated[MobileStep | None, Query(description="Only the rounds at this step")] = None,
    overdue: Annotated[bool | None, Query(description="Only the overdue (or the not overdue) rounds")] = None,
    after: Annotated[UUID | None, Query(description="The previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> MobileChainPublic:
    """The mobile-member rounds of a year with their steps, what is overdue and completion (R6)."""
    position = min(parts.runner.position("mobile_chain", conn), at.known)
    year = year or at.as_of.year
    report = MobileChainView().report(
        conn,
        year=year,
        as_of=at.as_of,
        known=at.known,
        region=region,
        step=step,
        overdue=overdue,
        after=after,
        limit=limit,
    )
    totals = report.totals
    return MobileChainPublic(
        as_of=at.as_of,
        as_known_at=at.as_known_at,
        year=year,
        region=region,
        step=step,
        overdue=overdue,
        deadline=report.deadline,
        position=position,
        totals=ChainTotalsPublic(**asdict(totals), completion_rate=totals.completion_rate),
        rounds=[ChainRoundPublic.model_validate(asdict(r)) for r in report.rounds],
        next_cursor=report.next_cursor,
    )

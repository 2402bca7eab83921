"""The member roster and member counts from the members read model (issue #4 item 1)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import PartsDep, ReadConnection, ReadTimeDep
from api.schemas.roster import (
    HomeOrganizationCount,
    MemberStatisticsPublic,
    RosterMemberPublic,
    RosterPage,
)
from domain.values import Affiliation, Distribution, MemberCategory
from projections.members import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MembersView

router = APIRouter(tags=["statistics"])

Region = Annotated[
    str | None, Query(pattern=r"^\d{6}$", description="6-digit region code (a city includes its counties)")
]


@router.get("/roster")
def get_roster(
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    region: Region = None,
    org_id: Annotated[
        UUID | None, Query(description="Members whose relationship or organisational life is there (R2.2)")
    ] = None,
    category: MemberCategory | None = None,
    affiliation: Affiliation | None = None,
    distribution: Distribution | None = None,
    present: Annotated[
        bool | None, Query(description="true: current members; false: leavers; omit: all")
    ] = None,
    after: Annotated[UUID | None, Query(description="The previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> RosterPage:
    """One page of the member roster, as of a date and as known at a moment."""
    position = min(parts.runner.position("members", conn), at.known)
    page = MembersView().page(
        conn,
        as_of=at.as_of,
        known=at.known,
        region=region,
        org_id=org_id,
        category=category,
        affiliation=affiliation,
        distribution=distribution,
        present=present,
        after=after,
        limit=limit,
    )
    return RosterPage(
        as_of=at.as_of,
        as_known_at=at.as_known_at,
        position=position,
        members=[RosterMemberPublic.model_validate(asdict(e)) for e in page.entries],
        next_cursor=page.next_cursor,
    )


@router.get("/statistics/members")
def get_member_statistics(
    parts: PartsDep, conn: ReadConnection, at: ReadTimeDep, region: Region = None
) -> MemberStatisticsPublic:
    """Members by category, affiliation, distribution, owner or not and home organisation (R13.6)."""
    position = min(parts.runner.position("members", conn), at.known)
    stats = MembersView().statistics(conn, as_of=at.as_of, known=at.known, region=region)
    fields = asdict(stats)
    fields["by_home_organization"] = [HomeOrganizationCount(**c) for c in fields["by_home_organization"]]
    return MemberStatisticsPublic(
        as_of=at.as_of, as_known_at=at.as_known_at, region=region, position=position, **fields
    )

"""Stars statistics (issue #4 item 1): pioneer index, strongest branch, station stars, 薪火, 六化 markets."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime


class PioneerFiguresPublic(BaseModel):
    """R5 先锋指数 of the year's rounds."""

    rounds: int = Field(description="Rounds of the year in the region")
    rounds_closed: int
    enrolled: int = Field(description="Members enrolled, whatever their standing")
    eligible: int
    excluded: int = Field(description="R5.2 暂不参加考评: probationary, suspended, away over 6 months")
    vetoed: int = Field(description="R5.3 一票否决")
    rated: int
    by_stars: dict[int, int] = Field(description="R5.5: members by stars, 1 to 5")
    excellent: int = Field(description="R5.5: designated excellent member (4 or 5 stars)")
    awaiting_result: int = Field(description="Eligible members without stars yet")
    follow_ups_pending: int = Field(description="R5.5: 1- or 2-star members still missing a talk or support")


class StrongestBranchFiguresPublic(BaseModel):
    """R11.2 最强党支部 share beside the year's target."""

    branches: int = Field(
        description="Denominator: agency and station branches not dissolved, plus any other rated branch"
    )
    awarded: int = Field(description="Branches holding an award in force that counts for the year")
    share: float | None = Field(description="awarded ÷ branches")
    target_share: float | None = Field(description="R11.2 target (the 2023 target stands after 2023)")
    target_year: int | None = Field(description="The year whose target applies")
    meets_target: bool | None
    ratings_by_stage: dict[str, int] = Field(description="The year's ratings: creating, applied, ... revoked")
    disqualified: int = Field(description="The year's ratings with a disqualifying fact (R11.4, R11.5)")


class StationStarFiguresPublic(BaseModel):
    """R9.1 星级规范化市场监管所."""

    stations: int = Field(description="Station branches not dissolved")
    by_level: dict[int, int] = Field(description="Stations by star level in force (3, 4, 5)")
    starred: int
    unstarred: int
    five_star: int
    five_star_target: int = Field(description="R9.1: 25 five-star stations (Hangzhou)")
    stations_target_total: int = Field(description="R9.1: the 99 stations the target was set for")
    target_years: int = Field(description="R9.1: within this many years")
    three_plus_share: float | None = Field(description="Stations with 3 or more stars ÷ stations")
    three_plus_target_share: float = Field(description="R9.1 全覆盖: every station")


class XinhuoCategoryPublic(BaseModel):
    count: int = Field(description="Demonstrations in force")
    target: int = Field(description="R9.2 百千万 target")
    share_of_target: float | None


class XinhuoFiguresPublic(BaseModel):
    """R9.2 薪火 demonstrations by category; R9.3 focus industries."""

    total: int
    by_category: dict[str, XinhuoCategoryPublic]
    by_focus_industry: dict[str, int]


class MarketGroupPublic(BaseModel):
    enrolled: int = Field(description="Markets enrolled in standardisation, entity not deregistered")
    standardised: int = Field(description="All six criteria met (六化)")
    standardised_share: float | None


class MarketFiguresPublic(BaseModel):
    """R4 市场党建六化."""

    total: MarketGroupPublic
    by_kind: dict[str, MarketGroupPublic]
    by_scope: dict[str, MarketGroupPublic]
    criteria_met: dict[str, int] = Field(description="Markets meeting each of the six criteria")


class StarsStatisticsPublic(BaseModel):
    as_of: date = Field(description="The business date the figures describe")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    region: str | None
    org_id: UUID | None = Field(description="Narrowed to this organisation and its direct children")
    year: int
    position: int = Field(description="Event position the figures include")
    pioneer: PioneerFiguresPublic
    strongest_branch: StrongestBranchFiguresPublic
    station_stars: StationStarFiguresPublic
    xinhuo: XinhuoFiguresPublic
    markets: MarketFiguresPublic

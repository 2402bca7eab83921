"""Stars read model (issue #4 item 1): pioneer index, strongest branches, star stations, 薪火, 六化 markets.

Five figures, for a region prefix (a city includes its counties), optionally narrowed to an
organisation, for a year, as of a business date and as known at an event position (bitemporal
tables, ``projections.temporal``):

1. Pioneer-index distribution (R5): the rounds of the year and their enrolments: enrolled, eligible,
   excluded (R5.2), vetoed (R5.3), rated by stars 1-5, designated excellent, awaiting a result, and
   1- or 2-star members whose talk and support pairing are still missing (R5.5). A round counts in
   the region of its organisation.
2. Strongest-branch share (R11.2): distinct branches holding an award in force on ``as_of`` that
   counts for the year (its rating year is the year or earlier and its term runs to the year or
   later: a branch awarded in December of its rating year counts for that year and through its
   term), divided by the branches in the denominator, beside the year's target share.
   Denominator (the sources are silent): the bureau's own branches, i.e. organisations of kinds
   ``agency_branch`` and ``station_branch`` not dissolved on ``as_of`` (003 rates the branches
   under the agency party committee; 000 rates station branches too), plus every other
   organisation that has a rating for the year or holds a counted award, so the share never
   exceeds 1. After 2023 the last target (50%) stands; before 2020 there is none.
3. Station stars (R9.1): station branches not dissolved on ``as_of``, by star level in force; the
   five-star count beside the target of 25 and the share with 3 or more stars beside "全覆盖" (all).
   The targets are Hangzhou's (99 stations, within three years); for a smaller region they are
   shown as given, not prorated.
4. 薪火 (R9.2): demonstrations in force on ``as_of`` by category, each beside its 百千万 target, and
   by focus industry (R9.3). An organisation counts in its organisation's region, a household in
   its market entity's region.
5. Standardised markets (R4): markets enrolled (their entity not deregistered on ``as_of``), and
   standardised (all six criteria met on ``as_of``), by entity kind and by R4 scope category, with
   how many markets meet each criterion.

The organisation filter (``org_id``) narrows every figure to the organisation and its direct
children (organisations established under it): rounds of those organisations; ratings of those
branches or whose rating names the organisation as parent (R11.7 follows a change of parent);
those station branches; demonstrations of those organisations, and households and markets whose
entity is covered by one of them on ``as_of``.

The projection keeps its own small copies of the organisations (kind, parent, region, dissolved)
and entities (kind, region, status, covering organisation) instead of reading the coverage tables,
because the parent is needed and so that its figures depend on its own checkpoint only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, case, func, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from domain.market_entity import MarketEntity
from domain.market_standardisation import MarketStandardisation
from domain.organization import PartyOrganization
from domain.pioneer_round import FOLLOW_UP_MAX_STARS, MAX_STARS, MIN_STARS, PioneerRound
from domain.station_star import STAR_LEVELS, StationStar
from domain.strongest_branch import StrongestBranchRating
from domain.targets import (
    FIVE_STAR_STATIONS_TARGET,
    STAR_STATION_YEARS,
    STATIONS_TOTAL,
    STRONGEST_BRANCH_TARGET_SHARE,
    XINHUO_TARGETS,
)
from domain.values import (
    EntityKind,
    EntityStatus,
    MarketScope,
    OrgKind,
    PioneerStanding,
    StandardisationCriterion,
    XinhuoCategory,
    region_prefix,
)
from domain.xinhuo import SUBJECT_HOUSEHOLD, SUBJECT_ORGANIZATION, XinhuoDemonstration
from projections import coverage_counts
from projections import stars_counts as counts
from projections.coverage import Areas
from projections.runner import REPLAYING
from projections.stars_counts import BRANCH_KINDS
from projections.tables import stars_counts as SC
from projections.tables import stars_entities as E
from projections.tables import stars_entity_counts as SEC
from projections.tables import stars_market_criteria as MC
from projections.tables import stars_markets as MK
from projections.tables import stars_organizations as O
from projections.tables import stars_pioneer_enrolments as PE
from projections.tables import stars_pioneer_rounds as PR
from projections.tables import stars_station_stars as ST
from projections.tables import stars_strongest_ratings as SB
from projections.tables import stars_xinhuo as X
from projections.temporal import ALL_KNOWN, TemporalProjection, visible

FULL_COVERAGE_TARGET_SHARE = 1.0
"""R9.1 全覆盖: every station through three- or four-star creation."""


def rating_stage(rating: StrongestBranchRating) -> str:
    """Where a rating stands (R11.6): creating, applied, passed, failed, awarded or revoked."""
    if rating.revoked:
        return "revoked"
    if rating.awarded_level is not None:
        return "awarded"
    level = rating.deciding_level
    decision = rating.decisions.get(level.value) if level is not None else None
    if decision is not None:
        return "passed" if decision["passed"] else "failed"
    return "applied" if rating.applications else "creating"


class StarsProjection(TemporalProjection):
    """Feeds the stars tables from the rating aggregates and the organisations and entities."""

    name = "stars"
    replay_weight = 15  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (O, E, PR, PE, SB, ST, X, MK, MC, SC, SEC)
    aggregates = (
        PartyOrganization,
        MarketEntity,
        PioneerRound,
        StrongestBranchRating,
        StationStar,
        XinhuoDemonstration,
        MarketStandardisation,
    )
    counted = (
        PartyOrganization,
        StrongestBranchRating,
        StationStar,
        PioneerRound,
        XinhuoDemonstration,
        MarketStandardisation,
        MarketEntity,
    )
    """The aggregates whose rows the counts are counted from (``projections.stars_counts.apply``)."""

    def prepare(self, conn: Connection) -> None:
        """Fill the counts of a store whose stars rows predate them (``stars_counts.fill``)."""
        counts.fill(conn)

    def finish_replay(self, conn: Connection) -> None:
        """A rebuild's replay writes the rows only; the counts are then counted once from them."""
        counts.refill(conn)

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """The rows (``TemporalProjection``), then the counts they change (``stars_counts``, issue #6, P4)."""
        super().handle_batch(conn, batch)
        if conn.get_execution_options().get(REPLAYING):
            return  # a rebuild's replay: the counts are counted once at its end (finish_replay)
        first, by_kind = coverage_counts.batch_subjects(batch, self.counted)
        if first:
            counts.apply(conn, first, by_kind)

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        if isinstance(aggregate, PartyOrganization):
            return {
                O: [
                    {
                        "kind": aggregate.kind,
                        "parent_id": aggregate.parent_id,
                        "region_code": aggregate.region_code,
                        "dissolved": aggregate.dissolved,
                    }
                ]
            }
        if isinstance(aggregate, MarketEntity):
            return {
                E: [
                    {
                        "kind": aggregate.kind,
                        "region_code": aggregate.region_code,
                        "status": aggregate.status,
                        "organization_id": aggregate.organization_id,
                    }
                ]
            }
        if isinstance(aggregate, PioneerRound):
            return self._pioneer_rows(aggregate)
        if isinstance(aggregate, StrongestBranchRating):
            return {
                SB: [
                    {
                        "org_id": aggregate.org_id,
                        "year": aggregate.year,
                        "parent_id": aggregate.parent_id,
                        "stage": rating_stage(aggregate),
                        "disqualified": aggregate.disqualified,
                        "awarded": aggregate.awarded,
                        "term_start_year": aggregate.term_start_year,
                        "term_end_year": aggregate.term_end_year,
                    }
                ]
            }
        if isinstance(aggregate, StationStar):
            level = aggregate.level
            return {ST: [] if level is None else [{"org_id": aggregate.org_id, "level": level}]}
        if isinstance(aggregate, XinhuoDemonstration):
            if not aggregate.active or aggregate.category is None:
                return {X: []}
            return {
                X: [
                    {
                        "subject": aggregate.subject,
                        "org_id": aggregate.org_id,
                        "member_id": aggregate.member_id,
                        "entity_id": aggregate.entity_id,
                        "category": aggregate.category,
                        "focus_industry": aggregate.focus_industry,
                    }
                ]
            }
        if isinstance(aggregate, MarketStandardisation):
            met = aggregate.met_criteria
            return {
                MK: [
                    {
                        "entity_id": aggregate.entity_id,
                        "scope": aggregate.scope,
                        "met_count": len(met),
                        "standardised": aggregate.standardised,
                    }
                ],
                MC: [{"entity_id": aggregate.entity_id, "criterion": c} for c in met],
            }
        return {}

    def _pioneer_rows(self, round_: PioneerRound) -> dict[Table, list[dict[str, Any]]]:
        return {
            PR: [{"org_id": round_.org_id, "year": round_.year, "closed": round_.closed}],
            PE: [
                {
                    "org_id": round_.org_id,
                    "year": round_.year,
                    "member_id": e.member_id,
                    "standing": e.standing,
                    "stars": e.stars,
                    "excellent": e.excellent,
                    "follow_up_done": e.follow_up_done,
                }
                for e in round_.enrolments.values()
            ],
        }


# --- figures ----------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class PioneerFigures:
    """R5: the year's rounds and the standing and result of their members."""

    rounds: int = 0
    rounds_closed: int = 0
    enrolled: int = 0
    eligible: int = 0
    excluded: int = 0
    vetoed: int = 0
    by_stars: dict[int, int] = field(
        default_factory=lambda: dict.fromkeys(range(MIN_STARS, MAX_STARS + 1), 0)
    )
    excellent: int = 0
    follow_ups_pending: int = 0

    @property
    def rated(self) -> int:
        return sum(self.by_stars.values())

    @property
    def awaiting_result(self) -> int:
        """Eligible members without stars yet (R5.4 steps still running)."""
        return self.eligible - self.rated


@dataclass
class StrongestBranchFigures:
    """R11.2: branches holding an award counted for the year, among the branches in the denominator."""

    branches: int = 0
    awarded: int = 0
    ratings_by_stage: dict[str, int] = field(default_factory=dict)
    disqualified: int = 0
    target_share: float | None = None
    target_year: int | None = None

    @property
    def share(self) -> float | None:
        return _share(self.awarded, self.branches)

    @property
    def meets_target(self) -> bool | None:
        if self.target_share is None or self.share is None:
            return None
        return self.share >= self.target_share


@dataclass
class StationStarFigures:
    """R9.1: station branches by star level in force, against 25 five-star and 全覆盖."""

    stations: int = 0
    by_level: dict[int, int] = field(default_factory=lambda: dict.fromkeys(STAR_LEVELS, 0))
    five_star_target: int = FIVE_STAR_STATIONS_TARGET
    stations_target_total: int = STATIONS_TOTAL
    target_years: int = STAR_STATION_YEARS
    three_plus_target_share: float = FULL_COVERAGE_TARGET_SHARE

    @property
    def starred(self) -> int:
        return sum(self.by_level.values())

    @property
    def unstarred(self) -> int:
        return self.stations - self.starred

    @property
    def five_star(self) -> int:
        return self.by_level[5]

    @property
    def three_plus_share(self) -> float | None:
        return _share(self.starred, self.stations)


@dataclass
class XinhuoCategoryFigures:
    count: int = 0
    target: int = 0

    @property
    def share_of_target(self) -> float | None:
        return _share(self.count, self.target)


@dataclass
class XinhuoFigures:
    """R9.2 百千万: demonstrations in force by category beside the target; by focus industry (R9.3)."""

    by_category: dict[str, XinhuoCategoryFigures] = field(
        default_factory=lambda: {
            c.value: XinhuoCategoryFigures(0, XINHUO_TARGETS[c.value]) for c in XinhuoCategory
        }
    )
    by_focus_industry: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(c.count for c in self.by_category.values())


@dataclass
class MarketGroupFigures:
    enrolled: int = 0
    standardised: int = 0

    @property
    def standardised_share(self) -> float | None:
        return _share(self.standardised, self.enrolled)


@dataclass
class MarketFigures:
    """R4 六化: markets enrolled and standardised (all six criteria met), by kind and scope."""

    total: MarketGroupFigures = field(default_factory=MarketGroupFigures)
    by_kind: dict[str, MarketGroupFigures] = field(default_factory=dict)
    by_scope: dict[str, MarketGroupFigures] = field(default_factory=dict)
    criteria_met: dict[str, int] = field(
        default_factory=lambda: {c.value: 0 for c in StandardisationCriterion}
    )


@dataclass
class StarsReport:
    year: int
    pioneer: PioneerFigures
    strongest_branch: StrongestBranchFigures
    station_stars: StationStarFigures
    xinhuo: XinhuoFigures
    markets: MarketFigures


def strongest_branch_target(year: int) -> tuple[float | None, int | None]:
    """R11.2: the target share for ``year`` and the year it was set for; after 2023 the last stands."""
    if year in STRONGEST_BRANCH_TARGET_SHARE:
        return STRONGEST_BRANCH_TARGET_SHARE[year], year
    earlier = [y for y in STRONGEST_BRANCH_TARGET_SHARE if y < year]
    if not earlier:
        return None, None
    last = max(earlier)
    return STRONGEST_BRANCH_TARGET_SHARE[last], last


class StarsView:
    """Queries over the stars tables; ``counts``: the half-year report's strongest-branch and station
    figures from the pre-aggregated counts when they answer (``projections.stars_counts``)."""

    def __init__(self, counts: bool = True) -> None:
        self.counts = counts

    def report(
        self,
        conn: Connection,
        *,
        year: int,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        org_id: UUID | None = None,
    ) -> StarsReport:
        """The five star figures of ``year`` for the region (and organisation), as they were on
        ``as_of`` according to the events up to position ``known``."""
        q = _Query(conn, as_of, known, region_prefix(region) if region else None, org_id)
        return StarsReport(
            year=year,
            pioneer=q.pioneer(year),
            strongest_branch=q.strongest_branch(year),
            station_stars=q.station_stars(),
            xinhuo=q.xinhuo(),
            markets=q.markets(),
        )

    def report_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[StarsReport]:
        """``report(year=year, region=code)`` for every code of ``areas`` at once (issue #6, P4)."""
        q = _AreaQuery(conn, as_of, known, areas, self.counts)
        return [
            StarsReport(year, *figures)
            for figures in zip(
                q.pioneer(year),
                q.strongest_branch(year),
                q.station_stars(year),
                q.xinhuo(),
                q.markets(),
                strict=True,
            )
        ]


class _Query:
    """One report's filters: the time point, the region prefix and the organisation scope."""

    def __init__(
        self, conn: Connection, as_of: date, known: int, prefix: str | None, org_id: UUID | None
    ) -> None:
        self.conn, self.as_of, self.known, self.prefix, self.org_id = conn, as_of, known, prefix, org_id
        self.scope: list[UUID] | None = None
        if org_id is not None:
            children = select(O.c.subject_id).where(O.c.parent_id == org_id, self.seen(O))
            self.scope = [org_id, *conn.scalars(children)]

    def seen(self, table: Table) -> ColumnElement[bool]:
        return visible(table, self.as_of, self.known)

    def org_region(self) -> list[ColumnElement[bool]]:
        """The organisation rows on ``as_of``, in the region."""
        conditions = [self.seen(O)]
        if self.prefix:
            conditions.append(O.c.region_code.startswith(self.prefix))
        return conditions

    def entity_region(self) -> list[ColumnElement[bool]]:
        """The entity rows on ``as_of``, in the region, covered by an organisation in scope if narrowed."""
        conditions = [self.seen(E)]
        if self.prefix:
            conditions.append(E.c.region_code.startswith(self.prefix))
        if self.scope is not None:
            conditions.append(E.c.organization_id.in_(self.scope))
        return conditions

    def in_scope(self, column: Any) -> list[ColumnElement[bool]]:
        return [] if self.scope is None else [column.in_(self.scope)]

    # --- 1. pioneer index (R5) ---------------------------------------------------------------------

    def pioneer(self, year: int) -> PioneerFigures:
        figures = PioneerFigures()
        rounds = (
            select(func.count(), PR.c.closed)
            .select_from(PR.join(O, O.c.subject_id == PR.c.org_id))
            .where(self.seen(PR), PR.c.year == year, *self.org_region(), *self.in_scope(PR.c.org_id))
            .group_by(PR.c.closed)
        )
        for count, closed in self.conn.execute(rounds):
            _add_rounds(figures, count, closed)
        columns = (PE.c.standing, PE.c.stars, PE.c.excellent, PE.c.follow_up_done)
        enrolments = (
            select(func.count(), *columns)
            .select_from(PE.join(O, O.c.subject_id == PE.c.org_id))
            .where(self.seen(PE), PE.c.year == year, *self.org_region(), *self.in_scope(PE.c.org_id))
            .group_by(*columns)
        )
        for count, *enrolment in self.conn.execute(enrolments):
            _add_enrolments(figures, count, *enrolment)
        return figures

    # --- 2. strongest branch (R11.2) ---------------------------------------------------------------

    def strongest_branch(self, year: int) -> StrongestBranchFigures:
        target, target_year = strongest_branch_target(year)
        figures = StrongestBranchFigures(target_share=target, target_year=target_year)
        rating_scope = (
            [] if self.scope is None else [or_(SB.c.org_id.in_(self.scope), SB.c.parent_id == self.org_id)]
        )
        ratings = SB.join(O, O.c.subject_id == SB.c.org_id)
        base = [self.seen(SB), *self.org_region(), *rating_scope]
        counted = (
            select(SB.c.org_id)
            .select_from(ratings)
            .where(
                *base,
                SB.c.awarded.is_(True),
                SB.c.year <= year,
                SB.c.term_end_year >= year,
            )
        )
        awarded = set(self.conn.scalars(counted))
        of_year = (
            select(SB.c.org_id, SB.c.stage, SB.c.disqualified)
            .select_from(ratings)
            .where(*base, SB.c.year == year)
        )
        rated: set[UUID] = set()
        for org, stage, disqualified in self.conn.execute(of_year):
            rated.add(org)
            figures.ratings_by_stage[stage] = figures.ratings_by_stage.get(stage, 0) + 1
            figures.disqualified += 1 if disqualified else 0
        branches = select(O.c.subject_id).where(
            *self.org_region(),
            *self.in_scope(O.c.subject_id),
            O.c.kind.in_(BRANCH_KINDS),
            O.c.dissolved.is_(False),
        )
        figures.branches = len(set(self.conn.scalars(branches)) | rated | awarded)
        figures.awarded = len(awarded)
        return figures

    # --- 3. station stars (R9.1) -------------------------------------------------------------------

    def station_stars(self) -> StationStarFigures:
        figures = StationStarFigures()
        joined = O.outerjoin(ST, and_(ST.c.org_id == O.c.subject_id, self.seen(ST)))
        query = (
            select(ST.c.level, func.count())
            .select_from(joined)
            .where(
                *self.org_region(),
                *self.in_scope(O.c.subject_id),
                O.c.kind == OrgKind.STATION_BRANCH.value,
                O.c.dissolved.is_(False),
            )
            .group_by(ST.c.level)
        )
        for level, count in self.conn.execute(query):
            _add_stations(figures, level, count)
        return figures

    # --- 4. 薪火 (R9.2, R9.3) -----------------------------------------------------------------------

    def xinhuo(self) -> XinhuoFigures:
        figures = XinhuoFigures()
        columns = (X.c.category, X.c.focus_industry)
        organizations = (
            select(func.count(), *columns)
            .select_from(X.join(O, O.c.subject_id == X.c.org_id))
            .where(
                self.seen(X),
                X.c.subject == SUBJECT_ORGANIZATION,
                *self.org_region(),
                *self.in_scope(X.c.org_id),
            )
            .group_by(*columns)
        )
        households = (
            select(func.count(), *columns)
            .select_from(X.join(E, E.c.subject_id == X.c.entity_id))
            .where(self.seen(X), X.c.subject == SUBJECT_HOUSEHOLD, *self.entity_region())
            .group_by(*columns)
        )
        for query in (organizations, households):
            for count, category, industry in self.conn.execute(query):
                _add_demonstrations(figures, count, category, industry)
        return figures

    # --- 5. standardised markets (R4) --------------------------------------------------------------

    def markets(self) -> MarketFigures:
        figures = MarketFigures()
        present = [*self.entity_region(), E.c.status != EntityStatus.DEREGISTERED.value]
        query = (
            select(func.count(), E.c.kind, MK.c.scope, MK.c.standardised)
            .select_from(MK.join(E, E.c.subject_id == MK.c.entity_id))
            .where(self.seen(MK), *present)
            .group_by(E.c.kind, MK.c.scope, MK.c.standardised)
        )
        for count, kind, scope, standardised in self.conn.execute(query):
            _add_markets(figures, count, kind, scope, standardised)
        criteria = (
            select(MC.c.criterion, func.count())
            .select_from(MC.join(E, E.c.subject_id == MC.c.entity_id))
            .where(self.seen(MC), *present)
            .group_by(MC.c.criterion)
        )
        for criterion, count in self.conn.execute(criteria):
            figures.criteria_met[criterion] = count
        return figures


def _add_rounds(figures: PioneerFigures, count: int, closed: bool) -> None:
    figures.rounds += count
    figures.rounds_closed += count if closed else 0


def _add_enrolments(
    figures: PioneerFigures,
    count: int,
    standing: str,
    stars: int | None,
    excellent: bool,
    follow_up_done: bool,
) -> None:
    """R5: ``count`` enrolments with that standing and result."""
    figures.enrolled += count
    if standing == PioneerStanding.EXCLUDED.value:
        figures.excluded += count
    elif standing == PioneerStanding.VETOED.value:
        figures.vetoed += count
    elif standing == PioneerStanding.ELIGIBLE.value:
        figures.eligible += count
    if stars is not None:
        figures.by_stars[int(stars)] += count
        if excellent:
            figures.excellent += count
        if stars <= FOLLOW_UP_MAX_STARS and not follow_up_done:
            figures.follow_ups_pending += count


def _add_branch_count(figures: StrongestBranchFigures, statistic: str, value: str, n: int) -> None:
    """R11.2: a count of family ``B`` of ``stars_counts`` (the station stars are R9.1's)."""
    if statistic == "branches":
        figures.branches += n
    elif statistic == "awarded":
        figures.awarded += n
    elif statistic == "rated":
        figures.ratings_by_stage[value] = figures.ratings_by_stage.get(value, 0) + n
    elif statistic == "disqualified":
        figures.disqualified += n


def _add_stations(figures: StationStarFigures, level: int | None, count: int) -> None:
    figures.stations += count
    if level is not None:
        figures.by_level[int(level)] += count


def _add_demonstrations(figures: XinhuoFigures, count: int, category: str, industry: str | None) -> None:
    figures.by_category[category].count += count
    if industry is not None:
        figures.by_focus_industry[industry] = figures.by_focus_industry.get(industry, 0) + count


def _add_markets(figures: MarketFigures, count: int, kind: str, scope: str, standardised: bool) -> None:
    for group in (
        figures.total,
        figures.by_kind.setdefault(EntityKind(kind).value, MarketGroupFigures()),
        figures.by_scope.setdefault(MarketScope(scope).value, MarketGroupFigures()),
    ):
        group.enrolled += count
        group.standardised += count if standardised else 0


def _add_market_count(figures: MarketFigures, value: str, statistic: str, n: int) -> None:
    """R4: a count of family ``E`` of ``stars_entity_counts`` (the 薪火 households are R9.2's)."""
    kind, _, standardised = statistic.partition("_")
    if kind == "kind":
        groups = [figures.total, figures.by_kind.setdefault(EntityKind(value).value, MarketGroupFigures())]
    elif kind == "scope":
        groups = [figures.by_scope.setdefault(MarketScope(value).value, MarketGroupFigures())]
    else:
        if statistic == "criterion":
            figures.criteria_met[value] = figures.criteria_met.get(value, 0) + n
        return
    for group in groups:
        group.enrolled += n
        group.standardised += n if standardised else 0


class _AreaQuery:
    """The figures of ``StarsView.report`` (no organisation filter) for several regions at once
    (issue #6, P4): each query grouped by the region code of the organisation or entity a figure is
    counted at, each result row added to the areas of its code (``projections.coverage.Areas``)."""

    def __init__(
        self, conn: Connection, as_of: date, known: int, areas: Areas, use_counts: bool = True
    ) -> None:
        self.conn, self.as_of, self.known, self.areas = conn, as_of, known, areas
        self.use_counts = use_counts
        self._branches: list[tuple[int, Any]] | None = None
        self._prefixes: list[str] | None = None
        self._counts: dict[str, list[tuple[list[int], str, str, int]]] = {}
        self._counts_answer: bool | None = None  # asked once per report, for every figure

    def counted(self, family: str, year: int | None = None) -> list[tuple[list[int], str, str, int]] | None:
        """A family of the stars counts for the areas as of the date (``projections.stars_counts``),
        when the counts answer: the figure's ``year``, if it has one, is the date's, every area a
        province, city or county, the position settled (for the stars rows they are counted from);
        else None: read the rows. Each family is read once for the report."""
        if not self.use_counts or self._counts_answer is False:
            return None
        if year is not None and year != self.as_of.year:
            return None
        if self._prefixes is None:
            self._prefixes = coverage_counts.region_prefixes(
                self.conn, self.areas.prefixes, self.known, counts.COUNTED_FROM
            )
            self._counts_answer = self._prefixes is not None
            if self._prefixes is None:
                return None
        if family not in self._counts:
            table = SEC if family == counts.ENTITIES else SC
            self._counts[family] = list(
                coverage_counts.sums_by_area(self.conn, family, self.as_of, self._prefixes, table)
            )
        return self._counts[family]

    def seen(self, table: Table) -> ColumnElement[bool]:
        return visible(table, self.as_of, self.known)

    def org_region(self) -> list[ColumnElement[bool]]:
        return [self.seen(O), *self.areas.condition(O.c.region_code)]

    def entity_region(self) -> list[ColumnElement[bool]]:
        return [self.seen(E), *self.areas.condition(E.c.region_code)]

    def each(self, query: Any) -> Iterator[tuple[int, Any]]:
        """(area index, row) for every area of each row's region code, the code in the row's last column."""
        for row in self.conn.execute(query):
            for i in self.areas.of(row[-1]):
                yield i, row

    # --- 1. pioneer index (R5) ---------------------------------------------------------------------

    def pioneer(self, year: int) -> list[PioneerFigures]:
        result = [PioneerFigures() for _ in self.areas.codes]
        counted = self.counted(counts.ORGANIZATIONS, year)
        if counted is not None:
            for indices, value, statistic, n in counted:
                for i in indices:
                    if statistic == "round":
                        _add_rounds(result[i], n, value == "closed")
                    elif statistic == "enrolment":
                        _add_enrolments(result[i], n, *counts.enrolment_fields(value))
            return result
        rounds = (
            select(func.count(), PR.c.closed, O.c.region_code)
            .select_from(PR.join(O, O.c.subject_id == PR.c.org_id))
            .where(self.seen(PR), PR.c.year == year, *self.org_region())
            .group_by(PR.c.closed, O.c.region_code)
        )
        for i, (count, closed, _) in self.each(rounds):
            _add_rounds(result[i], count, closed)
        columns = (PE.c.standing, PE.c.stars, PE.c.excellent, PE.c.follow_up_done, O.c.region_code)
        enrolments = (
            select(func.count(), *columns)
            .select_from(PE.join(O, O.c.subject_id == PE.c.org_id))
            .where(self.seen(PE), PE.c.year == year, *self.org_region())
            .group_by(*columns)
        )
        for i, (count, standing, stars, excellent, follow_up_done, _) in self.each(enrolments):
            _add_enrolments(result[i], count, standing, stars, excellent, follow_up_done)
        return result

    # --- 2. strongest branch (R11.2) ---------------------------------------------------------------

    def strongest_branch(self, year: int) -> list[StrongestBranchFigures]:
        target, target_year = strongest_branch_target(year)
        result = [
            StrongestBranchFigures(target_share=target, target_year=target_year) for _ in self.areas.codes
        ]
        counted = self.counted(counts.BRANCHES, year)
        if counted is not None:
            for indices, statistic, value, n in counted:
                for i in indices:
                    _add_branch_count(result[i], statistic, value, n)
            return result
        # The awards counted for the year and the ratings of the year: one read of the ratings.
        award_counts = and_(SB.c.awarded.is_(True), SB.c.year <= year, SB.c.term_end_year >= year)
        of_year = SB.c.year == year
        ratings = (
            select(
                SB.c.org_id,
                SB.c.stage,
                SB.c.disqualified,
                case((award_counts, 1), else_=0),
                case((of_year, 1), else_=0),
                O.c.region_code,
            )
            .select_from(SB.join(O, O.c.subject_id == SB.c.org_id))
            .where(self.seen(SB), *self.org_region(), or_(award_counts, of_year))
        )
        awarded: list[set[UUID]] = [set() for _ in self.areas.codes]
        rated: list[set[UUID]] = [set() for _ in self.areas.codes]
        for i, (org, stage, disqualified, counted, rated_in_year, _) in self.each(ratings):
            if counted:
                awarded[i].add(org)
            if rated_in_year:
                figures = result[i]
                rated[i].add(org)
                figures.ratings_by_stage[stage] = figures.ratings_by_stage.get(stage, 0) + 1
                figures.disqualified += 1 if disqualified else 0
        branches: list[set[UUID]] = [set() for _ in self.areas.codes]
        for i, (org, _, _, _) in self.branches():
            branches[i].add(org)
        for figures, b, r, a in zip(result, branches, rated, awarded, strict=True):
            figures.branches = len(b | r | a)
            figures.awarded = len(a)
        return result

    # --- 3. station stars (R9.1) -------------------------------------------------------------------

    def station_stars(self, year: int) -> list[StationStarFigures]:
        result = [StationStarFigures() for _ in self.areas.codes]
        counted = self.counted(counts.BRANCHES, year)
        if counted is not None:
            for indices, statistic, level, n in counted:
                if statistic == "station":
                    for i in indices:
                        _add_stations(result[i], int(level) if level else None, n)
            return result
        for i, (_, kind, level, _) in self.branches():
            if kind == OrgKind.STATION_BRANCH.value:
                _add_stations(result[i], level, 1)
        return result

    def branches(self) -> list[tuple[int, Any]]:
        """(area, row) for the branches not dissolved (R11.2's denominator; station branches are R9.1's)
        with their star level in force: one read for both figures, kept for the report."""
        if self._branches is None:
            joined = O.outerjoin(ST, and_(ST.c.org_id == O.c.subject_id, self.seen(ST)))
            query = (
                select(O.c.subject_id, O.c.kind, ST.c.level, O.c.region_code)
                .select_from(joined)
                .where(*self.org_region(), O.c.kind.in_(BRANCH_KINDS), O.c.dissolved.is_(False))
            )
            self._branches = list(self.each(query))
        return self._branches

    # --- 4. 薪火 (R9.2, R9.3) -----------------------------------------------------------------------

    def xinhuo(self) -> list[XinhuoFigures]:
        result = [XinhuoFigures() for _ in self.areas.codes]
        by_orgs, by_households = self.counted(counts.ORGANIZATIONS), self.counted(counts.ENTITIES)
        if by_orgs is not None and by_households is not None:
            for indices, value, statistic, n in (*by_orgs, *by_households):
                for i in indices:
                    if statistic == "xinhuo":
                        result[i].by_category[value].count += n
                    elif statistic == "xinhuo_industry":
                        industries = result[i].by_focus_industry
                        industries[value] = industries.get(value, 0) + n
            return result
        columns = (X.c.category, X.c.focus_industry)
        organizations = (
            select(func.count(), *columns, O.c.region_code)
            .select_from(X.join(O, O.c.subject_id == X.c.org_id))
            .where(self.seen(X), X.c.subject == SUBJECT_ORGANIZATION, *self.org_region())
            .group_by(*columns, O.c.region_code)
        )
        households = (
            select(func.count(), *columns, E.c.region_code)
            .select_from(X.join(E, E.c.subject_id == X.c.entity_id))
            .where(self.seen(X), X.c.subject == SUBJECT_HOUSEHOLD, *self.entity_region())
            .group_by(*columns, E.c.region_code)
        )
        for i, (count, category, industry, _) in self.each(union_all(organizations, households)):
            _add_demonstrations(result[i], count, category, industry)
        return result

    # --- 5. standardised markets (R4) --------------------------------------------------------------

    def markets(self) -> list[MarketFigures]:
        result = [MarketFigures() for _ in self.areas.codes]
        counted = self.counted(counts.ENTITIES)
        if counted is not None:
            for indices, value, statistic, n in counted:
                for i in indices:
                    _add_market_count(result[i], value, statistic, n)
            return result
        present = [*self.entity_region(), E.c.status != EntityStatus.DEREGISTERED.value]
        columns = (E.c.kind, MK.c.scope, MK.c.standardised, E.c.region_code)
        query = (
            select(func.count(), *columns)
            .select_from(MK.join(E, E.c.subject_id == MK.c.entity_id))
            .where(self.seen(MK), *present)
            .group_by(*columns)
        )
        for i, (count, kind, scope, standardised, _) in self.each(query):
            _add_markets(result[i], count, kind, scope, standardised)
        criteria = (
            select(MC.c.criterion, func.count(), E.c.region_code)
            .select_from(MC.join(E, E.c.subject_id == MC.c.entity_id))
            .where(self.seen(MC), *present)
            .group_by(MC.c.criterion, E.c.region_code)
        )
        for i, (criterion, count, _) in self.each(criteria):
            met = result[i].criteria_met
            met[criterion] = met.get(criterion, 0) + count
        return result

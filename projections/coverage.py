"""Coverage (两个覆盖) read model: the handler that feeds it and the view that answers queries.

Figures (R13.1), per region prefix (a city includes its counties), station, entity kind and industry:
operating entities in scope, covered by a standalone organisation, covered by a joint one, reached
by work coverage only (a guidance officer, no organisation of their own), uncovered, the
organisation-coverage rate (standalone + joint) ÷ operating, and the work-coverage share. Member
counts by category and affiliation come from the members whose home organisation lies in the
region: the relationship organisation when it is in this system (R13.6, counted where the formal
relationship sits), else their first organisational-life organisation.

Every figure is answered as of a business date and as known at an event position (bitemporal
tables, ``projections.temporal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, case, exists, func, null, or_, select
from sqlalchemy.sql.elements import ColumnElement

from domain.activity import Activity
from domain.market_entity import MarketEntity
from domain.member import Member
from domain.mobile_round import MobileRound
from domain.organization import PartyOrganization
from domain.values import ActivityType, EntityStatus, Formation, region_prefix
from projections import coverage_counts as counts
from projections.runner import REPLAYING
from projections.tables import (
    coverage_activities as CA,
)
from projections.tables import (
    coverage_counts as C,
)
from projections.tables import (
    coverage_entities as E,
)
from projections.tables import (
    coverage_members as M,
)
from projections.tables import (
    coverage_organizations as O,
)
from projections.tables import (
    coverage_rounds as CR,
)
from projections.tables import (
    coverage_training as T,
)
from projections.tables import (
    coverage_volunteers as V,
)
from projections.tables import (
    coverage_work as W,
)
from projections.temporal import ALL_KNOWN, AsLastRecorded, visible


class Areas:
    """Several regions answered together (issue #6, P4): the half-year report (R3) asks every figure
    for a region and each of its children, so each figure is one query grouped by the region code of
    the row (the entity's, or the organisation's the figure is counted at) instead of one query per
    area, and each result row is added to every area whose prefix its code starts with. An area holds
    exactly the rows the single-region query selects with ``region_code LIKE prefix%``: a child's
    rows are a part of its parent's, rows coded with the parent's own code (or a child with no
    organisation) count in the parent only. A falsy code is "no region filter": every row, rows
    without an organisation (NULL code) included, as the single-region views do with ``region=None``.
    """

    def __init__(self, codes: Sequence[str | None]) -> None:
        self.codes = tuple(codes)
        self.prefixes = tuple(region_prefix(code) if code else None for code in self.codes)
        self._areas_of: dict[str | None, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def condition(self, column: Any) -> list[ColumnElement[bool]]:
        """The rows of any of the areas, as a WHERE condition on a region-code column."""
        prefixes = {p for p in self.prefixes if p is not None}
        if not self.codes or len(prefixes) < len(self.prefixes):
            return []  # an area without a region filter takes every row
        outer = sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
        return [or_(*(column.startswith(p) for p in outer))]

    def of(self, code: str | None) -> tuple[int, ...]:
        """The indices of the areas a row with this region code counts in."""
        indices = self._areas_of.get(code)
        if indices is None:
            indices = tuple(
                i
                for i, prefix in enumerate(self.prefixes)
                if prefix is None or (code is not None and code.startswith(prefix))
            )
            self._areas_of[code] = indices
        return indices


COUNTED_ACTIVITIES = frozenset(
    t.value for t in (ActivityType.TRAINING, ActivityType.VOLUNTEER_SERVICE, ActivityType.THEMED_PARTY_DAY)
)
"""The activity types the counts follow: trainings (R7), volunteer services (R11.3), themed party
days (R10)."""


class CoverageProjection(AsLastRecorded):
    """Feeds the coverage tables from MarketEntity, PartyOrganization and Member state, and from
    Activity state, for the counts, the participants of trainings (R7, ``coverage_training``) and of
    volunteer services (R11.3, ``coverage_volunteers``) and the volunteer services and themed party
    days each organisation held (``coverage_activities``), and from MobileRound state the mobile
    members' rounds (R6, ``coverage_rounds``)."""

    name = "coverage"
    replay_weight = 45  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (E, O, W, M, T, V, CA, CR, C)
    aggregates = (MarketEntity, PartyOrganization, Member, Activity, MobileRound)
    recorded_order = (Activity.Held,)

    def prepare(self, conn: Connection) -> None:
        """Fill the counts of a store whose coverage rows predate them (``coverage_counts.fill``)."""
        counts.fill(conn)

    def finish_replay(self, conn: Connection) -> None:
        """A rebuild's replay writes the rows only; the counts are then counted once from them
        (``coverage_counts.refill``, issue #6 P3), before the catch-up that ends the rebuild."""
        counts.refill(conn)

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """The rows (``TemporalProjection``), then the pre-aggregated counts they change
        (``projections.coverage_counts``, issue #6, P4), under the counts' lock."""
        # An activity of a type the counts do not follow is never a row here: its record is passed
        # over (its later corrections are folded and give no rows; none changes an activity's type).
        batch = [
            (event, position)
            for event, position in batch
            if not isinstance(event, Activity.Held) or event.activity_type in COUNTED_ACTIVITIES
        ]
        first, by_kind = counts.batch_subjects(batch, self.aggregates)
        if not first:
            return
        super().handle_batch(conn, batch)
        if conn.get_execution_options().get(REPLAYING):
            return  # a rebuild's replay: the counts are counted once at its end (finish_replay)
        entities, orgs, members, activities, rounds = (by_kind[a.__name__] for a in self.aggregates)
        counts.apply(conn, first, entities, orgs, members, activities, rounds)

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        if isinstance(aggregate, MarketEntity):
            return {
                E: [
                    {
                        "credit_code": aggregate.credit_code,
                        "name": aggregate.name,
                        "kind": aggregate.kind,
                        "industry": aggregate.industry,
                        "region_code": aggregate.region_code,
                        "station": aggregate.station,
                        "status": aggregate.status,
                        "organization_id": aggregate.organization_id,
                        "formation": aggregate.formation,
                    }
                ]
            }
        if isinstance(aggregate, PartyOrganization):
            return {
                O: [
                    {
                        "name": aggregate.name,
                        "kind": aggregate.kind,
                        "formation": aggregate.formation,
                        "region_code": aggregate.region_code,
                        "dissolved": aggregate.dissolved,
                    }
                ],
                W: [
                    {"officer": officer, "entity_id": entity_id}
                    for officer, entity_ids in aggregate.guidance.items()
                    for entity_id in entity_ids
                ],
            }
        if isinstance(aggregate, MobileRound):
            return {
                CR: [
                    {
                        "business_org_id": aggregate.business_org_id,
                        "year": aggregate.year,
                        "step": aggregate.step,
                        "by_deadline": aggregate.returned_by_deadline,
                    }
                ]
            }
        if isinstance(aggregate, Activity):
            kind, held_on = aggregate.activity_type, aggregate.held_on
            if aggregate.voided or kind not in COUNTED_ACTIVITIES:
                return {T: [], V: [], CA: []}
            participants = [
                {"member_id": m, "held_on": held_on} for m in (*aggregate.attendee_ids, *aggregate.guest_ids)
            ]
            return {
                T: participants if kind == ActivityType.TRAINING.value else [],
                V: participants if kind == ActivityType.VOLUNTEER_SERVICE.value else [],
                CA: []
                if kind == ActivityType.TRAINING.value
                else [{"org_id": aggregate.org_id, "activity_type": kind, "held_on": held_on}],
            }
        if isinstance(aggregate, Member):
            home = aggregate.relationship_org_id or next(iter(aggregate.life_org_ids), None)
            if home is None:  # only while a late-dated join is not yet in effect: no home, not counted
                return {M: []}
            return {
                M: [
                    {
                        "home_org_id": home,
                        "category": aggregate.category,
                        "affiliation": aggregate.affiliation,
                        "distribution": aggregate.distribution,
                        "is_business_owner": aggregate.is_business_owner,
                        "present": not getattr(aggregate, "has_left", False),
                        "left_reason": aggregate.left_reason,
                        "business_suspended": aggregate.business_suspended,
                        "away": aggregate.away_since is not None,
                        "in_disciplinary_period": aggregate.in_disciplinary_period,
                    }
                ]
            }
        return {}


@dataclass
class CoverageFigures:
    operating: int = 0
    standalone: int = 0
    joint: int = 0
    work_only: int = 0
    uncovered: int = 0

    @property
    def organization_coverage_rate(self) -> float | None:
        """R13.1: (standalone + joint) ÷ operating entities in scope."""
        return (self.standalone + self.joint) / self.operating if self.operating else None

    @property
    def work_coverage_share(self) -> float | None:
        return self.work_only / self.operating if self.operating else None


@dataclass
class CoverageReport:
    total: CoverageFigures
    groups: dict[str, CoverageFigures] = field(default_factory=dict)
    members_by_category: dict[str, int] = field(default_factory=dict)
    members_by_affiliation: dict[str, int] = field(default_factory=dict)

    @property
    def members(self) -> int:
        return sum(self.members_by_category.values())


GROUPS = ("kind", "industry", "station", "region")


_ORGANIZED = (Formation.STANDALONE.value, Formation.JOINT.value)


def _reached(as_of: date, known: int) -> Any:
    """Whether an entity without an organisation of its own is reached by a guidance officer (work
    coverage), NULL for one with an organisation. The buckets (``_bucket``) are worked out from the
    formation and this, in Python: grouped by a CASE of text, PostgreSQL could not tell how many
    groups there are and sorted every entity row to count them (issue #6, P4: 144 -> 81 ms for the
    province at one million events); grouped by the two columns, it hashes."""
    reached = exists().where(W.c.entity_id == E.c.subject_id, visible(W, as_of, known))
    return case((E.c.formation.in_(_ORGANIZED), null()), else_=reached).label("reached")


def _bucket(formation: str | None, reached: bool | None) -> str:
    """R13.1: standalone, joint, work coverage only (a guidance officer), or uncovered."""
    if formation in _ORGANIZED:
        return str(formation)
    return "work_only" if reached else "uncovered"


def _add(figures: CoverageFigures, bucket: str, n: int) -> None:
    figures.operating += n
    setattr(figures, bucket, getattr(figures, bucket) + n)


def _add_members(report: CoverageReport, category: str, affiliation: str, n: int) -> None:
    report.members_by_category[category] = report.members_by_category.get(category, 0) + n
    report.members_by_affiliation[affiliation] = report.members_by_affiliation.get(affiliation, 0) + n


class CoverageView:
    """Queries over the coverage tables. A question the pre-aggregated counts can answer (no
    industry or station, as known at a settled position: ``projections.coverage_counts``) is read
    from them, with ``counts=True``; else, and with ``counts=False``, from the rows."""

    def __init__(self, counts: bool = True) -> None:
        self.counts = counts

    def _counted(self, conn: Connection, known: int) -> bool:
        return self.counts and counts.settled(conn, known)

    def report(
        self,
        conn: Connection,
        *,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        kind: str | None = None,
        industry: str | None = None,
        station: str | None = None,
        group_by: str | None = None,
    ) -> CoverageReport:
        """Coverage figures for the entities selected by the filters, optionally grouped, as they
        were on ``as_of`` according to the events up to position ``known``."""
        conditions: list[ColumnElement[bool]] = [
            visible(E, as_of, known),
            E.c.status == EntityStatus.OPERATING.value,
        ]
        prefix = region_prefix(region) if region else None
        if prefix:
            conditions.append(E.c.region_code.startswith(prefix))
        if kind:
            conditions.append(E.c.kind == kind)
        if industry:
            conditions.append(E.c.industry == industry)
        if station:
            conditions.append(E.c.station == station)

        width = len(prefix) + 2 if prefix and len(prefix) < 6 else 6
        if (
            not (industry or station)
            and group_by in (None, "kind", "region")
            and (prefix is None or len(prefix) in counts.DEPTHS)
            and self._counted(conn, known)
        ):
            return self._report_from_counts(conn, as_of, prefix, kind, group_by, width)
        key: Any
        if group_by == "region":
            key = func.substr(E.c.region_code, 1, width)
        elif group_by in GROUPS:
            key = E.c[group_by]
        else:
            key = None
        columns = [E.c.formation, _reached(as_of, known), func.count().label("n")]
        if key is not None:
            columns.insert(0, key.label("key"))
        query = select(*columns).where(and_(*conditions)).group_by(*columns[:-1])

        report = CoverageReport(total=CoverageFigures())
        for row in conn.execute(query):
            bucket = _bucket(row.formation, row.reached)
            targets = [report.total]
            if key is not None:
                group_key = row.key + "0" * (6 - len(row.key)) if group_by == "region" else row.key
                targets.append(report.groups.setdefault(group_key, CoverageFigures()))
            for figures in targets:
                _add(figures, bucket, row.n)

        if not (kind or industry or station):
            self._count_members(conn, prefix, report, as_of, known)
        return report

    def _report_from_counts(
        self,
        conn: Connection,
        as_of: date,
        prefix: str | None,
        kind: str | None,
        group_by: str | None,
        width: int,
    ) -> CoverageReport:
        """``report`` from the pre-aggregated counts, with the same figures as from the rows
        (tests/projections/test_coverage_counts.py)."""
        report = CoverageReport(total=CoverageFigures())
        depth = width if group_by == "region" else len(prefix or "33")  # no region: every province
        for region, entity_kind, bucket, n in counts.sums(conn, counts.ENTITIES, as_of, depth, prefix, kind):
            _add(report.total, bucket, n)
            if group_by == "region":
                _add(report.groups.setdefault(region.ljust(6, "0"), CoverageFigures()), bucket, n)
            elif group_by == "kind":
                _add(report.groups.setdefault(entity_kind, CoverageFigures()), bucket, n)
        if not kind:
            for _, category, affiliation, n in counts.sums(
                conn, counts.MEMBERS, as_of, len(prefix or "33"), prefix
            ):
                _add_members(report, category, affiliation, n)
        return report

    def report_by_area(
        self, conn: Connection, areas: Areas, *, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[CoverageReport]:
        """``report(region=code, group_by="kind")`` for every code of ``areas`` at once (issue #6, P4):
        one query for the entities (R13.1) and one for the members (R13.6), grouped by region code."""
        reports = [CoverageReport(total=CoverageFigures()) for _ in areas.codes]
        prefixes = [p or "" for p in areas.prefixes]  # "": no region filter, every province
        if all(len(p) in (0, *counts.DEPTHS) for p in prefixes) and self._counted(conn, known):
            for indices, kind, bucket, n in counts.sums_by_area(conn, counts.ENTITIES, as_of, prefixes):
                for i in indices:
                    _add(reports[i].total, bucket, n)
                    _add(reports[i].groups.setdefault(kind, CoverageFigures()), bucket, n)
            for indices, category, affiliation, n in counts.sums_by_area(
                conn, counts.MEMBERS, as_of, prefixes
            ):
                for i in indices:
                    _add_members(reports[i], category, affiliation, n)
            return reports
        reached = _reached(as_of, known)
        query = (
            select(E.c.region_code, E.c.kind, E.c.formation, reached, func.count().label("n"))
            .where(
                visible(E, as_of, known),
                E.c.status == EntityStatus.OPERATING.value,
                *areas.condition(E.c.region_code),
            )
            .group_by(E.c.region_code, E.c.kind, E.c.formation, reached)
        )
        for code, kind, formation, is_reached, n in conn.execute(query):
            where = _bucket(formation, is_reached)
            for i in areas.of(code):
                for figures in (reports[i].total, reports[i].groups.setdefault(kind, CoverageFigures())):
                    _add(figures, where, n)
        members = (
            select(O.c.region_code, M.c.category, M.c.affiliation, func.count())
            .select_from(M.join(O, O.c.subject_id == M.c.home_org_id))
            .where(
                M.c.present.is_(True),
                visible(M, as_of, known),
                visible(O, as_of, known),
                *areas.condition(O.c.region_code),
            )
            .group_by(O.c.region_code, M.c.category, M.c.affiliation)
        )
        for code, category, affiliation, n in conn.execute(members):
            for i in areas.of(code):
                _add_members(reports[i], category, affiliation, n)
        return reports

    def _count_members(
        self, conn: Connection, prefix: str | None, report: CoverageReport, as_of: date, known: int
    ) -> None:
        """R13.6: the members at home in the region, by category and by affiliation, counted in one
        query grouped by both (issue #6, P4: one join of the members and organisations, not two)."""
        condition = and_(M.c.present.is_(True), visible(M, as_of, known), visible(O, as_of, known))
        if prefix:
            condition = and_(condition, O.c.region_code.startswith(prefix))
        query = (
            select(M.c.category, M.c.affiliation, func.count())
            .select_from(M.join(O, O.c.subject_id == M.c.home_org_id))
            .where(condition)
            .group_by(M.c.category, M.c.affiliation)
        )
        for category, affiliation, n in conn.execute(query):
            _add_members(report, category, affiliation, n)

    def entity_ids(
        self, conn: Connection, region: str, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[UUID]:
        prefix = region_prefix(region)
        query = select(E.c.subject_id).where(E.c.region_code.startswith(prefix), visible(E, as_of, known))
        return list(conn.scalars(query))

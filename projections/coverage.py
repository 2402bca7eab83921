"""Coverage (两个覆盖) read model: the handler that feeds it and the view that answers queries.

Figures (R13.1), per region prefix (a city includes its counties), station, entity kind and industry:
operating entities in scope, covered by a standalone organisation, covered by a joint one, reached
by work coverage only (a guidance officer, no organisation of their own), uncovered, the
organisation-coverage rate (standalone + joint) ÷ operating, and the work-coverage share. Member
counts by category and affiliation come from the members whose home organisation lies in the
region: the relationship organisation when it is in this system (R13.6, counted where the formal
relationship sits), else their first organisational-life organisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, case, delete, exists, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from domain.market_entity import MarketEntity
from domain.member import Member
from domain.organization import PartyOrganization
from domain.values import EntityStatus, Formation, region_prefix
from projections.tables import (
    coverage_entities as E,
)
from projections.tables import (
    coverage_member_life as L,
)
from projections.tables import (
    coverage_members as M,
)
from projections.tables import (
    coverage_organizations as O,
)
from projections.tables import (
    coverage_work as W,
)

Handler = Callable[[Connection, Any], None]


class CoverageProjection:
    """Feeds the coverage tables from MarketEntity, PartyOrganization and Member events."""

    name = "coverage"
    tables: tuple[Table, ...] = (E, O, W, M, L)

    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {
            MarketEntity.Registered: self._entity_registered,
            MarketEntity.StatusChanged: self._entity_status_changed,
            MarketEntity.DetailsCorrected: self._entity_corrected,
            MarketEntity.CoverageAssigned: self._entity_covered,
            MarketEntity.CoverageReleased: self._entity_released,
            PartyOrganization.Established: self._org_established,
            PartyOrganization.GuidanceOfficerAssigned: self._officer_assigned,
            PartyOrganization.GuidanceOfficerWithdrawn: self._officer_withdrawn,
            PartyOrganization.Dissolved: self._org_dissolved,
            Member.Registered: self._member_registered,
            Member.RelationshipTransferred: self._member_transferred,
            Member.DetailsCorrected: self._member_corrected,
            Member.LifeOrganizationJoined: self._member_life_joined,
            Member.LifeOrganizationLeft: self._member_life_left,
        }

    def handle(self, conn: Connection, event: Any) -> None:
        """Apply one event; events of no interest are ignored (the runner still advances)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(conn, event)

    # --- market entities -------------------------------------------------------------------

    def _entity_registered(self, conn: Connection, e: MarketEntity.Registered) -> None:
        conn.execute(
            insert(E).values(
                entity_id=e.originator_id,
                credit_code=e.credit_code,
                name=e.name,
                kind=e.kind,
                industry=e.industry,
                region_code=e.region_code,
                station=e.station,
                status=EntityStatus.OPERATING.value,
                organization_id=None,
                formation=None,
            )
        )

    def _entity_status_changed(self, conn: Connection, e: MarketEntity.StatusChanged) -> None:
        conn.execute(update(E).where(E.c.entity_id == e.originator_id).values(status=e.status))

    def _entity_corrected(self, conn: Connection, e: MarketEntity.DetailsCorrected) -> None:
        conn.execute(update(E).where(E.c.entity_id == e.originator_id).values(**e.changes))

    def _entity_covered(self, conn: Connection, e: MarketEntity.CoverageAssigned) -> None:
        conn.execute(
            update(E)
            .where(E.c.entity_id == e.originator_id)
            .values(organization_id=e.organization_id, formation=e.formation)
        )

    def _entity_released(self, conn: Connection, e: MarketEntity.CoverageReleased) -> None:
        conn.execute(
            update(E).where(E.c.entity_id == e.originator_id).values(organization_id=None, formation=None)
        )

    # --- organisations ---------------------------------------------------------------------

    def _org_established(self, conn: Connection, e: PartyOrganization.Established) -> None:
        conn.execute(
            insert(O).values(
                org_id=e.originator_id,
                name=e.name,
                kind=e.kind,
                formation=e.formation,
                region_code=e.region_code,
                dissolved=False,
            )
        )

    def _officer_assigned(self, conn: Connection, e: PartyOrganization.GuidanceOfficerAssigned) -> None:
        known = set(
            conn.scalars(select(W.c.entity_id).where(W.c.org_id == e.originator_id, W.c.officer == e.officer))
        )
        rows = [
            {"org_id": e.originator_id, "officer": e.officer, "entity_id": entity_id}
            for entity_id in e.entity_ids
            if entity_id not in known
        ]
        if rows:
            conn.execute(insert(W), rows)

    def _officer_withdrawn(self, conn: Connection, e: PartyOrganization.GuidanceOfficerWithdrawn) -> None:
        conn.execute(delete(W).where(W.c.org_id == e.originator_id, W.c.officer == e.officer))

    def _org_dissolved(self, conn: Connection, e: PartyOrganization.Dissolved) -> None:
        conn.execute(update(O).where(O.c.org_id == e.originator_id).values(dissolved=True))
        conn.execute(delete(W).where(W.c.org_id == e.originator_id))

    # --- members ---------------------------------------------------------------------------

    def _member_registered(self, conn: Connection, e: Member.Registered) -> None:
        conn.execute(
            insert(M).values(
                member_id=e.originator_id,
                relationship_org_id=e.relationship_org_id,
                home_org_id=e.relationship_org_id or e.life_org_ids[0],
                category=e.category,
                affiliation=e.affiliation,
                distribution=e.distribution,
                is_business_owner=e.is_business_owner,
                present=True,
            )
        )
        conn.execute(
            insert(L),
            [
                {
                    "member_id": e.originator_id,
                    "org_id": org_id,
                    "seq": e.originator_version * 1000 + i,
                }
                for i, org_id in enumerate(e.life_org_ids)
            ],
        )

    def _member_transferred(self, conn: Connection, e: Member.RelationshipTransferred) -> None:
        conn.execute(
            update(M)
            .where(M.c.member_id == e.originator_id)
            .values(affiliation=e.affiliation, relationship_org_id=e.to_org_id)
        )
        self._rehome(conn, e.originator_id)

    def _member_corrected(self, conn: Connection, e: Member.DetailsCorrected) -> None:
        values = {k: v for k, v in e.changes.items() if k in ("distribution", "is_business_owner")}
        if values:
            conn.execute(update(M).where(M.c.member_id == e.originator_id).values(**values))

    def _member_life_joined(self, conn: Connection, e: Member.LifeOrganizationJoined) -> None:
        conn.execute(
            insert(L).values(member_id=e.originator_id, org_id=e.org_id, seq=e.originator_version * 1000)
        )
        self._rehome(conn, e.originator_id)

    def _member_life_left(self, conn: Connection, e: Member.LifeOrganizationLeft) -> None:
        conn.execute(delete(L).where(L.c.member_id == e.originator_id, L.c.org_id == e.org_id))
        self._rehome(conn, e.originator_id)

    def _rehome(self, conn: Connection, member_id: UUID) -> None:
        """Home: the relationship organisation if in this system, else the first life organisation."""
        first_life = (
            select(L.c.org_id).where(L.c.member_id == member_id).order_by(L.c.seq).limit(1)
        ).scalar_subquery()
        home = func.coalesce(M.c.relationship_org_id, first_life)
        conn.execute(update(M).where(M.c.member_id == member_id).values(home_org_id=home))


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


class CoverageView:
    """Queries over the coverage tables."""

    def report(
        self,
        conn: Connection,
        *,
        region: str | None = None,
        kind: str | None = None,
        industry: str | None = None,
        station: str | None = None,
        group_by: str | None = None,
    ) -> CoverageReport:
        """Coverage figures for the entities selected by the filters, optionally grouped."""
        conditions: list[ColumnElement[bool]] = [E.c.status == EntityStatus.OPERATING.value]
        prefix = region_prefix(region) if region else None
        if prefix:
            conditions.append(E.c.region_code.startswith(prefix))
        if kind:
            conditions.append(E.c.kind == kind)
        if industry:
            conditions.append(E.c.industry == industry)
        if station:
            conditions.append(E.c.station == station)

        reached = exists().where(W.c.entity_id == E.c.entity_id)
        bucket = case(
            (E.c.formation == Formation.STANDALONE.value, "standalone"),
            (E.c.formation == Formation.JOINT.value, "joint"),
            (reached, "work_only"),
            else_="uncovered",
        ).label("bucket")
        key: Any
        if group_by == "region":
            width = len(prefix) + 2 if prefix and len(prefix) < 6 else 6
            key = func.substr(E.c.region_code, 1, width)
        elif group_by in GROUPS:
            key = E.c[group_by]
        else:
            key = None
        columns = [bucket, func.count().label("n")]
        if key is not None:
            columns.insert(0, key.label("key"))
        query = select(*columns).where(and_(*conditions)).group_by(*columns[:-1])

        report = CoverageReport(total=CoverageFigures())
        for row in conn.execute(query):
            targets = [report.total]
            if key is not None:
                group_key = row.key + "0" * (6 - len(row.key)) if group_by == "region" else row.key
                targets.append(report.groups.setdefault(group_key, CoverageFigures()))
            for figures in targets:
                figures.operating += row.n
                setattr(figures, row.bucket, getattr(figures, row.bucket) + row.n)

        if not (kind or industry or station):
            self._count_members(conn, prefix, report)
        return report

    def _count_members(self, conn: Connection, prefix: str | None, report: CoverageReport) -> None:
        condition: ColumnElement[bool] = M.c.present.is_(True)
        if prefix:
            condition = and_(condition, O.c.region_code.startswith(prefix))
        joined = M.join(O, O.c.org_id == M.c.home_org_id)
        for column, target in (
            (M.c.category, report.members_by_category),
            (M.c.affiliation, report.members_by_affiliation),
        ):
            query = select(column, func.count()).select_from(joined).where(condition).group_by(column)
            for value, count in conn.execute(query):
                target[value] = count

    def entity_ids(self, conn: Connection, region: str) -> list[UUID]:
        prefix = region_prefix(region)
        return list(conn.scalars(select(E.c.entity_id).where(E.c.region_code.startswith(prefix))))

"""Member roster and member counts (issue #4 item 1): the handler that feeds them and the view.

One bitemporal row per member (``roster_members``) with what a roster shows: name, unit, category,
affiliation (R2.1), distribution (R1.1), business owner or not, the relationship organisation (in
this system by id, else by name), the *home organisation*, and the lifecycle state (present or left
with its reason, R13.6; business suspended and away, R5.2; disciplinary period, R5.3). The
organisational-life organisations (R2.2 多重管理) are rows of ``roster_life_orgs``.

The home organisation is where a member is counted (R13.6): the relationship organisation when it
is in this system, else the first organisational-life organisation, as in the coverage report. A
region filter selects the members whose home organisation lies in the region (prefix of its 6-digit
code, read from ``coverage_organizations`` at the same business date and position).

Assumptions, for officers reading the figures:
- The roster lists every member the ledger had on file on ``as_of`` (those registered by then),
  leavers included with their reason, unless ``present`` narrows it; counts are of present members
  only, with the leavers beside them by reason (every decrease has a reason, R13.6).
- ``org_id`` on the roster selects the members of an organisation in the sense of R2.2: whose
  relationship sits there or who take part in its organisational life; counts by organisation use
  the home organisation only, so that each member is counted once.
- "Away over six months" (R5.2) is derived on ``as_of`` from the date the absence began.
- The phone number is not on the roster: statistics consumers do not need it, the member's own
  record (``GET /members/{id}``) has it.
- Personal data (issue #7): once a member's personal data is erased, the name reads ``已删除``
  (``domain.personal.ERASED``) in every row of the member, past rows included (the read side
  updates its own rows; the events are never updated), and the entry says ``erased``. The member
  stays in every count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, exists, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from domain.member import AWAY_EXCLUDES_AFTER_MONTHS, Member, add_months
from domain.personal import ERASED, erasures
from domain.values import region_prefix
from projections import coverage_counts
from projections.coverage import Areas
from projections.tables import coverage_organizations as O
from projections.tables import roster_life_orgs as L
from projections.tables import roster_members as M
from projections.temporal import ALL_KNOWN, TemporalProjection, visible

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def home_org_id(member: Member) -> UUID | None:
    """R13.6: the relationship organisation when in this system, else the first life organisation."""
    if member.relationship_org_id is not None:
        return member.relationship_org_id
    return member.life_org_ids[0] if member.life_org_ids else None


class MembersProjection(TemporalProjection):
    """Feeds the roster tables from Member state."""

    name = "members"
    replay_weight = 5  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (M, L)
    aggregates = (Member,)

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        if not isinstance(aggregate, Member):
            return {}
        return {
            M: [
                {
                    "name": aggregate.name,
                    "unit_name": aggregate.unit_name,
                    "category": aggregate.category,
                    "affiliation": aggregate.affiliation,
                    "distribution": aggregate.distribution,
                    "is_business_owner": aggregate.is_business_owner,
                    "home_org_id": home_org_id(aggregate),
                    "relationship_org_id": aggregate.relationship_org_id,
                    "relationship_org_name": aggregate.relationship_org_name,
                    "present": not aggregate.has_left,
                    "left_on": aggregate.left_on,
                    "left_reason": aggregate.left_reason,
                    "business_suspended": aggregate.business_suspended,
                    "away_since": aggregate.away_since,
                    "in_disciplinary_period": aggregate.in_disciplinary_period,
                }
            ],
            L: [{"org_id": org_id} for org_id in dict.fromkeys(aggregate.life_org_ids)],
        }

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """As every temporal projection; then, for each member the batch erases (issue #7), scrub the
        name from all of the member's rows and drop the decrypted histories held in memory."""
        super().handle_batch(conn, batch)
        erased = erasures(event for event, _ in batch)
        if erased:
            scrub_personal_data(self.history)
            conn.execute(update(M).where(M.c.subject_id.in_(erased)).values(name=ERASED))


def scrub_personal_data(history: Any) -> None:
    """Forget the cached, decrypted histories (``projections.temporal.Histories``) after an erasure."""
    clear = getattr(history, "clear", None) or getattr(history, "cache_clear", None)
    if clear is not None:
        clear()


@dataclass
class RosterEntry:
    member_id: UUID
    name: str
    unit_name: str
    category: str
    affiliation: str
    distribution: str
    is_business_owner: bool
    home_org_id: UUID | None
    home_org_name: str | None
    home_region_code: str | None
    relationship_org_id: UUID | None
    relationship_org_name: str
    life_org_ids: list[UUID]
    present: bool
    left_on: date | None
    left_reason: str | None
    business_suspended: bool
    away_since: date | None
    away_over_six_months: bool
    """R5.2: away for more than six months on the day asked about (derived)."""
    in_disciplinary_period: bool
    erased: bool = False
    """Issue #7: the member's personal data is erased; ``name`` reads 已删除."""


@dataclass
class RosterPage:
    entries: list[RosterEntry]
    next_cursor: UUID | None
    """Pass as ``after`` for the next page; None on the last page."""


@dataclass
class OrganizationCount:
    org_id: UUID | None
    name: str | None
    region_code: str | None
    members: int


@dataclass
class MemberStatistics:
    total: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_affiliation: dict[str, int] = field(default_factory=dict)
    by_distribution: dict[str, int] = field(default_factory=dict)
    business_owners: int = 0
    not_business_owners: int = 0
    by_home_organization: list[OrganizationCount] = field(default_factory=list)
    business_suspended: int = 0
    in_disciplinary_period: int = 0
    away: int = 0
    left_by_reason: dict[str, int] = field(default_factory=dict)
    """Members who had left by the date asked about, by reason (R13.6); not in ``total``."""


_FLAG_FIGURES = {
    "is_business_owner": "business_owners",
    "business_suspended": "business_suspended",
    "in_disciplinary_period": "in_disciplinary_period",
    "away": "away",
}
"""``MemberStatistics``' figure for each flag the counts keep (``coverage_counts.FLAGS``)."""


class MembersView:
    """Queries over the roster tables. The members statistics without the count per home organisation,
    for regions at a province's, city's or county's prefix, as known at a settled position, are read
    from the pre-aggregated counts with ``counts=True`` (``projections.coverage_counts``, families
    ``M`` and ``S``: the coverage projection sees the same member states and home organisations);
    else, and with ``counts=False``, from the rows."""

    def __init__(self, counts: bool = True) -> None:
        self.counts = counts

    def page(
        self,
        conn: Connection,
        *,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        org_id: UUID | None = None,
        category: str | None = None,
        affiliation: str | None = None,
        distribution: str | None = None,
        present: bool | None = None,
        after: UUID | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> RosterPage:
        """One page of the roster in member-id order, as it was on ``as_of`` according to the events
        up to position ``known``; ``after`` is the previous page's ``next_cursor``."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        conditions = self._conditions(as_of, known, region)
        if org_id is not None:
            life = exists().where(
                L.c.subject_id == M.c.subject_id, L.c.org_id == org_id, visible(L, as_of, known)
            )
            conditions.append(or_(M.c.relationship_org_id == org_id, life))
        for column, value in (
            (M.c.category, category),
            (M.c.affiliation, affiliation),
            (M.c.distribution, distribution),
        ):
            if value is not None:
                conditions.append(column == value)
        if present is not None:
            conditions.append(M.c.present.is_(present))
        if after is not None:
            conditions.append(M.c.subject_id > after)
        query = (
            select(M, O.c.name.label("home_org_name"), O.c.region_code.label("home_region_code"))
            .select_from(self._joined(as_of, known))
            .where(and_(*conditions))
            .order_by(M.c.subject_id)
            .limit(limit + 1)
        )
        rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        life_orgs: dict[UUID, list[UUID]] = defaultdict(list)
        if rows:
            ids = [row.subject_id for row in rows]
            life_query = (
                select(L.c.subject_id, L.c.org_id)
                .where(L.c.subject_id.in_(ids), visible(L, as_of, known))
                .order_by(L.c.subject_id, L.c.row_id)
            )
            for subject_id, life_org in conn.execute(life_query):
                life_orgs[subject_id].append(life_org)
        entries = [
            RosterEntry(
                member_id=row.subject_id,
                name=row.name,
                unit_name=row.unit_name,
                category=row.category,
                affiliation=row.affiliation,
                distribution=row.distribution,
                is_business_owner=row.is_business_owner,
                home_org_id=row.home_org_id,
                home_org_name=row.home_org_name,
                home_region_code=row.home_region_code,
                relationship_org_id=row.relationship_org_id,
                relationship_org_name=row.relationship_org_name,
                life_org_ids=life_orgs.get(row.subject_id, []),
                present=row.present,
                left_on=row.left_on,
                left_reason=row.left_reason,
                business_suspended=row.business_suspended,
                away_since=row.away_since,
                away_over_six_months=row.away_since is not None
                and as_of > add_months(row.away_since, AWAY_EXCLUDES_AFTER_MONTHS),
                in_disciplinary_period=row.in_disciplinary_period,
                erased=row.name == ERASED,
            )
            for row in rows
        ]
        return RosterPage(entries, entries[-1].member_id if more else None)

    def statistics(
        self,
        conn: Connection,
        *,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        organizations: bool = True,
    ) -> MemberStatistics:
        """Counts of present members by category, affiliation, distribution, owner or not and home
        organisation (R13.6: counted where the relationship sits), as on ``as_of`` as known at
        ``known``; with the leavers by reason beside them. ``organizations=False`` leaves out the
        count per home organisation (one grouped query, a row per organisation)."""
        joined = self._joined(as_of, known)
        base = self._conditions(as_of, known, region)
        present = and_(*base, M.c.present.is_(True))
        stats = MemberStatistics()
        for column, target in (
            (M.c.category, stats.by_category),
            (M.c.affiliation, stats.by_affiliation),
            (M.c.distribution, stats.by_distribution),
        ):
            query = select(column, func.count()).select_from(joined).where(present).group_by(column)
            target.update({value: count for value, count in conn.execute(query)})
        stats.total = sum(stats.by_category.values())

        flags = (
            select(
                func.count().filter(M.c.is_business_owner.is_(True)),
                func.count().filter(M.c.business_suspended.is_(True)),
                func.count().filter(M.c.in_disciplinary_period.is_(True)),
                func.count().filter(M.c.away_since.is_not(None)),
            )
            .select_from(joined)
            .where(present)
        )
        owners, suspended, disciplined, away = conn.execute(flags).one()
        stats.business_owners, stats.not_business_owners = owners, stats.total - owners
        stats.business_suspended, stats.in_disciplinary_period, stats.away = suspended, disciplined, away

        if organizations:
            by_org = (
                select(M.c.home_org_id, O.c.name, O.c.region_code, func.count().label("n"))
                .select_from(joined)
                .where(present)
                .group_by(M.c.home_org_id, O.c.name, O.c.region_code)
            )
            stats.by_home_organization = sorted(
                (
                    OrganizationCount(row.home_org_id, row.name, row.region_code, row.n)
                    for row in conn.execute(by_org)
                ),
                key=lambda c: (-c.members, c.name or "", c.org_id),
            )

        left = (
            select(M.c.left_reason, func.count())
            .select_from(joined)
            .where(and_(*base, M.c.present.is_(False)))
            .group_by(M.c.left_reason)
        )
        stats.left_by_reason = {reason: count for reason, count in conn.execute(left)}
        return stats

    def statistics_by_area(
        self,
        conn: Connection,
        areas: Areas,
        *,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        organizations: bool = True,
    ) -> list[MemberStatistics]:
        """``statistics(region=code)`` for every code of ``areas`` at once (issue #6, P4): the counts by
        category, affiliation, distribution and flag, and the leavers by reason, in one query grouped
        by the home organisation's region code (R13.6), and the counts by home organisation in one."""
        prefixes = None
        if not organizations and self.counts:
            prefixes = coverage_counts.region_prefixes(conn, areas.prefixes, known)
        if prefixes is not None:
            return self._statistics_from_counts(conn, len(areas), prefixes, as_of)
        joined = self._joined(as_of, known)
        base = [visible(M, as_of, known), *areas.condition(O.c.region_code)]
        keys = (
            O.c.region_code,
            M.c.present,
            M.c.left_reason,
            M.c.category,
            M.c.affiliation,
            M.c.distribution,
        )
        counts = (
            select(
                *keys,
                func.count(),
                func.count().filter(M.c.is_business_owner.is_(True)),
                func.count().filter(M.c.business_suspended.is_(True)),
                func.count().filter(M.c.in_disciplinary_period.is_(True)),
                func.count().filter(M.c.away_since.is_not(None)),
            )
            .select_from(joined)
            .where(*base, M.c.present.is_not(None))
            .group_by(*keys)
        )
        result = [MemberStatistics() for _ in areas.codes]
        for code, present, reason, category, affiliation, distribution, n, *flags in conn.execute(counts):
            owners, suspended, disciplined, away = flags
            for i in areas.of(code):
                stats = result[i]
                if not present:
                    stats.left_by_reason[reason] = stats.left_by_reason.get(reason, 0) + n
                    continue
                for target, value in (
                    (stats.by_category, category),
                    (stats.by_affiliation, affiliation),
                    (stats.by_distribution, distribution),
                ):
                    target[value] = target.get(value, 0) + n
                stats.total += n
                stats.business_owners += owners
                stats.business_suspended += suspended
                stats.in_disciplinary_period += disciplined
                stats.away += away
        for stats in result:
            stats.not_business_owners = stats.total - stats.business_owners
        if not organizations:
            return result

        by_org = (
            select(M.c.home_org_id, O.c.name, O.c.region_code, func.count().label("n"))
            .select_from(joined)
            .where(*base, M.c.present.is_(True))
            .group_by(M.c.home_org_id, O.c.name, O.c.region_code)
        )
        counted: list[list[OrganizationCount]] = [[] for _ in areas.codes]
        for row in conn.execute(by_org):
            for i in areas.of(row.region_code):
                counted[i].append(OrganizationCount(row.home_org_id, row.name, row.region_code, row.n))
        for stats, listed in zip(result, counted, strict=True):
            stats.by_home_organization = sorted(listed, key=lambda c: (-c.members, c.name or "", c.org_id))
        return result

    @staticmethod
    def _statistics_from_counts(
        conn: Connection, n_areas: int, prefixes: list[str], as_of: date
    ) -> list[MemberStatistics]:
        """``statistics_by_area(organizations=False)`` from the pre-aggregated counts: a few rows per
        key and area whatever the number of members (issue #6, P4), the same figures as from the rows
        (tests/projections/test_coverage_counts.py)."""
        result = [MemberStatistics() for _ in range(n_areas)]
        for indices, category, affiliation, n in coverage_counts.sums_by_area(
            conn, coverage_counts.MEMBERS, as_of, prefixes
        ):
            for i in indices:
                stats = result[i]
                stats.by_category[category] = stats.by_category.get(category, 0) + n
                stats.by_affiliation[affiliation] = stats.by_affiliation.get(affiliation, 0) + n
                stats.total += n
        for indices, value, statistic, n in coverage_counts.sums_by_area(
            conn, coverage_counts.STATISTICS, as_of, prefixes
        ):
            for i in indices:
                stats = result[i]
                if statistic == coverage_counts.DISTRIBUTION:
                    stats.by_distribution[value] = stats.by_distribution.get(value, 0) + n
                elif statistic == coverage_counts.LEFT:
                    stats.left_by_reason[value] = stats.left_by_reason.get(value, 0) + n
                elif statistic == coverage_counts.FLAG:
                    figure = _FLAG_FIGURES[value]
                    setattr(stats, figure, getattr(stats, figure) + n)
        for stats in result:
            stats.not_business_owners = stats.total - stats.business_owners
        return result

    @staticmethod
    def _joined(as_of: date, known: int) -> Any:
        """Members with their home organisation as it was on the same date, as known at the same position."""
        return M.outerjoin(O, and_(O.c.subject_id == M.c.home_org_id, visible(O, as_of, known)))

    @staticmethod
    def _conditions(as_of: date, known: int, region: str | None) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [visible(M, as_of, known)]
        if region:
            conditions.append(O.c.region_code.startswith(region_prefix(region)))
        return conditions

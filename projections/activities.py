"""Compliance (DOMAIN.md "What the statistics are"): training (R7), meetings and visits (R10, the
monthly themed party day), volunteers (R11.3), from the activities and pairings read model.

Tables (``projections.tables``): ``activities_held`` (one row per activity), ``activities_participants``
(one row per participant, attendee or guest, R2.2) and ``activities_pairings`` (one row per pairing
with its organisations, kind, start and end).

Time axes. An activity is a fact about the day it was held: its rows hold from ``held_on`` on, and
they carry the activity as last recorded. A correction of attendance or a void corrects the record
(R1.3, R13.6), not the world: it changes what the ledger believes from its position on, for every
business date, so a report as known before it is reproduced unchanged and one as known after it counts
the corrected list (a voided activity counts nowhere). A pairing follows its timeline: its row changes
on the day it ends (``ended_on`` set from then on).

Every figure is for a ``year`` up to a business date: the period runs from 1 January to
``min(as_of, 31 December)`` (the *period end*), and sets of members and organisations are taken on the
period end, as known at the given position. Assumptions, where the sources are silent:

- **Training (R7).** The members are those present on the period end (``coverage_members``: the
  affiliation they have then, the region of their home organisation); a member who left during the
  year is in neither count. A member is trained by taking part (attendee or guest: a mobile member
  trains where they do business) in at least one activity of type training held in the period, by any
  organisation. 隶属 100%, 流动 at least 80%, 属地 each member at least once: so 属地 is met when every
  属地 member has at least ``TRAINING_MIN_SESSIONS_LOCAL`` training sessions.
- **Themed party day (主题党日, monthly).** Every organisation, of any kind, holds one a month while
  it exists (established, not dissolved); the months due are those of the period in which it existed,
  read from the valid-time history of ``coverage_organizations`` as known at the position.
- **Pairings (R10).** Every pairing that ran in the period (both kinds) is due one pairing exchange a
  quarter; a station visit does not count as an exchange. Each pairing of a station branch with a 小个专
  organisation is due one visit of the station branch to it a month, counted from the station's
  activities of type station visit naming that organisation (in any pairing of the two). A period is
  due when the pairing ran on one of its days; only the part of it during which the pairing ran counts.
- **Missed and pending.** A due month or quarter without the activity is *missed* when its due part
  is over on the period end (the period end itself counts as over: its activities are included), and
  *pending* while it is still running.
- **Volunteers (R11.3).** An organisation's members are those whose home organisation it is on the
  period end (the relationship organisation when in this system, else the first organisational-life
  one, as in coverage: R13.6); a volunteer took part in at least one volunteer-service activity in the
  period, held by any organisation. The activities counted against the minimum of two are those the
  organisation held. Organisations dissolved on the period end are left out.
- **Filters.** ``region`` is a prefix match on the region code of the organisation concerned (the home
  organisation of a member; for a pairing, either of its organisations); ``org_id`` the same by id.
"""

from __future__ import annotations

import calendar
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from domain.activity import Activity
from domain.pairing import Pairing
from domain.targets import (
    TRAINING_TARGETS,
    VOLUNTEER_MIN_ACTIVITIES_PER_YEAR,
    VOLUNTEER_MIN_SHARE,
)
from domain.values import ActivityType, OrgKind, PairingKind, region_prefix
from projections import coverage_counts
from projections.coverage import Areas
from projections.tables import activities_held as A
from projections.tables import activities_pairings as PR
from projections.tables import activities_participants as P
from projections.tables import coverage_members as M
from projections.tables import coverage_organizations as O
from projections.temporal import ALL_KNOWN, AsLastRecorded, Day, Position, among, visible

ATTENDEE, GUEST = "attendee", "guest"


class ActivitiesProjection(AsLastRecorded):
    """Feeds the activity, participant and pairing tables from Activity and Pairing state; an
    activity as last recorded holds from the day it was held (see the module docstring)."""

    name = "activities"
    replay_weight = 26  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (A, P, PR)
    aggregates = (Activity, Pairing)
    recorded_order = (Activity.Held,)

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        if isinstance(aggregate, Activity):
            if aggregate.voided:
                return {}
            common = {
                "org_id": aggregate.org_id,
                "activity_type": aggregate.activity_type,
                "held_on": aggregate.held_on,
                "pairing_id": aggregate.pairing_id,
                "visited_org_id": aggregate.visited_org_id,
            }
            roles = [(m, ATTENDEE) for m in aggregate.attendee_ids] + [
                (m, GUEST) for m in aggregate.guest_ids
            ]
            return {A: [common], P: [{"member_id": m, "role": role, **common} for m, role in roles]}
        if isinstance(aggregate, Pairing):
            return {
                PR: [
                    {
                        "kind": aggregate.kind,
                        "lead_org_id": aggregate.lead_org_id,
                        "partner_org_id": aggregate.partner_org_id,
                        "started_on": aggregate.started_on,
                        "ended_on": aggregate.ended_on,
                    }
                ]
            }
        return {}


# --- periods --------------------------------------------------------------------------------------


def year_period(year: int, as_of: date) -> tuple[date, date]:
    """The first day of ``year`` and the period end: ``as_of`` or 31 December, whichever is earlier."""
    return date(year, 1, 1), min(as_of, date(year, 12, 31))


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    return date(year, 3 * quarter - 2, 1), _month_bounds(year, 3 * quarter)[1]


@functools.cache
def _periods(year: int, quarterly: bool) -> tuple[tuple[int, date, date], ...]:
    """The months (or quarters) of ``year``: number, first day, last day, worked out once a year."""
    if quarterly:
        return tuple((q, *_quarter_bounds(year, q)) for q in range(1, 5))
    return tuple((m, *_month_bounds(year, m)) for m in range(1, 13))


@dataclass
class PeriodCompliance:
    """Months (1-12) or quarters (1-4) of the year: due, with the activity, missed, still running."""

    due: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.missed


_DAY = timedelta(days=1)
_NO_DAYS: list[date] = []  # never changed: the held days of an organisation without any


def period_compliance(
    year: int,
    end: date,
    runs: list[tuple[date, date | None]],
    held_days: list[date],
    quarterly: bool = False,
) -> PeriodCompliance:
    """Which periods of ``year`` up to ``end`` were due while one of ``runs`` ([from, to) intervals)
    was running, and which of them saw an activity on one of ``held_days``.

    A period is due when a run covers one of its days on or before ``end``; it is missed once the
    last such day has passed (R10). The periods after ``end`` are never due, so the walk stops there,
    and each run's last day is worked out once (issue #6, P4: a report asks this for every
    organisation of the province)."""
    held_numbers = {(d.month - 1) // 3 + 1 if quarterly else d.month for d in held_days if d.year == year}
    spans = [(run_from, None if run_to is None else run_to - _DAY) for run_from, run_to in runs]
    result = PeriodCompliance()
    for number, start, last in _periods(year, quarterly):
        if start > end:
            break
        due_last: date | None = None
        for run_from, run_last in spans:
            first = run_from if run_from > start else start
            until = last if run_last is None or run_last > last else run_last
            if first <= until and first <= end and (due_last is None or until > due_last):
                due_last = until
        if due_last is None:
            continue
        result.due.append(number)
        if number in held_numbers:
            result.held.append(number)
        elif due_last <= end:
            result.missed.append(number)
        else:
            result.pending.append(number)
    return result


OneRun = tuple[date, date | None, frozenset[int]]


def one_run_key(year: int, run_from: date, run_to: date | None, held_days: Iterable[date]) -> OneRun:
    """What ``period_compliance(year, end, [(run_from, run_to)], held_days)`` depends on, besides
    ``year`` and ``end``: the run clipped to the year (a run from before 1 January covers each period
    from its first day, one to after 31 December to its last) and the months of the year with a day
    held. Organisations with equal keys comply alike, so a report works it out once per key, not once
    per organisation (issue #6, P4; tests/projections/test_activities.py checks the equality)."""
    first = max(run_from, date(year, 1, 1))
    to = None if run_to is None or run_to > date(year, 12, 31) else run_to
    return first, to, frozenset(d.month for d in held_days if d.year == year)


def one_run_compliant(year: int, end: date, key: OneRun, quarterly: bool = False) -> bool:
    """``period_compliance(...).compliant`` of the run and held months of ``one_run_key`` (by month,
    or by quarter: a quarter is held when one of its months is)."""
    first, to, months = key
    held = [date(year, m, 1) for m in months]
    return period_compliance(year, end, [(first, to)], held, quarterly=quarterly).compliant


# --- reports --------------------------------------------------------------------------------------


@dataclass
class TrainingFigures:
    affiliation: str
    members: int = 0
    trained: int = 0
    """Members with at least one training in the period."""
    meeting_sessions: int = 0
    """Members with at least the required sessions (属地: ``TRAINING_MIN_SESSIONS_LOCAL``; else one)."""

    @property
    def rate(self) -> float | None:
        return self.trained / self.members if self.members else None

    @property
    def target_rate(self) -> float:
        return TRAINING_TARGETS[self.affiliation][0]

    @property
    def min_sessions_each(self) -> int | None:
        return TRAINING_TARGETS[self.affiliation][1]

    @property
    def meets_target(self) -> bool | None:
        """R7; None when there are no members of this affiliation."""
        if not self.members:
            return None
        return self.meeting_sessions / self.members >= self.target_rate


@dataclass
class TrainingReport:
    year: int
    period_end: date
    by_affiliation: dict[str, TrainingFigures]

    @property
    def members(self) -> int:
        return sum(f.members for f in self.by_affiliation.values())

    @property
    def trained(self) -> int:
        return sum(f.trained for f in self.by_affiliation.values())


@dataclass
class ThemedDayCompliance:
    org_id: UUID
    name: str
    kind: str
    region_code: str
    months: PeriodCompliance


@dataclass
class ExchangeCompliance:
    """R10: one pairing and its quarterly exchanges."""

    pairing_id: UUID
    kind: str
    lead_org_id: UUID
    partner_org_id: UUID
    started_on: date
    ended_on: date | None
    exchanges: int
    quarters: PeriodCompliance


@dataclass
class VisitCompliance:
    """R10: a station branch and a 小个专 organisation it is paired with, and its monthly visits."""

    pairing_id: UUID
    station_org_id: UUID
    partner_org_id: UUID
    visits: int
    months: PeriodCompliance


@dataclass
class ComplianceReport:
    year: int
    period_end: date
    themed_days: list[ThemedDayCompliance]
    exchanges: list[ExchangeCompliance]
    visits: list[VisitCompliance]


@dataclass
class VolunteerFigures:
    org_id: UUID
    name: str
    members: int
    volunteers: int
    activities: int

    @property
    def share(self) -> float | None:
        return self.volunteers / self.members if self.members else None

    @property
    def meets_share(self) -> bool | None:
        """R11.3: volunteers at least 80% of members; None when the organisation has no members."""
        share = self.share
        return None if share is None else share >= VOLUNTEER_MIN_SHARE

    @property
    def meets_activities(self) -> bool:
        return self.activities >= VOLUNTEER_MIN_ACTIVITIES_PER_YEAR


@dataclass
class VolunteerReport:
    year: int
    period_end: date
    organizations: list[VolunteerFigures]


# --- the same, counted (R3: the half-year report gives statistics, issue #6 P4) ------------------


@dataclass
class Tally:
    """How many organisations (or pairings) a rule applied to, and how many met it."""

    total: int = 0
    compliant: int = 0

    @property
    def not_compliant(self) -> int:
        return self.total - self.compliant

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.total if self.total else None

    @classmethod
    def of(cls, periods: Iterable[PeriodCompliance]) -> Tally:
        flags = [p.compliant for p in periods]
        return cls(len(flags), sum(flags))


@dataclass
class ComplianceTallies:
    """R10 and the monthly themed party day, counted: organisations with no missed month, pairings
    with no missed quarter, station branch visits (per pairing) with no missed month."""

    year: int
    period_end: date
    themed_days: Tally
    exchanges: Tally
    visits: Tally

    @classmethod
    def of(cls, report: ComplianceReport) -> ComplianceTallies:
        return cls(
            report.year,
            report.period_end,
            Tally.of(t.months for t in report.themed_days),
            Tally.of(e.quarters for e in report.exchanges),
            Tally.of(v.months for v in report.visits),
        )


@dataclass
class VolunteerTallies:
    """R11.3, counted: the organisations, those whose volunteers are at least 80% of their members (of
    those with members), and those that held enough volunteer-service activities."""

    year: int
    period_end: date
    organizations: int
    meeting_share: Tally
    meeting_activities: Tally

    @classmethod
    def of(cls, report: VolunteerReport) -> VolunteerTallies:
        organizations = report.organizations
        with_members = [o for o in organizations if o.members]
        return cls(
            report.year,
            report.period_end,
            len(organizations),
            Tally(len(with_members), sum(bool(o.meets_share) for o in with_members)),
            Tally(len(organizations), sum(o.meets_activities for o in organizations)),
        )


# --- the view -------------------------------------------------------------------------------------


def _during(table: Table, start: date, end: date, known: int) -> ColumnElement[bool]:
    """Rows that held on some day of [start, end] according to the events up to position ``known``:
    ``visible`` over a range of business dates instead of one."""
    return and_(
        table.c.valid_from <= end,
        or_(table.c.valid_to.is_(None), table.c.valid_to > start),
        table.c.known_from <= known,
        or_(table.c.known_to.is_(None), table.c.known_to > known),
    )


def _org_filter(column: Any, prefix: str | None, org_id: UUID | None) -> list[ColumnElement[bool]]:
    """Conditions on organisation rows of ``coverage_organizations`` joined on ``column``."""
    conditions: list[ColumnElement[bool]] = []
    if prefix:
        conditions.append(O.c.region_code.startswith(prefix))
    if org_id is not None:
        conditions.append(column == org_id)
    return conditions


def _trained(start: date, end: date, known: int, conditions: Any, *columns: Any) -> Any:
    """Members present at ``end`` with their affiliation and their training sessions of the period
    (R7), their home organisation meeting ``conditions``; ``columns`` are selected too. The sessions are
    counted once, grouped, then joined (not a subquery per member: issue #6, P4)."""
    sessions = _sessions(ActivityType.TRAINING, start, end, known)
    return (
        select(
            *columns,
            M.c.affiliation.label("affiliation"),
            func.coalesce(sessions.c.n, 0).label("sessions"),
        )
        .select_from(
            M.join(O, O.c.subject_id == M.c.home_org_id).outerjoin(
                sessions, sessions.c.member_id == M.c.subject_id
            )
        )
        .where(M.c.present.is_(True), visible(M, end, known), visible(O, end, known), *conditions)
        .subquery()
    )


def _sessions(activity_type: ActivityType, start: date, end: date, known: int) -> Any:
    """Per member, the activities of that type they took part in during [start, end]."""
    return (
        select(P.c.member_id, func.count().label("n"))
        .where(
            P.c.activity_type == activity_type.value,
            P.c.held_on >= start,
            P.c.held_on <= end,
            visible(P, end, known),
        )
        .group_by(P.c.member_id)
        .subquery()
    )


def _training_from_counts(
    conn: Connection, reports: list[TrainingReport], prefixes: list[str], end: date
) -> None:
    """``training_by_area`` from the pre-aggregated counts (issue #6, P4): the members present on the
    period end by affiliation (family ``M``) and those with at least one, or the required number of,
    training sessions since 1 January (family ``T``), the same figures as from the rows
    (tests/projections/test_coverage_counts.py)."""

    def figures(report: TrainingReport, affiliation: str) -> TrainingFigures:
        return report.by_affiliation.setdefault(affiliation, TrainingFigures(affiliation))

    for indices, _, affiliation, n in coverage_counts.sums_by_area(
        conn, coverage_counts.MEMBERS, end, prefixes
    ):
        for i in indices:
            figures(reports[i], affiliation).members += n
    for indices, affiliation, sessions, n in coverage_counts.sums_by_area(
        conn, coverage_counts.TRAINING, end, prefixes
    ):
        for i in indices:
            f = figures(reports[i], affiliation)
            if sessions == coverage_counts.sessions_key(1):
                f.trained += n
            if sessions == coverage_counts.sessions_key(f.min_sessions_each or 1):
                f.meeting_sessions += n


def _add_trained(report: TrainingReport, affiliation: str, sessions: int, n: int) -> None:
    """R7: ``n`` present members of ``affiliation`` with ``sessions`` training sessions each."""
    figures = report.by_affiliation.setdefault(affiliation, TrainingFigures(affiliation))
    figures.members += n
    if sessions >= 1:
        figures.trained += n
    if sessions >= (figures.min_sessions_each or 1):
        figures.meeting_sessions += n


class ActivitiesView:
    """Compliance queries over the activities tables (with the coverage tables for members and
    organisations), each for a year up to a business date, as known at a position. The report's
    training figures, volunteer tallies and themed-day tallies for regions at a province's, city's or
    county's prefix, as known at a settled position, are read from the pre-aggregated counts with
    ``counts=True`` (``projections.coverage_counts``, families ``M`` and ``T``, ``V``, ``R``); else,
    and with ``counts=False``, from the rows."""

    def __init__(self, counts: bool = True) -> None:
        self.counts = counts

    def training(
        self,
        conn: Connection,
        *,
        year: int,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        org_id: UUID | None = None,
    ) -> TrainingReport:
        """R7: per affiliation, members trained in the year up to ``as_of`` ÷ members present."""
        start, end = year_period(year, as_of)
        prefix = region_prefix(region) if region else None
        members = _trained(start, end, known, _org_filter(M.c.home_org_id, prefix, org_id))
        report = TrainingReport(year, end, {a: TrainingFigures(a) for a in TRAINING_TARGETS})
        query = select(members.c.affiliation, members.c.sessions, func.count()).group_by(
            members.c.affiliation, members.c.sessions
        )
        for affiliation, count_sessions, n in conn.execute(query):
            _add_trained(report, affiliation, count_sessions, n)
        return report

    def _count_prefixes(
        self, conn: Connection, areas: Areas, year: int, end: date, known: int
    ) -> list[str] | None:
        """The areas' region prefixes when the counts answer them for ``year`` up to ``end`` (the
        counts' figures of a day are those of the day's year), else None: read the rows."""
        if self.counts and end.year == year:
            return coverage_counts.region_prefixes(conn, areas.prefixes, known)
        return None

    def training_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[TrainingReport]:
        """``training(region=code)`` for every code of ``areas`` at once (issue #6, P4): one query,
        grouped by the home organisation's region code (R13.6), affiliation and sessions (R7)."""
        start, end = year_period(year, as_of)
        reports = [
            TrainingReport(year, end, {a: TrainingFigures(a) for a in TRAINING_TARGETS}) for _ in areas.codes
        ]
        prefixes = self._count_prefixes(conn, areas, year, end, known)
        if prefixes is not None:
            _training_from_counts(conn, reports, prefixes, end)
            return reports
        members = _trained(
            start, end, known, areas.condition(O.c.region_code), O.c.region_code.label("region_code")
        )
        keys = (members.c.region_code, members.c.affiliation, members.c.sessions)
        for code, affiliation, count_sessions, n in conn.execute(select(*keys, func.count()).group_by(*keys)):
            for i in areas.of(code):
                _add_trained(reports[i], affiliation, count_sessions, n)
        return reports

    def compliance(
        self,
        conn: Connection,
        *,
        year: int,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        org_id: UUID | None = None,
    ) -> ComplianceReport:
        """R10 and the monthly themed party day: per organisation the months with a themed party day,
        per pairing the quarters with an exchange, per station branch and paired 小个专 organisation the
        months with a visit, each with what was missed, for the year up to ``as_of``."""
        start, end = year_period(year, as_of)
        prefix = region_prefix(region) if region else None
        return ComplianceReport(
            year,
            end,
            self._themed_days(conn, year, start, end, known, prefix, org_id),
            *self._pairings(conn, year, start, end, known, prefix, org_id),
        )

    def compliance_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[ComplianceReport]:
        """``compliance(region=code)`` for every code of ``areas`` at once (issue #6, P4): the
        organisations and the pairings of all areas read once each with their region codes, their
        activities once for all of them (R10, the monthly themed party day)."""
        start, end = year_period(year, as_of)
        themed = self._themed_days_by_area(conn, year, start, end, known, areas)
        pairings = self._pairings_by_area(conn, year, start, end, known, areas)
        return [ComplianceReport(year, end, t, *p) for t, p in zip(themed, pairings, strict=True)]

    def compliance_tallies_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[ComplianceTallies]:
        """``ComplianceTallies.of(compliance_by_area(...)[i])`` without the lists (issue #6, P4): each
        organisation's months worked out once and counted in its areas, with no line per organisation
        made or sorted, and its themed days read for the areas' organisations by a subquery instead of
        a list of ids sent back (R10, the monthly themed party day)."""
        start, end = year_period(year, as_of)
        prefixes = self._count_prefixes(conn, areas, year, end, known)
        if prefixes is not None:
            themed = _themed_tallies_from_counts(conn, len(areas), prefixes, end)
        else:
            themed = self._themed_tallies(conn, areas, year, start, end, known)
        pairings = _pairing_tallies(conn, year, start, end, known, areas)
        return [ComplianceTallies(year, end, t, *p) for t, p in zip(themed, pairings, strict=True)]

    def _themed_tallies(
        self, conn: Connection, areas: Areas, year: int, start: date, end: date, known: int
    ) -> list[Tally]:
        """The themed-day tallies of ``compliance_tallies_by_area``, from the rows."""
        organizations = select(O.c.subject_id, O.c.valid_from, O.c.valid_to, O.c.region_code).where(
            _during(O, start, end, known), O.c.dissolved.is_(False), *areas.condition(O.c.region_code)
        )
        runs: dict[UUID, list[tuple[date, date | None, tuple[int, ...]]]] = defaultdict(list)
        rows = conn.execute(organizations.order_by(O.c.valid_from)).all()  # one fetch, not one per row
        for subject, valid_from, valid_to, region_code in rows:
            runs[subject].append((valid_from, valid_to, areas.of(region_code)))
        held = _themed_days_held(
            conn, start, end, known, A.c.org_id.in_(organizations.with_only_columns(O.c.subject_id))
        )
        themed = [Tally() for _ in areas.codes]
        complying: dict[OneRun, bool] = {}
        for org, org_runs in runs.items():
            days = held.get(org, _NO_DAYS)
            if len(org_runs) == 1:  # most organisations: one row in the period, in the same areas
                valid_from, valid_to, indices = org_runs[0]
                key = one_run_key(year, valid_from, valid_to, days)
                met = complying.get(key)
                if met is None:
                    met = complying[key] = one_run_compliant(year, end, key)
                for i in indices:
                    themed[i].total += 1
                    themed[i].compliant += met
                continue
            worked: dict[tuple[tuple[date, date | None], ...], bool] = {}
            for i in sorted({i for *_, indices in org_runs for i in indices}):
                # row by row: an organisation that moved counts in each area for the runs it had there
                area_runs = tuple((f, t) for f, t, indices in org_runs if i in indices)
                if area_runs not in worked:
                    worked[area_runs] = period_compliance(year, end, list(area_runs), days).compliant
                themed[i].total += 1
                themed[i].compliant += worked[area_runs]
        return themed

    def _themed_days(
        self,
        conn: Connection,
        year: int,
        start: date,
        end: date,
        known: int,
        prefix: str | None,
        org_id: UUID | None,
    ) -> list[ThemedDayCompliance]:
        query = _organization_runs(start, end, known).where(*_org_filter(O.c.subject_id, prefix, org_id))
        runs: dict[UUID, list[tuple[date, date | None]]] = defaultdict(list)
        latest: dict[UUID, tuple[str, str, str]] = {}
        for subject, valid_from, valid_to, name, kind, region_code in conn.execute(query):
            runs[subject].append((valid_from, valid_to))
            latest[subject] = (name, kind, region_code)
        held = _themed_days_held(conn, start, end, known, among(conn, A.c.org_id, list(runs))) if runs else {}
        return _themed_compliance(year, end, runs, latest, held)

    def _themed_days_by_area(
        self, conn: Connection, year: int, start: date, end: date, known: int, areas: Areas
    ) -> list[list[ThemedDayCompliance]]:
        query = _organization_runs(start, end, known).where(*areas.condition(O.c.region_code))
        runs: list[dict[UUID, list[tuple[date, date | None]]]] = [defaultdict(list) for _ in areas.codes]
        latest: list[dict[UUID, tuple[str, str, str]]] = [{} for _ in areas.codes]
        for subject, valid_from, valid_to, name, kind, region_code in conn.execute(query):
            for i in areas.of(region_code):  # row by row: an organisation that moved counts where it was
                runs[i][subject].append((valid_from, valid_to))
                latest[i][subject] = (name, kind, region_code)
        organizations = list(dict.fromkeys(org for area in runs for org in area))
        held = (
            _themed_days_held(conn, start, end, known, among(conn, A.c.org_id, organizations))
            if organizations
            else {}
        )
        months: dict[tuple[UUID, tuple[tuple[date, date | None], ...]], PeriodCompliance] = {}
        return [_themed_compliance(year, end, r, t, held, months) for r, t in zip(runs, latest, strict=True)]

    def _pairings(
        self,
        conn: Connection,
        year: int,
        start: date,
        end: date,
        known: int,
        prefix: str | None,
        org_id: UUID | None,
    ) -> tuple[list[ExchangeCompliance], list[VisitCompliance]]:
        conditions: list[ColumnElement[bool]] = []
        if prefix:
            conditions.append(_pairing_in_region(end, known, [O.c.region_code.startswith(prefix)]))
        if org_id is not None:
            conditions.append(or_(PR.c.lead_org_id == org_id, PR.c.partner_org_id == org_id))
        pairings = list(conn.execute(_pairings_query(start, end, known).where(*conditions)))
        if not pairings:
            return [], []
        exchange_days, visit_days = _pairing_days(conn, start, end, known, pairings)
        return _pairing_compliance(year, end, pairings, exchange_days, visit_days)

    def _pairings_by_area(
        self, conn: Connection, year: int, start: date, end: date, known: int, areas: Areas
    ) -> list[tuple[list[ExchangeCompliance], list[VisitCompliance]]]:
        pairings: list[list[Any]] = [[] for _ in areas.codes]
        for pairing in conn.execute(_area_pairings_query(start, end, known, areas)).all():
            for i in sorted({*areas.of(pairing.lead_region), *areas.of(pairing.partner_region)}):
                pairings[i].append(pairing)  # in either organisation's area (R10)
        every = list({p.subject_id: p for area in pairings for p in area}.values())
        if not every:
            return [([], []) for _ in areas.codes]
        exchange_days, visit_days = _pairing_days(conn, start, end, known, every)
        return [
            _pairing_compliance(year, end, area, exchange_days, visit_days) if area else ([], [])
            for area in pairings
        ]

    def volunteers(
        self,
        conn: Connection,
        *,
        year: int,
        as_of: date = date.max,
        known: int = ALL_KNOWN,
        region: str | None = None,
        org_id: UUID | None = None,
    ) -> VolunteerReport:
        """R11.3: per organisation, its members who volunteered in the year up to ``as_of`` ÷ its
        members, and the volunteer-service activities it held."""
        start, end = year_period(year, as_of)
        prefix = region_prefix(region) if region else None
        query = _volunteers_query(start, end, known).where(*_org_filter(O.c.subject_id, prefix, org_id))
        organizations = [
            VolunteerFigures(org, name, int(n), int(volunteers), int(activities))
            for org, name, n, volunteers, activities, _ in conn.execute(query)
        ]
        return VolunteerReport(year, end, organizations)

    def volunteers_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[VolunteerReport]:
        """``volunteers(region=code)`` for every code of ``areas`` at once (issue #6, P4): one query,
        each organisation's row given to the areas of its region code (R11.3)."""
        start, end = year_period(year, as_of)
        reports = [VolunteerReport(year, end, []) for _ in areas.codes]
        query = _volunteers_query(start, end, known).where(*areas.condition(O.c.region_code))
        for org, name, n, volunteers, activities, code in conn.execute(query):
            for i in areas.of(code):
                reports[i].organizations.append(
                    VolunteerFigures(org, name, int(n), int(volunteers), int(activities))
                )
        return reports

    def volunteer_tallies_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[VolunteerTallies]:
        """``VolunteerTallies.of(volunteers_by_area(...)[i])`` counted by the database (issue #6, P4): a
        row per region code instead of one per organisation (R11.3). The 80% share is compared in
        integers (4 × members ≤ 5 × volunteers), which is what comparing the quotient with 0.80 gives
        for any count of members below 10^15 (a quotient off 0.8 is off by 1/(5 × members) at least;
        tests/projections/test_activities.py checks up to a million)."""
        start, end = year_period(year, as_of)
        tallies = [VolunteerTallies(year, end, 0, Tally(), Tally()) for _ in areas.codes]
        prefixes = self._count_prefixes(conn, areas, year, end, known)
        if prefixes is not None:
            _volunteers_from_counts(conn, tallies, prefixes, end)
            return tallies
        share_num, share_den = Fraction(str(VOLUNTEER_MIN_SHARE)).as_integer_ratio()
        within = areas.condition(O.c.region_code)
        v = _volunteers_query(start, end, known).where(*within).order_by(None).subquery()
        with_members = v.c.members > 0
        query = select(
            v.c.region_code,
            func.count(),
            func.count().filter(with_members),
            func.count().filter(with_members, v.c.volunteers * share_den >= v.c.members * share_num),
            func.count().filter(v.c.activities >= VOLUNTEER_MIN_ACTIVITIES_PER_YEAR),
        ).group_by(v.c.region_code)
        for code, organizations, with_any, meeting_share, meeting_activities in conn.execute(query):
            for i in areas.of(code):
                t = tallies[i]
                t.organizations += organizations
                t.meeting_share.total += with_any
                t.meeting_share.compliant += meeting_share
                t.meeting_activities.total += organizations
                t.meeting_activities.compliant += meeting_activities
        return tallies


def _volunteers_from_counts(
    conn: Connection, tallies: list[VolunteerTallies], prefixes: list[str], end: date
) -> None:
    """``volunteer_tallies_by_area`` from the pre-aggregated counts (family ``V``, R11.3): a few rows
    per area and statistic whatever the number of organisations (issue #6, P4)."""
    for indices, statistic, _, n in coverage_counts.sums_by_area(
        conn, coverage_counts.VOLUNTEERS, end, prefixes
    ):
        for i in indices:
            t = tallies[i]
            if statistic == coverage_counts.ORGANIZATIONS:
                t.organizations += n
                t.meeting_activities.total += n
            elif statistic == coverage_counts.WITH_MEMBERS:
                t.meeting_share.total += n
            elif statistic == coverage_counts.MEETING_SHARE:
                t.meeting_share.compliant += n
            elif statistic == coverage_counts.MEETING_ACTIVITIES:
                t.meeting_activities.compliant += n


def _themed_tallies_from_counts(conn: Connection, areas: int, prefixes: list[str], end: date) -> list[Tally]:
    """The themed-day tallies of ``compliance_tallies_by_area`` from the pre-aggregated counts (family
    ``R``, R10): the organisations counted, less those that missed a month; an organisation that holds
    no themed party day from a year on has missed January from its last day (issue #6, P4)."""
    themed = [Tally() for _ in range(areas)]
    january_over = end >= date(end.year, 1, 31)
    for indices, statistic, _, n in coverage_counts.sums_by_area(
        conn, coverage_counts.THEMED_DAYS, end, prefixes
    ):
        counted = statistic == coverage_counts.COUNTED
        missed = statistic == coverage_counts.MISSED or (
            statistic == coverage_counts.MISSING_FROM_JANUARY and january_over
        )
        for i in indices:
            themed[i].total += n if counted else 0
            themed[i].compliant += n if counted else -n if missed else 0
    return themed


def _volunteers_query(start: date, end: date, known: int) -> Select[Any]:
    """R11.3: the organisations not dissolved on the period end, with their members present then, how
    many of them volunteered in the period and the volunteer-service activities they held, in
    region, name and id order."""
    in_period = and_(
        P.c.activity_type == ActivityType.VOLUNTEER_SERVICE.value,
        P.c.held_on >= start,
        P.c.held_on <= end,
        visible(P, end, known),
    )
    volunteered = select(P.c.member_id).where(in_period).distinct().subquery()  # joined once (P4)
    members = (
        select(
            M.c.home_org_id,
            func.count().label("members"),
            func.count(volunteered.c.member_id).label("volunteers"),
        )
        .select_from(M.outerjoin(volunteered, volunteered.c.member_id == M.c.subject_id))
        .where(M.c.present.is_(True), visible(M, end, known))
        .group_by(M.c.home_org_id)
        .subquery()
    )
    held = (
        select(A.c.org_id, func.count().label("activities"))
        .where(
            A.c.activity_type == ActivityType.VOLUNTEER_SERVICE.value,
            A.c.held_on >= start,
            A.c.held_on <= end,
            visible(A, end, known),
        )
        .group_by(A.c.org_id)
        .subquery()
    )
    return (
        select(
            O.c.subject_id,
            O.c.name,
            func.coalesce(members.c.members, 0).label("members"),
            func.coalesce(members.c.volunteers, 0).label("volunteers"),
            func.coalesce(held.c.activities, 0).label("activities"),
            O.c.region_code,
        )
        .select_from(
            O.outerjoin(members, members.c.home_org_id == O.c.subject_id).outerjoin(
                held, held.c.org_id == O.c.subject_id
            )
        )
        .where(visible(O, end, known), O.c.dissolved.is_(False))
        .order_by(O.c.region_code, O.c.name, O.c.subject_id)
    )


def _organization_runs(start: date, end: date, known: int) -> Select[Any]:
    """The organisation rows (not dissolved) that held on some day of the period, by start date."""
    return (
        select(O.c.subject_id, O.c.valid_from, O.c.valid_to, O.c.name, O.c.kind, O.c.region_code)
        .where(_during(O, start, end, known), O.c.dissolved.is_(False))
        .order_by(O.c.valid_from)
    )


def _themed_days_held(
    conn: Connection, start: date, end: date, known: int, organizations: ColumnElement[bool]
) -> dict[UUID, list[date]]:
    """The days of the period with a themed party day, per organisation meeting ``organizations``."""
    held: dict[UUID, list[date]] = defaultdict(list)
    days = select(A.c.org_id, A.c.held_on).where(
        A.c.activity_type == ActivityType.THEMED_PARTY_DAY.value,
        A.c.held_on >= start,
        A.c.held_on <= end,
        visible(A, end, known),
        organizations,
    )
    for org, held_on in conn.execute(days).all():
        held[org].append(held_on)
    return held


def _themed_compliance(
    year: int,
    end: date,
    runs: dict[UUID, list[tuple[date, date | None]]],
    latest: dict[UUID, tuple[str, str, str]],
    held: dict[UUID, list[date]],
    months: dict[tuple[UUID, tuple[tuple[date, date | None], ...]], PeriodCompliance] | None = None,
) -> list[ThemedDayCompliance]:
    """``months``: the compliance already worked out for an organisation and its runs in another area
    of the same report (the parent's and the child's are the same; worked out once, issue #6 P4)."""
    months = {} if months is None else months
    result = []
    for org, org_runs in runs.items():
        key = (org, tuple(org_runs))
        if key not in months:
            months[key] = period_compliance(year, end, org_runs, held.get(org, []))
        result.append(ThemedDayCompliance(org, *latest[org], months[key]))
    return sorted(result, key=lambda r: (r.region_code, r.name, r.org_id))  # UUIDs order as their text


def _org_region(column: Any, end: Day, known: Position) -> Select[Any]:
    return select(O.c.region_code).where(O.c.subject_id == column, visible(O, end, known))


def _pairing_in_region(end: date, known: int, within: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Pairings with either organisation in the region (``within``: conditions on its region code)."""
    return or_(
        exists(_org_region(PR.c.lead_org_id, end, known).where(*within)),
        exists(_org_region(PR.c.partner_org_id, end, known).where(*within)),
    )


def _ran(start: Day, end: Day, known: Position) -> list[ColumnElement[bool]]:
    """The pairings that ran in the period, as known at the position."""
    return [
        visible(PR, end, known),
        PR.c.started_on <= end,
        or_(PR.c.ended_on.is_(None), PR.c.ended_on > start),
    ]


def _pairings_query(start: date, end: date, known: int) -> Select[Any]:
    """The pairings that ran in the period, with the lead organisation's kind."""
    lead_kind = (
        select(O.c.kind)
        .where(O.c.subject_id == PR.c.lead_org_id, visible(O, end, known))
        .scalar_subquery()
        .label("lead_kind")
    )
    return select(PR, lead_kind).where(*_ran(start, end, known)).order_by(PR.c.started_on, PR.c.subject_id)


def _area_pairings_query(start: Day, end: Day, known: Position, areas: Areas) -> Select[Any]:
    """``_pairings_query`` with both regions, of the pairings with either organisation in one of the
    areas (R10): the lead organisation's row on the period end joined (an outer join: without a row
    there it has no kind or region, as a subquery for it found none), the partner's region read by a
    subquery, and the pairings filtered by both regions.

    How PostgreSQL plans it (issue #6, P4): the lead's region is a column with statistics, so the
    planner knows how many pairings the areas hold, and reads each lead's row by its index (a few
    hundred station and agency branches: it caches them); the partner's subquery is one index probe
    per pairing. An ``EXISTS`` per organisation (``_pairing_in_region``) was hashed over every
    organisation row of the areas: 58-71 ms for the statement with the scale-0.1 store's 720 pairings
    among ten times its organisations (about scale 1.0's 94,000), 16-19 ms this way. A filter on both
    regions' subqueries left the planner guessing 1% of the pairings, and it then probed the station
    visits once per pairing (200 ms)."""
    lead = O.alias("lead")
    partner = _org_region(PR.c.partner_org_id, end, known).scalar_subquery()
    within = [*areas.condition(lead.c.region_code), *areas.condition(partner)]
    joined = PR.outerjoin(lead, and_(lead.c.subject_id == PR.c.lead_org_id, visible(lead, end, known)))
    return (
        select(
            PR,
            lead.c.kind.label("lead_kind"),
            lead.c.region_code.label("lead_region"),
            partner.label("partner_region"),
        )
        .select_from(joined)
        .where(*_ran(start, end, known), *([or_(*within)] if within else []))
        .order_by(PR.c.started_on, PR.c.subject_id)
    )


STATION_PAIRING = (PairingKind.BRANCH_SMALL_PRIVATE.value, OrgKind.STATION_BRANCH.value)
"""The pairing's kind and its lead organisation's kind of a station branch's pairing with a 小个专
organisation: due a visit a month (R10). Read by the lists (``_is_station_pairing``) and the counted
tallies (``_pairing_tallies_query``)."""


def _is_station_pairing(pairing: Any) -> bool:
    """A station branch's pairing with a 小个专 organisation (``STATION_PAIRING``)."""
    return (pairing.kind, pairing.lead_kind) == STATION_PAIRING


def _station_pairings(pairings: list[Any]) -> list[Any]:
    return [p for p in pairings if _is_station_pairing(p)]


def _pairing_days(
    conn: Connection, start: date, end: date, known: int, pairings: list[Any]
) -> tuple[dict[UUID, list[date]], dict[tuple[UUID, UUID], list[date]]]:
    """The days of the pairings' exchanges, and of the station branches' visits (R10)."""
    exchange_days: dict[UUID, list[date]] = defaultdict(list)
    exchanges = select(A.c.pairing_id, A.c.held_on).where(
        A.c.activity_type == ActivityType.PAIRING_EXCHANGE.value,
        A.c.held_on >= start,
        A.c.held_on <= end,
        visible(A, end, known),
        among(conn, A.c.pairing_id, [p.subject_id for p in pairings]),
    )
    for pairing_id, held_on in conn.execute(exchanges).all():  # one fetch, not one per row
        exchange_days[pairing_id].append(held_on)

    station_pairings = _station_pairings(pairings)
    visit_days: dict[tuple[UUID, UUID], list[date]] = defaultdict(list)
    if station_pairings:
        visits = select(A.c.org_id, A.c.visited_org_id, A.c.held_on).where(
            A.c.activity_type == ActivityType.STATION_VISIT.value,
            A.c.held_on >= start,
            A.c.held_on <= end,
            visible(A, end, known),
            among(conn, A.c.org_id, {p.lead_org_id for p in station_pairings}),
        )
        for station, visited, held_on in conn.execute(visits).all():
            visit_days[(station, visited)].append(held_on)
    return exchange_days, visit_days


def _pairing_compliance(
    year: int,
    end: date,
    pairings: list[Any],
    exchange_days: dict[UUID, list[date]],
    visit_days: dict[tuple[UUID, UUID], list[date]],
) -> tuple[list[ExchangeCompliance], list[VisitCompliance]]:
    exchange_rows = []
    for p in pairings:
        run = [(p.started_on, p.ended_on)]
        days = exchange_days.get(p.subject_id, [])
        exchange_rows.append(
            ExchangeCompliance(
                p.subject_id,
                p.kind,
                p.lead_org_id,
                p.partner_org_id,
                p.started_on,
                p.ended_on,
                len(days),
                period_compliance(year, end, run, days, quarterly=True),
            )
        )
    visit_rows = []
    for p in _station_pairings(pairings):
        run = [(p.started_on, p.ended_on)]
        days = [d for d in visit_days.get((p.lead_org_id, p.partner_org_id), []) if _runs(run, d)]
        visit_rows.append(
            VisitCompliance(
                p.subject_id,
                p.lead_org_id,
                p.partner_org_id,
                len(days),
                period_compliance(year, end, run, days),
            )
        )
    return exchange_rows, visit_rows


def _pairing_tallies(
    conn: Connection, year: int, start: date, end: date, known: int, areas: Areas
) -> list[tuple[Tally, Tally]]:
    """Per area, ``Tally.of`` the quarters of its pairings' exchanges and of the months of their
    station visits, as ``_pairing_compliance`` lists them (R10), counted by one statement: the
    pairings' rows, exchanges and visits stay in the database and only the tallies come back (issue
    #6, P4: at the scale-1.0 province's 720 pairings, reading them and their 4,240 activities of the
    half year into Python was about three quarters of the report's time). A pairing counts in the area
    of either of its organisations (R10)."""
    query = _pairing_tallies_query(year, _begun(year, True, end), _begun(year, False, end), areas.codes)
    params = {"start": start, "end": end, "known": known, "day_after_end": end + _DAY}
    tallies = [(Tally(), Tally()) for _ in areas.codes]
    for lead, partner, pairings, exchanges_met, stations, visits_met in conn.execute(query, params).all():
        for i in sorted({*areas.of(lead), *areas.of(partner)}):  # in either organisation's area (R10)
            exchanges, visits = tallies[i]
            exchanges.total += pairings
            exchanges.compliant += exchanges_met
            visits.total += stations
            visits.compliant += visits_met
    return tallies


Begun = tuple[tuple[int, date, date, bool], ...]
"""The periods of a year begun by a period end: number, first day, last day, and whether it is over
(its last day is on or before the period end)."""


def _begun(year: int, quarterly: bool, end: date) -> Begun:
    return tuple(
        (n, first, last, last <= end) for n, first, last in _periods(year, quarterly) if first <= end
    )


@functools.lru_cache(maxsize=256)
def _pairing_tallies_query(year: int, quarters: Begun, months: Begun, codes: tuple[str | None, ...]) -> Any:
    """``_pairing_tallies``' statement, built once per year, begun periods and areas, with the period's
    first day and end, the position and the day after the end as bound parameters (``start``, ``end``,
    ``known``, ``day_after_end``): building it took about a third of the pairings' time in a report
    (issue #6, P4).

    It works out each pairing's periods and sums them per pair of regions: a period is missed when it
    was due, its due part is over on the period end and no activity was held in it, as
    ``period_compliance`` says for the pairing's one run."""
    start, end = bindparam("start", type_=Date), bindparam("end", type_=Date)
    known = bindparam("known", type_=BigInteger)
    p = _area_pairings_query(start, end, known, Areas(codes)).order_by(None).cte("p")

    def held(periods: Begun, *during: ColumnElement[bool]) -> list[Any]:
        """A column per period: 1 when an activity was held in it (and ``during``), NULL without any."""
        return [
            func.max(case((and_(A.c.held_on >= first, A.c.held_on <= last, *during), 1), else_=0)).label(
                f"h{n}"
            )
            for n, first, last, _ in periods
        ]

    def of_type(activity_type: ActivityType) -> list[ColumnElement[bool]]:
        return [
            A.c.activity_type == activity_type.value,
            A.c.held_on >= start,
            A.c.held_on <= end,
            visible(A, end, known),
        ]

    exchanged = (
        select(A.c.pairing_id, *held(quarters))
        .where(*of_type(ActivityType.PAIRING_EXCHANGE), A.c.pairing_id.in_(select(p.c.subject_id)))
        .group_by(A.c.pairing_id)
        .subquery("exchanged")
    )
    # only the visits on the days the pairing ran (``_pairing_compliance``): tested in the sums, not in
    # the join, where PostgreSQL took the pairing's first day for an index bound and read the half
    # year's visits of every station once per pairing (issue #6, P4)
    ran = (A.c.held_on >= p.c.started_on, or_(p.c.ended_on.is_(None), A.c.held_on < p.c.ended_on))
    visited = (
        select(p.c.subject_id, *held(months, *ran))
        .join_from(p, A, and_(A.c.org_id == p.c.lead_org_id, A.c.visited_org_id == p.c.partner_org_id))
        .where(*of_type(ActivityType.STATION_VISIT))
        .group_by(p.c.subject_id)
        .subquery("visited")
    )
    day_after_end = bindparam("day_after_end", type_=Date)

    def compliant(periods: Begun, held_in: Any) -> ColumnElement[bool]:
        """No period missed: due (the run covers one of its days up to ``end``), over (its due part
        ends by ``end``) and not held."""
        missed = [
            and_(
                p.c.started_on <= last,
                p.c.started_on <= end,
                or_(p.c.ended_on.is_(None), and_(p.c.ended_on > first, p.c.ended_on > p.c.started_on)),
                true() if over else and_(p.c.ended_on.is_not(None), p.c.ended_on <= day_after_end),
                func.coalesce(held_in.c[f"h{n}"], 0) == 0,
            )
            for n, first, last, over in periods
        ]
        return not_(or_(*missed)) if missed else true()

    station = and_(p.c.kind == STATION_PAIRING[0], p.c.lead_kind == STATION_PAIRING[1])
    return (  # each pairing's, summed per pair of regions: a few hundred rows for a province
        select(
            p.c.lead_region,
            p.c.partner_region,
            func.count(),
            func.sum(case((compliant(quarters, exchanged), 1), else_=0)),
            func.sum(case((station, 1), else_=0)),
            func.sum(case((and_(station, compliant(months, visited)), 1), else_=0)),
        )
        .select_from(
            p.outerjoin(exchanged, exchanged.c.pairing_id == p.c.subject_id).outerjoin(
                visited, visited.c.subject_id == p.c.subject_id
            )
        )
        .group_by(p.c.lead_region, p.c.partner_region)
    )


def _runs(runs: list[tuple[date, date | None]], day: date) -> bool:
    return any(start <= day and (to is None or day < to) for start, to in runs)

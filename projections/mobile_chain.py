"""Mobile-member two-way feedback chain (流动党员双向反馈, R6): the handler that feeds it and the view.

One bitemporal row per round (one member, one year, ``domain.mobile_round``) with the step reached,
the date of each step (R6.2: registration, identity confirmed, activities filed, feedback issued,
receipt returned), the business-place and relationship organisations and how many activities were
filed. The region of a round is the region of its business-place organisation (where the member
does business and is looked after), read from ``coverage_organizations`` at the same business date
and position.

A round is *overdue* on a day when its receipt has not come back and the day is after 30 November
of its year (R6.3); that is derived at query time from the day asked about, never stored.

Assumptions, for officers reading the figures:
- The date of the activity-filing step is the first filing; later filings only add activities.
- The totals describe the year and region asked for; the ``step`` and ``overdue`` filters narrow
  the list of rounds only, so the totals stay comparable while an officer drills down.
- The completion rate is completed ÷ registered rounds of the year as of the day asked about; no
  source gives a target share, the target is the R6.3 deadline itself (returned beside the figures),
  so ``completed_by_deadline`` counts the rounds whose receipt came back by 30 November.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, false, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from domain.mobile_round import MobileRound, deadline
from domain.personal import ERASED, erasures
from domain.values import MobileStep, region_prefix
from projections import coverage_counts
from projections.coverage import Areas
from projections.members import scrub_personal_data
from projections.tables import coverage_organizations as O
from projections.tables import mobile_chain_rounds as R
from projections.temporal import ALL_KNOWN, TemporalProjection, visible

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

STEP_DATE_COLUMNS = {
    MobileStep.REGISTERED: "registered_on",
    MobileStep.IDENTITY_CONFIRMED: "identity_confirmed_on",
    MobileStep.ACTIVITIES_FILED: "activities_filed_on",
    MobileStep.FEEDBACK_ISSUED: "feedback_issued_on",
    MobileStep.RECEIPT_RETURNED: "receipt_returned_on",
}


class MobileChainProjection(TemporalProjection):
    """Feeds ``mobile_chain_rounds`` from MobileRound state."""

    name = "mobile_chain"
    replay_weight = 8  # its share of a rebuild's time, switch included (issue #6 P3: BENCHMARKS)
    tables: tuple[Table, ...] = (R,)
    aggregates = (MobileRound,)

    def rows(self, aggregate: Any) -> dict[Table, list[dict[str, Any]]]:
        if not isinstance(aggregate, MobileRound):
            return {}
        reached = aggregate.reached
        return {
            R: [
                {
                    "member_id": aggregate.member_id,
                    "member_name": aggregate.member_name,
                    "year": aggregate.year,
                    "business_org_id": aggregate.business_org_id,
                    "business_org_name": aggregate.business_org_name,
                    "relationship_org_id": aggregate.relationship_org_id,
                    "relationship_org_name": aggregate.relationship_org_name,
                    "step": aggregate.step,
                    "activities_filed": len(aggregate.activities),
                    **{column: reached.get(step.value) for step, column in STEP_DATE_COLUMNS.items()},
                }
            ]
        }

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        """As every temporal projection; then, for each member the batch erases (issue #7), scrub the
        member's name from all rounds of the member and drop the decrypted histories in memory."""
        super().handle_batch(conn, batch)
        erased = erasures(event for event, _ in batch)
        if erased:
            scrub_personal_data(self.history)
            conn.execute(update(R).where(R.c.member_id.in_(erased)).values(member_name=ERASED))


@dataclass
class ChainRound:
    round_id: UUID
    member_id: UUID
    member_name: str
    year: int
    business_org_id: UUID
    business_org_name: str
    business_region_code: str | None
    relationship_org_id: UUID | None
    relationship_org_name: str
    step: str
    step_dates: dict[str, date | None]
    """The date each step was reached (R6.2), None for the steps not reached."""
    activities_filed: int
    deadline: date
    complete: bool
    overdue: bool
    """R6.3: not complete and the day asked about is after 30 November of the round's year."""


@dataclass
class ChainTotals:
    rounds: int = 0
    completed: int = 0
    completed_by_deadline: int = 0
    overdue: int = 0
    by_step: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in MobileStep})

    @property
    def completion_rate(self) -> float | None:
        """Completed ÷ registered rounds."""
        return self.completed / self.rounds if self.rounds else None


@dataclass
class ChainReport:
    year: int
    deadline: date
    totals: ChainTotals
    rounds: list[ChainRound]
    next_cursor: UUID | None
    """Pass as ``after`` for the next page of rounds; None on the last page."""


class MobileChainView:
    """Queries over the mobile-member chain table; ``counts``: the half-year report's totals from the
    coverage counts (family ``C``, ``projections.coverage_counts``) when they answer."""

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
        step: str | None = None,
        overdue: bool | None = None,
        after: UUID | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ChainReport:
        """The rounds of ``year`` (one page, in round-id order) and their totals, as on ``as_of``
        according to the events up to position ``known``."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        due = deadline(year)
        late = as_of > due
        joined = R.outerjoin(O, and_(O.c.subject_id == R.c.business_org_id, visible(O, as_of, known)))
        scope: list[ColumnElement[bool]] = [visible(R, as_of, known), R.c.year == year]
        if region:
            scope.append(O.c.region_code.startswith(region_prefix(region)))

        totals = ChainTotals()
        complete = R.c.step == MobileStep.RECEIPT_RETURNED.value
        by_step = select(R.c.step, func.count()).select_from(joined).where(*scope).group_by(R.c.step)
        for value, count in conn.execute(by_step):
            totals.by_step[value] = count
        totals.rounds = sum(totals.by_step.values())
        totals.completed = totals.by_step[MobileStep.RECEIPT_RETURNED.value]
        on_time = (
            select(func.count()).select_from(joined).where(*scope, complete, R.c.receipt_returned_on <= due)
        )
        totals.completed_by_deadline = conn.scalar(on_time) or 0
        totals.overdue = totals.rounds - totals.completed if late else 0

        listed = list(scope)
        if step is not None:
            listed.append(R.c.step == step)
        if overdue is not None:
            if overdue and not late:
                listed.append(false())  # nothing is overdue before the deadline
            elif overdue:
                listed.append(~complete)
            elif late:
                listed.append(complete)
        if after is not None:
            listed.append(R.c.subject_id > after)
        query = (
            select(R, O.c.region_code.label("business_region_code"))
            .select_from(joined)
            .where(*listed)
            .order_by(R.c.subject_id)
            .limit(limit + 1)
        )
        rows = conn.execute(query).all()
        more = len(rows) > limit
        rounds = [self._round(row, due, as_of) for row in rows[:limit]]
        return ChainReport(year, due, totals, rounds, rounds[-1].round_id if more else None)

    def totals_by_area(
        self, conn: Connection, areas: Areas, *, year: int, as_of: date = date.max, known: int = ALL_KNOWN
    ) -> list[ChainTotals]:
        """The ``totals`` of ``report(region=code)`` for every code of ``areas`` at once (issue #6, P4):
        one query, grouped by the business-place organisation's region code and step (R6.2, R6.3); from
        the coverage counts when they answer (the year is the date's, the areas regions, the position
        settled), a few rows per key whatever the number of rounds."""
        due = deadline(year)
        result = [ChainTotals() for _ in areas.codes]
        prefixes = (
            coverage_counts.region_prefixes(conn, areas.prefixes, known)
            if self.counts and year == as_of.year
            else None
        )
        if prefixes is not None:
            for indices, year_step, by_deadline, count in coverage_counts.sums_by_area(
                conn, coverage_counts.ROUNDS, as_of, prefixes
            ):
                of_year, _, value = year_step.partition(":")
                if of_year == str(year):
                    for i in indices:
                        _add_step(result[i], value, count, count if by_deadline else 0)
            return _totals(result, as_of, due)
        joined = R.outerjoin(O, and_(O.c.subject_id == R.c.business_org_id, visible(O, as_of, known)))
        query = (
            select(
                O.c.region_code,
                R.c.step,
                func.count(),
                func.count().filter(R.c.receipt_returned_on <= due),
            )
            .select_from(joined)
            .where(visible(R, as_of, known), R.c.year == year, *areas.condition(O.c.region_code))
            .group_by(O.c.region_code, R.c.step)
        )
        for code, value, count, returned_by_deadline in conn.execute(query):
            for i in areas.of(code):
                _add_step(result[i], value, count, returned_by_deadline)
        return _totals(result, as_of, due)

    @staticmethod
    def _round(row: Any, due: date, as_of: date) -> ChainRound:
        complete = row.step == MobileStep.RECEIPT_RETURNED.value
        return ChainRound(
            round_id=row.subject_id,
            member_id=row.member_id,
            member_name=row.member_name,
            year=row.year,
            business_org_id=row.business_org_id,
            business_org_name=row.business_org_name,
            business_region_code=row.business_region_code,
            relationship_org_id=row.relationship_org_id,
            relationship_org_name=row.relationship_org_name,
            step=row.step,
            step_dates={step.value: getattr(row, column) for step, column in STEP_DATE_COLUMNS.items()},
            activities_filed=row.activities_filed,
            deadline=due,
            complete=complete,
            overdue=not complete and as_of > due,
        )


def _add_step(totals: ChainTotals, step: str, count: int, returned_by_deadline: int) -> None:
    """R6.2: ``count`` rounds at ``step``; R6.3: of them, those whose receipt came back by the deadline."""
    totals.by_step[step] = totals.by_step.get(step, 0) + count
    if step == MobileStep.RECEIPT_RETURNED.value:
        totals.completed_by_deadline += returned_by_deadline


def _totals(result: list[ChainTotals], as_of: date, due: date) -> list[ChainTotals]:
    """The totals of each area from its rounds by step (R6.3: overdue after the deadline)."""
    for totals in result:
        totals.rounds = sum(totals.by_step.values())
        totals.completed = totals.by_step[MobileStep.RECEIPT_RETURNED.value]
        totals.overdue = totals.rounds - totals.completed if as_of > due else 0
    return result

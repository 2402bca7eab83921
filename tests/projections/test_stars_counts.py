"""The pre-aggregated stars counts (issue #6, P4; ``projections.stars_counts``) answer the half-year
report's strongest-branch (R11.2) and station-star (R9.1) figures exactly as the rows do, as of any
date of its year, after random histories of branches, ratings (disqualified, awarded for one or two
years, revoked), station stars and dissolutions applied in batches of any size, on both backends; a
store that predates them is filled alike; a position with stars rows recorded after it, or another
year than the date's, is answered from the rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.envelope import CommandContext
from domain.values import OrgKind
from infra.store import Container
from projections import coverage_counts, stars_counts
from projections.coverage import Areas
from projections.stars import StarsView
from projections.tables import stars_counts as SC
from projections.tables import stars_entity_counts as SEC
from tests import factories as f
from tests.projections.test_coverage_counts import assert_batch_holds_lock, assert_filled_alike, some_of
from tests.projections.test_temporal import STEPS, rate_branch, run_history

FROM_COUNTS, FROM_ROWS = StarsView(counts=True), StarsView(counts=False)
AREAS = Areas(["330000", "330400", "330402", "330411", "330100"])


def _dates(container: Container, pick: random.Random) -> list[date]:
    """Some of the days a counted span starts or ends and the days before them, and year ends."""
    with container.engine.connect() as conn:
        days = {day for t in (SC, SEC) for day in conn.scalars(select(t.c.period).where(t.c.level == "D"))}
    near = sorted({d + timedelta(days=k) for d in days for k in (-1, 0)} - {date.max})
    return [*some_of(pick, near, 10), date(2024, 12, 31), date(2025, 1, 1), date(2027, 6, 30)]


def _assert_counts_answer_as_rows(container: Container, known: int, as_of: date) -> None:
    with container.engine.connect() as conn:
        asked = {"year": as_of.year, "as_of": as_of, "known": known}
        from_counts = FROM_COUNTS.report_by_area(conn, AREAS, **asked)
        assert from_counts == FROM_ROWS.report_by_area(conn, AREAS, **asked), asked


STARS_STEP = st.one_of(
    *(
        STEPS[kind]
        for kind in (
            *("branch", "branch", "rating", "rating", "rating", "rating", "star", "star"),
            *("dissolve", "dissolve_station", "cover", "entity", "member"),
            *(
                "member",
                "pioneer",
                "pioneer",
                "pioneer_rate",
                "pioneer_rate",
                "pioneer_rate",
                "pioneer_close",
            ),
            *("entity", "xinhuo", "xinhuo", "revoke_xinhuo", "market", "market", "criterion", "criterion"),
            *("criterion", "criterion", "status", "status", "status", "move", "move"),
        )
    )
)
"""Histories of branches and their ratings and stars: new agency branches, ratings of any
organisation (the two branch associations, the station branch, the branches and covered
organisations), station stars, dissolutions (the station branch's too)."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STARS_STEP, min_size=4, max_size=24), batch=st.integers(1, 6), pick=st.randoms())
def test_R11_2_stars_counts_answer_as_the_rows_after_random_histories(
    container: Container, steps: list[tuple[Any, ...]], batch: int, pick: random.Random
) -> None:
    """One store for every example (their histories add up); checked after each, in small batches so
    that an organisation and its ratings fall in different ones."""
    run_history(container.ledger, steps)
    container.runner.batch_size = batch
    container.runner.catch_up()
    head = container.runner.head()
    for as_of in _dates(container, pick):
        _assert_counts_answer_as_rows(container, head, as_of)

    # a store whose stars rows predate the counts: filled at start-up, to the same rows
    assert_filled_alike(container, SC, SEC)


def test_R11_2_the_counts_answer_the_date_s_year_as_known_now_only(
    container: Container, ctx: CommandContext
) -> None:
    """An award counted for 2025 and 2026 (R11.2), a station branch with four stars (R9.1): the report
    as of a day of 2026 reads the counts; asked about 2025 on that day, or as known before the award
    was recorded, it reads the rows, and both answers equal the rows'."""
    ledger = container.ledger
    station = f.establish(ledger, ctx, [], name="城西所党支部", kind=OrgKind.STATION_BRANCH)
    branch = f.establish(ledger, ctx, [], name="机关第一党支部", kind=OrgKind.AGENCY_BRANCH)
    ledger.award_station_star(
        ctx, effective_on=date(2025, 3, 1), org_id=station, level=4, awarding_body="市局"
    )
    container.runner.catch_up()
    before_award = container.runner.head()
    rate_branch(ledger, ctx, branch, date(2025, 11, 15), 3)
    container.runner.catch_up()
    head = container.runner.head()
    with container.engine.connect() as conn:
        read: list[str] = []
        real = coverage_counts.sums_by_area

        def sums_by_area(*args: Any, **kwargs: Any) -> Any:
            read.append(args[1])
            return real(*args, **kwargs)

        with patch.object(coverage_counts, "sums_by_area", sums_by_area):
            on = date(2026, 6, 30)
            now = FROM_COUNTS.report_by_area(conn, AREAS, year=2026, as_of=on, known=head)
            families = [stars_counts.ORGANIZATIONS, stars_counts.BRANCHES, stars_counts.ENTITIES]
            assert read == families  # each family read once for the five figures
            assert (now[0].strongest_branch.branches, now[0].strongest_branch.awarded) == (2, 1)
            assert now[0].station_stars.by_level[4] == 1
            for asked in ({"year": 2025, "known": head}, {"year": 2026, "known": before_award}):
                answer = FROM_COUNTS.report_by_area(conn, AREAS, as_of=on, **asked)
                assert answer == FROM_ROWS.report_by_area(conn, AREAS, as_of=on, **asked), asked
            # another year's report reads the counts for its figures without a year (薪火, markets,
            # R9.2 and R4, as of the date); a position with rows recorded after it reads none
            assert read == [*families, stars_counts.ORGANIZATIONS, stars_counts.ENTITIES]
            earlier = FROM_COUNTS.report_by_area(conn, AREAS, year=2026, as_of=on, known=before_award)
            assert earlier[0].strongest_branch.awarded == 0


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_stars_batch_holds_the_counts_lock_until_it_commits(
    container: Container, ctx: CommandContext
) -> None:
    """An organisation and its rating applied by two workers at once would each recount without the
    other's rows: the stars handler holds its own transaction-level advisory lock to its commit."""
    f.establish(container.ledger, ctx, [], kind=OrgKind.AGENCY_BRANCH)
    assert_batch_holds_lock(container, "stars", stars_counts.LOCK)

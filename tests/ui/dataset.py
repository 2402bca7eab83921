"""The dashboard tests' data: the demo city (``infra/demo.py``: coverage, members, the mobile-member
chain of 2025, star stations, standardised markets) and, on top, what the demo leaves out so that
every chart of the stars page has figures: 薪火 demonstrations (R9.2), strongest-branch awards
(R11.2) and a pioneer round (R5). Everything goes through the ledger's commands."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from domain.envelope import CommandContext
from domain.values import (
    EvaluationKind,
    FocusIndustry,
    OrgKind,
    OrgRating,
    PioneerStep,
    RatingLevel,
    SocialResult,
)
from infra.demo import load_demo
from infra.store import Container
from projections.tables import coverage_members as M
from projections.tables import coverage_organizations as O
from projections.temporal import ALL_KNOWN, visible

BUREAU = "嘉兴市市场监督管理局"
FIRST_RECORD = date(2018, 7, 1)
"""No entity of the demo is registered before this day (its dates reach back 2000 days from 2024)."""


def load(container: Container) -> None:
    """Record the demo and the extras, then bring the projections up to date."""
    ledger = container.ledger
    load_demo(ledger)
    container.runner.catch_up()
    ctx = CommandContext.new("市局-数据管理员")
    now = visible(O, date.max, ALL_KNOWN)
    with container.engine.connect() as conn:
        stations = list(conn.scalars(select(O.c.subject_id).where(now, O.c.kind == OrgKind.STATION_BRANCH)))
        markets = list(conn.scalars(select(O.c.subject_id).where(now, O.c.kind == OrgKind.MARKET)))
        members: dict[UUID, list[tuple[UUID, str]]] = {}
        for member_id, home, category in conn.execute(
            select(M.c.subject_id, M.c.home_org_id, M.c.category).where(visible(M, date.max, ALL_KNOWN))
        ):
            members.setdefault(home, []).append((member_id, category))

    # 薪火 (R9.2): three demonstration organisations and two member households over two years.
    for n, org_id in enumerate(sorted(markets)[:3]):
        ledger.award_xinhuo_demonstration(
            ctx,
            effective_on=date(2024 + (n > 0), 7, 1),
            awarding_body=BUREAU,
            org_id=org_id,
            focus_industry=FocusIndustry.COMMODITY_MARKETS,
        )
    households = [m for m, _ in members[sorted(markets)[3]]][:2]
    for member_id in households:
        entity_id = ledger.get_member(member_id).entity_id
        ledger.award_xinhuo_demonstration(
            ctx, effective_on=date(2025, 7, 1), awarding_body=BUREAU, member_id=member_id, entity_id=entity_id
        )

    # Strongest branches (R11.2): one station branch rated in 2024, two more in 2025.
    for n, org_id in enumerate(sorted(stations)[:3]):
        _award_strongest(container, ctx, org_id, 2024 if n == 0 else 2025)

    # Pioneer index (R5): one market organisation's round of 2025, its full members rated 1 to 5 stars.
    org_id = max(markets, key=lambda o: len(members.get(o, [])))
    round_id = ledger.open_pioneer_round(
        ctx, effective_on=date(2025, 10, 1), org_id=org_id, year=2025, round_date=date(2025, 11, 15)
    ).id
    for n, (member_id, category) in enumerate(members[org_id]):
        ledger.enrol_pioneer_member(ctx, round_id, effective_on=date(2025, 10, 1), member_id=member_id)
        if category != "full":
            continue
        for step, day in zip(PioneerStep, (10, 20, 30, 40), strict=True):
            on = date(2025, 10, 1) + timedelta(days=day)
            ledger.record_pioneer_step(ctx, round_id, effective_on=on, member_id=member_id, step=step)
        ledger.rate_pioneer_member(
            ctx, round_id, effective_on=date(2025, 11, 16), member_id=member_id, stars=5 - n % 5
        )
    container.runner.catch_up()


def _award_strongest(container: Container, ctx: CommandContext, org_id: UUID, year: int) -> None:
    """Self-creation, the four evaluations (R11.4), the agency committee's pass and the award (R11.6)."""
    ledger = container.ledger
    on = date(year, 12, 1)
    rating_id = ledger.start_strongest_branch_rating(
        ctx, effective_on=date(year, 3, 1), org_id=org_id, year=year
    ).id

    def evaluate(kind: EvaluationKind, **fields: Any) -> None:
        ledger.record_strongest_branch_evaluation(ctx, rating_id, effective_on=on, kind=kind, **fields)

    evaluate(EvaluationKind.ORGANIZATION, rating=OrgRating.EXCELLENT)
    evaluate(EvaluationKind.MEMBERS, participants=20, excellent=19)
    evaluate(EvaluationKind.MASS, respondents=50, dissatisfied=1, verified=False)
    evaluate(EvaluationKind.SOCIAL, result=SocialResult.CLEAN)
    agency = RatingLevel.AGENCY_COMMITTEE
    ledger.apply_strongest_branch(ctx, rating_id, effective_on=on, level=agency, to_body="机关党委")
    ledger.decide_strongest_branch(ctx, rating_id, effective_on=on, level=agency, passed=True)
    ledger.award_strongest_branch(ctx, rating_id, effective_on=on, start_year=year + 1, end_year=year + 3)

"""The mobile-member chain read model (R6): per member and year the step reached and its dates, what
is overdue on a day (R6.3, derived), and completion, as of a date and as known at a position."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from domain.envelope import CommandContext
from domain.values import OrgKind
from infra.store import Container
from projections.mobile_chain import MobileChainView
from tests import factories as f

VIEW = MobileChainView()
HOME = "安徽省某县某镇党委"
DEC_1 = date(2025, 12, 1)


def mobile_round(container: Container, ctx: CommandContext, branch: UUID, name: str, on: date) -> UUID:
    ledger = container.ledger
    member = f.register_member(
        ledger, ctx, [branch], name=name, affiliation="mobile", relationship_org_name=HOME
    ).id
    return ledger.register_mobile_round(
        ctx, effective_on=on, member_id=member, year=2025, business_org_id=branch
    ).id


def advance(container: Container, ctx: CommandContext, rid: UUID, steps: int, start: date) -> None:
    """Take a round through ``steps`` more steps, one a month from ``start``."""
    ledger = container.ledger
    actions: list[Callable[[date], object]] = [
        lambda on: ledger.confirm_mobile_identity(ctx, rid, effective_on=on, certificate_ref="证明"),
        lambda on: ledger.file_mobile_activities(
            ctx, rid, effective_on=on, activities=[{"on": on, "description": "主题党日"}]
        ),
        lambda on: ledger.issue_mobile_feedback(
            ctx,
            rid,
            effective_on=on,
            assessment="表现良好",
            secretary_name="王书记",
            feedback_form_ref="反馈表",
            letter_ref="函",
        ),
        lambda on: ledger.return_mobile_receipt(ctx, rid, effective_on=on, archive_ref="档案"),
    ]
    for i, action in enumerate(actions[:steps]):
        action(date(start.year, start.month + i, start.day))


def build_history(container: Container, ctx: CommandContext) -> dict[str, UUID]:
    ledger = container.ledger
    nanhu = f.establish(
        ledger, ctx, [], name="南湖分会", region_code="330402", kind=OrgKind.BRANCH_ASSOCIATION
    )
    hangzhou = f.establish(ledger, ctx, [], name="上城分会", region_code="330102")
    done = mobile_round(container, ctx, nanhu, "甲", date(2025, 3, 5))
    advance(container, ctx, done, 4, date(2025, 4, 1))  # receipt on 1 July
    feedback = mobile_round(container, ctx, nanhu, "乙", date(2025, 3, 6))
    advance(container, ctx, feedback, 3, date(2025, 5, 1))  # feedback on 1 July
    registered = mobile_round(container, ctx, hangzhou, "丙", date(2025, 4, 1))
    container.runner.catch_up()
    return {
        "nanhu": nanhu,
        "hangzhou": hangzhou,
        "done": done,
        "feedback": feedback,
        "registered": registered,
    }


def test_R6_2_step_reached_and_dates(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    with container.engine.connect() as conn:
        report = VIEW.report(conn, year=2025, as_of=date(2025, 11, 1))
        may = VIEW.report(conn, year=2025, as_of=date(2025, 5, 15))
    rounds = {r.round_id: r for r in report.rounds}
    done = rounds[ids["done"]]
    assert done.step == "receipt_returned" and done.complete and not done.overdue
    assert done.step_dates == {
        "registered": date(2025, 3, 5),
        "identity_confirmed": date(2025, 4, 1),
        "activities_filed": date(2025, 5, 1),
        "feedback_issued": date(2025, 6, 1),
        "receipt_returned": date(2025, 7, 1),
    }
    assert done.activities_filed == 1 and done.business_region_code == "330402"
    assert done.relationship_org_name == HOME and done.member_name == "甲"
    assert rounds[ids["feedback"]].step == "feedback_issued"
    assert rounds[ids["feedback"]].step_dates["receipt_returned"] is None
    assert rounds[ids["registered"]].step == "registered"
    assert report.deadline == date(2025, 11, 30)
    # as of 15 May: the steps reached by then
    in_may = {r.round_id: r.step for r in may.rounds}
    assert in_may == {
        ids["done"]: "activities_filed",
        ids["feedback"]: "identity_confirmed",
        ids["registered"]: "registered",
    }


def test_R6_3_overdue_is_derived_on_the_day_asked_about(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    with container.engine.connect() as conn:
        november = VIEW.report(conn, year=2025, as_of=date(2025, 11, 30))
        december = VIEW.report(conn, year=2025, as_of=DEC_1)
        overdue = VIEW.report(conn, year=2025, as_of=DEC_1, overdue=True)
        on_track = VIEW.report(conn, year=2025, as_of=DEC_1, overdue=False)
        none_yet = VIEW.report(conn, year=2025, as_of=date(2025, 11, 30), overdue=True)
    assert november.totals.overdue == 0 and not any(r.overdue for r in november.rounds)
    assert december.totals.overdue == 2
    assert {r.round_id for r in december.rounds if r.overdue} == {ids["feedback"], ids["registered"]}
    assert {r.round_id for r in overdue.rounds} == {ids["feedback"], ids["registered"]}
    assert [r.round_id for r in on_track.rounds] == [ids["done"]]
    assert none_yet.rounds == [] and none_yet.totals.rounds == 3


def test_totals_by_region_and_step(container: Container, ctx: CommandContext) -> None:
    build_history(container, ctx)
    with container.engine.connect() as conn:
        everywhere = VIEW.report(conn, year=2025, as_of=DEC_1)
        jiaxing = VIEW.report(conn, year=2025, as_of=DEC_1, region="330400")
        hangzhou = VIEW.report(conn, year=2025, as_of=DEC_1, region="330100")
        at_feedback = VIEW.report(conn, year=2025, as_of=DEC_1, step="feedback_issued")
        other_year = VIEW.report(conn, year=2024, as_of=DEC_1)
    totals = everywhere.totals
    assert (totals.rounds, totals.completed, totals.completed_by_deadline, totals.overdue) == (3, 1, 1, 2)
    assert totals.completion_rate == 1 / 3
    assert totals.by_step == {
        "registered": 1,
        "identity_confirmed": 0,
        "activities_filed": 0,
        "feedback_issued": 1,
        "receipt_returned": 1,
    }
    assert (jiaxing.totals.rounds, jiaxing.totals.completed) == (2, 1)
    assert jiaxing.totals.completion_rate == 0.5
    assert {r.member_name for r in jiaxing.rounds} == {"甲", "乙"}
    assert [r.member_name for r in hangzhou.rounds] == ["丙"]
    # the step filter narrows the rounds listed; the totals still describe the year and region
    assert [r.member_name for r in at_feedback.rounds] == ["乙"] and at_feedback.totals.rounds == 3
    assert other_year.totals.rounds == 0 and other_year.totals.completion_rate is None


def test_rounds_page_in_id_order(container: Container, ctx: CommandContext) -> None:
    build_history(container, ctx)
    with container.engine.connect() as conn:
        first = VIEW.report(conn, year=2025, as_of=DEC_1, limit=2)
        rest = VIEW.report(conn, year=2025, as_of=DEC_1, limit=2, after=first.next_cursor)
    assert len(first.rounds) == 2 and first.next_cursor == first.rounds[-1].round_id
    assert len(rest.rounds) == 1 and rest.next_cursor is None
    ids = [r.round_id for r in first.rounds + rest.rounds]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_R3_a_late_receipt_is_absent_as_known_before_it(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    runner = container.runner
    cut = runner.head()  # the November report was filed here
    # entered late: the receipt came back on 20 July, recorded only now
    container.ledger.return_mobile_receipt(
        ctx, ids["feedback"], effective_on=date(2025, 7, 20), archive_ref="补录"
    )
    runner.catch_up()
    with container.engine.connect() as conn:
        filed = VIEW.report(conn, year=2025, as_of=DEC_1, known=cut)
        now = VIEW.report(conn, year=2025, as_of=DEC_1)
        july = VIEW.report(conn, year=2025, as_of=date(2025, 7, 19))
    assert (filed.totals.completed, filed.totals.overdue) == (1, 2)
    assert (now.totals.completed, now.totals.overdue) == (2, 1)
    assert now.totals.completion_rate == 2 / 3
    late = next(r for r in now.rounds if r.round_id == ids["feedback"])
    assert late.step_dates["receipt_returned"] == date(2025, 7, 20)
    assert july.totals.completed == 1  # as of 19 July only the receipt of 1 July was back

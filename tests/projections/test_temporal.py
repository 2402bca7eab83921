"""Both time axes (issue #4): every figure as of a business date and as known at a moment.

- The July story: a member registered in May but entered late in July is absent from the 30 June
  report as known on 10 July, present as known now, and the July answer never changes afterwards.
- A property: for random histories with late entries and corrections, the answer at (as_of, as known
  at position P) equals a replay of only the events up to P into empty tables, read at as_of.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.values import (
    DisqualificationKind,
    EntityStatus,
    EvaluationKind,
    FocusIndustry,
    MarketScope,
    MobileStep,
    OrgRating,
    PioneerStep,
    RatingLevel,
    SocialResult,
    StandardisationCriterion,
)
from infra.settings import Settings
from infra.store import Container, build, projections_for
from projections.coverage import CoverageProjection, CoverageReport, CoverageView
from projections.runner import ProjectionRunner
from projections.tables import audit_events, metadata
from projections.temporal import ALL_KNOWN, visible
from tests import factories as f
from tests.conftest import fixed_today

JUNE_30 = date(2025, 6, 30)


def figures(report: CoverageReport) -> dict[str, Any]:
    return {
        "total": vars(report.total),
        "groups": {k: vars(v) for k, v in report.groups.items()},
        "categories": report.members_by_category,
        "affiliations": report.members_by_affiliation,
    }


def test_R3_a_late_entry_is_absent_from_the_report_as_known_before_it(container: Container) -> None:
    ledger, runner, view = container.ledger, container.runner, container.coverage
    ctx = CommandContext.new("station")
    org = f.establish(ledger, ctx, [], effective_on=date(2025, 1, 10))
    f.register_member(ledger, ctx, [org], effective_on=date(2025, 2, 1))
    runner.catch_up()
    known_on_10_july = runner.head()  # the report filed in July is "as known" here

    # late July: a member registered in May is entered; later, a correction and a transfer
    late = f.register_member(ledger, ctx, [org], effective_on=date(2025, 5, 12), name="补录党员").id
    other = f.establish(
        ledger, ctx, [], name="另一分会", region_code="330411", effective_on=date(2025, 1, 10)
    )
    ledger.transfer_member_relationship(ctx, late, effective_on=date(2025, 6, 1), to_org_id=other)
    runner.catch_up()

    with container.engine.connect() as conn:
        filed = view.report(conn, as_of=JUNE_30, known=known_on_10_july, region="330402")
        now = view.report(conn, as_of=JUNE_30, region="330402")
        now_city = view.report(conn, as_of=JUNE_30, region="330400")
        before_may = view.report(conn, as_of=date(2025, 5, 1), region="330400")
    assert filed.members == 1
    assert now.members == 1 and now_city.members == 2  # the late member moved to 330411 on 1 June
    assert before_may.members == 1

    # November: more corrections; the July answer is reproduced exactly
    ledger.correct_member(
        ctx, late, effective_on=date(2025, 5, 12), changes={"name": "补录党员甲"}, reason="核对"
    )
    f.register_member(ledger, ctx, [org], effective_on=date(2025, 3, 3))
    runner.catch_up()
    with container.engine.connect() as conn:
        again = view.report(conn, as_of=JUNE_30, known=known_on_10_july, region="330402")
        assert view.report(conn, as_of=JUNE_30, region="330402").members == 2
    assert figures(again) == figures(filed)


# --- the property ---------------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=600).map(lambda n: date(2024, 3, 1) + timedelta(days=n))
REGIONS = st.sampled_from(["330402", "330411", "330102"])
STEPS = {
    "entity": st.tuples(st.just("entity"), DAYS, REGIONS),
    "cover": st.tuples(st.just("cover"), DAYS, st.integers(0, 20)),
    "status": st.tuples(st.just("status"), DAYS, st.integers(0, 20), st.sampled_from(list(EntityStatus))),
    "move": st.tuples(st.just("move"), DAYS, st.integers(0, 20), REGIONS),
    "dissolve": st.tuples(st.just("dissolve"), DAYS, st.integers(0, 20)),
    "officer": st.tuples(st.just("officer"), DAYS, st.integers(0, 20)),
    "member": st.tuples(st.just("member"), DAYS, st.integers(0, 20)),
    "transfer": st.tuples(st.just("transfer"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "suspend": st.tuples(st.just("suspend"), DAYS, st.integers(0, 20)),
    "leave": st.tuples(st.just("leave"), DAYS, st.integers(0, 20)),
    "away": st.tuples(st.just("away"), DAYS, st.integers(0, 20)),
    "discipline": st.tuples(st.just("discipline"), DAYS, st.integers(0, 20)),
    "training": st.tuples(st.just("training"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "void": st.tuples(st.just("void"), DAYS, st.integers(0, 20)),
    "attendance": st.tuples(st.just("attendance"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "lecture": st.tuples(st.just("lecture"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "volunteer": st.tuples(st.just("volunteer"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "themed": st.tuples(st.just("themed"), DAYS, st.integers(0, 20), st.integers(0, 20)),
    "star": st.tuples(st.just("star"), DAYS, st.integers(3, 5)),
    "mobile": st.tuples(st.just("mobile"), DAYS, st.integers(0, 20)),
    "chain": st.tuples(st.just("chain"), DAYS, st.integers(0, 20), st.integers(1, 4)),
    "dissolve_station": st.tuples(st.just("dissolve_station"), DAYS),
    "branch": st.tuples(st.just("branch"), DAYS, st.sampled_from(["330402", "330411", "330102"])),
    "rating": st.tuples(st.just("rating"), DAYS, st.integers(0, 20), st.integers(0, 4)),
    "pioneer": st.tuples(st.just("pioneer"), DAYS, st.integers(0, 20), st.integers(1, 4)),
    "pioneer_rate": st.tuples(
        st.just("pioneer_rate"), DAYS, st.integers(0, 20), st.integers(0, 20), st.integers(1, 5)
    ),
    "pioneer_close": st.tuples(st.just("pioneer_close"), DAYS, st.integers(0, 20)),
    "xinhuo": st.tuples(st.just("xinhuo"), DAYS, st.integers(0, 20), st.integers(0, 7)),
    "revoke_xinhuo": st.tuples(st.just("revoke_xinhuo"), DAYS, st.integers(0, 20)),
    "market": st.tuples(st.just("market"), DAYS, st.integers(0, 20), st.integers(0, 4)),
    "criterion": st.tuples(st.just("criterion"), DAYS, st.integers(0, 20), st.integers(0, 5), st.booleans()),
}
"""Each kind of step of a random history (``run_history``), by name."""
STARS_ONLY = ("pioneer", "pioneer_rate", "pioneer_close", "xinhuo", "revoke_xinhuo", "market", "criterion")
"""Steps that change only the stars figures (``tests.projections.test_stars_counts``)."""
STEP = st.one_of(*(step for kind, step in STEPS.items() if kind not in STARS_ONLY))


def pick(items: list[Any], i: int) -> Any:
    """The ``i``-th of ``items`` round the list, or None when there are none yet."""
    return items[i % len(items)] if items else None


def run_history(ledger: Ledger, steps: list[tuple[Any, ...]]) -> None:
    ctx = CommandContext.new("prop")
    entities: list[Any] = []
    orgs = [
        f.establish(ledger, ctx, [], name="南湖分会", effective_on=date(2024, 1, 1)),
        f.establish(ledger, ctx, [], name="秀洲分会", region_code="330411", effective_on=date(2024, 1, 1)),
    ]
    members: list[Any] = []
    activities: list[Any] = []
    rounds: list[Any] = []
    pioneers: list[Any] = []  # pioneer rounds (R5)
    demonstrations: list[Any] = []  # 薪火 (R9.2)
    standardisations: list[Any] = []  # markets in standardisation (R4)
    station = f.establish(
        ledger, ctx, [], name="某市场监管所党支部", kind="station_branch", effective_on=date(2024, 1, 1)
    )
    for step in steps:
        kind, day = step[0], step[1]
        try:
            if kind == "entity":
                entities.append(f.register_entity(ledger, ctx, effective_on=day, region_code=step[2]))
            elif kind == "cover" and (e := pick(entities, step[2])):
                orgs.append(f.establish(ledger, ctx, [e], effective_on=day))
            elif kind == "status" and (e := pick(entities, step[2])):
                ledger.change_entity_status(ctx, e, effective_on=day, status=step[3])
            elif kind == "move" and (e := pick(entities, step[2])):
                ledger.correct_entity(
                    ctx, e, effective_on=day, changes={"region_code": step[3]}, reason="核对"
                )
            elif kind == "dissolve" and (o := pick(orgs[2:], step[2])):
                ledger.dissolve_organization(ctx, o, effective_on=day, reason="撤销")
            elif kind == "officer" and (e := pick(entities, step[2])):
                ledger.assign_guidance_officer(
                    ctx, orgs[step[2] % 2], effective_on=day, officer="指导员", entity_ids=[e]
                )
            elif kind == "member":
                members.append(f.register_member(ledger, ctx, [orgs[step[2] % 2]], effective_on=day).id)
            elif kind == "transfer" and (m := pick(members, step[2])):
                ledger.transfer_member_relationship(
                    ctx, m, effective_on=day, to_org_id=orgs[step[3] % len(orgs)]
                )
            elif kind == "suspend" and (m := pick(members, step[2])):
                ledger.suspend_member_business(ctx, m, effective_on=day)
            elif kind == "leave" and (m := pick(members, step[2])):
                ledger.record_member_departure(ctx, m, effective_on=day, reason="died")
            elif kind == "away" and (m := pick(members, step[2])):
                ledger.start_member_absence(ctx, m, effective_on=day, place="上海")
            elif kind == "discipline" and (m := pick(members, step[2])):
                ledger.start_disciplinary_period(ctx, m, effective_on=day, reason="警告")
            elif kind in ("training", "lecture", "volunteer", "themed"):
                # a party lecture is in no training figure (R7); a volunteer service (R11.3) and a
                # themed party day (R10) are held by any organisation, the volunteers from anywhere
                if kind == "training":
                    activity_type, participants = "training", members[step[3] % max(1, len(members)) :]
                elif kind == "lecture":
                    activity_type, participants = "party_lecture", members[: step[3] % (len(members) + 1)]
                elif kind == "volunteer":
                    activity_type, participants = (
                        "volunteer_service",
                        members[: max(1, len(members) - step[3] % 3)],
                    )
                else:
                    activity_type, participants = "themed_party_day", members[: step[3] % 3]
                held_by = (orgs[:2] if kind in ("training", "lecture") else [orgs[0], station, *orgs[1:]])[
                    step[2] % (2 if kind in ("training", "lecture") else len(orgs) + 1)
                ]
                # a themed party day a month for up to 8 months, so that some organisations comply
                for month in range(step[3] % 8 + 1 if kind == "themed" else 1):
                    activities.append(
                        ledger.hold_activity(
                            ctx,
                            effective_on=day + timedelta(days=30 * month),
                            org_id=held_by,
                            activity_type=activity_type,
                            topic="学习",
                            host="书记",
                            participant_ids=participants,
                        ).id
                    )
            elif kind == "attendance" and (a := pick(activities, step[2])):
                ledger.correct_activity_attendance(
                    ctx, a, effective_on=day, participant_ids=members[step[3] % 4 :: 3], reason="核对"
                )
            elif kind == "void" and (a := pick(activities, step[2])):
                ledger.void_activity(ctx, a, effective_on=day, reason="误录")
            elif kind == "star":
                ledger.award_station_star(
                    ctx, effective_on=day, org_id=station, level=step[2], awarding_body="市局"
                )
            elif kind == "dissolve_station":
                ledger.dissolve_organization(ctx, station, effective_on=day, reason="机构改革")
            elif kind == "branch":  # an agency branch: in the strongest-branch denominator (R11.2)
                orgs.append(
                    f.establish(ledger, ctx, [], kind="agency_branch", region_code=step[2], effective_on=day)
                )
            elif kind == "rating":
                rate_branch(ledger, ctx, [station, *orgs][step[2] % (len(orgs) + 1)], day, step[3])
            elif kind in STARS_ONLY:
                stars_step(
                    ledger,
                    ctx,
                    step,
                    [*orgs[:2], station],
                    members,
                    entities,
                    pioneers,
                    demonstrations,
                    standardisations,
                )
            elif kind == "mobile" and (m := pick(members, step[2])):
                ledger.transfer_member_relationship(
                    ctx, m, effective_on=day, to_org_name="温州市某镇党委", affiliation="mobile"
                )
                rounds.append(
                    ledger.register_mobile_round(
                        ctx, effective_on=day, member_id=m, year=day.year, business_org_id=orgs[0]
                    ).id
                )
            elif kind == "chain" and (r := pick(rounds, step[2])):
                for k in range(step[3]):  # up to four steps, 25 days apart: some receipts after 30 November
                    advance_round(ledger, ctx, r, day + timedelta(days=25 * k))
        except errors.DomainError:
            pass


def stars_step(
    ledger: Ledger,
    ctx: CommandContext,
    step: tuple[Any, ...],
    orgs: list[Any],
    members: list[Any],
    entities: list[Any],
    pioneers: list[Any],
    demonstrations: list[Any],
    standardisations: list[Any],
) -> None:
    """A step of the stars records: pioneer rounds of the two associations and the station branch,
    with members enrolled (those of other organisations are refused, R5.1), taken through the four
    steps and rated, 1 star followed up and 2 stars not, rounds closed (R5.4, R5.5);
    薪火 demonstrations of organisations and member households, revoked (R9.2, R9.3); markets enrolled
    in a scope, criteria met and lapsed (R4)."""
    kind, day = step[0], step[1]
    if kind == "pioneer":  # with members of its own registered a month before (and any others)
        org, year = orgs[step[2] % len(orgs)], day.year
        round_date = min(day, date(year, 11, 30))
        joined = day - timedelta(days=30)
        own = [f.register_member(ledger, ctx, [org], effective_on=joined).id for _ in range(step[3])]
        members += own
        rid = ledger.open_pioneer_round(
            ctx, effective_on=day, org_id=org, year=year, round_date=round_date
        ).id
        pioneers.append(rid)
        for member in members[-step[3] - 2 :]:
            with contextlib.suppress(errors.DomainError):  # another organisation's member (R5.1)
                ledger.enrol_pioneer_member(ctx, rid, effective_on=day, member_id=member)
        for k, member in enumerate(own[1:]):  # the first awaits its result
            rate_pioneer(ledger, ctx, rid, member, day, (step[2] + k) % 5 + 1)
        if step[3] % 2:  # closed the same day, unless a 2-star member's follow-ups are pending (R5.5)
            with contextlib.suppress(errors.DomainError):
                ledger.close_pioneer_round(ctx, rid, effective_on=day)
    elif kind == "pioneer_rate" and (rid := pick(pioneers, step[2])):
        enrolments = list(ledger.get_pioneer_round(rid).enrolments.values())
        if not enrolments:
            return
        enrolment = enrolments[step[3] % len(enrolments)]
        day = max(day, enrolment.enrolled_on)  # the steps follow it (R5.4)
        rate_pioneer(ledger, ctx, rid, enrolment.member_id, day, step[4])
    elif kind == "pioneer_close" and (rid := pick(pioneers, step[2])):
        ledger.close_pioneer_round(ctx, rid, effective_on=day)
    elif kind == "xinhuo":
        industry = [None, *FocusIndustry][step[3]]
        if step[2] % 2:
            subject = {"org_id": orgs[step[2] % len(orgs)]}
        elif members:
            if not entities or step[3] % 2:
                entities.append(f.register_entity(ledger, ctx, effective_on=day - timedelta(days=1)))
            subject = {"member_id": pick(members, step[2]), "entity_id": pick(entities, step[2] // 2)}
        else:
            return
        demonstrations.append(
            ledger.award_xinhuo_demonstration(
                ctx, effective_on=day, awarding_body="市局", focus_industry=industry, **subject
            ).id
        )
    elif kind == "revoke_xinhuo" and (d := pick(demonstrations, step[2])):
        ledger.revoke_xinhuo_demonstration(ctx, d, effective_on=day, reason="复核撤销")
    elif kind == "market":  # a market registered the day before, or one registered earlier
        if step[2] % 2 or not entities:
            region = ("330402", "330411", "330102")[step[2] % 3]
            entities.append(
                f.register_entity(ledger, ctx, effective_on=day - timedelta(days=1), region_code=region)
            )
        e = entities[-1] if step[2] % 2 else pick(entities, step[2])
        scope = list(MarketScope)[step[3]]
        record = ledger.enroll_market_standardisation(ctx, effective_on=day, entity_id=e, scope=scope).id
        standardisations.append(record)
        for criterion in list(StandardisationCriterion)[: step[3] + 2]:  # all six with scope 4
            meet_criterion(ledger, ctx, record, criterion, day)
    elif kind == "criterion" and (record := pick(standardisations, step[2])):
        criterion = list(StandardisationCriterion)[step[3]]
        if step[4]:
            meet_criterion(ledger, ctx, record, criterion, day)
        else:
            ledger.record_market_criterion_lapsed(
                ctx, record, effective_on=day, criterion=criterion, reason="复核"
            )


def rate_pioneer(ledger: Ledger, ctx: CommandContext, rid: Any, member: Any, day: date, stars: int) -> None:
    """R5.4, R5.5: the four steps and the result on ``day``, excellent with 4 or 5 stars; a 1-star
    member followed up the same day, a 2-star member's follow-ups left pending."""
    for pioneer_step in PioneerStep:
        ledger.record_pioneer_step(ctx, rid, effective_on=day, member_id=member, step=pioneer_step)
    ledger.rate_pioneer_member(
        ctx, rid, effective_on=day, member_id=member, stars=stars, excellent=stars >= 4
    )
    if stars == 1:
        ledger.record_pioneer_talk(ctx, rid, effective_on=day, member_id=member, talked_by="书记")
        ledger.record_pioneer_support_pairing(ctx, rid, effective_on=day, member_id=member, partner="党员")


def meet_criterion(
    ledger: Ledger, ctx: CommandContext, record: Any, criterion: StandardisationCriterion, day: date
) -> None:
    """R4: one of the six criteria met on ``day``, with the evidence it needs."""
    education = criterion == StandardisationCriterion.EDUCATION
    ledger.record_market_criterion_met(
        ctx,
        record,
        effective_on=day,
        criterion=criterion,
        evidence="台账",
        evidence_on=day,
        training_dates=[date(day.year, 1, 1), day] if education else None,
        party_affairs_workers=1 if criterion == StandardisationCriterion.GUARANTEES else None,
    )


def advance_round(ledger: Ledger, ctx: CommandContext, round_id: Any, day: date) -> None:
    """R6.2: the mobile member's round takes its next step on ``day``, or on the day of its last step
    if that is later (activities filed again on an odd day while at that step)."""
    mobile_round = ledger.get_mobile_round(round_id)
    step, day = mobile_round.step, max(day, mobile_round.steps[-1]["effective_on"])
    if step == MobileStep.REGISTERED:
        ledger.confirm_mobile_identity(ctx, round_id, effective_on=day, certificate_ref="证明")
    elif step == MobileStep.IDENTITY_CONFIRMED or (step == MobileStep.ACTIVITIES_FILED and day.day % 2):
        activities = [{"on": day, "description": "主题党日"}]
        ledger.file_mobile_activities(ctx, round_id, effective_on=day, activities=activities)
    elif step == MobileStep.ACTIVITIES_FILED:
        ledger.issue_mobile_feedback(
            ctx,
            round_id,
            effective_on=day,
            assessment="良好",
            secretary_name="书记",
            feedback_form_ref="表",
            letter_ref="函",
        )
    elif step == MobileStep.FEEDBACK_ISSUED:
        ledger.return_mobile_receipt(ctx, round_id, effective_on=day, archive_ref="档")


def rate_branch(ledger: Ledger, ctx: CommandContext, org: Any, day: date, outcome: int) -> None:
    """R11: a strongest-branch rating of ``day``'s year started on ``day``; ``outcome`` 0: left there;
    1: disqualified (R11.5); 2 to 4: through the four evaluations and the agency committee, awarded
    for the year (2) or for two years (3, 4); 4: the award revoked 40 days later."""
    rating = ledger.start_strongest_branch_rating(ctx, effective_on=day, org_id=org, year=day.year).id
    if outcome == 1:
        ledger.record_strongest_branch_disqualification(
            ctx, rating, effective_on=day, kind=DisqualificationKind.OTHER, occurred_on=day
        )
    if outcome < 2:
        return
    for kind, values in (
        (EvaluationKind.ORGANIZATION, {"rating": OrgRating.EXCELLENT}),
        (EvaluationKind.MEMBERS, {"participants": 20, "excellent": 19}),
        (EvaluationKind.MASS, {"respondents": 50, "dissatisfied": 1, "verified": False}),
        (EvaluationKind.SOCIAL, {"result": SocialResult.CLEAN}),
    ):
        ledger.record_strongest_branch_evaluation(ctx, rating, effective_on=day, kind=kind, **values)
    agency = RatingLevel.AGENCY_COMMITTEE
    ledger.apply_strongest_branch(ctx, rating, effective_on=day, level=agency, to_body="机关党委")
    ledger.decide_strongest_branch(ctx, rating, effective_on=day, level=agency, passed=True)
    end = day.year + min(outcome, 3) - 2
    ledger.award_strongest_branch(ctx, rating, effective_on=day, start_year=day.year, end_year=end)
    if outcome == 4:
        ledger.revoke_strongest_branch(ctx, rating, effective_on=day + timedelta(days=40), reason="负面舆情")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(STEP, min_size=1, max_size=14),
    cut=st.floats(min_value=0, max_value=1),
    as_of=DAYS,
    region=st.sampled_from([None, "330400", "330402", "330100"]),
)
def test_R3_answer_equals_a_replay_of_the_events_known_then(
    tmp_path_factory: Any, steps: list[tuple[Any, ...]], cut: float, as_of: date, region: str | None
) -> None:
    folder: Path = tmp_path_factory.mktemp("prop")
    live = build(Settings(database_url=f"sqlite:///{folder / 'live.sqlite'}"))
    live.ledger.today = fixed_today
    replay = build(Settings(database_url=f"sqlite:///{folder / 'replay.sqlite'}"))
    try:
        run_history(live.ledger, steps)
        live.runner.batch_size = 3  # incremental, in small batches
        live.runner.catch_up()
        known = int(cut * live.runner.head())

        # empty tables elsewhere, fed only the events recorded up to `known`
        fresh = ProjectionRunner(live.ledger, replay.engine, projections_for(live.ledger))
        fresh.setup()
        fresh.catch_up(until=known)

        # every temporal table: the rows visible at (as_of, known) equal the replay's rows at as_of,
        # so every endpoint reading through `visible` answers alike
        for table in metadata.sorted_tables:
            if "known_from" not in table.c:
                continue
            columns = [c for c in table.columns if c.name not in ("row_id", "known_from", "known_to")]
            with live.engine.connect() as a, replay.engine.connect() as b:
                seen = sorted(map(tuple, a.execute(select(*columns).where(visible(table, as_of, known)))))
                again = sorted(
                    map(tuple, b.execute(select(*columns).where(visible(table, as_of, ALL_KNOWN))))
                )
            assert seen == again, table.name
        with live.engine.connect() as a, replay.engine.connect() as b:
            audited = a.execute(select(audit_events).where(audit_events.c.position <= known)).all()
            assert sorted(map(str, audited)) == sorted(map(str, b.execute(select(audit_events))))

        view = CoverageView()
        for group_by in (None, "region", "kind"):
            with live.engine.connect() as a, replay.engine.connect() as b:
                answer = view.report(a, as_of=as_of, known=known, region=region, group_by=group_by)
                expected = view.report(b, as_of=as_of, known=ALL_KNOWN, region=region, group_by=group_by)
            assert figures(answer) == figures(expected)
    finally:
        live.close()
        replay.close()


def oracle(ledger: Ledger, known: int, as_of: date, region: str | None) -> dict[str, Any]:
    """The figures computed straight from the events, aggregate by aggregate, without any read table."""
    from domain.market_entity import MarketEntity
    from domain.member import Member
    from domain.organization import PartyOrganization
    from domain.timetravel import state_as_of
    from domain.values import region_prefix

    by_aggregate: dict[Any, list[Any]] = {}
    for n in ledger.recorder.select_notifications(start=1, limit=10**6, stop=known):
        by_aggregate.setdefault(n.originator_id, []).append(ledger.mapper.to_domain_event(n))
    states = [state_as_of(events, as_of) for events in by_aggregate.values()]
    prefix = region_prefix(region) if region else ""
    orgs = {s.id: s for s in states if isinstance(s, PartyOrganization)}
    reached = {e for o in orgs.values() for ids in o.guidance.values() for e in ids}
    total = {"operating": 0, "standalone": 0, "joint": 0, "work_only": 0, "uncovered": 0}
    for s in states:
        if isinstance(s, MarketEntity) and s.status == "operating" and s.region_code.startswith(prefix):
            total["operating"] += 1
            bucket = s.formation or ("work_only" if s.id in reached else "uncovered")
            total[bucket] += 1
    categories: dict[str, int] = {}
    for s in states:
        if isinstance(s, Member) and not s.has_left:
            home = orgs.get(s.relationship_org_id or next(iter(s.life_org_ids), None))
            if home is not None and home.region_code.startswith(prefix):
                categories[s.category] = categories.get(s.category, 0) + 1
    return {"total": total, "categories": categories}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(STEP, min_size=1, max_size=16),
    cut=st.floats(min_value=0, max_value=1),
    as_of=DAYS,
    region=st.sampled_from([None, "330400", "330402"]),
)
def test_R3_figures_equal_the_events_folded_by_effective_date(
    tmp_path_factory: Any, steps: list[tuple[Any, ...]], cut: float, as_of: date, region: str | None
) -> None:
    folder: Path = tmp_path_factory.mktemp("oracle")
    live = build(Settings(database_url=f"sqlite:///{folder / 'live.sqlite'}"))
    live.ledger.today = fixed_today
    try:
        run_history(live.ledger, steps)
        live.runner.batch_size = 4
        live.runner.catch_up()
        known = int(cut * live.runner.head())
        with live.engine.connect() as conn:
            report = CoverageView().report(conn, as_of=as_of, known=known, region=region)
        got = {
            "total": {k: v for k, v in vars(report.total).items()},
            "categories": report.members_by_category,
        }
        assert got == oracle(live.ledger, known, as_of, region)
    finally:
        live.close()


def test_histories_extend_from_observed_events_and_stay_bounded(
    container: Container, ctx: CommandContext
) -> None:
    """Issue #6 (P3, P7): the shared history cache answers exactly what the store holds, reads the
    store only for an aggregate it has not seen from its first event, and keeps at most ``capacity``
    events however long the store is."""
    from projections.temporal import Histories

    ledger = container.ledger
    loads: list[tuple[Any, int]] = []

    def load(aggregate_id: Any, version: int) -> list[Any]:
        loads.append((aggregate_id, version))
        return list(ledger.events.get(aggregate_id, lte=version))

    entities = [f.register_entity(ledger, ctx) for _ in range(3)]
    ledger.change_entity_status(
        ctx, entities[0], effective_on=JUNE_30, status=EntityStatus.SUSPENDED, reason="停业"
    )
    stored = {e: list(ledger.events.get(e)) for e in entities}
    histories = Histories(load, capacity=2)
    for event in stored[entities[0]]:  # seen from its first event: never read from the store
        histories.observe(event)
    assert histories(entities[0], 2) == stored[entities[0]]
    assert histories(entities[0], 1) == stored[entities[0]][:1]
    assert loads == []
    assert histories(entities[1], 1) == stored[entities[1]]  # first met here: one read
    assert loads == [(entities[1], 1)]
    histories.observe(stored[entities[2]][0])  # beyond capacity: the least recently used go
    assert histories(entities[0], 2) == stored[entities[0]]
    assert len(loads) == 2 and loads[-1] == (entities[0], 2)
    histories.clear()
    assert histories(entities[2], 1) == stored[entities[2]] and len(loads) == 3


def test_a_kept_fold_extended_event_by_event_equals_folding_the_history_again(
    memory_ledger: Ledger, ctx: Any
) -> None:
    """Issue #6 (P3): a projection extends the timeline it folded at an aggregate's previous event
    instead of folding the whole history again; a back-dated event makes it fold again. Either way
    the segments are those of the whole history folded from its first event."""
    from domain.values import EntityStatus as S
    from projections.temporal import Histories

    entity = f.register_entity(memory_ledger, ctx, effective_on=date(2025, 1, 10))
    changes: list[tuple[date, Any]] = [
        (date(2025, 3, 1), {"status": S.SUSPENDED}),
        (date(2025, 3, 1), {"name": "同日更正"}),  # same day: the last segment changes
        (date(2025, 5, 1), {"status": S.OPERATING}),  # back to an earlier state: segments differ
        (date(2025, 2, 1), {"name": "补录更正"}),  # back-dated: folded again
        (date(2025, 6, 1), {"region_code": "330411"}),
        (date(2024, 12, 1), {"station": "早于登记"}),  # before the registration: takes effect on it
    ]
    for day, change in changes:
        if "status" in change:
            memory_ledger.change_entity_status(ctx, entity, effective_on=day, status=change["status"])
        else:
            memory_ledger.correct_entity(ctx, entity, effective_on=day, changes=change, reason="核对")
    events = list(memory_ledger.events.get(entity))
    histories = Histories(lambda aggregate_id, version: events[:version])
    projection = CoverageProjection(histories)
    folded: list[int] = []
    fold = projection._fold
    projection._fold = lambda events: folded.append(len(events)) or fold(events)  # type: ignore[method-assign]
    for event in events:
        histories.observe(event)
        assert projection._timeline(event) == projection._segments(events[: event.originator_version])
    assert folded == [1, 5, 7]  # the first event, and the two dated before the timeline's last day
    assert len(projection._segments(events)) == 5


_VALUES = st.sampled_from([None, 0, 1, True, False, 1.0, "1", "True", "a", date(2025, 1, 1), "2025-01-01"])
_ROWS = st.lists(st.dictionaries(st.sampled_from("xyz"), _VALUES, min_size=1, max_size=3), max_size=3)


@given(a=st.dictionaries(st.sampled_from("TU"), _ROWS), b=st.dictionaries(st.sampled_from("TU"), _ROWS))
# 0 == False in Python, not as text
@example(a={"T": [{"x": 0, "z": 0}] * 3}, b={"T": [{"x": 0, "z": 0}] * 2 + [{"x": 0, "z": False}]})
def test_equal_states_are_decided_as_by_comparing_every_row_as_text(a: Any, b: Any) -> None:
    """Issue #6 (P3): the shortcuts of ``_same`` give the answer of the plain comparison: per table,
    the rows sorted, each row's values as text (so 1 and True differ, 1 and "1" do not)."""
    from projections.temporal import _hashable, _same

    def plain(a: Any, b: Any) -> bool:
        return all(
            sorted(map(_hashable, a.get(t, []))) == sorted(map(_hashable, b.get(t, [])))
            for t in a.keys() | b.keys()
        )

    assert _same(a, b) == plain(a, b)
    assert _same(a, a)


def test_among_is_one_array_parameter_on_postgresql_whatever_the_number_of_ids(
    container: Container, ctx: CommandContext
) -> None:
    """Issue #6, P4: a report asks for the activities of every organisation of a province. As an IN
    list the statement's text grew with the ids and was parsed again on every run; as ``= ANY`` of
    one array it is the same text for 3 ids and for 3,000, and selects the rows IN selects."""
    import uuid

    from projections.tables import coverage_entities as E
    from projections.temporal import among

    registered = [f.register_entity(container.ledger, ctx) for _ in range(3)]
    container.runner.catch_up()
    ids = [*registered[:2], *(uuid.uuid4() for _ in range(2_998))]
    with container.engine.connect() as conn:
        few, many = (select(E.c.subject_id).where(among(conn, E.c.subject_id, x)) for x in (ids[:3], ids))
        if conn.dialect.name == "postgresql":
            assert str(few.compile(conn)) == str(many.compile(conn))
        found = set(conn.scalars(many))
        assert found == set(conn.scalars(select(E.c.subject_id).where(E.c.subject_id.in_(ids))))
        assert found == set(registered[:2])


def test_every_read_table_column_has_its_binary_copy_type() -> None:
    """Issue #6, P3: the projections write with a binary ``COPY``, each value dumped by its column's
    type. A column of a type without one would fail at the first batch; here it fails at once."""
    from projections.temporal import copy_types

    for table in metadata.sorted_tables:
        assert len(copy_types(table, tuple(table.c.keys()))) == len(table.c)
    members = metadata.tables["coverage_members"]
    names = ("row_id", "subject_id", "valid_from", "known_from", "category", "present")
    assert copy_types(members, names) == ("int8", "uuid", "date", "int8", "text", "bool")
    assert copy_types(audit_events, ("recorded_at", "changes")) == ("timestamp", "text")


def test_rows_written_by_copy_read_back_as_they_were_written(container: Container) -> None:
    """Issue #6, P3: ``insert_rows`` (a binary ``COPY`` on PostgreSQL, executemany elsewhere) stores
    every type the read tables use, NULLs and text beyond ASCII included, as given."""
    import uuid
    from datetime import datetime

    from projections.temporal import insert_rows

    members = metadata.tables["coverage_members"]
    member = {
        "subject_id": uuid.uuid4(),
        "valid_from": date(2024, 3, 1),
        "valid_to": None,
        "known_from": 2**40,
        "known_to": None,
        "home_org_id": uuid.uuid4(),
        "category": "正式",
        "affiliation": "local",
        "distribution": "individual_business",
        "is_business_owner": True,
        "present": False,
        "left_reason": None,
        "business_suspended": False,
        "away": True,
        "in_disciplinary_period": False,
    }
    audit = {
        "position": 7,
        "aggregate_id": uuid.uuid4(),
        "aggregate_type": "Member",
        "aggregate_version": 3,
        "event_type": "Registered",
        "actor": "所长",
        "correlation_id": uuid.uuid4(),
        "causation_id": uuid.uuid4(),
        "effective_on": date(2025, 6, 30),
        "recorded_at": datetime(2025, 7, 10, 8, 30, 15, 123456),
        "changes": '{"name": "〔个人信息〕"}',
    }
    with container.engine.begin() as conn:
        for table, row in ((members, member), (audit_events, audit)):
            insert_rows(conn, table, tuple(row), [tuple(row.values())])
    with container.engine.connect() as conn:
        for table, row in ((members, member), (audit_events, audit)):
            columns = [table.c[name] for name in row]
            assert dict(conn.execute(select(*columns)).one()._mapping) == row

"""The members read model: roster rows and counts by category, affiliation, distribution, owner and
home organisation (R13.6), as of a date and as known at a position."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.envelope import CommandContext
from domain.values import Affiliation, LeavingReason
from infra.store import Container
from projections.members import MembersView
from tests import factories as f

VIEW = MembersView()


def build_history(container: Container, ctx: CommandContext) -> dict[str, UUID]:
    """Two association branches in two counties of Jiaxing, one in Hangzhou, and five members."""
    ledger = container.ledger
    nanhu = f.establish(ledger, ctx, [], name="南湖分会", region_code="330402")
    xiuzhou = f.establish(ledger, ctx, [], name="秀洲分会", region_code="330411")
    hangzhou = f.establish(ledger, ctx, [], name="上城分会", region_code="330102")
    # relationship outside the system: counted at the first organisational-life organisation
    local = f.register_member(ledger, ctx, [nanhu], name="甲").id
    # relationship in the system (xiuzhou) while life is in nanhu: counted in xiuzhou
    subordinate = f.register_member(
        ledger,
        ctx,
        [nanhu],
        name="乙",
        affiliation="subordinate",
        relationship_org_id=xiuzhou,
        category="probationary",
        admitted_on=date(2024, 12, 1),
        is_business_owner=False,
        distribution="individual_business",
    ).id
    mobile = f.register_member(ledger, ctx, [xiuzhou], name="丙", affiliation="mobile").id
    elsewhere = f.register_member(ledger, ctx, [hangzhou], name="丁").id
    leaver = f.register_member(ledger, ctx, [nanhu], name="戊").id
    ledger.record_member_departure(ctx, leaver, effective_on=date(2025, 4, 1), reason=LeavingReason.DIED)
    ledger.suspend_member_business(ctx, local, effective_on=date(2025, 4, 2), reason="装修")
    ledger.start_member_absence(ctx, mobile, effective_on=date(2025, 3, 10), place="上海")
    ledger.start_disciplinary_period(ctx, elsewhere, effective_on=date(2025, 5, 1), reason="警告")
    container.runner.catch_up()
    return {
        "nanhu": nanhu,
        "xiuzhou": xiuzhou,
        "hangzhou": hangzhou,
        "local": local,
        "subordinate": subordinate,
        "mobile": mobile,
        "elsewhere": elsewhere,
        "leaver": leaver,
    }


def test_roster_rows_show_the_member_and_their_lifecycle(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    with container.engine.connect() as conn:
        page = VIEW.page(conn, as_of=date(2025, 11, 1))
    by_name = {e.name: e for e in page.entries}
    assert set(by_name) == {"甲", "乙", "丙", "丁", "戊"}
    assert page.next_cursor is None
    assert [e.member_id for e in page.entries] == sorted(e.member_id for e in page.entries)

    sub = by_name["乙"]
    assert (sub.home_org_id, sub.home_org_name, sub.home_region_code) == (
        ids["xiuzhou"],
        "秀洲分会",
        "330411",
    )
    assert sub.life_org_ids == [ids["nanhu"]] and sub.relationship_org_id == ids["xiuzhou"]
    assert (sub.category, sub.affiliation, sub.is_business_owner) == ("probationary", "subordinate", False)
    local = by_name["甲"]
    assert local.home_org_id == ids["nanhu"] and local.relationship_org_name == "南湖区某街道党工委"
    assert local.business_suspended and local.present
    assert by_name["戊"].present is False
    assert (by_name["戊"].left_on, by_name["戊"].left_reason) == (date(2025, 4, 1), "died")
    assert by_name["丁"].in_disciplinary_period
    # R5.2: away since 10 March is more than six months on 1 November, not yet on 1 August
    assert by_name["丙"].away_since == date(2025, 3, 10) and by_name["丙"].away_over_six_months
    with container.engine.connect() as conn:
        august = {e.name: e for e in VIEW.page(conn, as_of=date(2025, 8, 1)).entries}
        march = {e.name: e for e in VIEW.page(conn, as_of=date(2025, 3, 15)).entries}
    assert august["丙"].away_since is not None and not august["丙"].away_over_six_months
    # as of 15 March, nobody had left, been suspended or disciplined yet
    assert march["戊"].present and not march["甲"].business_suspended
    assert not march["丁"].in_disciplinary_period


def test_roster_filters_and_pages(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    as_of = date(2025, 11, 1)
    with container.engine.connect() as conn:

        def names(**filters: Any) -> set[str]:
            return {e.name for e in VIEW.page(conn, as_of=as_of, **filters).entries}

        assert names(region="330400") == {"甲", "乙", "丙", "戊"}  # a city includes its counties
        assert names(region="330402") == {"甲", "戊"}
        assert names(region="330000") == {"甲", "乙", "丙", "丁", "戊"}
        assert names(region="330100") == {"丁"}
        # R2.2: an organisation's members are those whose relationship or organisational life is there
        assert names(org_id=ids["nanhu"]) == {"甲", "乙", "戊"}
        assert names(org_id=ids["xiuzhou"]) == {"乙", "丙"}
        assert names(category="probationary") == {"乙"}
        assert names(affiliation="mobile") == {"丙"}
        assert names(distribution="individual_business") == {"乙"}
        assert names(present=True) == {"甲", "乙", "丙", "丁"}
        assert names(present=False) == {"戊"}
        assert names(region="330400", present=True, affiliation="local") == {"甲"}

        # cursor pagination: two at a time, in member-id order, nothing twice, nothing lost
        seen: list[UUID] = []
        after = None
        while True:
            page = VIEW.page(conn, as_of=as_of, limit=2, after=after)
            seen += [e.member_id for e in page.entries]
            if page.next_cursor is None:
                break
            assert len(page.entries) == 2
            after = page.next_cursor
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 5


def test_counts_by_category_affiliation_distribution_owner_and_home(
    container: Container, ctx: CommandContext
) -> None:
    ids = build_history(container, ctx)
    with container.engine.connect() as conn:
        city = VIEW.statistics(conn, as_of=date(2025, 11, 1), region="330400")
        everywhere = VIEW.statistics(conn, as_of=date(2025, 11, 1))
        march = VIEW.statistics(conn, as_of=date(2025, 3, 15), region="330400")
    assert city.total == 3
    assert city.by_category == {"full": 2, "probationary": 1}
    assert city.by_affiliation == {"local": 1, "subordinate": 1, "mobile": 1}
    assert city.by_distribution == {"market_individual_business": 2, "individual_business": 1}
    assert (city.business_owners, city.not_business_owners) == (2, 1)
    assert {(c.org_id, c.name, c.members) for c in city.by_home_organization} == {
        (ids["xiuzhou"], "秀洲分会", 2),
        (ids["nanhu"], "南湖分会", 1),
    }
    assert city.by_home_organization[0].org_id == ids["xiuzhou"]  # the largest first
    assert (city.business_suspended, city.away, city.in_disciplinary_period) == (1, 1, 0)
    assert city.left_by_reason == {"died": 1}
    assert everywhere.total == 4 and everywhere.in_disciplinary_period == 1
    # before the departure (1 April) the leaver is still counted, and nothing is suspended
    assert march.total == 4 and march.left_by_reason == {} and march.business_suspended == 0


def test_a_transfer_moves_the_member_on_its_effective_date(container: Container, ctx: CommandContext) -> None:
    ids = build_history(container, ctx)
    container.ledger.transfer_member_relationship(
        ctx,
        ids["local"],
        effective_on=date(2025, 6, 1),
        to_org_id=ids["hangzhou"],
        affiliation=Affiliation.SUBORDINATE,
    )
    container.runner.catch_up()
    with container.engine.connect() as conn:
        may = VIEW.statistics(conn, as_of=date(2025, 5, 31), region="330402")
        june = VIEW.statistics(conn, as_of=date(2025, 6, 1), region="330402")
        hangzhou = VIEW.statistics(conn, as_of=date(2025, 6, 1), region="330100")
    assert may.total == 1 and june.total == 0
    assert hangzhou.total == 2 and hangzhou.by_affiliation == {"subordinate": 1, "local": 1}


def test_R3_a_late_entry_is_absent_as_known_before_it(container: Container, ctx: CommandContext) -> None:
    ledger, runner = container.ledger, container.runner
    org = f.establish(ledger, ctx, [], name="南湖分会", effective_on=date(2025, 1, 10))
    f.register_member(ledger, ctx, [org], name="早", effective_on=date(2025, 2, 1))
    runner.catch_up()
    cut = runner.head()  # the 30 June report was filed here

    # later: a member registered in May is entered (补录), and a probation completed in June
    late = f.register_member(
        ledger,
        ctx,
        [org],
        name="补录",
        effective_on=date(2025, 5, 12),
        category="probationary",
        admitted_on=date(2024, 6, 1),
    ).id
    ledger.complete_probation(ctx, late, effective_on=date(2025, 6, 2))
    runner.catch_up()

    june_30 = date(2025, 6, 30)
    with container.engine.connect() as conn:
        filed = VIEW.statistics(conn, as_of=june_30, known=cut, region="330402")
        now = VIEW.statistics(conn, as_of=june_30, region="330402")
        may = VIEW.statistics(conn, as_of=date(2025, 5, 31), region="330402")
        filed_roster = VIEW.page(conn, as_of=june_30, known=cut)
        now_roster = VIEW.page(conn, as_of=june_30)
    assert filed.total == 1 and filed.by_category == {"full": 1}
    assert now.total == 2 and now.by_category == {"full": 2}
    assert may.by_category == {"full": 1, "probationary": 1}
    assert [e.name for e in filed_roster.entries] == ["早"]
    assert {e.name for e in now_roster.entries} == {"早", "补录"}


def test_projection_is_behind_then_catches_up(container: Container, ctx: CommandContext) -> None:
    org = f.establish(container.ledger, ctx, [])
    f.register_member(container.ledger, ctx, [org])
    runner = container.runner
    with container.engine.connect() as conn:
        assert VIEW.statistics(conn).total == 0
    runner.catch_up(["members"])
    assert runner.position("members") == runner.head()
    runner.catch_up(["coverage"])  # the home organisation's region comes from the coverage tables
    with container.engine.connect() as conn:
        assert VIEW.statistics(conn, region="330402").total == 1
    assert runner.catch_up(["members"]) == 0

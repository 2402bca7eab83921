"""The coverage projection: behind → run → caught up; rebuild equals incremental; figures (R13.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, select

from domain.envelope import CommandContext
from domain.values import EntityStatus, OrgKind
from infra.demo import (
    JOINT_ORG_SIZES,
    MARKET_MEMBERS,
    MARKET_ORGS_STANDALONE,
    STREET_BLOCK_MEMBERS,
    load_demo,
)
from infra.store import Container
from projections.coverage import CoverageProjection
from projections.tables import coverage_members as M
from projections.tables import metadata
from tests import factories as f


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read table, sorted, checkpoints included (surrogate row ids left out)."""
    return {
        table.name: sorted(
            tuple(str(v) for v in row)
            for row in conn.execute(select(*(c for c in table.columns if c.name != "row_id")))
        )
        for table in metadata.sorted_tables
    }


def test_projection_is_behind_then_catches_up(container: Container, ctx: CommandContext) -> None:
    ledger, runner = container.ledger, container.runner
    entity_id = f.register_entity(ledger, ctx)
    assert runner.position("coverage") == 0
    with container.engine.connect() as conn:
        assert container.coverage.report(conn).total.operating == 0
    assert runner.catch_up(["coverage"]) == 1
    assert runner.position("coverage") == runner.head()
    with container.engine.connect() as conn:
        assert container.coverage.report(conn).total.operating == 1
        assert container.coverage.entity_ids(conn, "330400") == [entity_id]
    assert runner.catch_up(["coverage"]) == 0


def test_R13_1_figures_by_bucket(container: Container, ctx: CommandContext) -> None:
    ledger = container.ledger
    alone = f.register_entity(ledger, ctx)
    joint = [f.register_entity(ledger, ctx, region_code="330411") for _ in range(3)]
    reached = f.register_entity(ledger, ctx, kind="individual_business")
    f.register_entity(ledger, ctx)  # uncovered
    suspended = f.register_entity(ledger, ctx)
    f.register_entity(ledger, ctx, region_code="330100")  # another city
    f.establish(ledger, ctx, [alone])
    f.establish(ledger, ctx, joint, region_code="330411")
    station = f.establish(ledger, ctx, [], kind=OrgKind.STATION_BRANCH)
    ledger.assign_guidance_officer(
        ctx, station, effective_on=f.DAY, officer="王指导员", entity_ids=[reached, alone]
    )
    ledger.change_entity_status(ctx, suspended, effective_on=f.DAY, status=EntityStatus.SUSPENDED)
    container.runner.catch_up()

    with container.engine.connect() as conn:
        city = container.coverage.report(conn, region="330400")
        assert (city.total.operating, city.total.standalone, city.total.joint) == (6, 1, 3)
        assert (city.total.work_only, city.total.uncovered) == (1, 1)
        assert city.total.organization_coverage_rate == pytest.approx(4 / 6)
        assert city.total.work_coverage_share == pytest.approx(1 / 6)
        county = container.coverage.report(conn, region="330411")
        assert (county.total.operating, county.total.joint) == (3, 3)
        by_region = container.coverage.report(conn, region="330400", group_by="region")
        assert set(by_region.groups) == {"330402", "330411"}
        assert by_region.groups["330402"].operating == 3
        by_kind = container.coverage.report(conn, group_by="kind")
        assert by_kind.groups["individual_business"].work_only == 1
        assert container.coverage.report(conn, kind="individual_business").total.operating == 1
        province = container.coverage.report(conn, region="330000")
        assert province.total.operating == 7


def test_member_counts_follow_the_relationship_and_transfers(
    container: Container, ctx: CommandContext
) -> None:
    ledger = container.ledger
    nanhu = f.establish(ledger, ctx, [], name="南湖分会", region_code="330402")
    xiuzhou = f.establish(ledger, ctx, [], name="秀洲分会", region_code="330411")
    local = f.register_member(ledger, ctx, [nanhu]).id
    f.register_member(
        ledger,
        ctx,
        [nanhu],
        affiliation="subordinate",
        relationship_org_id=xiuzhou,
        category="probationary",
        admitted_on=f.DAY,
    )
    container.runner.catch_up()
    with container.engine.connect() as conn:
        nanhu_report = container.coverage.report(conn, region="330402")
        assert nanhu_report.members_by_affiliation == {"local": 1}
        assert container.coverage.report(conn, region="330411").members_by_category == {"probationary": 1}
    ledger.transfer_member_relationship(
        ctx, local, effective_on=f.DAY, to_org_id=xiuzhou, affiliation="subordinate"
    )
    container.runner.catch_up()
    with container.engine.connect() as conn:
        assert container.coverage.report(conn, region="330402").members == 0
        assert container.coverage.report(conn, region="330411").members_by_affiliation == {"subordinate": 2}


def test_rebuild_gives_the_same_rows_as_incremental_updates(container: Container) -> None:
    summary = load_demo(container.ledger, seed=7)
    runner = container.runner
    # incremental: several small catch-ups while history grows
    runner.batch_size = 97
    runner.catch_up()
    ctx = CommandContext.new("late")
    extra = f.register_entity(container.ledger, ctx)
    container.ledger.change_entity_status(ctx, extra, effective_on=f.DAY, status="deregistered")
    runner.catch_up()
    with container.engine.connect() as conn:
        incremental = snapshot(conn)
        report = container.coverage.report(conn, region="330400")
    assert report.total.standalone == summary.standalone_covered
    assert report.total.joint == sum(JOINT_ORG_SIZES)
    assert report.members == MARKET_MEMBERS + STREET_BLOCK_MEMBERS
    assert summary.market_organizations == MARKET_ORGS_STANDALONE + len(JOINT_ORG_SIZES) == 42

    runner.batch_size = 1000
    assert runner.rebuild() == runner.head() * len(runner.projections)
    with container.engine.connect() as conn:
        assert snapshot(conn) == incremental


class Exploding(CoverageProjection):
    """Fails on the third event it sees, after writing rows for the first two."""

    def __init__(self, history: Any) -> None:
        super().__init__(history)
        self.seen = 0

    def handle_batch(self, conn: Connection, batch: Sequence[tuple[Any, int]]) -> None:
        for event, position in batch:
            self.seen += 1
            if self.seen == 3:
                raise RuntimeError("boom")
            super().handle_batch(conn, [(event, position)])


def test_checkpoint_and_rows_commit_together(container: Container, ctx: CommandContext) -> None:
    for _ in range(4):
        f.register_entity(container.ledger, ctx)
    runner = container.runner
    original = runner.projections["coverage"]
    runner.projections["coverage"] = Exploding(original.history)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        runner.catch_up()
    assert runner.failures == {"coverage": "RuntimeError: boom"}
    # the failed batch left neither rows nor a moved checkpoint
    assert runner.position("coverage") == 0
    with container.engine.connect() as conn:
        assert container.coverage.report(conn).total.operating == 0
    runner.projections["coverage"] = original
    runner.catch_up()
    assert runner.failures == {}
    with container.engine.connect() as conn:
        assert container.coverage.report(conn).total.operating == 4


def test_events_the_projection_ignores_still_advance_it(container: Container, ctx: CommandContext) -> None:
    org = f.establish(container.ledger, ctx, [])
    container.ledger.dissolve_organization(ctx, org, effective_on=f.DAY, reason="合并")
    member_org = f.establish(container.ledger, ctx, [], name="另一个")
    member = f.register_member(container.ledger, ctx, [member_org]).id
    container.ledger.correct_member(ctx, member, effective_on=f.DAY, changes={"name": "张叁"}, reason="笔误")
    container.runner.catch_up()
    assert container.runner.position("coverage") == container.runner.head()


def test_member_corrections_reach_the_read_table(container: Container, ctx: CommandContext) -> None:
    org = f.establish(container.ledger, ctx, [])
    member = f.register_member(container.ledger, ctx, [org], is_business_owner=True).id
    container.ledger.correct_member(
        ctx, member, effective_on=f.DAY, changes={"is_business_owner": False}, reason="核对"
    )
    container.runner.catch_up()
    with container.engine.connect() as conn:
        row = conn.execute(select(M).where(M.c.subject_id == member, M.c.known_to.is_(None))).one()
    assert row.is_business_owner is False


def test_a_catch_up_decodes_each_event_once_for_every_projection(
    container: Container, ctx: CommandContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #6, P6: the projections of one catch-up share the decoded events (they were decoded once
    per projection), and every projection still reaches the head."""
    for _ in range(3):
        f.register_entity(container.ledger, ctx)
    runner = container.runner
    decoded: list[int] = []
    decode = runner._decode

    def counting(notifications: Sequence[Any]) -> list[Any]:
        decoded.extend(n.id for n in notifications)
        return decode(notifications)

    monkeypatch.setattr(runner, "_decode", counting)
    runner.catch_up()
    head = runner.head()
    assert sorted(decoded) == list(range(1, head + 1))  # each once, though six projections applied them
    assert set(runner.positions().values()) == {head}

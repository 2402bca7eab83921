"""The application on both event stores: the same commands, the same results (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import ConcurrentChange, Ledger
from domain.envelope import CommandContext
from domain.market_entity import MarketEntity
from domain.values import Formation
from tests import factories as f


def test_R1_2_register_entity_round_trips_through_the_store(ledger: Ledger, ctx: CommandContext) -> None:
    code = f.credit_code()
    result = ledger.register_entity(ctx, **f.entity_fields(credit_code=code, name="中文名称：嘉兴·南湖"))
    entity = ledger.get_entity(result.id)
    assert entity.credit_code == code
    assert entity.name == "中文名称：嘉兴·南湖"
    assert result.position == ledger.recorder.max_notification_id()


def test_R1_2_duplicate_credit_code_is_rejected_by_the_store(ledger: Ledger, ctx: CommandContext) -> None:
    code = f.credit_code()
    f.register_entity(ledger, ctx, credit_code=code)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(errors.EntityAlreadyRegistered) as caught:
        f.register_entity(ledger, ctx, credit_code=code)
    assert caught.value.rule == "R1.2"
    assert ledger.recorder.max_notification_id() == before


def test_R13_1_cover_entity_writes_both_aggregates_in_one_transaction(
    ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = f.register_entity(ledger, ctx)
    org_id = f.establish(ledger, ctx, [entity_id])
    notifications = ledger.recorder.select_notifications(start=1, limit=100)
    topics = [n.topic.rsplit(".", 1)[-1] for n in notifications]
    assert topics == ["Registered", "Established", "CoverageAssigned"]
    assert ledger.get_entity(entity_id).organization_id == org_id


def test_rule_violation_on_a_multi_aggregate_command_writes_nothing(
    ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = f.register_entity(ledger, ctx), f.register_entity(ledger, ctx)
    f.establish(ledger, ctx, [a])
    before = ledger.recorder.max_notification_id()
    with pytest.raises(errors.EntityAlreadyCovered):
        f.establish(ledger, ctx, [b, a], formation=Formation.JOINT)
    assert ledger.recorder.max_notification_id() == before
    assert ledger.get_entity(b).organization_id is None


def test_stale_aggregate_save_is_a_conflict(ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = f.register_entity(ledger, ctx)
    first, second = ledger.get_entity(entity_id), ledger.get_entity(entity_id)
    meta = ledger._meta(ctx, f.DAY)
    first.correct_details({"name": "甲"}, "typo", meta)
    second.correct_details({"name": "乙"}, "typo", meta)
    ledger.save(first)
    with pytest.raises(Exception) as caught:
        ledger._commit(entity_id, second)
    assert isinstance(caught.value, ConcurrentChange)
    assert ledger.get_entity(entity_id).name == "甲"


@pytest.mark.parametrize("rounds", [5])
def test_R13_1_two_organisations_racing_for_one_entity_one_wins(
    ledger: Ledger, backend: str, rounds: int
) -> None:
    """Two threads establish organisations over the same entity: one wins, one gets a conflict."""
    for _ in range(rounds):
        ctx = CommandContext.new("racer")
        entity_id = f.register_entity(ledger, ctx)
        outcomes: list[object] = []
        barrier = threading.Barrier(2)

        def establish(name: str, barrier: threading.Barrier = barrier, target: UUID = entity_id) -> None:
            barrier.wait()
            try:
                outcomes.append(f.establish(ledger, CommandContext.new(name), [target], name=name))  # noqa: B023
            except (errors.EntityAlreadyCovered, ConcurrentChange) as e:
                outcomes.append(e)  # noqa: B023 - joined before the next round

        threads = [threading.Thread(target=establish, args=(f"支部{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [o for o in outcomes if not isinstance(o, Exception)]
        losses = [o for o in outcomes if isinstance(o, errors.Conflict)]
        assert len(wins) == 1 and len(losses) == 1, outcomes
        entity = ledger.get_entity(entity_id)
        assert entity.organization_id == wins[0]
        # the loser left nothing behind: its organisation does not exist
        loser_orgs = [
            n
            for n in ledger.recorder.select_notifications(start=1, limit=10_000)
            if n.topic.endswith("PartyOrganization.Established")
            and ledger.mapper.to_domain_event(n).entity_ids == [entity_id]
        ]
        assert len(loser_orgs) == 1


def test_events_replay_to_the_same_aggregate(ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = f.register_entity(ledger, ctx)
    ledger.correct_entity(ctx, entity_id, effective_on=f.DAY, changes={"industry": "餐饮服务"}, reason="核对")
    aggregate: MarketEntity | None = None
    for event in ledger.events.get(entity_id):
        aggregate = event.mutate(aggregate)
    assert aggregate == ledger.get_entity(entity_id)
    assert aggregate is not None and aggregate.industry == "餐饮服务"


def test_unknown_ids_are_not_found(ledger: Ledger, ctx: CommandContext) -> None:
    for getter in (ledger.get_entity, ledger.get_organization, ledger.get_member):
        with pytest.raises(errors.NotFound):
            getter(uuid4())

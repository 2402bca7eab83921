"""The event envelope (effective_on, actor, correlation_id, causation_id, timestamp) and R1.3."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext, EventMeta, LedgerAggregate, check_not_ahead
from domain.market_entity import MarketEntity
from domain.values import Affiliation, EntityStatus
from tests.conftest import TODAY
from tests.domain.helpers import events_after, position, rejected, stored_events, version
from tests.factories import DAY, entity_fields, establish, register_entity, register_member

TOMORROW = TODAY + timedelta(days=1)
TWO_DAYS_AHEAD = TODAY + timedelta(days=2)


def other_ctx(actor: str = "officer-2") -> CommandContext:
    """A context whose three ids all differ, so a mix-up between them shows."""
    return CommandContext(actor=actor, correlation_id=uuid4(), causation_id=uuid4())


def assert_envelope(event: Any, ctx: CommandContext, effective_on: date) -> None:
    assert isinstance(event, LedgerAggregate.Event)
    assert event.effective_on == effective_on
    assert type(event.effective_on) is date
    assert event.actor == ctx.actor
    assert event.correlation_id == ctx.correlation_id
    assert event.causation_id == ctx.causation_id
    assert isinstance(event.correlation_id, UUID)
    assert isinstance(event.causation_id, UUID)


# --- R1.3: late entry yes, more than one day ahead no --------------------------------------------


def test_R1_3_check_not_ahead_accepts_today_and_tomorrow_and_the_past() -> None:
    for day in (date(2001, 1, 1), TODAY - timedelta(days=400), TODAY, TOMORROW):
        check_not_ahead(day, TODAY, "effective_on")


def test_R1_3_check_not_ahead_rejects_two_days_ahead() -> None:
    with pytest.raises(errors.EffectiveDateInFuture) as info:
        check_not_ahead(TWO_DAYS_AHEAD, TODAY, "form_date")
    assert info.value.rule == "R1.3"
    assert info.value.field == "form_date"


def test_R1_3_event_meta_carries_the_context_and_date(ctx: CommandContext) -> None:
    meta = EventMeta.build(ctx, TOMORROW, TODAY)
    assert meta.fields() == {
        "effective_on": TOMORROW,
        "actor": ctx.actor,
        "correlation_id": ctx.correlation_id,
        "causation_id": ctx.causation_id,
    }


def test_R1_3_event_meta_rejects_two_days_ahead(ctx: CommandContext) -> None:
    with pytest.raises(errors.EffectiveDateInFuture) as info:
        EventMeta.build(ctx, TWO_DAYS_AHEAD, TODAY)
    assert info.value.rule == "R1.3"
    assert info.value.field == "effective_on"


@pytest.mark.parametrize("effective_on", [TOMORROW, TODAY, DAY, date(2019, 6, 30)], ids=str)
def test_R1_3_effective_date_at_most_one_day_ahead_is_accepted(
    memory_ledger: Ledger, ctx: CommandContext, effective_on: date
) -> None:
    entity_id = register_entity(memory_ledger, ctx, effective_on=effective_on)
    entity = memory_ledger.get_entity(entity_id)
    assert entity.status_since == effective_on
    (event,) = stored_events(memory_ledger)
    assert event.effective_on == effective_on


# Every command checks the date; each case builds what it needs and returns the rejected call.
def _register(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    return lambda: ledger.register_entity(ctx, **entity_fields(effective_on=TWO_DAYS_AHEAD))


def _change_status(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    entity_id = register_entity(ledger, ctx)
    return lambda: ledger.change_entity_status(
        ctx, entity_id, effective_on=TWO_DAYS_AHEAD, status=EntityStatus.SUSPENDED
    )


def _correct(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    entity_id = register_entity(ledger, ctx)
    return lambda: ledger.correct_entity(
        ctx, entity_id, effective_on=TWO_DAYS_AHEAD, changes={"name": "新名称"}, reason="核对"
    )


def _establish(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    entity_id = register_entity(ledger, ctx)
    return lambda: establish(ledger, ctx, [entity_id], effective_on=TWO_DAYS_AHEAD)


def _add(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    a, b, c = (register_entity(ledger, ctx) for _ in range(3))
    org_id = establish(ledger, ctx, [a, b])
    return lambda: ledger.add_organization_entity(ctx, org_id, effective_on=TWO_DAYS_AHEAD, entity_id=c)


def _remove(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    a, b, c = (register_entity(ledger, ctx) for _ in range(3))
    org_id = establish(ledger, ctx, [a, b, c])
    return lambda: ledger.remove_organization_entity(
        ctx, org_id, effective_on=TWO_DAYS_AHEAD, entity_id=c, reason="迁出"
    )


def _assign_officer(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    entity_id = register_entity(ledger, ctx)
    org_id = establish(ledger, ctx)
    return lambda: ledger.assign_guidance_officer(
        ctx, org_id, effective_on=TWO_DAYS_AHEAD, officer="王五", entity_ids=[entity_id]
    )


def _withdraw_officer(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    entity_id = register_entity(ledger, ctx)
    org_id = establish(ledger, ctx)
    ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[entity_id])
    return lambda: ledger.withdraw_guidance_officer(
        ctx, org_id, effective_on=TWO_DAYS_AHEAD, officer="王五", reason="调岗"
    )


def _dissolve(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    org_id = establish(ledger, ctx, [register_entity(ledger, ctx)])
    return lambda: ledger.dissolve_organization(ctx, org_id, effective_on=TWO_DAYS_AHEAD, reason="撤销")


def _register_member(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    org_id = establish(ledger, ctx)
    return lambda: register_member(ledger, ctx, [org_id], effective_on=TWO_DAYS_AHEAD)


def _transfer(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    org_id = establish(ledger, ctx)
    member_id = register_member(ledger, ctx, [org_id]).id
    return lambda: ledger.transfer_member_relationship(
        ctx, member_id, effective_on=TWO_DAYS_AHEAD, to_org_id=org_id
    )


def _join(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    a, b = establish(ledger, ctx), establish(ledger, ctx)
    member_id = register_member(ledger, ctx, [a]).id
    return lambda: ledger.join_life_organization(ctx, member_id, effective_on=TWO_DAYS_AHEAD, org_id=b)


def _leave(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    a, b = establish(ledger, ctx), establish(ledger, ctx)
    member_id = register_member(ledger, ctx, [a, b]).id
    return lambda: ledger.leave_life_organization(ctx, member_id, effective_on=TWO_DAYS_AHEAD, org_id=b)


def _correct_member(ledger: Ledger, ctx: CommandContext) -> Callable[[], Any]:
    org_id = establish(ledger, ctx)
    member_id = register_member(ledger, ctx, [org_id]).id
    return lambda: ledger.correct_member(
        ctx, member_id, effective_on=TWO_DAYS_AHEAD, changes={"name": "张三丰"}, reason="核对"
    )


@pytest.mark.parametrize(
    "prepare",
    [
        _register,
        _change_status,
        _correct,
        _establish,
        _add,
        _remove,
        _assign_officer,
        _withdraw_officer,
        _dissolve,
        _register_member,
        _transfer,
        _join,
        _leave,
        _correct_member,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_R1_3_effective_date_rejects_two_days_ahead_on_every_command(
    memory_ledger: Ledger, ctx: CommandContext, prepare: Callable[..., Callable[[], Any]]
) -> None:
    command = prepare(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="effective_on"):
        command()


def test_R1_3_form_date_may_be_late_or_one_day_ahead(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx)
    for form_date in (date(2018, 9, 30), TOMORROW):
        member_id = register_member(memory_ledger, ctx, [org_id], form_date=form_date).id
        assert memory_ledger.get_member(member_id).form_date == form_date


def test_R1_3_form_date_rejects_two_days_ahead(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="form_date"):
        register_member(memory_ledger, ctx, [org_id], form_date=TWO_DAYS_AHEAD)


def test_R1_3_rejected_status_change_leaves_the_entity_unchanged(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="effective_on"):
        memory_ledger.change_entity_status(
            ctx, entity_id, effective_on=TWO_DAYS_AHEAD, status=EntityStatus.SUSPENDED
        )
    assert version(memory_ledger, entity_id) == 1
    assert memory_ledger.get_entity(entity_id).status == EntityStatus.OPERATING


# --- the envelope ---------------------------------------------------------------------------------


def test_envelope_command_context_new_uses_the_command_id_as_correlation() -> None:
    ctx = CommandContext.new("officer-1")
    assert ctx.actor == "officer-1"
    assert ctx.correlation_id == ctx.causation_id


def test_envelope_command_context_new_keeps_a_given_correlation() -> None:
    request = uuid4()
    first = CommandContext.new("officer-1", correlation_id=request)
    second = CommandContext.new("officer-1", correlation_id=request)
    assert first.correlation_id == second.correlation_id == request
    assert first.causation_id != second.causation_id
    assert request not in (first.causation_id, second.causation_id)


def test_envelope_every_event_of_every_command_carries_its_context_and_date(
    memory_ledger: Ledger,
) -> None:
    """Each command gets its own context and date; every event it records carries exactly those."""
    ledger = memory_ledger
    counter = iter(range(1000))

    def run(command: Callable[[CommandContext, date], Any], expected_events: int) -> Any:
        n = next(counter)
        ctx = other_ctx(f"officer-{n}")
        effective_on = DAY + timedelta(days=n)
        before = position(ledger)
        result = command(ctx, effective_on)
        events = events_after(ledger, before)
        assert len(events) == expected_events
        for event in events:
            assert_envelope(event, ctx, effective_on)
        return result

    def entity(ctx: CommandContext, d: date) -> UUID:
        return register_entity(ledger, ctx, effective_on=d)

    a, b, c = (run(entity, 1) for _ in range(3))
    joint = run(lambda ctx, d: establish(ledger, ctx, [a, b], effective_on=d), 3)
    run(lambda ctx, d: ledger.add_organization_entity(ctx, joint, effective_on=d, entity_id=c), 2)
    run(
        lambda ctx, d: ledger.remove_organization_entity(
            ctx, joint, effective_on=d, entity_id=c, reason="迁出"
        ),
        2,
    )
    run(
        lambda ctx, d: ledger.change_entity_status(
            ctx, c, effective_on=d, status=EntityStatus.SUSPENDED, reason="停业"
        ),
        1,
    )
    run(
        lambda ctx, d: ledger.correct_entity(
            ctx, c, effective_on=d, changes={"name": "新名称"}, reason="核对"
        ),
        1,
    )
    regional = run(lambda ctx, d: establish(ledger, ctx, effective_on=d), 1)
    run(
        lambda ctx, d: ledger.assign_guidance_officer(
            ctx, regional, effective_on=d, officer="王五", entity_ids=[c]
        ),
        1,
    )
    run(
        lambda ctx, d: ledger.withdraw_guidance_officer(
            ctx, regional, effective_on=d, officer="王五", reason="调岗"
        ),
        1,
    )
    member = run(lambda ctx, d: register_member(ledger, ctx, [regional], effective_on=d).id, 1)
    run(
        lambda ctx, d: ledger.transfer_member_relationship(ctx, member, effective_on=d, to_org_id=regional),
        1,
    )
    run(
        lambda ctx, d: ledger.join_life_organization(ctx, member, effective_on=d, org_id=joint),
        1,
    )
    run(
        lambda ctx, d: ledger.leave_life_organization(ctx, member, effective_on=d, org_id=joint),
        1,
    )
    run(
        lambda ctx, d: ledger.correct_member(
            ctx, member, effective_on=d, changes={"mobile": "13905730001"}, reason="核对"
        ),
        1,
    )
    run(
        lambda ctx, d: ledger.dissolve_organization(ctx, joint, effective_on=d, reason="撤销"),
        3,
    )
    assert len(stored_events(ledger)) == position(ledger) == 23


def test_envelope_one_request_correlates_its_commands(memory_ledger: Ledger) -> None:
    request = uuid4()
    first = CommandContext.new("importer", correlation_id=request)
    second = CommandContext.new("importer", correlation_id=request)
    register_entity(memory_ledger, first)
    register_entity(memory_ledger, second)
    one, two = stored_events(memory_ledger)
    assert one.correlation_id == two.correlation_id == request
    assert one.causation_id == first.causation_id
    assert two.causation_id == second.causation_id


def test_envelope_timestamp_is_the_server_utc_clock_not_the_effective_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    before = datetime.now(UTC)
    a = register_entity(memory_ledger, ctx, effective_on=date(2019, 1, 1))
    b = register_entity(memory_ledger, ctx, effective_on=TOMORROW)
    establish(memory_ledger, ctx, [a, b], effective_on=date(2019, 2, 1))
    after = datetime.now(UTC)
    events = stored_events(memory_ledger)
    assert len(events) == 5
    for event in events:
        assert event.timestamp.tzinfo is not None
        assert event.timestamp.utcoffset() == timedelta(0)
        assert before <= event.timestamp <= after
        assert after - event.timestamp < timedelta(seconds=60)
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)
    entity = memory_ledger.repository.get(a)
    assert isinstance(entity, MarketEntity)
    own = list(memory_ledger.events.get(a))
    assert entity.created_on == own[0].timestamp
    assert entity.modified_on == own[-1].timestamp


def test_envelope_commands_take_no_timestamp(memory_ledger: Ledger, ctx: CommandContext) -> None:
    """The recording moment cannot come from the client: no command accepts it."""
    with pytest.raises(TypeError):
        memory_ledger.register_entity(ctx, timestamp=datetime(2000, 1, 1, tzinfo=UTC), **entity_fields())
    assert position(memory_ledger) == 0


def test_envelope_rejected_command_records_nothing_and_the_next_one_records(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.EffectiveDateInFuture, rule="R1.3", field="effective_on"):
        register_member(memory_ledger, ctx, [org_id], effective_on=TWO_DAYS_AHEAD)
    member_id = register_member(
        memory_ledger, ctx, [org_id], effective_on=TOMORROW, affiliation=Affiliation.LOCAL
    ).id
    assert memory_ledger.get_member(member_id).relationship_since == TOMORROW


# --- making an aggregate (issue #6, P2) -----------------------------------------------------------


def _created_events() -> list[Any]:
    """One created event of every class the ledger records: the replay scenarios' (every aggregate
    but the three their world sets up), the world's entities and organisations, and a receipt."""
    from tests.domain.test_replay_all import PIONEER, SCENARIO, Run

    found: dict[type, Any] = {}
    for ops in (SCENARIO, PIONEER):
        run = Run()
        for operation in ops:
            run.run(operation)
        run.ledger.register_entity(
            CommandContext.new("officer", command_id=uuid4()), **entity_fields(name="带回执的主体")
        )
        for n in run.ledger.recorder.select_notifications(start=1, limit=10**6):
            event = run.ledger.mapper.to_domain_event(n)
            if isinstance(event, LedgerAggregate.Created):
                found.setdefault(type(event), event)
    return list(found.values())


def test_envelope_created_events_make_the_aggregate_eventsourcing_makes() -> None:
    """``LedgerAggregate.Created.mutate`` and ``LedgerAggregate._create`` skip eventsourcing's generic
    keyword matching; for every created event of the ledger they make what eventsourcing's own
    ``CanInitAggregate.mutate`` and ``BaseAggregate._create`` make."""
    from tests.test_events_doc import domain_event_classes

    events = _created_events()
    created = {
        name for name, cls in domain_event_classes().items() if issubclass(cls, LedgerAggregate.Created)
    }
    assert {type(e).__qualname__ for e in events} == created
    for event in events:
        ours, stock = event.mutate(None), CanInitAggregate.mutate(event, None)
        assert type(ours) is type(stock) and vars(ours) == vars(stock), type(event).__qualname__

        cls = type(ours)
        facts = _but(event, "originator_id", "originator_version", "originator_topic", "timestamp")
        made = cls._create(type(event), id=event.originator_id, **facts)
        made_stock = BaseAggregate._create.__func__(cls, type(event), id=event.originator_id, **facts)  # type: ignore[attr-defined]
        (new,), (new_stock,) = made.pending_events, made_stock.pending_events
        assert type(new) is type(new_stock)
        assert _but(new, "timestamp") == _but(new_stock, "timestamp")
        assert new.timestamp.tzinfo is not None and made.created_on == new.timestamp
        moments = ("_created_on", "_modified_on", "_pending_events")
        assert _but(made, *moments) == _but(made_stock, *moments)


def _but(obj: Any, *names: str) -> dict[str, Any]:
    """An object's attributes but ``names``: what two copies made at different moments share."""
    return {k: v for k, v in vars(obj).items() if k not in names}

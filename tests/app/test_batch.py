"""Many commands in one transaction (issue #6, P2): ``Ledger.batch()`` runs the same command methods
with every rule, keeps the batch's aggregates in memory, and writes them at once (COPY on PostgreSQL,
``infra.bulk``); on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid5

import pytest

from domain import errors
from domain.application import ConcurrentChange, Ledger
from domain.envelope import CommandContext, EventMeta
from domain.market_entity import entity_id_for
from domain.values import EntityStatus, Formation
from infra.bulk import PostgresBulkStore
from infra.store import Container
from tests import factories as f

NS = uuid5(uuid.NAMESPACE_URL, "https://dangjian.example/tests/batch")
Command = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def scenario(ledger: Ledger) -> list[Command]:
    """Entities, an organisation covering two of them, members in it and one rejected of each kind;
    every id and command id fixed, so two stores record the same events."""
    ctx = CommandContext("batch-tester", uuid5(NS, "correlation"), uuid5(NS, "causation"), command_id=None)

    def with_id(name: str) -> CommandContext:
        return CommandContext("batch-tester", ctx.correlation_id, uuid5(NS, name), uuid5(NS, name))

    codes = [f.credit_code(rng=random.Random(i)) for i in range(4)]
    entity_ids = [entity_id_for(code) for code in codes]
    org_id = uuid5(NS, "org")
    commands: list[Command] = [
        (ledger.register_entity, (ctx,), f.entity_fields(credit_code=code)) for code in codes
    ]
    commands += [
        (ledger.register_entity, (ctx,), f.entity_fields(credit_code=codes[1])),  # R1.2 duplicate
        (
            ledger.register_entity,
            (ctx,),
            f.entity_fields(credit_code=f.credit_code(rng=random.Random(99)), region_code="000400"),
        ),  # R1.3 bad region
        (
            ledger.establish_organization,
            (with_id("org"),),
            {
                "effective_on": f.DAY,
                "name": "某联合党支部",
                "kind": "street_block",
                "formation": Formation.JOINT,
                "region_code": "330402",
                "entity_ids": entity_ids[:2],
                "id": org_id,
            },
        ),
        (  # R13.1: entity 1 is covered by the organisation just established in the batch
            ledger.establish_organization,
            (ctx,),
            {
                "effective_on": f.DAY,
                "name": "另一支部",
                "kind": "market",
                "formation": Formation.STANDALONE,
                "region_code": "330402",
                "entity_ids": [entity_ids[1]],
                "id": uuid5(NS, "org2"),
            },
        ),
        (ledger.change_entity_status, (ctx, entity_ids[3]), {"effective_on": f.DAY, "status": "suspended"}),
    ]
    for i in range(3):
        fields = f.member_fields([org_id], name=f"党员{i}", mobile=f"1380573000{i}", id=uuid5(NS, f"m{i}"))
        commands.append((ledger.register_member, (with_id(f"member{i}"),), fields))
    commands.append(  # R2.2: an organisation that does not exist
        (ledger.register_member, (ctx,), f.member_fields([uuid5(NS, "nowhere")], id=uuid5(NS, "m9")))
    )
    return commands


def one_by_one(commands: list[Command]) -> list[tuple[UUID | None, str | None]]:
    results: list[tuple[UUID | None, str | None]] = []
    for fn, args, kwargs in commands:
        try:
            results.append((fn(*args, **kwargs).id, None))
        except errors.DomainError as e:
            results.append((None, e.rule or type(e).__name__))
    return results


def stored(ledger: Ledger) -> list[tuple[str, UUID, int, dict[str, Any]]]:
    """Every stored event, decoded, in position order, without the moment it was recorded."""
    found = []
    for n in ledger.recorder.select_notifications(start=1, limit=10_000):
        event = ledger.mapper.to_domain_event(n)
        state = {k: v for k, v in vars(event).items() if k != "timestamp"}
        found.append((n.topic, n.originator_id, n.originator_version, state))
    return found


def positions(ledger: Ledger) -> list[int]:
    return [n.id for n in ledger.recorder.select_notifications(start=1, limit=10_000)]


def test_P2_batch_records_the_same_events_as_one_command_per_transaction(
    container: Container, second: Container, backend: str
) -> None:
    if backend == "postgres":  # the batch really goes through COPY
        assert isinstance(second.ledger.bulk_store, PostgresBulkStore)
    expected = one_by_one(scenario(container.ledger))

    ledger = second.ledger
    with ledger.batch() as batch:
        outcomes = [batch.run(fn, *args, **kwargs) for fn, args, kwargs in scenario(ledger)]
        assert batch.pending > 0  # nothing written before the flush
        assert ledger.recorder.max_notification_id() in (None, 0)
    assert [
        (o.result.id if o.result else None, (o.error.rule or type(o.error).__name__) if o.error else None)
        for o in outcomes
    ] == (expected)
    assert [rule for _, rule in expected if rule] == ["R1.2", "R1.3", "R13.1", "NotFound"]
    assert isinstance(outcomes[-1].error, errors.NotFound)  # R2.2: the life organisation must exist
    assert stored(ledger) == stored(container.ledger)
    assert positions(ledger) == list(range(1, len(positions(ledger)) + 1))
    # each result's position is its command's last event, as a command alone returns it
    by_key = {
        (n.originator_id, n.originator_version): n.id for n in ledger.recorder.select_notifications(1, 10_000)
    }
    entity = ledger.get_entity(outcomes[0].result.id)  # type: ignore[union-attr]
    assert outcomes[0].result.position == by_key[(entity.id, 1)]  # type: ignore[union-attr]
    member_outcome = outcomes[-2]
    assert member_outcome.result is not None
    assert member_outcome.result.position == max(by_key.values())  # its receipt is the last event
    assert ledger.get_member(member_outcome.result.id).name == "党员2"  # decrypted with its key


def test_P2_a_rejected_row_in_the_middle_writes_nothing_of_its_own(
    ledger: Ledger, ctx: CommandContext
) -> None:
    kept = f.register_entity(ledger, ctx)
    head = ledger.recorder.max_notification_id()
    codes = [f.credit_code() for _ in range(3)]

    def suspend_then_fail(ctx: CommandContext) -> Any:
        """Changes an aggregate of the batch in memory, then breaks a rule."""
        entity = ledger.get_entity(kept)
        entity.change_status(EntityStatus.SUSPENDED, "test", EventMeta.build(ctx, f.DAY, ledger.today()))
        raise errors.MissingField("reason is required", field="reason")

    with ledger.batch() as batch:
        first = batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=codes[0]))
        bad = batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=codes[1], name=" "))
        failed = batch.run(suspend_then_fail, ctx)
        # the failed command's change is gone: the entity is operating for the next command
        assert ledger.get_entity(kept).status == EntityStatus.OPERATING
        status = batch.run(ledger.change_entity_status, ctx, kept, effective_on=f.DAY, status="deregistered")
        last = batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=codes[2]))
    assert bad.error is not None and bad.error.rule == "R1.1" and bad.error.field == "name"
    assert failed.error is not None and failed.error.rule == "R1.1"
    assert first.ok and status.ok and last.ok
    assert entity_id_for(codes[1]) not in ledger.repository
    assert ledger.get_entity(kept).status == EntityStatus.DEREGISTERED
    assert [e.__class__.__name__ for e in ledger.events.get(kept)] == ["Registered", "StatusChanged"]
    assert ledger.recorder.max_notification_id() == (head or 0) + 3
    assert [first.result.position, status.result.position, last.result.position] == [  # type: ignore[union-attr]
        (head or 0) + 1,
        (head or 0) + 2,
        (head or 0) + 3,
    ]


def test_P2_a_duplicate_in_the_batch_or_in_the_store_is_caught_by_the_rule(
    ledger: Ledger, ctx: CommandContext
) -> None:
    stored_code, code = f.credit_code(), f.credit_code()
    f.register_entity(ledger, ctx, credit_code=stored_code)
    head = ledger.recorder.max_notification_id() or 0
    with ledger.batch() as batch:
        batch.preload([entity_id_for(stored_code), entity_id_for(code)])
        outcomes = [
            batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=c))
            for c in (code, code.lower(), stored_code)
        ]
    assert outcomes[0].ok
    for duplicate in outcomes[1:]:
        assert isinstance(duplicate.error, errors.EntityAlreadyRegistered) and duplicate.error.rule == "R1.2"
    assert ledger.recorder.max_notification_id() == head + 1


def test_P2_a_repeated_command_id_returns_the_first_result(ledger: Ledger, ctx: CommandContext) -> None:
    command_ids = [uuid.uuid4() for _ in range(3)]
    codes = [f.credit_code() for _ in range(3)]

    def run_all() -> list[Any]:
        with ledger.batch() as batch:
            batch.preload([entity_id_for(c) for c in codes])
            outcomes = [
                batch.run(
                    ledger.register_entity,
                    CommandContext.new("importer", command_id=command_id),
                    **f.entity_fields(credit_code=code),
                )
                for command_id, code in zip([*command_ids, command_ids[0]], [*codes, codes[0]], strict=False)
            ]
        return [o.result for o in outcomes]

    first = run_all()
    head = ledger.recorder.max_notification_id()
    again = run_all()
    assert again == first  # the same ids and positions, from the receipts
    assert ledger.recorder.max_notification_id() == head
    assert head == 6 + (first[0].position - 2)  # an entity and a receipt per command


@pytest.mark.parametrize("fallback", [True, False])
def test_P2_a_concurrent_writer_first_leaves_no_corruption(
    ledger: Ledger, ctx: CommandContext, fallback: bool
) -> None:
    codes = [f.credit_code() for _ in range(3)]
    head = ledger.recorder.max_notification_id() or 0
    batch = ledger.batch(fallback=fallback)
    with batch:
        batch.preload([entity_id_for(c) for c in codes])
        outcomes = [batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=c)) for c in codes]
        assert all(o.ok for o in outcomes)
        # another officer registers the second code in the meantime (another thread, outside the batch)
        racer = threading.Thread(
            target=f.register_entity,
            args=(ledger, CommandContext.new("racer")),
            kwargs={"credit_code": codes[1]},
        )
        racer.start()
        racer.join()
        assert ledger.recorder.max_notification_id() == head + 1
        if not fallback:
            with pytest.raises(ConcurrentChange):
                batch.flush()
            ids = [n.originator_id for n in ledger.recorder.select_notifications(start=head + 1, limit=100)]
            assert ids == [entity_id_for(codes[1])]  # nothing of the batch was written
            return
        batch.flush()
    assert outcomes[0].ok and outcomes[2].ok
    assert isinstance(outcomes[1].error, errors.EntityAlreadyRegistered)
    assert batch.fallbacks == 1
    after = ledger.recorder.select_notifications(start=head + 1, limit=100)
    assert [n.originator_id for n in after] == [entity_id_for(c) for c in (codes[1], codes[0], codes[2])]
    assert [n.id for n in after] == sorted({n.id for n in after})
    assert [o.result.position for o in (outcomes[0], outcomes[2])] == [after[1].id, after[2].id]  # type: ignore[union-attr]
    assert ledger.get_entity(entity_id_for(codes[1])).credit_code == codes[1]


def test_P2_batches_in_other_threads_do_not_see_each_other(ledger: Ledger, ctx: CommandContext) -> None:
    code = f.credit_code()
    with ledger.batch() as batch:
        batch.run(ledger.register_entity, ctx, **f.entity_fields(credit_code=code))
        seen: list[bool] = []
        reader = threading.Thread(target=lambda: seen.append(entity_id_for(code) in ledger.repository))
        reader.start()
        reader.join()
        assert seen == [False] and entity_id_for(code) in ledger.repository
    assert ledger.get_entity(entity_id_for(code)).credit_code == code
    assert ledger.today() == date(2025, 11, 20)

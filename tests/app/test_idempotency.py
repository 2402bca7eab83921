"""Idempotent commands (issue #3 item 9): a repeat with the same command id returns the first result
and records nothing, also when the repeats race."""

from __future__ import annotations

import threading
from uuid import uuid4

from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from tests import factories as f


def test_repeated_command_returns_the_first_result_and_records_nothing(ledger: Ledger) -> None:
    ctx = CommandContext.new("clerk", command_id=uuid4())
    fields = f.entity_fields()
    first = ledger.register_entity(ctx, **fields)
    head = ledger.recorder.max_notification_id()
    assert first.position == head
    again = ledger.register_entity(CommandContext.new("clerk", command_id=ctx.command_id), **fields)
    assert again == first
    assert ledger.recorder.max_notification_id() == head


def test_repeat_of_a_multi_aggregate_command_returns_its_last_position(ledger: Ledger) -> None:
    plain = CommandContext.new("clerk")
    entity = f.register_entity(ledger, plain)
    ctx = CommandContext.new("clerk", command_id=uuid4())
    first = ledger.establish_organization(ctx, **_org_fields([entity]))
    again = ledger.establish_organization(ctx, **_org_fields([entity]))
    assert again == first
    assert ledger.get_entity(entity).organization_id == first.id


def test_different_command_ids_are_different_commands(ledger: Ledger) -> None:
    org = f.establish(ledger, CommandContext.new("clerk"), [])
    results = {
        ledger.register_member(CommandContext.new("clerk", command_id=uuid4()), **f.member_fields([org])).id
        for _ in range(2)
    }
    assert len(results) == 2


def test_concurrent_repeats_record_once(ledger: Ledger) -> None:
    org = f.establish(ledger, CommandContext.new("clerk"), [])
    command_id = uuid4()
    results: list[CommandResult] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        ctx = CommandContext.new("clerk", command_id=command_id)
        results.append(ledger.register_member(ctx, **f.member_fields([org])))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    members = [
        n
        for n in ledger.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("Member.Registered")
    ]
    assert len(members) == 1


def _org_fields(entity_ids: list) -> dict:
    return {
        "effective_on": f.DAY,
        "name": "某支部",
        "kind": "market",
        "formation": "standalone",
        "region_code": "330402",
        "entity_ids": entity_ids,
    }

"""Group commit of concurrent commands on PostgreSQL (issue #6, P1; ``infra.groupcommit``).

Concurrent commands share one transaction, one table lock and one commit, yet each keeps the answer
it would have had alone: its own notification ids, its own conflict, its own idempotent result. To
put calls in one group deterministically, ``one_group`` holds the recorder as if a group were in
flight until every call has queued, then lets them go: the first to wake leads all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.application import CommandResult, ConcurrentChange
from domain.envelope import CommandContext
from domain.errors import EntityAlreadyRegistered
from domain.values import EntityStatus
from infra.groupcommit import GroupCommitRecorder
from infra.settings import Settings
from infra.store import Container, build
from tests import factories as f
from tests.conftest import PG_URL, fixed_today, role_url

pytestmark = pytest.mark.postgres

T = TypeVar("T")


def recorder_of(container: Container) -> GroupCommitRecorder:
    recorder = container.ledger.recorder
    assert isinstance(recorder, GroupCommitRecorder)
    return recorder


def one_group(recorder: GroupCommitRecorder, calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run ``calls`` in threads so that their ``insert_events`` form one group."""
    with recorder._turn:
        assert not recorder._leading and not recorder._queue
        recorder._leading = True  # as if a group were in flight: every call queues as a follower
    results: list[T | Exception] = [RuntimeError("did not run")] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
    try:
        while True:
            with recorder._turn:
                if len(recorder._queue) == len(calls):
                    break
            assert time.monotonic() < deadline, "the calls never all queued"
            time.sleep(0.002)
    finally:
        with recorder._turn:
            recorder._leading = False
            recorder._turn.notify_all()
    for t in threads:
        t.join()
    return results


def positions(container: Container) -> dict[tuple[UUID, int], int]:
    """Every stored event's notification id, by (aggregate, version)."""
    return {
        (n.originator_id, n.originator_version): n.id  # type: ignore[misc]
        for n in container.ledger.recorder.select_notifications(start=1, limit=100_000)
    }


def entity(**overrides: Any) -> Callable[[Any], CommandResult]:
    fields = f.entity_fields(**overrides)
    return lambda ledger: ledger.register_entity(CommandContext.new("clerk"), **fields)


def registrations(container: Container, count: int) -> list[Callable[[], CommandResult]]:
    """``count`` commands registering new entities, each with its own credit code."""

    def one() -> Callable[[], CommandResult]:
        register = entity()
        return lambda: register(container.ledger)

    return [one() for _ in range(count)]


def test_the_ledger_uses_group_commit_on_postgresql_only(pg: Container, tmp_path: Any) -> None:
    assert isinstance(pg.ledger.recorder, GroupCommitRecorder)
    stock = build(
        Settings(database_url=PG_URL, database_schema=pg.settings.database_schema), group_commit=False
    )
    try:
        assert type(stock.ledger.recorder) is not GroupCommitRecorder
    finally:
        stock.close()
    lite = build(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite'}", demo_when_empty=False))
    try:
        assert not isinstance(lite.ledger.recorder, GroupCommitRecorder)
    finally:
        lite.close()


def test_a_lone_command_commits_at_once_as_a_group_of_one(pg: Container) -> None:
    recorder = recorder_of(pg)
    first = entity()(pg.ledger)
    second = entity()(pg.ledger)
    assert (first.position, second.position) == (1, 2)
    assert recorder.groups == 2 and recorder.grouped == 0 and recorder.retried_alone == 0


def test_many_threads_get_distinct_gap_free_positions_and_every_event_once(pg: Container) -> None:
    recorder = recorder_of(pg)
    threads, each = 16, 12
    results: list[list[CommandResult]] = [[] for _ in range(threads)]
    gate = threading.Barrier(threads)

    def client(k: int) -> None:
        gate.wait()
        for _ in range(each):
            results[k].append(entity()(pg.ledger))

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    flat = [r for part in results for r in part]
    assert len(flat) == threads * each
    stored = positions(pg)
    assert sorted(stored.values()) == list(range(1, threads * each + 1))  # each event once, no gap
    assert sorted(r.position for r in flat) == list(range(1, threads * each + 1))
    for r in flat:  # each command got the position of its own event
        assert stored[(r.id, 1)] == r.position
    assert recorder.retried_alone == 0


def test_a_group_commits_in_one_transaction_with_each_its_own_ids(pg: Container) -> None:
    recorder = recorder_of(pg)
    results = one_group(recorder, registrations(pg, 8))
    assert all(isinstance(r, CommandResult) for r in results)
    assert recorder.groups == 1 and recorder.grouped == 8
    stored = positions(pg)
    assert sorted(stored.values()) == list(range(1, 9))
    for r in results:
        assert isinstance(r, CommandResult) and stored[(r.id, 1)] == r.position


def test_events_keep_per_aggregate_order_within_a_group(pg: Container) -> None:
    """Several calls of several events each, some aggregates in more than one call's past."""
    recorder = recorder_of(pg)
    ids = [uuid4() for _ in range(6)]

    def events(aggregate: UUID, versions: range) -> list[StoredEvent]:
        return [StoredEvent(aggregate, v, "tests:Event", b"{}") for v in versions]

    batches = [events(a, range(1, 5)) for a in ids[:3]] + [
        events(ids[3], range(1, 3)) + events(ids[4], range(1, 4)) + events(ids[5], range(1, 2))
    ]
    answers = one_group(recorder, [lambda b=b: recorder.insert_events(b) for b in batches])
    assert recorder.groups == 1 and recorder.grouped == len(batches)
    stored = positions(pg)
    for batch, answer in zip(batches, answers, strict=True):
        assert isinstance(answer, list)
        assert answer == [stored[(e.originator_id, e.originator_version)] for e in batch]  # type: ignore[index]
        assert answer == sorted(answer)  # in the call's own order, versions ascending
    assert sorted(stored.values()) == list(range(1, 1 + sum(map(len, batches))))
    # a later call on the same aggregates continues after them
    later = recorder.insert_events(events(ids[0], range(5, 7)))
    assert later is not None and min(later) > max(stored.values())


def test_a_conflicting_pair_in_one_group_gives_one_success_one_conflict_and_the_rest_succeed(
    pg: Container,
) -> None:
    recorder = recorder_of(pg)
    target = entity()(pg.ledger).id
    ctx = CommandContext.new("clerk")

    def change(status: EntityStatus) -> Callable[[], CommandResult]:
        return lambda: pg.ledger.change_entity_status(ctx, target, effective_on=f.DAY, status=status)

    duplicate = f.entity_fields()
    calls: list[Callable[[], CommandResult]] = [
        change(EntityStatus.SUSPENDED),  # both load version 1 and write version 2
        change(EntityStatus.DEREGISTERED),
        lambda: pg.ledger.register_entity(CommandContext.new("a"), **duplicate),  # the same credit code
        lambda: pg.ledger.register_entity(CommandContext.new("b"), **duplicate),
        *registrations(pg, 4),
    ]
    results = one_group(recorder, calls)
    changes, duplicates, others = results[:2], results[2:4], results[4:]
    assert sum(isinstance(r, CommandResult) for r in changes) == 1
    assert sum(isinstance(r, ConcurrentChange) for r in changes) == 1
    assert sum(isinstance(r, CommandResult) for r in duplicates) == 1
    assert sum(isinstance(r, EntityAlreadyRegistered) for r in duplicates) == 1
    assert all(isinstance(r, CommandResult) for r in others)
    # the group failed; the members whose events all insert committed again as one group, and only
    # the two losers retried alone (before: every member did)
    assert recorder.retried_alone == 2 and recorder.groups == 2  # the entity, then the clean group
    stored = positions(pg)
    winner = next(r for r in changes if isinstance(r, CommandResult))
    assert stored[(target, 2)] == winner.position and (target, 3) not in stored
    for r in [*duplicates, *others]:
        if isinstance(r, CommandResult):
            assert stored[(r.id, 1)] == r.position
    assert len(stored) == 1 + 1 + 1 + 4  # nothing of the losers, nothing twice


def test_a_conflict_at_the_recorder_is_an_integrity_error_for_the_offender_only(pg: Container) -> None:
    recorder = recorder_of(pg)
    taken = uuid4()
    assert recorder.insert_events([StoredEvent(taken, 1, "tests:Event", b"{}")]) == [1]
    fresh = uuid4()
    answers = one_group(
        recorder,
        [
            lambda: recorder.insert_events([StoredEvent(fresh, 1, "tests:Event", b"{}")]),
            lambda: recorder.insert_events([StoredEvent(taken, 1, "tests:Event", b"{}")]),
        ],
    )
    assert isinstance(answers[0], list) and len(answers[0]) == 1
    assert isinstance(answers[1], IntegrityError)
    assert set(positions(pg)) == {(taken, 1), (fresh, 1)}


def test_after_a_unique_violation_only_the_suspects_retry_alone(pg: Container) -> None:
    """``_without_conflicts``: the members whose rows all insert commit again as one group; a member
    with a key the store holds is refused at once; a member whose key an earlier member took retries
    alone and gets its own answer (here a success: the member before it was refused)."""
    recorder = recorder_of(pg)
    taken, shared = uuid4(), uuid4()
    assert recorder.insert_events([StoredEvent(taken, 1, "tests:Event", b"{}")]) == [1]
    clean = [[StoredEvent(uuid4(), 1, "tests:Event", b"{}")] for _ in range(3)]
    calls = [
        [StoredEvent(taken, 1, "tests:Event", b"{}"), StoredEvent(shared, 1, "tests:Event", b"{}")],
        [StoredEvent(shared, 1, "tests:Event", b"{}")],  # free once the first is refused
        *clean,
    ]
    answers = one_group(recorder, [lambda c=c: recorder.insert_events(c) for c in calls])
    assert isinstance(answers[0], IntegrityError)
    assert all(isinstance(a, list) and len(a) == 1 for a in answers[1:])
    assert recorder.retried_alone == 1  # the one behind the offender
    assert recorder.groups == 2 and recorder.grouped == 3  # the first insert; the clean three together
    stored = positions(pg)
    assert set(stored) == {(taken, 1), (shared, 1), *((c[0].originator_id, 1) for c in clean)}


def test_a_repeated_command_id_in_one_group_returns_the_first_result(pg: Container) -> None:
    recorder = recorder_of(pg)
    command_id = uuid4()
    fields = f.entity_fields()

    def send() -> CommandResult:
        return pg.ledger.register_entity(CommandContext.new("clerk", command_id=command_id), **fields)

    results = one_group(recorder, [send, send, send, *registrations(pg, 1)])
    repeats = results[:3]
    assert all(isinstance(r, CommandResult) for r in results)
    assert len(set(repeats)) == 1
    first = repeats[0]
    assert isinstance(first, CommandResult)
    again = send()  # later, too
    assert again == first
    stored = positions(pg)
    registered = [key for key in stored if key[0] == first.id]
    assert registered == [(first.id, 1)]  # recorded once


def test_group_commit_works_for_the_append_only_role(pg_schema: str, app_role: str) -> None:
    settings = Settings(database_url=role_url(app_role), database_schema=pg_schema, app_role=app_role)
    container = build(settings)
    container.ledger.today = fixed_today
    try:
        recorder = recorder_of(container)
        assert "dangjian_lock_events" in str(recorder.lock_table_statements)
        results = one_group(recorder, registrations(container, 5))
        assert all(isinstance(r, CommandResult) for r in results)
        assert recorder.groups == 1 and recorder.grouped == 5
        assert sorted(positions(container).values()) == [1, 2, 3, 4, 5]
    finally:
        container.close()


def test_a_failed_group_leaves_no_transaction_open(pg: Container) -> None:
    """After a failed group the pooled connection is clean: the next group commits."""
    recorder = recorder_of(pg)
    taken = uuid4()
    recorder.insert_events([StoredEvent(taken, 1, "tests:Event", b"{}")])
    for _ in range(3):
        one_group(
            recorder,
            [
                lambda: recorder.insert_events([StoredEvent(taken, 1, "tests:Event", b"{}")]),
                lambda: recorder.insert_events([StoredEvent(uuid4(), 1, "tests:Event", b"{}")]),
            ],
        )
    results = one_group(recorder, registrations(pg, 3))
    assert all(isinstance(r, CommandResult) for r in results)
    # the first insert, each round's clean member committed again as a group of its own, the last group;
    # the offenders were refused at once (their key is stored), none retried alone
    assert recorder.groups == 1 + 3 + 1 and recorder.retried_alone == 0

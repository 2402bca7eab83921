"""Projection workers on Kafka (issue #5 item 2): a consumer group shares the partitions; the read
tables equal a single worker's and a full rebuild; a redelivery or a republished batch changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Connection, delete, select, update

from domain.envelope import CommandContext
from infra.kafka import ensure_topics, reliable_producer
from infra.relay import Relay, relay_positions
from infra.store import Container
from infra.worker import ProjectionWorker, build_worker
from projections.tables import audit_events, metadata, projection_positions, worker_offsets
from tests import factories as f
from tests.kafka.conftest import read_topic
from tests.kafka.test_relay import record_history
from tests.projections.test_coverage import snapshot

PARTITIONS = 4
# Tansu waits the whole rebalance timeout (max_poll_interval_ms) when a member joins: keep it short.
FAST_GROUP = {
    "max_poll_interval_ms": 3000,
    "session_timeout_ms": 3000,
    "heartbeat_interval_ms": 300,
    "request_timeout_ms": 5000,
    "fetch_max_wait_ms": 100,
}


def make_worker(container: Container, servers: str, topic: str, group: str) -> ProjectionWorker:
    worker = build_worker(
        container.ledger,
        container.engine,
        container.runner.projections.values(),
        servers,
        topic=topic,
        group=group,
        partitions=PARTITIONS,
        **FAST_GROUP,
    )
    worker.poll_timeout_ms = 100
    worker.max_records = 7  # small batches: several transactions per partition
    worker.checkpoint_interval = 0.1
    return worker


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Running:
    """Workers running in threads until stopped; an error in one fails the test."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.workers: list[ProjectionWorker] = []

    def start(self, worker: ProjectionWorker) -> None:
        def target() -> None:
            try:
                worker.run(self.stop)
            except BaseException as e:  # reported by the test
                self.errors.append(e)
                raise

        thread = threading.Thread(target=target, daemon=True)
        self.workers.append(worker)
        self.threads.append(thread)
        thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        for worker in self.workers:
            worker.close()
        assert not self.errors, self.errors


def current_assignment(worker: ProjectionWorker) -> set[int]:
    """The partitions the worker's last rebalance gave it."""
    assigned = [parts for kind, parts in worker.assignments if kind == "assigned"]
    return set(assigned[-1]) if assigned else set()


def without_offsets(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: rows for name, rows in tables.items() if name != "worker_offsets"}


def read_side(container: Container) -> dict[str, list[tuple[Any, ...]]]:
    with container.engine.connect() as conn:
        return snapshot(conn)


def caught_up(container: Container) -> bool:
    head = container.runner.head()
    return all(p == head for p in container.runner.positions().values())


def clear_read_side(conn: Connection, names: list[str]) -> None:
    for table in reversed(metadata.sorted_tables):
        if table.name != "projection_positions":
            conn.execute(delete(table))
    conn.execute(update(projection_positions).values(position=0))


def more_history(container: Container) -> None:
    record_history(container.ledger, entities=3)
    ctx = CommandContext.new("clerk", command_id=uuid4())  # a command receipt: never on the topic
    f.establish(container.ledger, ctx, [f.register_entity(container.ledger, CommandContext.new("clerk"))])


@pytest.fixture
def relay(container: Container, kafka_servers: str, topic_name: str) -> Iterator[Relay]:
    ensure_topics(kafka_servers, [topic_name], PARTITIONS)
    producer = reliable_producer(kafka_servers)
    made = Relay(container.ledger, container.engine, producer, topic_name, batch_size=10)
    made.setup()
    yield made
    producer.close()


def test_two_workers_share_the_partitions_and_equal_one_worker_and_a_rebuild(
    container: Container, kafka_servers: str, topic_name: str, relay: Relay
) -> None:
    group = f"g-{uuid4().hex[:8]}"
    more_history(container)
    relay.catch_up()
    running = Running()
    try:
        first = make_worker(container, kafka_servers, topic_name, group)
        running.start(first)
        wait_until(lambda: first.applied > 0, what="the first worker to apply something")
        assert current_assignment(first) == set(range(PARTITIONS))

        more_history(container)  # events keep coming while the second worker joins
        relay.catch_up()
        second = make_worker(container, kafka_servers, topic_name, group)
        running.start(second)
        wait_until(
            lambda: (
                bool(current_assignment(second))
                and current_assignment(first).isdisjoint(current_assignment(second))
                and bool(current_assignment(first))
            ),
            what="the rebalance",
        )
        for _ in range(3):
            more_history(container)
            relay.catch_up()
        wait_until(lambda: caught_up(container), what="the checkpoints to reach the head")
    finally:
        running.close()

    a, b = current_assignment(first), current_assignment(second)
    assert a and b and a.isdisjoint(b) and a | b == set(range(PARTITIONS))  # each got some
    assert second.applied > 0
    shared = read_side(container)
    head = container.runner.head()
    assert set(container.runner.positions().values()) == {head}
    stored = {row[2]: row for row in shared["worker_offsets"]}
    assert set(stored) == {str(p) for p in range(PARTITIONS)}
    messages = read_topic(kafka_servers, topic_name)
    assert first.applied + second.applied == len(messages)  # every message applied exactly once
    ends: dict[int, int] = {}
    for m in messages:
        ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
    assert {int(p): int(row[3]) for p, row in stored.items()} == {
        p: ends.get(p, 0) for p in range(PARTITIONS)
    }

    # one worker on an empty read side: the Kafka-committed offsets are at the end, but the worker seeks
    # to the offsets stored in the database (none), so it applies everything again from the start
    with container.engine.begin() as conn:
        clear_read_side(conn, list(container.runner.projections))
    assert read_side(container)["audit_events"] == []
    single = make_worker(container, kafka_servers, topic_name, group)
    try:
        assert single.run(once=True) == len(messages)
    finally:
        single.close()
    assert read_side(container) == shared

    # a full rebuild from the store gives the same tables
    container.runner.rebuild()
    assert read_side(container) == shared


def test_a_redelivery_or_a_republished_batch_changes_nothing(
    container: Container, kafka_servers: str, topic_name: str, relay: Relay
) -> None:
    group = f"g-{uuid4().hex[:8]}"
    more_history(container)
    relay.catch_up()
    worker = make_worker(container, kafka_servers, topic_name, group)
    try:
        applied = worker.run(once=True)
    finally:
        worker.close()
    assert applied == len(read_topic(kafka_servers, topic_name))
    assert caught_up(container)
    before = read_side(container)

    # the same messages handed over again (a redelivery after a backwards seek): all skipped
    messages = read_topic(kafka_servers, topic_name)
    by_partition: dict[int, list[Any]] = {}
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        by_partition.setdefault(m.partition, []).append(m)
    for partition, records in by_partition.items():
        assert worker.apply(partition, records) == 0
    assert read_side(container) == before

    # the group's Kafka offsets reset to the beginning: a new worker still starts where the database says
    tps = [TopicPartition(topic_name, p) for p in range(PARTITIONS)]
    resetter = KafkaConsumer(bootstrap_servers=kafka_servers, group_id=group, enable_auto_commit=False)
    try:
        resetter.assign(tps)
        resetter.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
        assert all(resetter.committed(tp) == 0 for tp in tps)
    finally:
        resetter.close()
    again = make_worker(container, kafka_servers, topic_name, group)
    try:
        assert again.run(once=True) == 0
        # and a seek backwards in a running consumer: the messages come again, and are skipped
        for tp in again.consumer.assignment():
            again.consumer.seek(tp, 0)
        assert again.poll_once() + again.poll_once() == 0
    finally:
        again.close()
    assert read_side(container) == before

    # the relay publishes everything again (its position reset, as after a crash): new offsets, old
    # positions, all skipped; only the stored offsets move on
    with container.engine.begin() as conn:
        conn.execute(update(relay_positions).values(position=0))
    relay.catch_up()
    assert len(read_topic(kafka_servers, topic_name)) == 2 * len(messages)
    third = make_worker(container, kafka_servers, topic_name, group)
    try:
        assert third.run(once=True) == 0
        assert third.skipped == len(messages)
    finally:
        third.close()
    after = read_side(container)
    assert without_offsets(after) == without_offsets(before)
    assert after["worker_offsets"] != before["worker_offsets"]


def test_checkpoints_are_a_low_watermark(
    container: Container, kafka_servers: str, topic_name: str, relay: Relay
) -> None:
    """A checkpoint covers exactly the events every partition has applied: a partition at its end
    counts up to the relay's position, a lagging one up to its last applied position."""
    group = f"g-{uuid4().hex[:8]}"
    more_history(container)
    more_history(container)
    relay.catch_up()
    messages = sorted(read_topic(kafka_servers, topic_name), key=lambda m: m.offset)
    by_partition: dict[int, list[Any]] = {p: [] for p in range(PARTITIONS)}
    for m in messages:
        by_partition[m.partition].append(m)
    assert sum(1 for records in by_partition.values() if records) >= 2
    first_non_empty = min(p for p, records in by_partition.items() if records)
    worker = make_worker(container, kafka_servers, topic_name, group)
    try:
        applied: list[int] = []
        for partition, records in by_partition.items():
            done = records if partition == first_non_empty else records[: len(records) // 2]
            worker.apply(partition, done)
            applied += [position_of(m) for m in done]
        mark = worker.advance_checkpoints()
    finally:
        worker.close()
    missing = min(position_of(m) for m in messages if position_of(m) not in applied)
    every_position = [n.id for n in container.ledger.recorder.select_notifications(start=1, limit=10**6)]
    assert mark == max(p for p in every_position if p < missing)  # right below the first missing event
    assert set(container.runner.positions().values()) == {mark}
    with container.engine.connect() as conn:
        audited = set(conn.scalars(select(audit_events.c.position)))
    below = {p for p in every_position if p <= mark}
    assert audited & below == below  # receipts included: applied from the store
    assert audited - below == {p for p in applied if p > mark}


def test_the_worker_knows_each_aggregate_s_partition(
    container: Container, kafka_servers: str, topic_name: str, relay: Relay
) -> None:
    more_history(container)
    relay.catch_up()
    worker = make_worker(container, kafka_servers, topic_name, f"g-{uuid4().hex[:8]}")
    try:
        for m in read_topic(kafka_servers, topic_name):
            assert worker.partition_of(UUID(m.key.decode())) == m.partition
    finally:
        worker.close()


def position_of(message: Any) -> int:
    return int(dict(message.headers)["position"])


def test_a_projection_added_later_must_be_rebuilt_before_the_workers_start(
    container: Container, kafka_servers: str, topic_name: str
) -> None:
    group = f"g-{uuid4().hex[:8]}"
    with container.engine.begin() as conn:
        conn.execute(update(projection_positions).values(position=10))
        conn.execute(
            update(projection_positions).where(projection_positions.c.name == "stars").values(position=0)
        )
        conn.execute(
            worker_offsets.insert().values(group=group, topic=topic_name, partition=0, offset=3, position=9)
        )
    worker = make_worker(container, kafka_servers, topic_name, group)
    try:
        with pytest.raises(RuntimeError, match="dangjian rebuild stars"):
            worker.start()
    finally:
        worker.close()

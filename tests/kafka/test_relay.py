"""The relay (issue #5 item 1): every event on Kafka once, in per-aggregate order, nothing lost by a crash."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from uuid import UUID, uuid4

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Connection
from typer.testing import CliRunner

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.values import EntityStatus
from infra.cli import app
from infra.kafka import ensure_topics, reliable_producer
from infra.relay import Relay
from infra.store import Container
from tests import factories as f
from tests.kafka.conftest import read_topic

HEADERS = {"event_type", "position", "effective_on", "recorded_at", "correlation_id", "envelope_version"}


def record_history(ledger: Ledger, entities: int = 4) -> list[UUID]:
    """Several aggregates with several events each, interleaved in the global order."""
    ids = [
        f.register_entity(ledger, CommandContext.new("clerk", command_id=uuid4() if i == 0 else None))
        for i in range(entities)
    ]
    for status in (EntityStatus.SUSPENDED, EntityStatus.OPERATING, EntityStatus.SUSPENDED):
        for entity_id in ids:
            ledger.change_entity_status(
                CommandContext.new("clerk"), entity_id, effective_on=f.DAY, status=status, reason="检查"
            )
    return ids


def published_positions(ledger: Ledger) -> list[int]:
    """Positions of every event the relay publishes: all but command receipts."""
    return [
        n.id
        for n in ledger.recorder.select_notifications(start=1, limit=10**6)
        if not n.topic.startswith("domain.receipt:")
    ]


def body(message: ConsumerRecord) -> dict[str, Any]:
    return dict(json.loads(message.value))


def assert_per_aggregate_order(messages: list[ConsumerRecord]) -> None:
    """Each key stays on one partition; after removing repeats by position its versions run 1, 2, 3…"""
    partition_of: dict[bytes, int] = {}
    versions: dict[bytes, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        assert partition_of.setdefault(m.key, m.partition) == m.partition
        envelope = body(m)
        if envelope["position"] in seen:
            continue
        seen.add(envelope["position"])
        versions[m.key].append(envelope["aggregate_version"])
    for key, found in versions.items():
        assert found == list(range(1, len(found) + 1)), key


@pytest.fixture
def producer(kafka_servers: str) -> Any:
    made = reliable_producer(kafka_servers)
    yield made
    made.close()


def test_every_event_once_in_per_aggregate_order(
    container: Container, kafka_servers: str, topic_name: str, producer: Any
) -> None:
    ledger = container.ledger
    ids = record_history(ledger)
    ensure_topics(kafka_servers, [topic_name], partitions=3)
    relay = Relay(ledger, container.engine, producer, topic_name, batch_size=5)
    relay.setup()

    # behind → run → caught up
    assert relay.position() == 0
    relay.catch_up()
    assert relay.position() == ledger.recorder.max_notification_id()
    assert relay.catch_up() == 0  # nothing new: nothing sent

    messages = read_topic(kafka_servers, topic_name)
    positions = [body(m)["position"] for m in messages]
    assert sorted(positions) == published_positions(ledger)  # every event, once; no receipt
    assert len(set(positions)) == len(positions) == 4 * 4
    assert {m.key.decode() for m in messages} == {str(i) for i in ids}
    assert_per_aggregate_order(messages)

    first = next(m for m in messages if body(m)["aggregate_version"] == 1)
    envelope = body(first)
    assert envelope["aggregate_id"] == first.key.decode()
    assert envelope["v"] == 1
    assert envelope["event_type"] == "MarketEntity.Registered"
    assert envelope["aggregate_type"] == "MarketEntity"
    assert envelope["topic"] == "domain.market_entity:MarketEntity.Registered"
    assert envelope["effective_on"] == f.DAY.isoformat()
    assert envelope["actor"] == "clerk"
    assert envelope["data"]["kind"] == "farmers_market"
    assert set(envelope["data"]) == {"credit_code", "name", "kind", "industry", "region_code", "station"}
    headers = {name: value.decode() for name, value in first.headers}
    assert set(headers) >= HEADERS
    assert headers["event_type"] == envelope["event_type"]
    assert headers["position"] == str(envelope["position"])
    assert headers["correlation_id"] == envelope["correlation_id"]
    assert headers["recorded_at"] == envelope["recorded_at"]


class SimulatedCrash(Exception):
    pass


class CrashAfterAck(Relay):
    """Dies on its second batch after the broker acknowledged it, before the position is saved."""

    batches = 0

    def _save(self, conn: Connection, position: int) -> None:
        self.batches += 1
        if self.batches == 2:
            raise SimulatedCrash(position)
        super()._save(conn, position)


def test_a_crash_after_the_ack_republishes_one_batch_and_loses_nothing(
    container: Container, kafka_servers: str, topic_name: str
) -> None:
    ledger = container.ledger
    record_history(ledger)
    ensure_topics(kafka_servers, [topic_name], partitions=3)
    batch = 5

    # the first relay publishes one batch, then dies between the ack of the second and its save
    first_producer = reliable_producer(kafka_servers)
    crashing = CrashAfterAck(ledger, container.engine, first_producer, topic_name, batch_size=batch)
    crashing.setup()
    assert crashing.publish_batch() == batch
    saved = crashing.position()
    with pytest.raises(SimulatedCrash):
        crashing.publish_batch()
    assert crashing.position() == saved  # the acknowledged batch was not recorded as published
    first_producer.close()

    # a new relay process starts from the saved position
    second_producer = reliable_producer(kafka_servers)
    restarted = Relay(ledger, container.engine, second_producer, topic_name, batch_size=batch)
    restarted.catch_up()
    second_producer.close()
    assert restarted.position() == ledger.recorder.max_notification_id()

    messages = read_topic(kafka_servers, topic_name)
    positions = [body(m)["position"] for m in messages]
    expected = published_positions(ledger)
    assert set(positions) == set(expected)  # nothing lost
    repeated = sorted(p for p in set(positions) if positions.count(p) > 1)
    assert all(positions.count(p) == 2 for p in repeated)
    assert 0 < len(repeated) <= batch  # at most the one batch
    crashed_batch = [p for p in expected if saved < p <= saved + batch]
    assert set(repeated) <= set(crashed_batch)
    assert_per_aggregate_order(messages)

    # a consumer that removes repeats by position sees every event exactly once, in the store's order
    deduplicated: dict[int, dict[str, Any]] = {}
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        deduplicated.setdefault(body(m)["position"], body(m))
    assert sorted(deduplicated) == expected


def test_cli_setup_and_relay_once(
    kafka_servers: str, topic_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANGJIAN_DATABASE_URL", f"sqlite:///{tmp_path / 'relay.sqlite'}")
    monkeypatch.setenv("DANGJIAN_DEMO_WHEN_EMPTY", "false")
    monkeypatch.setenv("DANGJIAN_KAFKA_BOOTSTRAP_SERVERS", kafka_servers)
    monkeypatch.setenv("DANGJIAN_KAFKA_TOPIC", topic_name)
    runner = CliRunner()
    result = runner.invoke(app, ["setup"])
    assert result.exit_code == 0, result.output
    registered = runner.invoke(
        app, ["call", "POST", "/market-entities", "--data", json.dumps(_entity_json())]
    )
    assert registered.exit_code == 0, registered.output
    result = runner.invoke(app, ["relay", "--once"])
    assert result.exit_code == 0, result.output
    messages = read_topic(kafka_servers, topic_name)
    assert [body(m)["event_type"] for m in messages] == ["MarketEntity.Registered"]
    again = runner.invoke(app, ["relay", "--once"])  # the position was saved: nothing is republished
    assert again.exit_code == 0, again.output
    assert len(read_topic(kafka_servers, topic_name)) == 1


def test_cli_relay_needs_the_bootstrap_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DANGJIAN_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("DANGJIAN_KAFKA_BOOTSTRAP_SERVERS", "")
    result = CliRunner().invoke(app, ["relay", "--once"])
    assert result.exit_code == 2
    assert "DANGJIAN_KAFKA_BOOTSTRAP_SERVERS" in result.output


def _entity_json() -> dict[str, str]:
    fields = f.entity_fields()
    return {k: str(v) for k, v in fields.items()}

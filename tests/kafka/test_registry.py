"""Registry ingestion (issue #5 item 3): good messages recorded once, bad ones dead-lettered with a
reason, the stream never blocked, offsets committed only for handled messages."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, TopicPartition

from domain.errors import DomainError
from domain.market_entity import entity_id_for
from domain.values import EntityStatus
from infra.kafka import reliable_producer
from infra.registry import REASON_HEADER, MalformedMessage, RegistryIngester, build_ingester, parse
from infra.store import Container
from tests import factories as f
from tests.kafka.conftest import read_topic

TEST_CONSUMER = {"max_poll_interval_ms": 3000, "session_timeout_ms": 3000, "heartbeat_interval_ms": 1000}


def registration(**overrides: Any) -> dict[str, Any]:
    message = {
        "type": "registered",
        "message_id": str(uuid4()),
        "credit_code": f.credit_code(),
        "name": "松江区某某小吃店",
        "kind": "individual_business",
        "industry": "餐饮",
        "region_code": "310117",
        "station": "松江区岳阳市场监管所",
        "effective_on": "2025-11-19",
    }
    message.update(overrides)
    return message


def status_change(credit_code: str, **overrides: Any) -> dict[str, Any]:
    message = {
        "type": "status_changed",
        "message_id": str(uuid4()),
        "credit_code": credit_code,
        "status": "suspended",
        "reason": "停业整顿",
        "effective_on": "2025-11-20",
    }
    message.update(overrides)
    return message


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


@pytest.fixture
def topics(topic_name: str) -> tuple[str, str]:
    return f"{topic_name}.inbound", f"{topic_name}.dead-letter"


def ingester_for(
    container: Container, servers: str, topics: tuple[str, str], group: str, **overrides: Any
) -> RegistryIngester:
    inbound, dead_letter = topics
    return build_ingester(
        container.ledger,
        servers,
        topic=inbound,
        dead_letter_topic=dead_letter,
        group=group,
        partitions=3,
        **{**TEST_CONSUMER, **overrides},
    )


def test_good_bad_and_repeated_messages_each_end_in_the_right_place(
    container: Container, kafka_servers: str, topics: tuple[str, str]
) -> None:
    ledger = container.ledger
    inbound, dead_letter = topics
    group = f"g-{uuid4().hex[:8]}"
    ingester = ingester_for(container, kafka_servers, topics, group)

    # the registration system publishes, keyed by credit code (one entity's messages stay in order)
    a, b, c = registration(), registration(), registration()
    a_suspended = status_change(a["credit_code"])
    bad_code = registration(credit_code="91330402ABCDEFGHI0")
    sent: list[tuple[str, bytes, str]] = [  # (key, value, where it should end)
        (a["credit_code"], encode(a), "recorded"),
        (b["credit_code"], encode(b), "recorded"),
        (a["credit_code"], encode(a), "repeated"),  # a redelivery of the same message
        (a["credit_code"], encode(a_suspended), "recorded"),
        ("junk", b"{not json", "MalformedMessage"),
        ("junk", encode({k: v for k, v in c.items() if k != "name"}), "MalformedMessage"),
        ("junk", encode(registration(kind=5)), "MalformedMessage"),
        ("junk", encode(registration(type="merged")), "MalformedMessage"),
        (bad_code["credit_code"], encode(bad_code), "InvalidCreditCode"),
        (a["credit_code"], encode(registration(credit_code=a["credit_code"])), "EntityAlreadyRegistered"),
        ("ghost", encode(status_change(f.credit_code())), "NotFound"),
        ("future", encode(registration(effective_on="2030-01-01")), "EffectiveDateInFuture"),
        (c["credit_code"], encode(c), "recorded"),  # after all the bad ones: the stream is not blocked
    ]
    producer = reliable_producer(kafka_servers)
    for key, value, _ in sent:
        # every message goes to partition 0, so the outcomes come back in the order sent
        producer.send(
            inbound, key=key.encode(), value=value, partition=0, headers=[("source", b"registry-test")]
        )
    producer.flush()
    producer.close()

    try:
        outcomes: list[Any] = []
        deadline = time.monotonic() + 60
        while len(outcomes) < len(sent):
            assert time.monotonic() < deadline, f"only {len(outcomes)} of {len(sent)} messages handled"
            outcomes.extend(ingester.poll_once())
        assert ingester.caught_up()
    finally:
        ingester.close()

    # each message where it belongs
    found = [o.result if o.result != "dead_lettered" else o.reason["error"] for o in outcomes]
    assert found == [where for _, _, where in sent]

    # the good ones are in the store exactly once
    for message in (a, b, c):
        entity = ledger.get_entity(entity_id_for(message["credit_code"]))
        assert entity.name == message["name"]
    a_events = list(ledger.events.get(entity_id_for(a["credit_code"])))
    assert [type(e).__name__ for e in a_events] == ["Registered", "StatusChanged"]
    assert a_events[0].actor == "registry"
    assert a_events[0].causation_id == a_events[0].correlation_id == UUID(a["message_id"])
    assert ledger.get_entity(entity_id_for(a["credit_code"])).status == EntityStatus.SUSPENDED

    # the bad ones are on the dead-letter topic, original bytes and headers, with their reason
    letters = sorted(  # dead letters keep their key, so they spread over partitions: order by source
        read_topic(kafka_servers, dead_letter),
        key=lambda m: json.loads(dict(m.headers)[REASON_HEADER])["source"]["offset"],
    )
    expected_letters = [(k, v, w) for k, v, w in sent if w not in ("recorded", "repeated")]
    assert [(m.key.decode(), m.value) for m in letters] == [(k, v) for k, v, _ in expected_letters]
    for letter, (_, _, error) in zip(letters, expected_letters, strict=True):
        headers = dict(letter.headers)
        assert headers["source"] == b"registry-test"
        reason = json.loads(headers[REASON_HEADER])
        assert reason["error"] == error
        assert reason["source"]["topic"] == inbound
        assert reason["message"]
    reasons = {json.loads(dict(m.headers)[REASON_HEADER])["error"]: m for m in letters}
    bad_code_reason = json.loads(dict(reasons["InvalidCreditCode"].headers)[REASON_HEADER])
    assert bad_code_reason["rule"] == "R1.3" and bad_code_reason["field"] == "credit_code"
    assert bad_code_reason["message_id"] == bad_code["message_id"]
    fields = [json.loads(dict(m.headers)[REASON_HEADER])["field"] for m in letters[:4]]
    assert fields == [None, "name", "kind", "type"]

    # the offsets are committed: the group has handled the whole partition
    assert committed(kafka_servers, group, inbound) == len(sent)


def test_a_redelivered_stream_records_nothing_twice(
    container: Container, kafka_servers: str, topics: tuple[str, str]
) -> None:
    ledger = container.ledger
    inbound, _ = topics
    messages = [registration(), registration()]
    messages.append(status_change(messages[0]["credit_code"]))
    producer = reliable_producer(kafka_servers)
    for m in messages:
        producer.send(inbound, key=m["credit_code"].encode(), value=encode(m))
    producer.flush()
    producer.close()

    first = ingester_for(container, kafka_servers, topics, f"g-{uuid4().hex[:8]}")
    try:
        assert first.run(once=True) == 3
    finally:
        first.close()
    head = ledger.recorder.max_notification_id()

    # another consumer group reads the whole topic again, as after a lost offset commit
    again = ingester_for(container, kafka_servers, topics, f"g-{uuid4().hex[:8]}")
    try:
        outcomes: list[Any] = []
        deadline = time.monotonic() + 60
        while not (outcomes and again.caught_up()):
            assert time.monotonic() < deadline, "the second group did not read the topic"
            outcomes.extend(again.poll_once())
    finally:
        again.close()
    assert sorted(o.result for o in outcomes) == ["repeated"] * 3
    assert ledger.recorder.max_notification_id() == head


def test_once_asks_for_the_end_offsets_only_after_a_poll_that_was_not_full(
    container: Container, kafka_servers: str, topics: tuple[str, str]
) -> None:
    """Issue #6 (P2): ``run(once=True)`` stops when caught up, but a full poll (``max_poll_records``)
    means more is waiting, so the broker's end offsets (a round trip a poll) are asked only after a
    poll that was not full; every message is still handled."""
    inbound, _ = topics
    producer = reliable_producer(kafka_servers)
    for m in (registration() for _ in range(7)):
        producer.send(inbound, key=b"one", value=encode(m))  # one partition: polls of 2, 2, 2, 1
    producer.flush()
    producer.close()
    ingester = ingester_for(container, kafka_servers, topics, f"g-{uuid4().hex[:8]}", max_poll_records=2)
    polls: list[int] = []
    asked_after: list[int] = []
    poll_once, end_offsets = ingester.poll_once, ingester.consumer.end_offsets

    def counted_poll() -> Any:
        outcomes = poll_once()
        polls.append(len(outcomes))
        return outcomes

    def counted_end_offsets(partitions: Any) -> Any:
        asked_after.append(polls[-1])
        return end_offsets(partitions)

    ingester.poll_once = counted_poll  # type: ignore[method-assign]
    ingester.consumer.end_offsets = counted_end_offsets  # type: ignore[method-assign]
    try:
        assert ingester.run(once=True) == 7
    finally:
        ingester.close()
    assert polls.count(2) >= 1 and asked_after
    assert 2 not in asked_after  # never after a full poll


def test_an_unexpected_error_stops_without_committing(
    container: Container, kafka_servers: str, topics: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound, dead_letter = topics
    group = f"g-{uuid4().hex[:8]}"
    message = registration()
    producer = reliable_producer(kafka_servers)
    producer.send(inbound, key=b"k", value=encode(message))
    producer.flush()
    producer.close()

    ingester = ingester_for(container, kafka_servers, topics, group)

    def database_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("database down")

    monkeypatch.setattr(container.ledger, "register_entity", database_down)
    try:
        with pytest.raises(ConnectionError):
            ingester.run(once=True)
    finally:
        ingester.close()
    assert committed(kafka_servers, group, inbound) == 0  # delivered again after a restart
    monkeypatch.undo()

    restarted = ingester_for(container, kafka_servers, topics, group)
    try:
        assert restarted.run(once=True) == 1
    finally:
        restarted.close()
    assert container.ledger.get_entity(entity_id_for(message["credit_code"])).name == message["name"]
    assert committed(kafka_servers, group, inbound) == 1
    assert read_topic(kafka_servers, dead_letter) == []


@dataclass
class Inbound:
    """A consumed message as the ingester reads it (``infra.registry.Record``)."""

    value: bytes | None
    offset: int
    key: bytes | None = b"k"
    topic: str = "inbound"
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def test_one_poll_is_one_batch_written_whole_or_not_at_all(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #6 P2: the messages of a poll run as one batch. An unexpected error on the third writes
    nothing of the first two; the same poll handled again is written in one transaction, in order."""
    ledger = container.ledger
    a, b, c = registration(), registration(), registration()
    records = [Inbound(encode(m), offset) for offset, m in enumerate((a, b, c, a))]
    ingester = RegistryIngester(ledger, consumer=None, producer=None, dead_letter_topic="unused")  # type: ignore[arg-type]
    head = ledger.recorder.max_notification_id() or 0

    register = ledger.register_entity
    calls: list[str] = []

    def down_on_the_third(ctx: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["credit_code"])
        if len(calls) == 3:
            raise ConnectionError("database down")
        return register(ctx, **kwargs)

    monkeypatch.setattr(ledger, "register_entity", down_on_the_third)
    with pytest.raises(ConnectionError):
        list(ingester.handle(records))
    assert (ledger.recorder.max_notification_id() or 0) == head  # nothing of a and b written
    monkeypatch.undo()

    outcomes = list(ingester.handle(records))
    assert [o.result for o in outcomes] == ["recorded", "recorded", "recorded", "repeated"]
    positions = [o.position for o in outcomes]
    assert head < positions[0] < positions[1] < positions[2]  # in arrival order
    assert positions[3] == positions[0]  # a repeat within the poll gives its first run's position
    for message in (a, b, c):
        assert ledger.get_entity(entity_id_for(message["credit_code"])).name == message["name"]


STEP = st.one_of(
    st.tuples(st.just("register"), st.integers(0, 2)),
    st.tuples(
        st.just("status"), st.integers(0, 2), st.sampled_from(["suspended", "operating", "deregistered"])
    ),
    st.tuples(st.just("repeat"), st.integers(0, 30)),
    st.tuples(st.sampled_from(["malformed", "bad_code", "future"])),
)
"""A message of a stream about three credit codes: a registration (a second one breaks R1.2), a status
change (of an entity perhaps never registered, or deregistered, which is final), a repeat of an earlier
message (the same message id), and a malformed or rule-breaking one."""


def stream_of(steps: list[tuple[Any, ...]], rng: random.Random) -> list[bytes]:
    codes = [f.credit_code(rng=rng) for _ in range(3)]
    sent: list[bytes] = []
    for step in steps:
        message_id = str(UUID(int=rng.getrandbits(128)))
        kind = step[0]
        if kind == "repeat":
            sent.append(sent[step[1] % len(sent)] if sent else b"{not json")
            continue
        if kind == "register":
            message = registration(message_id=message_id, credit_code=codes[step[1]])
        elif kind == "status":
            message = status_change(codes[step[1]], message_id=message_id, status=step[2])
        elif kind == "bad_code":
            message = registration(message_id=message_id, credit_code="91330402ABCDEFGHI0")
        elif kind == "future":
            message = registration(message_id=message_id, effective_on="2030-01-01")
        else:
            sent.append(b"{not json")
            continue
        sent.append(encode(message))
    return sent


def one_command_each(ingester: RegistryIngester, raw: bytes) -> tuple[str, str | None]:
    """The ingester before issue #6's batches: each message its own command and transaction."""
    try:
        message = parse(raw)
    except MalformedMessage:
        return "dead_lettered", "MalformedMessage"
    if ingester.ledger.prior_result(message.message_id) is not None:
        return "repeated", None
    try:
        ingester._command(message)
    except DomainError as e:
        return "dead_lettered", e.code
    return "recorded", None


def stored(container: Container) -> list[tuple[UUID, int, str]]:
    """Every stored event's aggregate, version and type, in the order recorded."""
    notifications = container.ledger.recorder.select_notifications(start=1, limit=1_000_000)
    return [(UUID(str(n.originator_id)), n.originator_version, n.topic) for n in notifications]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25), split=st.integers(1, 25), rng=st.randoms())
def test_P2_a_poll_as_one_batch_records_what_one_command_a_message_records(
    container: Container,
    second: Container,
    kafka_servers: str,
    steps: list[tuple[Any, ...]],
    split: int,
    rng: random.Random,
) -> None:
    """Issue #6 P2: whatever the stream, handling its polls as batches (``split`` messages a poll)
    records the same events, in the same order, and gives each message the same outcome (recorded,
    repeated, or dead-lettered for the same rule) as one command and one transaction a message. One
    pair of stores for every example: their streams add up."""
    raw = stream_of(steps, rng)
    producer = reliable_producer(kafka_servers)
    batched = RegistryIngester(container.ledger, consumer=None, producer=producer, dead_letter_topic="dl.p2")  # type: ignore[arg-type]
    alone = RegistryIngester(second.ledger, consumer=None, producer=None, dead_letter_topic="unused")  # type: ignore[arg-type]
    try:
        records = [Inbound(value, offset) for offset, value in enumerate(raw)]
        outcomes = [
            outcome
            for start in range(0, len(records), split)
            for outcome in batched.handle(records[start : start + split])
        ]
    finally:
        producer.close()
    found = [(o.result, o.reason["error"] if o.reason else None) for o in outcomes]
    assert found == [one_command_each(alone, value) for value in raw]
    assert stored(container) == stored(second)


def test_parse_accepts_the_documented_examples() -> None:
    """The two examples of docs/REGISTRY.md parse."""
    text = (Path(__file__).parents[2] / "docs" / "REGISTRY.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    parsed = [parse(block.encode()) for block in blocks]
    assert [p.type for p in parsed] == ["registered", "status_changed"]


def committed(servers: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets on ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions)
    finally:
        consumer.close()

"""The relay: publish every event of the store to Kafka, in the store's global order, at least once.

The relay follows the notification order (the same order projections follow) and sends each event to
one topic (``DANGJIAN_KAFKA_TOPIC``, default ``dangjian.events``), keyed by its aggregate id so that
one aggregate's events land on one partition in order. The value is the versioned JSON envelope of
docs/EVENTS.md ("Kafka").

Delivery is at least once and never loses an event:

1. the relay locks its row of ``relay_positions`` (``FOR UPDATE`` on PostgreSQL, so a second relay
   on the same database waits instead of publishing the same batch) and reads the next batch;
2. it sends the batch with ``acks=all`` and idempotence, flushes, and waits for every send's
   acknowledgement;
3. only then does it advance its position and commit.

A crash between 2 and 3 republishes that one batch on restart; a consumer removes such repeats by
the envelope's ``position``, which is unique and increasing. A failed send raises: the position
stays where it was and the relay stops loudly.

Personal data (issue #7) never goes to Kafka: each personal field an event declares
(``domain.personal``) is published as ``〔个人信息〕``, because a topic cannot be erased.

Command receipts (``CommandReceipt``: the idempotency bookkeeping of ``domain.receipt``) are internal
and not published; their positions are skipped, so positions on the topic have gaps.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from kafka import KafkaProducer
from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, insert, select, update

from domain.application import Ledger
from domain.personal import withhold

log = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
INTERNAL_AGGREGATES = frozenset({"CommandReceipt"})
"""Aggregates whose events stay inside the ledger."""

ENVELOPE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "effective_on",
        "actor",
        "correlation_id",
        "causation_id",
    }
)
"""Attributes of a stored event that the Kafka envelope carries itself; the rest are its ``data``."""

relay_metadata = MetaData()
relay_positions = Table(
    "relay_positions",
    relay_metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


class EventProducer(Protocol):
    """What the relay needs of a ``KafkaProducer``."""

    def send(self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} into the Kafka envelope")


@dataclass(frozen=True)
class OutboundMessage:
    """One event as it goes to Kafka."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    position: int


def envelope(event: Any, position: int, topic: str) -> dict[str, Any]:
    """The versioned envelope of one stored event (docs/EVENTS.md, "Kafka")."""
    aggregate_type, _, event_type = type(event).__qualname__.partition(".")
    return {
        "v": ENVELOPE_VERSION,
        "position": position,
        "aggregate_id": str(event.originator_id),
        "aggregate_type": aggregate_type,
        "aggregate_version": event.originator_version,
        "event_type": f"{aggregate_type}.{event_type}" if event_type else aggregate_type,
        "topic": topic,
        "effective_on": event.effective_on.isoformat(),
        "recorded_at": event.timestamp.isoformat(),
        "actor": event.actor,
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id),
        "data": withhold(type(event), {k: v for k, v in vars(event).items() if k not in ENVELOPE_FIELDS}),
    }


def outbound(event: Any, position: int, topic: str) -> OutboundMessage:
    body = envelope(event, position, topic)
    value = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default)
    headers = [
        ("event_type", body["event_type"]),
        ("position", str(position)),
        ("effective_on", body["effective_on"]),
        ("recorded_at", body["recorded_at"]),
        ("correlation_id", body["correlation_id"]),
        ("envelope_version", str(ENVELOPE_VERSION)),
        ("content_type", "application/json"),
    ]
    return OutboundMessage(
        key=body["aggregate_id"].encode(),
        value=value.encode(),
        headers=[(name, text.encode()) for name, text in headers],
        position=position,
    )


class Relay:
    """Publishes the event store to one Kafka topic; see the module docstring for the guarantees."""

    def __init__(
        self,
        ledger: Ledger,
        engine: Engine,
        producer: EventProducer,
        topic: str,
        *,
        batch_size: int = 500,
        ack_timeout: float = 30.0,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.producer = producer
        self.topic = topic
        self.batch_size = batch_size
        self.ack_timeout = ack_timeout
        self.name = f"kafka:{topic}"

    def setup(self) -> None:
        """Create ``relay_positions`` if missing, and this relay's row (position 0)."""
        relay_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            if (
                conn.scalar(select(relay_positions.c.position).where(relay_positions.c.name == self.name))
                is None
            ):
                conn.execute(insert(relay_positions).values(name=self.name, position=0))

    def position(self) -> int:
        """The last position whose event the broker acknowledged (and every one before it)."""
        with self.engine.connect() as conn:
            return self._read(conn, lock=False)

    def publish_batch(self) -> int:
        """Publish the next batch and advance the position; return how many events were read (0 when
        caught up)."""
        with self.engine.begin() as conn:
            position = self._read(conn, lock=True)
            notifications = self.ledger.recorder.select_notifications(
                start=position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            futures = []
            for notification in notifications:
                event = self.ledger.mapper.to_domain_event(notification)
                if type(event).__qualname__.partition(".")[0] in INTERNAL_AGGREGATES:
                    continue
                message = outbound(event, notification.id, notification.topic)
                futures.append(
                    self.producer.send(
                        self.topic, value=message.value, key=message.key, headers=message.headers
                    )
                )
            self.producer.flush(timeout=self.ack_timeout)
            for future in futures:
                future.get(timeout=self.ack_timeout)  # raises if the broker did not acknowledge
            last = notifications[-1].id
            self._save(conn, last)
        log.info("relay %s: published up to position %d", self.name, last)
        return len(notifications)

    def catch_up(self) -> int:
        """Publish until the store has nothing new; return the number of events read."""
        total = 0
        while published := self.publish_batch():
            total += published
        return total

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Follow the store until ``stop`` is set."""
        while not stop.is_set():
            if not self.catch_up():
                stop.wait(interval)

    def close(self, *, failed: bool = False) -> None:
        """Send what is buffered and close the producer (the position is already saved). After a
        failure nothing is waited for: the unacknowledged batch is published again on restart."""
        self.producer.close(timeout=0 if failed else self.ack_timeout)

    def _read(self, conn: Connection, *, lock: bool) -> int:
        query = select(relay_positions.c.position).where(relay_positions.c.name == self.name)
        if lock:
            query = query.with_for_update()
        position = conn.scalar(query)
        if position is None:
            if lock:
                conn.execute(insert(relay_positions).values(name=self.name, position=0))
            return 0
        return int(position)

    def _save(self, conn: Connection, position: int) -> None:
        """Advance the position; runs only after the broker acknowledged the batch."""
        conn.execute(
            update(relay_positions).where(relay_positions.c.name == self.name).values(position=position)
        )


def build_relay(
    ledger: Ledger,
    engine: Engine,
    bootstrap_servers: str,
    topic: str,
    partitions: int,
    *,
    ack_timeout: float = 30.0,
) -> Relay:
    """A relay with a reliable producer, its topic and its position row in place. ``ack_timeout``
    bounds both the producer's request timeout and the wait for acknowledgements: past it, the batch
    fails, its position is not saved, and the process exits to be restarted."""
    from infra.kafka import ensure_topics, reliable_producer

    timeout_ms = int(ack_timeout * 1000)
    ensure_topics(bootstrap_servers, [topic], partitions, timeout_ms=timeout_ms)
    producer: KafkaProducer = reliable_producer(
        bootstrap_servers, request_timeout_ms=timeout_ms, delivery_timeout_ms=timeout_ms + 100
    )
    relay = Relay(ledger, engine, producer, topic, ack_timeout=ack_timeout)
    relay.setup()
    return relay

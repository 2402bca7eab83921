"""Registry ingestion: market entities captured at business registration (R1.2, Songjiang 实时掌控).

The business-registration system publishes registrations and status changes to an inbound topic
(``DANGJIAN_KAFKA_REGISTRY_TOPIC``, default ``dangjian.registry.inbound``); the message format is in
docs/REGISTRY.md. ``dangjian ingest`` turns each message into one ledger command:

- ``registered`` → ``Ledger.register_entity``; ``status_changed`` → ``Ledger.change_entity_status``;
- the command runs with ``CommandContext.new("registry", command_id=message_id)``, so a redelivered
  message (Kafka delivers at least once) returns the first result and records nothing twice;
- a malformed message (not JSON, a missing field, a wrong type or value) or one that breaks a rule (any
  ``domain.errors.DomainError``: a bad credit code, a duplicate registration, an unknown entity, a date
  ahead of today) goes to the dead-letter topic (``DANGJIAN_KAFKA_REGISTRY_DEAD_LETTER_TOPIC``) with its
  original key, bytes and headers, plus a JSON reason header; the stream goes on;
- the consumer offset is committed only after the message was recorded, or dead-lettered and the
  broker acknowledged the dead letter. Any other error (database or broker down) stops the ingester
  without committing: on restart the message is delivered again. Nothing is dropped silently;
- the messages of one poll (up to the consumer's ``max_poll_records``, 500 by default) run as one batch
  of commands (``Ledger.batch()``, issue #6 P2): the same rules, one transaction for all the accepted
  ones. Several ingesters in one consumer group share the partitions; a credit code's messages are keyed
  to one partition, so they are never handled by two ingesters at once (docs/REGISTRY.md).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from domain.application import Ledger
from domain.commands.base import CommandResult
from domain.commands.batch import Outcome as BatchOutcome
from domain.envelope import CommandContext
from domain.market_entity import entity_id_for
from domain.receipt import receipt_id_for
from domain.values import EntityKind, EntityStatus, validate_credit_code

log = logging.getLogger(__name__)

ACTOR = "registry"
REASON_HEADER = "dead_letter_reason"


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    message_id: UUID
    """Unique per message; the command id that makes a redelivery harmless."""
    credit_code: str
    effective_on: date


class EntityRegistered(_Message):
    """A business was registered (设立登记)."""

    type: Literal["registered"]
    name: str
    kind: EntityKind
    industry: str
    region_code: str
    station: str


class EntityStatusChanged(_Message):
    """A business suspended (停歇业), resumed, or was deregistered (注销)."""

    type: Literal["status_changed"]
    status: EntityStatus
    reason: str = ""


RegistryMessage = Annotated[EntityRegistered | EntityStatusChanged, Field(discriminator="type")]
_parser: TypeAdapter[EntityRegistered | EntityStatusChanged] = TypeAdapter(RegistryMessage)


class MalformedMessage(Exception):
    """The message is not JSON of the documented shape (docs/REGISTRY.md)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def parse(raw: bytes | None) -> EntityRegistered | EntityStatusChanged:
    """Parse one inbound message, or raise ``MalformedMessage`` naming the first field at fault."""
    if raw is None:
        raise MalformedMessage("the message has no value", None)
    try:
        return _parser.validate_json(raw)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        fields = [
            "type" if err["type"] in ("union_tag_invalid", "union_tag_not_found") else _field(err["loc"])
            for err in errors
        ]
        text = "; ".join(f"{f or 'message'}: {err['msg']}" for f, err in zip(fields, errors, strict=True))
        raise MalformedMessage(text, fields[0] if fields else None) from None


def _message_id_of(raw: bytes | None) -> UUID | None:
    """The message id of a malformed message, when it has a readable one (for the dead letter)."""
    try:
        return UUID(str(json.loads(raw or b"")["message_id"]))
    except (ValueError, TypeError, KeyError):
        return None


def _field(loc: tuple[int | str, ...]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("registered", "status_changed"):  # the discriminator's branch
        parts = parts[1:]
    return ".".join(parts) or None


@dataclass(frozen=True)
class Outcome:
    """What became of one inbound message."""

    result: Literal["recorded", "repeated", "dead_lettered"]
    offset: int
    message_id: UUID | None = None
    position: int | None = None
    """The ledger position of the command's last event (recorded or repeated)."""
    reason: dict[str, Any] | None = None
    """Why it was dead-lettered."""


class Record(Protocol):
    """What the ingester reads of a consumed message (kafka-python's ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class _Repeat:
    """A message already recorded: by an earlier command in the store, or earlier in the same batch."""

    of: CommandResult | BatchOutcome

    @property
    def position(self) -> int | None:
        """The first run's position (a batch's is known once it is flushed)."""
        result = self.of if isinstance(self.of, CommandResult) else self.of.result
        return result.position if result is not None else None


class RegistryIngester:
    """Consumes the inbound registry topic into the ledger; see the module docstring."""

    def __init__(
        self,
        ledger: Ledger,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        dead_letter_topic: str,
        *,
        poll_timeout_ms: int = 500,
        ack_timeout: float = 30.0,
    ) -> None:
        self.ledger = ledger
        self.consumer = consumer
        self.producer = producer
        self.dead_letter_topic = dead_letter_topic
        self.poll_timeout_ms = poll_timeout_ms
        self.ack_timeout = ack_timeout

    def handle(self, records: Sequence[Record]) -> Iterator[Outcome]:
        """Record these messages in the ledger as one batch of commands, then yield each one's
        outcome in order, dead-lettering the malformed and rejected ones as it goes.

        The well-formed messages run in arrival order through ``Ledger.batch()`` (issue #6, P2): the
        same commands with every rule as one at a time, the entities and receipts they name read with
        one query, and the accepted ones written in one transaction. Any error other than a rule's
        (database down) writes nothing and propagates before anything is yielded; a dead letter the
        broker does not acknowledge propagates after the outcomes before it.
        """
        parsed: list[EntityRegistered | EntityStatusChanged | MalformedMessage] = []
        wanted: set[UUID] = set()
        for record in records:
            try:
                good = parse(record.value)
            except MalformedMessage as e:
                parsed.append(e)
                continue
            parsed.append(good)
            wanted.update((receipt_id_for(good.message_id), entity_id_for(good.credit_code)))

        # per message: None (malformed), its batch outcome, or a _Repeat of an earlier run
        ran: list[BatchOutcome | _Repeat | None] = []
        first: dict[UUID, BatchOutcome] = {}  # a message recorded earlier in this batch
        with self.ledger.batch() as batch:
            batch.preload(wanted)
            for message in parsed:
                if isinstance(message, MalformedMessage):
                    ran.append(None)
                elif message.message_id in first:
                    ran.append(_Repeat(first[message.message_id]))
                elif (prior := self.ledger.prior_result(message.message_id)) is not None:
                    ran.append(_Repeat(prior))
                else:
                    ran.append(outcome := batch.run(self._command, message))
                    if outcome.ok:
                        first[message.message_id] = outcome
            batch.flush()  # positions are known from here on

        for record, message, done in zip(records, parsed, ran, strict=True):
            if isinstance(message, MalformedMessage):
                message_id = _message_id_of(record.value)
                reason = _reason("MalformedMessage", None, message.field, message.message, message_id, record)
            elif isinstance(done, _Repeat):
                yield Outcome("repeated", record.offset, message.message_id, done.position)
                continue
            else:
                assert done is not None
                message_id = message.message_id
                if done.result is not None:
                    yield Outcome("recorded", record.offset, message_id, done.result.position)
                    continue
                error = done.error
                assert error is not None
                reason = _reason(
                    error.code, error.rule or None, error.field, error.message, message_id, record
                )
            self._dead_letter(record, reason)
            yield Outcome("dead_lettered", record.offset, message_id, reason=reason)

    def _command(self, message: EntityRegistered | EntityStatusChanged) -> CommandResult:
        ctx = CommandContext.new(ACTOR, command_id=message.message_id)
        if isinstance(message, EntityRegistered):
            return self.ledger.register_entity(
                ctx,
                effective_on=message.effective_on,
                credit_code=message.credit_code,
                name=message.name,
                kind=message.kind,
                industry=message.industry,
                region_code=message.region_code,
                station=message.station,
            )
        return self.ledger.change_entity_status(
            ctx,
            entity_id_for(validate_credit_code(message.credit_code)),
            effective_on=message.effective_on,
            status=message.status,
            reason=message.reason,
        )

    def _dead_letter(self, record: Record, reason: dict[str, Any]) -> None:
        headers = [
            *(record.headers or []),
            (REASON_HEADER, json.dumps(reason, ensure_ascii=False, sort_keys=True).encode()),
        ]
        future = self.producer.send(
            self.dead_letter_topic, key=record.key, value=record.value, headers=headers
        )
        future.get(timeout=self.ack_timeout)  # raises unless the broker acknowledged it
        log.warning(
            "registry message at %s/%d@%d dead-lettered: %s",
            record.topic,
            record.partition,
            record.offset,
            reason["message"],
        )

    def poll_once(self) -> list[Outcome]:
        """Handle one poll's messages as one batch (``handle``), then commit the offsets of those
        handled.

        If the batch fails with an unexpected error, nothing is written or committed; if a dead
        letter fails, the messages before it are committed. Either way the error propagates, and
        what was not committed is delivered again after a restart (its message ids make that
        harmless).
        """
        polled = self.consumer.poll(timeout_ms=self.poll_timeout_ms)
        records = [record for partition_records in polled.values() for record in partition_records]
        outcomes: list[Outcome] = []
        handled: dict[TopicPartition, OffsetAndMetadata] = {}
        try:
            for record, outcome in zip(records, self.handle(records), strict=False):
                outcomes.append(outcome)
                handled[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(
                    record.offset + 1, "", -1
                )
        finally:
            if handled:
                self.consumer.commit(handled)
        return outcomes

    def caught_up(self) -> bool:
        """Whether the consumer has partitions and has handled everything on them so far."""
        assignment = self.consumer.assignment()
        if not assignment:
            return False
        ends = self.consumer.end_offsets(list(assignment))
        return all(self.consumer.position(tp) >= ends[tp] for tp in assignment)

    def run(
        self, stop: threading.Event | None = None, *, once: bool = False, join_timeout: float = 60.0
    ) -> int:
        """Consume until ``stop`` is set, or with ``once`` until caught up; return messages handled."""
        handled = 0
        started = time.monotonic()
        full = int(self.consumer.config["max_poll_records"])
        while stop is None or not stop.is_set():
            polled = len(self.poll_once())
            handled += polled
            # a full poll means more is waiting: the broker is asked for its end offsets (a round trip,
            # about 47 ms a poll on Tansu) only after a poll that was not full (issue #6, P2)
            if once and polled < full and self.caught_up():
                break
            if once and not self.consumer.assignment() and time.monotonic() - started > join_timeout:
                log.warning("no partitions assigned after %.0f s; stopping", join_timeout)
                break
        return handled

    def close(self) -> None:
        self.consumer.close()
        self.producer.close(timeout=self.ack_timeout)


def _reason(
    error: str, rule: str | None, field: str | None, message: str, message_id: UUID | None, record: Record
) -> dict[str, Any]:
    return {
        "error": error,
        "rule": rule,
        "field": field,
        "message": message,
        "message_id": str(message_id) if message_id else None,
        "source": {"topic": record.topic, "partition": record.partition, "offset": record.offset},
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }


def build_ingester(
    ledger: Ledger,
    bootstrap_servers: str,
    *,
    topic: str,
    dead_letter_topic: str,
    group: str,
    partitions: int,
    **consumer_overrides: Any,
) -> RegistryIngester:
    """An ingester with its topics in place, a manual-commit consumer and a reliable producer."""
    from infra.kafka import ensure_topics, manual_commit_consumer, reliable_producer

    ensure_topics(bootstrap_servers, [topic, dead_letter_topic], partitions)
    consumer = manual_commit_consumer(bootstrap_servers, group, topic, **consumer_overrides)
    return RegistryIngester(ledger, consumer, reliable_producer(bootstrap_servers), dead_letter_topic)

"""Projection workers fed from Kafka (issue #5): ``dangjian work``.

Several worker processes in one consumer group (``--group``, default ``dangjian-projections``) share
the partitions of the events topic that ``dangjian relay`` publishes (docs/EVENTS.md, "Kafka"). Each
message is turned back into the domain event and applied to every projection's tables.

**The event comes from the store.** The envelope names the aggregate and its version; the worker reads
those stored events, a whole partition batch with one query (``events_for``), decodes them with the
ledger's mapper and checks that each one's topic is the envelope's ``topic``. This is the very object a
catch-up from the store would apply (same class, same values, same decoding), so a worker-fed table
equals a rebuild by construction; the projections read the aggregate's history from the store anyway. The
envelope's ``data`` is for other consumers. A message whose event is not in the store (another database)
stops the worker loudly.

**Exactly once in the read tables.** ``worker_offsets(group, topic, partition, offset, position)``
holds, per partition, the next Kafka offset to read and the last event position applied from it. One
poll's messages (of every partition it returned) are applied in **one database transaction** together with
those rows, the events in position order:

1. the transaction starts by locking the rows, in partition order (``SELECT … ORDER BY partition FOR
   UPDATE`` on PostgreSQL, the write lock on SQLite), so two workers that both believe they own a partition (a
   rebalance, a worker that missed its session timeout) apply it one after the other, never both;
2. a message below the stored offset was applied already (a redelivery, a backwards seek): skipped;
3. a message whose position is at or below the partition's last applied position is a repeat the
   relay published again after a crash: skipped (positions increase along a partition);
4. a projection whose checkpoint is already at or beyond the position skips it (after a
   ``dangjian rebuild`` moved the checkpoints to the head, for instance);
5. each partition's row advances with the rows; the transaction commits; only then is the offset committed to
   Kafka (asynchronously: the database, not Kafka, says what has been applied, and a failed Kafka commit
   is only logged).

On every (re)assignment the worker seeks each partition to the offset stored in the database, so
the Kafka-committed offset never decides what is applied: adding or removing a worker rebalances the
partitions without losing or doubling an event.

**Checkpoints for read-your-writes.** ``projection_positions`` keeps its meaning: every event at or
below a projection's checkpoint has been applied, so ``min_position`` and ``GET /health`` work as with
``dangjian project``. Workers apply partitions independently, so the checkpoint is a *low watermark*:
the largest position ``W`` such that every event at or below ``W`` is applied. Any worker computes it
without asking Kafka, in the transaction that applied a poll's messages (so one commit makes them
visible), and every ``checkpoint_interval`` seconds when it applied nothing:

- an event's partition is known from its aggregate id (Kafka's default partitioner, murmur2 of the
  key, which the relay's producer uses), and along a partition positions increase (the relay publishes
  in the store's order, one acknowledged batch after the other);
- so a published event at position ``x`` on partition ``p`` has been applied exactly when
  ``x <= worker_offsets.position`` of ``p``;
- the worker reads the store's notifications (ids and topics only) upward from the lowest checkpoint
  and stops before the first published event not applied yet; that is ``W``.

Events the relay does not publish (command receipts) lie on no partition: the same transaction that
moves the checkpoints up to ``W`` applies those at or below ``W`` from the store, under the checkpoint
rows' lock, so they too are applied exactly once. One scan looks at 5,000 events at most. Limits: the
watermark lags behind the slowest partition, so one stuck partition holds every checkpoint back
(``/metrics`` shows which); it assumes the topic's partition count does not change (adding partitions
to a keyed topic breaks per-aggregate order anyway: publish to a new topic instead); and it needs the
workers' ``worker_offsets`` and the event store in one database, as everything here is.

Run either ``dangjian project`` (which follows the store directly) or workers on a database, not both,
and stop the workers while ``dangjian rebuild`` runs; workers started after a rebuild skip every event
at or below the new checkpoints. A projection added later is not filled by the workers (they only see
new messages): a worker refuses to start while a projection has checkpoint 0, the others have moved and its
group has applied events already, until ``dangjian rebuild NAME`` has filled it from the store.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import Connection, Engine, Table, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from domain.application import Ledger
from domain.receipt import CommandReceipt
from projections.runner import Projection, decode_all
from projections.tables import projection_positions as P
from projections.tables import worker_offsets as W

log = logging.getLogger(__name__)

DEFAULT_GROUP = "dangjian-projections"
INTERNAL_TOPICS = (get_topic(CommandReceipt.Recorded),)
"""Topics of the events the relay keeps inside the ledger (``infra.relay.INTERNAL_AGGREGATES``)."""


class Record(Protocol):
    """What the worker reads of a consumed message (kafka-python's ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


class EventNotInStore(RuntimeError):
    """A message names an event this worker's store does not hold (a different database?)."""


def _insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert a row unless its primary key exists (another worker may insert it concurrently)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _lock_rows(
    conn: Connection, table: Table, fixed: dict[str, Any], key: Any, keys: Sequence[Any], **fresh: Any
) -> dict[Any, tuple[Any, ...]]:
    """Lock the rows of ``table`` whose columns equal ``fixed`` and whose ``key`` is in ``keys``, **in key
    order**, creating missing ones with the values ``fresh``; return key → the ``fresh`` columns' values.
    One statement locks them all (issue #6, P6).

    PostgreSQL locks the rows as ``SELECT … ORDER BY key FOR UPDATE`` returns them, so two workers
    locking overlapping sets never wait for each other in a cycle. SQLite has one write lock: the
    no-op ``UPDATE`` takes it before anything is read, so the transaction never has to upgrade a
    stale read snapshot."""
    matching = [*(table.c[name] == value for name, value in fixed.items()), key.in_(list(keys))]
    query = select(key, *(table.c[name] for name in fresh)).where(*matching).order_by(key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    else:
        conn.execute(update(table).where(*matching).values({key.name: key}))
    rows = {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    missing = [k for k in keys if k not in rows]
    for k in missing:  # another worker may create the same row meanwhile
        _insert_ignore(conn, table, {**fixed, key.name: k, **fresh})
    if missing:
        rows = {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    return rows


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: ProjectionWorker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Every applied message is already committed in the database; nothing to flush.
        self.worker.assignments.append(("revoked", sorted(tp.partition for tp in revoked)))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.worker.seek_to_stored(list(assigned))
        self.worker.assignments.append(("assigned", sorted(tp.partition for tp in assigned)))


class ProjectionWorker:
    """Applies the events topic to the read tables; see the module docstring for the guarantees."""

    def __init__(
        self,
        ledger: Ledger,
        engine: Engine,
        projections: Iterable[Projection],
        consumer: KafkaConsumer,
        topic: str,
        group: str,
        *,
        poll_timeout_ms: int = 500,
        max_records: int = 500,
        checkpoint_interval: float = 0.5,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.consumer = consumer
        self.topic = topic
        self.group = group
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.checkpoint_interval = checkpoint_interval
        self.assignments: list[tuple[str, list[int]]] = []
        """Every revocation and assignment this worker saw, in order (for logs and tests)."""
        self.applied = 0
        """Messages applied by this worker (repeats and redeliveries not counted)."""
        self.skipped = 0
        """Messages skipped as already applied."""
        self._last_checkpoint = 0.0
        self._partitions: int | None = None
        self._partition_of: dict[str, int] = {}
        self._polled = 0

    # --- consuming ------------------------------------------------------------------------------

    def start(self) -> None:
        """Join the group; partitions arrive (and are sought to their stored offsets) in ``poll``.

        Refuses to start when a projection was added after the group began (its checkpoint is 0, the
        others' are not, and the group has applied events): the events before it joined would be
        missing from its tables, so it must be filled from the store first (``dangjian rebuild NAME``
        with the workers stopped)."""
        with self.engine.connect() as conn:
            progress = conn.scalar(
                select(W.c.position).where(W.c.group == self.group, W.c.topic == self.topic, W.c.position > 0)
            )
            checkpoints = {str(n): int(p) for n, p in conn.execute(select(P.c.name, P.c.position))}
        fresh = sorted(name for name in self.projections if not checkpoints.get(name))
        if progress is not None and fresh and any(checkpoints.get(name) for name in self.projections):
            raise RuntimeError(
                f"projection(s) {', '.join(fresh)} have no checkpoint but group {self.group} already "
                f"applied events of {self.topic}: stop the workers and run `dangjian rebuild "
                f"{' '.join(fresh)}` first"
            )
        self.consumer.subscribe([self.topic], listener=_Rebalance(self))

    def seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        """Seek each partition to the next offset the database says is not applied yet."""
        if not partitions:
            return
        stored = self.stored_offsets()
        for tp in partitions:
            offset = stored.get(tp.partition, (0, 0))[0]
            self.consumer.seek(tp, offset)
            log.info("worker %s: %s/%d from offset %d", self.group, tp.topic, tp.partition, offset)

    def poll_once(self) -> int:
        """Apply one poll's messages in one transaction (every partition of the poll); return how many
        were applied."""
        batches = self.consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        self._polled = sum(len(records) for records in batches.values())
        polled = {tp: records for tp, records in batches.items() if records}
        applied = self.apply_partitions({tp.partition: records for tp, records in polled.items()})
        if polled:  # one request for every partition of the poll
            offsets = {
                tp: OffsetAndMetadata(records[-1].offset + 1, "", -1) for tp, records in polled.items()
            }
            self.consumer.commit_async(offsets, callback=self._committed)
        if not applied and time.monotonic() - self._last_checkpoint >= self.checkpoint_interval:
            self.advance_checkpoints()  # other workers' progress may have moved the watermark
        return applied

    def _committed(self, offsets: Any, response: Any) -> None:
        if isinstance(response, Exception):  # the database holds the truth; Kafka's copy is advisory
            log.warning("worker %s: Kafka offset commit failed: %s", self.group, response)

    def apply(self, partition: int, records: Sequence[Record]) -> int:
        """Apply one partition's messages and advance its row in one transaction; return the number
        of messages applied (repeats skipped)."""
        return self.apply_partitions({partition: records})

    def apply_partitions(self, polled: dict[int, Sequence[Record]]) -> int:
        """Apply the messages of several partitions and advance their rows in **one** transaction, the
        events in position order (issue #6, P6: one set of statements per poll, not per partition;
        the rows and every partition's offset still commit together). Returns the number applied."""
        if not polled:
            return 0
        applied = skipped = 0
        with self.engine.begin() as conn:
            # the partitions' rows first, locked in one order (two workers never deadlock), then the rest
            stored = self._lock_partitions(conn, sorted(polled))
            checkpoints = {name: int(pos) for name, pos in conn.execute(select(P.c.name, P.c.position))}
            envelopes: list[dict[str, Any]] = []
            advanced: dict[int, tuple[int, int]] = {}
            for partition, (offset, last) in stored.items():
                for record in polled[partition]:
                    if record.offset < offset:  # applied already: a redelivery
                        skipped += 1
                        continue
                    envelope = _envelope(record)
                    position = int(envelope["position"])
                    offset = record.offset + 1
                    if position <= last:  # the relay published it again after a crash
                        skipped += 1
                        continue
                    envelopes.append(envelope)
                    last = position
                    applied += 1
                advanced[partition] = (offset, last)
            envelopes.sort(key=lambda e: int(e["position"]))
            events = self.events_for(conn, envelopes)
            batch = [(event, int(e["position"])) for event, e in zip(events, envelopes, strict=True)]
            for name, projection in self.projections.items():  # batched writes (projections/temporal.py)
                due = [(event, position) for event, position in batch if position > checkpoints.get(name, 0)]
                if due:
                    projection.handle_batch(conn, due)
            for partition, (offset, last) in advanced.items():
                conn.execute(
                    update(W)
                    .where(W.c.group == self.group, W.c.topic == self.topic, W.c.partition == partition)
                    .values(offset=offset, position=last)
                )
            if applied:  # the watermark moves in the same transaction (issue #6, P6: one commit per poll)
                self._advance(conn)
        self.applied += applied
        self.skipped += skipped
        return applied

    def _lock_partitions(self, conn: Connection, partitions: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Lock these partitions' rows in partition order (creating missing ones) and return partition
        → (offset, position)."""
        fixed = {"group": self.group, "topic": self.topic}
        rows = _lock_rows(conn, W, fixed, W.c.partition, partitions, offset=0, position=0)
        return {int(p): (int(rows[p][0]), int(rows[p][1])) for p in partitions}

    def event_for(self, envelope: dict[str, Any]) -> Any:
        """The domain event a v1 envelope stands for, read from the store."""
        with self.engine.connect() as conn:
            return self.events_for(conn, [envelope])[0]

    def events_for(self, conn: Connection, envelopes: Sequence[dict[str, Any]]) -> list[Any]:
        """The domain events the envelopes stand for, read from the store with one query for the whole
        batch and decoded together (issue #6, P6: one query per event was most of a worker's time)."""
        if not envelopes:
            return []
        wanted = [(UUID(str(e["aggregate_id"])), int(e["aggregate_version"])) for e in envelopes]
        recorder: Any = self.ledger.recorder
        table = recorder.events_table_name
        found: dict[tuple[UUID, int], StoredEvent] = {}
        if conn.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    f"SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "
                    "JOIN unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[])) AS w(id, version) "
                    "ON e.originator_id = w.id AND e.originator_version = w.version"
                ),
                {"ids": [w[0] for w in wanted], "versions": [w[1] for w in wanted]},
            )
            for aggregate_id, version, topic, state in rows:
                found[(aggregate_id, version)] = StoredEvent(aggregate_id, version, topic, bytes(state))
        else:  # SQLite keeps ids as hex text
            for i in range(0, len(wanted), 400):  # SQLite's variable limit (2 a pair)
                chunk = wanted[i : i + 400]
                pairs = ", ".join("(?, ?)" for _ in chunk)
                params = tuple(v for aggregate_id, version in chunk for v in (aggregate_id.hex, version))
                rows = conn.exec_driver_sql(
                    f"SELECT originator_id, originator_version, topic, state FROM {table} "
                    f"WHERE (originator_id, originator_version) IN (VALUES {pairs})",
                    params,
                )
                for hex_id, version, topic, state in rows:
                    found[(UUID(hex_id), version)] = StoredEvent(UUID(hex_id), version, topic, bytes(state))
        stored = []
        for envelope, key in zip(envelopes, wanted, strict=True):
            if key not in found:
                raise EventNotInStore(
                    f"event {key[0]} v{key[1]} (position {envelope['position']}) is not in the store"
                )
            stored.append(found[key])
        events = decode_all(self.ledger.mapper, stored)
        for event, envelope, (aggregate_id, version) in zip(events, envelopes, wanted, strict=True):
            if get_topic(type(event)) != envelope["topic"]:
                raise EventNotInStore(
                    f"event {aggregate_id} v{version} is a {get_topic(type(event))}, "
                    f"the message says {envelope['topic']}"
                )
        return events

    def stored_offsets(self) -> dict[int, tuple[int, int]]:
        """partition → (next offset, last applied position) of this group on this topic."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(W.c.partition, W.c.offset, W.c.position).where(
                    W.c.group == self.group, W.c.topic == self.topic
                )
            )
            return {int(p): (int(o), int(pos)) for p, o, pos in rows}

    # --- checkpoints ----------------------------------------------------------------------------

    def partition_of(self, aggregate_id: UUID | str) -> int:
        """The partition the relay's producer puts an aggregate on (Kafka's default partitioner:
        murmur2 of the key, as in every Kafka client)."""
        key = str(aggregate_id)
        partition = self._partition_of.get(key)
        if partition is None:
            if self._partitions is None:
                partitions = self.consumer.partitions_for_topic(self.topic)
                if not partitions:
                    raise RuntimeError(f"topic {self.topic} has no partitions (yet)")
                self._partitions = len(partitions)
            if len(self._partition_of) >= 100_000:  # kafka-python's murmur2 is pure Python: remembered
                self._partition_of.clear()
            partition = self._partition_of[key] = int(murmur2(key.encode()) & 0x7FFFFFFF) % self._partitions
        return partition

    def advance_checkpoints(self, limit: int = 5000) -> int:
        """Move every projection's checkpoint to the watermark (see the module docstring), applying
        the unpublished events on the way, in a transaction of its own; return the watermark. Scans at
        most ``limit`` events. (After messages were applied, ``apply_partitions`` does this in its own
        transaction.)"""
        with self.engine.begin() as conn:
            return self._advance(conn, limit)

    def _advance(self, conn: Connection, limit: int = 5000) -> int:
        """``advance_checkpoints`` inside the caller's transaction. The checkpoint rows are locked in
        name order, after any partition rows the transaction holds: every worker takes the two kinds
        of lock in that order, so none waits for another in a cycle."""
        self._last_checkpoint = time.monotonic()
        names = sorted(self.projections)
        rows = _lock_rows(conn, P, {}, P.c.name, names, position=0)
        current = {name: int(rows[name][0]) for name in names}
        applied_upto = {
            int(partition): int(position)
            for partition, position in conn.execute(
                select(W.c.partition, W.c.position).where(W.c.group == self.group, W.c.topic == self.topic)
            )
        }
        start = mark = min(current.values(), default=0)
        internal = False
        done = False
        while not done and mark - start < limit:
            scanned = self._scan(conn, mark, 500)
            for position, aggregate_id, topic in scanned:
                if topic in INTERNAL_TOPICS:
                    internal = True
                elif position > applied_upto.get(self.partition_of(aggregate_id), 0):
                    done = True  # the first published event not applied yet
                    break
                mark = position
            if len(scanned) < 500:
                done = True
        unpublished: Sequence[Any] = ()
        if internal and mark > start:
            unpublished = self.ledger.recorder.select_notifications(
                start=start, stop=mark, topics=INTERNAL_TOPICS, limit=mark - start, inclusive_of_start=False
            )
        behind = [name for name, position in current.items() if position < mark]
        events = decode_all(self.ledger.mapper, unpublished) if behind else []  # once for every projection
        for name in behind:
            for notification, event in zip(unpublished, events, strict=True):
                if current[name] < notification.id <= mark:
                    self.projections[name].handle(conn, event, notification.id)
        if behind:
            conn.execute(update(P).where(P.c.name.in_(behind)).values(position=mark))
        return mark

    def _scan(self, conn: Connection, after: int, limit: int) -> list[tuple[int, UUID, str]]:
        """(position, aggregate id, topic) of the next ``limit`` stored events after ``after``: the
        watermark needs no event's state (issue #6, P6)."""
        table = self.ledger.recorder.events_table_name  # type: ignore[attr-defined]
        column = "notification_id" if conn.dialect.name == "postgresql" else "rowid"  # SQLite: the row id
        rows = conn.execute(
            text(
                f"SELECT {column}, originator_id, topic FROM {table} WHERE {column} > :after "
                f"ORDER BY {column} LIMIT :limit"
            ),
            {"after": after, "limit": limit},
        )
        return [  # SQLite keeps ids as hex text
            (int(position), aggregate_id if isinstance(aggregate_id, UUID) else UUID(aggregate_id), topic)
            for position, aggregate_id, topic in rows
        ]

    # --- running --------------------------------------------------------------------------------

    def caught_up(self) -> bool:
        """Whether this worker has partitions and has applied everything on them so far (as far as the
        broker's end offsets tell: Tansu reports the base offset of the last batch + 1, so ``run`` also
        waits for an empty poll)."""
        assignment = self.consumer.assignment()
        if not assignment:
            return False
        ends = self.consumer.end_offsets(list(assignment))
        return all(self.consumer.position(tp) >= ends[tp] for tp in assignment)

    def run(
        self, stop: threading.Event | None = None, *, once: bool = False, join_timeout: float = 60.0
    ) -> int:
        """Consume until ``stop`` is set, or with ``once`` until caught up; return messages applied."""
        if not self.consumer.subscription():
            self.start()
        applied = 0
        started = time.monotonic()
        while stop is None or not stop.is_set():
            applied += self.poll_once()
            if once and not self._polled and self.caught_up():
                self.advance_checkpoints()
                break
            if once and not self.consumer.assignment() and time.monotonic() - started > join_timeout:
                log.warning("no partitions assigned after %.0f s; stopping", join_timeout)
                break
        return applied

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def _envelope(record: Record) -> dict[str, Any]:
    body = json.loads(record.value or b"null")
    if not isinstance(body, dict) or body.get("v") != 1:
        raise ValueError(
            f"{record.topic}/{record.partition}@{record.offset}: not a v1 envelope (docs/EVENTS.md)"
        )
    return body


def build_worker(
    ledger: Ledger,
    engine: Engine,
    projections: Iterable[Projection],
    bootstrap_servers: str,
    *,
    topic: str,
    group: str = DEFAULT_GROUP,
    partitions: int,
    **consumer_overrides: Any,
) -> ProjectionWorker:
    """A worker with the events topic in place and a manual-commit group consumer, not yet joined."""
    from infra.kafka import ensure_topics, manual_commit_consumer

    ensure_topics(bootstrap_servers, [topic], partitions)
    # A fetch waits at most 50 ms for data, not Kafka's 500 ms: the wait bounds how late a new event is
    # seen when a poll finds nothing (issue #6, P6); an idle worker then asks the broker 20 times a second.
    consumer_overrides.setdefault("fetch_max_wait_ms", 50)
    consumer = manual_commit_consumer(bootstrap_servers, group, **consumer_overrides)
    return ProjectionWorker(ledger, engine, projections, consumer, topic, group)

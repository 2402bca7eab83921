"""Plumbing every command shares: the effective-date envelope, loading, saving, idempotency.

Every command takes a ``CommandContext`` (who, correlation, causation, optional command id) and an
effective date, checks all rules before anything is recorded, and saves every aggregate it touched
in one ``save()``: one database transaction with optimistic concurrency on each aggregate's
version. Rules that span aggregates are therefore checked on the aggregates themselves, never on a
read model that may lag, and a race between two such commands ends in one success and one
``Conflict``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    EventStore,
    JSONTranscoder,
    Mapper,
    RecordConflictError,
    Transcoder,
    Transcoding,
)

from domain import errors
from domain.envelope import CommandContext, EventMeta
from domain.personal import PersonalDataVault
from domain.receipt import CommandReceipt, receipt_id_for
from domain.timetravel import state_as_of
from domain.transcoder import FastJSONTranscoder

if TYPE_CHECKING:
    from domain.commands.batch import BulkStore, CommandBatch

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
A = TypeVar("A", bound=Aggregate)
P = ParamSpec("P")
L = TypeVar("L", bound="LedgerBase")


def business_today() -> date:
    """Today's date where the business happens (China Standard Time)."""
    return datetime.now(BUSINESS_TZ).date()


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ConcurrentChange(errors.Conflict):
    """Another command changed the same aggregate first (optimistic concurrency); retry."""


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the aggregate it created or changed and its last event's position."""

    id: UUID
    position: int


_current: ContextVar[tuple[CommandContext, date] | None] = ContextVar("current_command", default=None)
_batch: ContextVar[CommandBatch | None] = ContextVar("current_batch", default=None)
"""The ``CommandBatch`` this context runs commands in (``domain.commands.batch``), if any."""


def command(
    method: Callable[Concatenate[L, CommandContext, P], CommandResult],
) -> Callable[Concatenate[L, CommandContext, P], CommandResult]:
    """Make a command idempotent by its client-supplied command id (``ctx.command_id``).

    A repeat returns the first result and records nothing; the receipt is saved in the same
    transaction as the command's events (see ``LedgerBase._commit``).
    """

    @functools.wraps(method)
    def wrapper(self: L, ctx: CommandContext, /, *args: P.args, **kwargs: P.kwargs) -> CommandResult:
        if ctx.command_id is not None:
            prior = self.prior_result(ctx.command_id)
            if prior is not None:
                return prior
        token = _current.set((ctx, self.today()))
        try:
            return method(self, ctx, *args, **kwargs)
        finally:
            _current.reset(token)

    return wrapper


class LedgerBase(Application[UUID]):
    """The eventsourcing Application underneath every group of commands."""

    name = "Ledger"
    bulk_store: BulkStore | None = None
    """How a ``CommandBatch`` reads and writes in bulk: ``infra.bulk`` installs ``COPY`` on
    PostgreSQL; without one, a batch uses the recorder's own insert (``executemany`` on SQLite)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        today: Callable[[], date] = business_today,
        vault: PersonalDataVault | None = None,
    ) -> None:
        """``vault`` keeps the members' keys (``infra.personal``); without one, personal data is
        stored in clear and erasure destroys no key: for in-memory tests only."""
        self.vault = vault
        super().__init__(env)
        self.today = today

    # The repository and the event store as commands see them: a batch's own in a ``CommandBatch``
    # (issue #6, P2), else eventsourcing's.
    @property
    def repository(self) -> Repository[UUID]:
        batch = self._own_batch()
        if batch is not None:
            return batch.repository  # type: ignore[return-value]
        return self._repository

    @repository.setter
    def repository(self, value: Repository[UUID]) -> None:
        self._repository = value

    @property
    def events(self) -> EventStore[UUID]:
        batch = self._own_batch()
        if batch is not None:
            return batch.events  # type: ignore[return-value]
        return self._events

    @events.setter
    def events(self, value: EventStore[UUID]) -> None:
        self._events = value

    def _own_batch(self) -> CommandBatch | None:
        """The ``CommandBatch`` of this ledger the command runs in, if any."""
        batch = _batch.get()
        return batch if batch is not None and batch.ledger is self else None

    def batched(self) -> bool:
        """Whether the command runs in a ``CommandBatch`` of this ledger."""
        return self._own_batch() is not None

    def batch(self, *, fallback: bool = True) -> CommandBatch:
        """A unit of work for many commands, written in one transaction (``domain.commands.batch``)."""
        from domain.commands.batch import CommandBatch

        return CommandBatch(self, self.bulk_store, fallback=fallback)

    def construct_transcoder(self) -> Transcoder:
        """eventsourcing's JSON, written faster (``domain.transcoder``: the same bytes)."""
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        if self.vault is None:
            return super().construct_mapper()
        return self.vault.mapper(self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def _meta(self, ctx: CommandContext, effective_on: date) -> EventMeta:
        return EventMeta.build(ctx, effective_on, self.today())

    def _get(self, cls: type[A], aggregate_id: UUID, label: str, field: str = "id") -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise errors.NotFound(f"no {label} {aggregate_id}", field=field) from None
        if not isinstance(aggregate, cls):
            raise errors.NotFound(f"{aggregate_id} is not a {label}", field=field)
        return aggregate

    def aggregate_at(
        self,
        cls: type[A],
        aggregate_id: UUID,
        label: str,
        as_of: date | None,
        known_at: datetime | None,
    ) -> A:
        """The aggregate now, or as of a business date as known at a moment (``domain.timetravel``)."""
        if as_of is None and known_at is None:
            return self._get(cls, aggregate_id, label)
        events = list(self.events.get(aggregate_id))
        aggregate = state_as_of(events, as_of or self.today(), known_at) if events else None
        if not isinstance(aggregate, cls):
            when = f" as of {as_of or self.today()}" + (f" as known at {known_at}" if known_at else "")
            raise errors.NotFound(f"no {label} {aggregate_id}{when}", field="id")
        return aggregate

    def _commit(
        self, subject: UUID, *aggregates: Aggregate, on_conflict: errors.DomainError | None = None
    ) -> CommandResult:
        """Save every touched aggregate (and the command's receipt) in one transaction; in a batch,
        stage them for the batch's transaction instead."""
        current = _current.get()
        command_id = current[0].command_id if current else None
        if current and command_id is not None:
            ctx, today = current
            meta = EventMeta(today, ctx.actor, ctx.correlation_id, ctx.causation_id)
            aggregates = (*aggregates, CommandReceipt.record(command_id, subject, meta))
        batch = self._own_batch()
        if batch is not None:
            return batch.commit(subject, aggregates, on_conflict)
        try:
            recordings = self.save(*aggregates)
        except RecordConflictError as e:
            prior = self.prior_result(command_id) if command_id else None
            if prior is not None:  # the same command, repeated concurrently, won
                return prior
            raise on_conflict or ConcurrentChange(
                "another command changed the same record first; reload and retry", field="id"
            ) from e
        return CommandResult(subject, max(r.notification.id for r in recordings))

    def prior_result(self, command_id: UUID) -> CommandResult | None:
        """The result of an earlier command with this id, if there was one."""
        receipt_id = receipt_id_for(command_id)
        try:
            receipt: Any = self.repository.get(receipt_id)
        except AggregateNotFoundError:
            return None
        batch = self._own_batch()
        position = batch.first_position(receipt_id) if batch is not None else None
        if position is None:
            position = self._position_of_first_event(receipt_id)
        return CommandResult(receipt.subject_id, position)

    def _position_of_first_event(self, aggregate_id: UUID) -> int:
        """The notification id of an aggregate's first event (a receipt's is its command's last)."""
        recorder: Any = self.recorder
        if hasattr(recorder, "datastore") and hasattr(recorder, "events_table_name"):
            datastore = recorder.datastore
            if hasattr(datastore, "schema"):  # PostgreSQL
                sql = (
                    f'SELECT notification_id FROM "{datastore.schema}"."{recorder.events_table_name}" '
                    "WHERE originator_id = %s AND originator_version = 1"
                )
                params: tuple[Any, ...] = (aggregate_id,)
            else:  # SQLite keeps the notification id as the rowid
                sql = (
                    f"SELECT rowid FROM {recorder.events_table_name} "
                    "WHERE originator_id = ? AND originator_version = 1"
                )
                params = (aggregate_id.hex,)
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            return int(row[0] if isinstance(row, tuple | list) else next(iter(dict(row).values())))
        for notification in self.recorder.select_notifications(start=1, limit=10**9):  # in-memory store
            if notification.originator_id == aggregate_id and notification.originator_version == 1:
                return notification.id
        raise errors.NotFound(f"no events for {aggregate_id}")

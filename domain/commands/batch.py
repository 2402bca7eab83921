"""Many commands, one transaction: the unit of work of a bulk import (issue #6, P2).

``Ledger.batch()`` returns a ``CommandBatch``. Inside ``with ledger.batch() as batch:`` the ledger's
own command methods run unchanged, with every rule, but in this context (a ``ContextVar``, so other
threads using the same ``Ledger`` are not affected):

- every aggregate a command reads comes from the batch's cache: loaded once from the store (or in
  one query for many ids with ``preload``), then kept with the changes of the batch's earlier
  commands, so a rule that looks at another aggregate (a credit code already registered, R1.2; an
  organisation that exists and is not dissolved, R2.2; an entity already covered, R13.1) sees them;
- ``_commit`` stages the command's events (and its receipt) instead of saving them; a command that
  would write a version the batch already holds fails as it would in the store (its ``on_conflict``
  error, else ``ConcurrentChange``);
- ``run(fn, ...)`` runs one command and reports it as an ``Outcome``: a rule error is caught and
  the aggregates the failed command had changed in memory are dropped from the cache (rebuilt from
  the store and the batch's staged events when next read), so a rejected command leaves nothing of
  its own, as in the store;
- ``flush()`` (also on leaving the ``with`` block without an error) writes every staged event in
  one transaction through the ledger's ``bulk_store`` (``infra.bulk``: ``COPY`` under the event
  table's insert lock on PostgreSQL), then fills in each outcome's position. If the store refuses
  the batch because another writer got there first (a primary-key conflict: an aggregate version
  or a deterministic id written concurrently), nothing of the batch is written and the batch's
  commands are run again one by one, each in its own transaction as without a batch
  (``fallback=True``, the default), or the batch fails with ``ConcurrentChange``.

A command called directly inside the block (not through ``run``) is staged too, but a rule error
then leaves the batch's cache in whatever state the command left it: use ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification, RecordConflictError, StoredEvent

from domain import errors
from domain.commands.base import CommandResult, ConcurrentChange, _batch
from domain.personal import subjects_of

if TYPE_CHECKING:
    from domain.commands.base import LedgerBase


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class BulkStore(Protocol):
    """How a batch reads and writes the event store in bulk (``infra.bulk`` implements it)."""

    def select(self, aggregate_ids: Collection[UUID]) -> Sequence[Notification]:
        """Every stored event of these aggregates, with its notification id, in version order."""
        ...

    def insert(self, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        """Write these events in one transaction, in this order; their notification ids. Raises
        ``RecordConflictError`` (and writes nothing) when a version is already stored."""
        ...


@dataclass
class Outcome:
    """What one command of a batch did: its result (position known after ``flush``) or its error."""

    index: int
    result: CommandResult | None = None
    error: errors.DomainError | None = None
    keys: list[tuple[UUID, int]] = field(default_factory=list)
    """The (aggregate, version) whose notification id is the result's position, once written."""

    @property
    def ok(self) -> bool:
        return self.error is None


class _Call:
    __slots__ = ("args", "fn", "kwargs", "outcome")

    def __init__(
        self,
        outcome: Outcome,
        fn: Callable[..., CommandResult],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.outcome, self.fn, self.args, self.kwargs = outcome, fn, args, kwargs


class _Entry:
    """What the batch knows of one aggregate (one dict lookup per read or write)."""

    __slots__ = ("aggregate", "created", "position", "staged", "stale", "version")

    def __init__(self, aggregate: Aggregate | None, version: int) -> None:
        self.aggregate = aggregate  # None: known not to exist
        self.version = version  # the last version known, stored or staged (0: none)
        self.staged: list[Any] = []  # this batch's events, not yet written
        self.created = False  # first written by this batch
        self.stale = False  # a failed command changed it: rebuild before use
        self.position: int | None = None  # notification id of its first event, when known


class _Repository:
    """The repository as the batch's commands see it (``get`` and ``in``)."""

    def __init__(self, batch: CommandBatch) -> None:
        self.batch = batch

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Aggregate:
        if kwargs:  # a past version: from the store only
            aggregate: Aggregate = self.batch.ledger._repository.get(aggregate_id, **kwargs)
            return aggregate
        return self.batch.get(aggregate_id)

    def __contains__(self, aggregate_id: object) -> bool:
        if not isinstance(aggregate_id, UUID):
            return False
        try:
            self.batch.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True


class _Events:
    """The event store as the batch's commands see it: stored events, then the batch's staged ones."""

    def __init__(self, batch: CommandBatch) -> None:
        self.batch = batch

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[Any]:
        entry = self.batch._entries.get(originator_id)
        staged = entry.staged if entry is not None else []
        created = entry is not None and entry.created
        stored = [] if created else list(self.batch.ledger._events.get(originator_id))
        events = [
            e
            for e in [*stored, *staged]
            if (gt is None or e.originator_version > gt) and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            events.reverse()
        return iter(events if limit is None else events[:limit])


class CommandBatch:
    """The unit of work of many commands (see the module docstring)."""

    def __init__(self, ledger: LedgerBase, store: BulkStore | None, *, fallback: bool = True) -> None:
        self.ledger = ledger
        self.store = store
        self.fallback = fallback
        self.repository = _Repository(self)
        self.events = _Events(self)
        self.outcomes: list[Outcome] = []
        self.transactions = 0
        self.fallbacks = 0
        self._entries: dict[UUID, _Entry] = {}
        self._staged: list[Any] = []
        self._calls: list[_Call] = []
        self._current: Outcome | None = None
        self._touched: set[UUID] = set()
        self._token: Token[CommandBatch | None] | None = None

    # --- the context -----------------------------------------------------------------------------

    def __enter__(self) -> CommandBatch:
        self._token = _batch.set(self)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._token is not None:
            _batch.reset(self._token)
            self._token = None
        if exc_type is None:
            self.flush()

    # --- reading ---------------------------------------------------------------------------------

    def preload(self, aggregate_ids: Collection[UUID]) -> None:
        """Load these aggregates (or learn that they do not exist) in one query, for the commands
        to come: existence and uniqueness checks then cost no query each."""
        missing = [i for i in dict.fromkeys(aggregate_ids) if i not in self._entries]
        if not missing:
            return
        if self.store is None:
            for aggregate_id in missing:
                self._load(aggregate_id)
            return
        by_id: dict[UUID, list[Notification]] = {}
        for notification in self.store.select(missing):
            by_id.setdefault(_uuid(notification.originator_id), []).append(notification)
        mapper = self.ledger.mapper
        for aggregate_id in missing:
            notifications = by_id.get(aggregate_id)
            if not notifications:
                self._entries[aggregate_id] = _Entry(None, 0)
                continue
            aggregate: Aggregate | None = None
            for notification in notifications:
                aggregate = mapper.to_domain_event(notification).mutate(aggregate)  # type: ignore[attr-defined]
            entry = self._entries[aggregate_id] = _Entry(aggregate, notifications[-1].originator_version)
            if notifications[0].originator_version == 1:
                entry.position = notifications[0].id

    def _load(self, aggregate_id: UUID) -> _Entry:
        try:
            aggregate: Aggregate | None = self.ledger._repository.get(aggregate_id)
        except AggregateNotFoundError:
            aggregate = None
        entry = self._entries[aggregate_id] = _Entry(aggregate, aggregate.version if aggregate else 0)
        return entry

    def get(self, aggregate_id: UUID) -> Aggregate:
        entry = self._entries.get(aggregate_id)
        if entry is None:
            entry = self._load(aggregate_id)
        elif entry.stale:
            self._rebuild(aggregate_id, entry)
        aggregate = entry.aggregate
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        self._touched.add(aggregate_id)
        return aggregate

    def _rebuild(self, aggregate_id: UUID, entry: _Entry) -> None:
        """An aggregate a failed command had changed: the store's events, then the batch's."""
        entry.stale = False
        aggregate: Aggregate | None = None
        if not entry.created:
            try:
                aggregate = self.ledger._repository.get(aggregate_id)
            except AggregateNotFoundError:
                aggregate = None
        for event in entry.staged:
            aggregate = event.mutate(aggregate)
        entry.aggregate = aggregate

    def first_position(self, aggregate_id: UUID) -> int | None:
        """The position of an aggregate's first event when known here (a receipt's, for a repeated
        command); a receipt staged in this batch makes it the current outcome's position."""
        entry = self._entries.get(aggregate_id)
        if entry is None:
            return None
        if entry.position is not None:
            return entry.position
        if entry.created:
            if self._current is not None:
                self._current.keys = [(aggregate_id, 1)]
            return 0
        return None

    # --- running ---------------------------------------------------------------------------------

    def run(self, fn: Callable[..., CommandResult], /, *args: Any, **kwargs: Any) -> Outcome:
        """Run one command in the batch; a rule error is its outcome, and leaves nothing of it."""
        outcome = Outcome(len(self.outcomes))
        self.outcomes.append(outcome)
        self._calls.append(_Call(outcome, fn, args, kwargs))
        self._current = outcome
        self._touched.clear()
        staged_before = len(self._staged)
        try:
            outcome.result = fn(*args, **kwargs)
        except errors.DomainError as e:
            self._undo(staged_before)
            outcome.error = e
        except BaseException:
            self._undo(staged_before)
            raise
        finally:
            self._current = None
        return outcome

    def _undo(self, staged_before: int) -> None:
        """Forget what a failed command changed: its staged events (none, as ``_commit`` comes
        last) and every cached aggregate it left with pending events."""
        outcome = self._current
        if outcome is not None:
            outcome.keys = []
        if len(self._staged) > staged_before:  # pragma: no cover - defensive
            raise RuntimeError("a command failed after staging its events")
        for aggregate_id in self._touched:
            entry = self._entries[aggregate_id]
            if entry.aggregate is not None and entry.aggregate.pending_events:
                entry.aggregate.collect_events()
                entry.stale = True

    def commit(
        self, subject: UUID, aggregates: Sequence[Aggregate], on_conflict: errors.DomainError | None
    ) -> CommandResult:
        """Stage the events of a command (``LedgerBase._commit`` in a batch)."""
        entries = self._entries
        found: list[tuple[Aggregate, _Entry | None]] = []
        for aggregate in aggregates:
            pending = aggregate.pending_events
            if not pending:
                continue
            entry = entries.get(aggregate.id)
            if entry is not None and pending[0].originator_version != entry.version + 1:
                raise on_conflict or ConcurrentChange(
                    "another command changed the same record first; reload and retry", field="id"
                )
            found.append((aggregate, entry))
        keys: list[tuple[UUID, int]] = []
        for aggregate, known in found:
            events = aggregate.collect_events()
            entry = known
            if entry is None:
                entry = entries[aggregate.id] = _Entry(aggregate, 0)
            else:
                entry.aggregate, entry.stale = aggregate, False
            if events[0].originator_version == 1:
                entry.created = True
            entry.version = events[-1].originator_version
            entry.staged.extend(events)
            self._staged.extend(events)
            for event in events:
                keys.append((event.originator_id, event.originator_version))
        if self._current is not None:
            self._current.keys = keys
        return CommandResult(subject, 0)

    # --- writing ---------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events staged and not yet written."""
        return len(self._staged)

    def flush(self) -> list[Outcome]:
        """Write every staged event in one transaction; the outcomes of the commands run since the
        last flush, with their positions (see the module docstring for a conflict)."""
        outcomes, calls, staged = self.outcomes, self._calls, self._staged
        self.outcomes, self._calls, self._staged = [], [], []
        if not staged:
            return outcomes
        try:
            positions = self._write(staged)
        except RecordConflictError as e:
            self._entries.clear()  # read everything again: another writer changed the store
            if not self.fallback:
                raise ConcurrentChange(
                    "another writer recorded some of this batch first; nothing of it was written",
                    field="id",
                ) from e
            self.fallbacks += 1
            return self._one_by_one(calls)
        self.transactions += 1
        for outcome in outcomes:
            if outcome.result is not None and outcome.keys:
                position = max(positions[k] for k in outcome.keys)
                outcome.result = CommandResult(outcome.result.id, position)
        for event in staged:
            entry = self._entries[event.originator_id]
            if entry.created:
                entry.position, entry.created = positions[(event.originator_id, 1)], False
            entry.staged = []
        return outcomes

    def _write(self, staged: list[Any]) -> dict[tuple[UUID, int], int]:
        ledger = self.ledger
        prepare = getattr(ledger.vault, "prepare_keys", None)
        if prepare is not None:  # the members' keys in one query, not one per member (issue #7)
            members = subjects_of(staged)
            if members:
                prepare(members)
        to_stored = ledger.mapper.to_stored_event
        stored = [to_stored(e) for e in staged]
        if self.store is not None:
            ids = self.store.insert(stored)
        else:
            ids = ledger.recorder.insert_events(stored) or []
        return {(_uuid(s.originator_id), s.originator_version): n for s, n in zip(stored, ids, strict=True)}

    def _one_by_one(self, calls: list[_Call]) -> list[Outcome]:
        """The batch again, each command in its own transaction, outside the batch."""
        token = _batch.set(None)
        try:
            for call in calls:  # the same Outcome objects, so the caller's references stay good
                outcome = call.outcome
                outcome.result, outcome.error, outcome.keys = None, None, []
                try:
                    outcome.result = call.fn(*call.args, **call.kwargs)
                except errors.DomainError as e:
                    outcome.error = e
            return [call.outcome for call in calls]
        finally:
            _batch.reset(token)

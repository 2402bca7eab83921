"""The event envelope every event of the ledger carries, and the aggregate base class that adds it.

Each event records, besides its own facts (documented in docs/EVENTS.md):

- ``effective_on``: the business date the fact takes effect. It may lie in the past (late entry,
  R1.3) but never more than one day ahead of the server's date.
- ``timestamp``: the moment it was recorded, UTC, taken from the server clock by eventsourcing when
  the event object is created. Clients cannot set it.
- ``actor``: who recorded it.
- ``correlation_id``: shared by every event that one request or one import caused.
- ``causation_id``: the command (or event) that caused it.

Corrections are new events; nothing is ever updated or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Self, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain import errors

MAX_DAYS_AHEAD = 1


def check_not_ahead(day: date, today: date, field: str) -> None:
    """A business date may lie in the past (late entry) but at most one day ahead (R1.3)."""
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise errors.EffectiveDateInFuture(
            f"{field} {day} lies more than {MAX_DAYS_AHEAD} day after {today}", field=field
        )


@dataclass(frozen=True)
class CommandContext:
    """Who issues a command and why: supplied by the entry point (API request, CLI, importer)."""

    actor: str
    correlation_id: UUID
    causation_id: UUID
    command_id: UUID | None = None
    """Client-supplied id that makes the command idempotent: a repeat returns the first result."""

    @classmethod
    def new(
        cls, actor: str, correlation_id: UUID | None = None, command_id: UUID | None = None
    ) -> CommandContext:
        causation = command_id or uuid4()
        return cls(actor, correlation_id or causation, causation, command_id)


@dataclass(frozen=True)
class EventMeta:
    """The envelope fields of the events one command records."""

    effective_on: date
    actor: str
    correlation_id: UUID
    causation_id: UUID

    @classmethod
    def build(cls, ctx: CommandContext, effective_on: date, today: date) -> EventMeta:
        """Validate the effective date against the server's ``today`` (R1.3, R3)."""
        check_not_ahead(effective_on, today, "effective_on")
        return cls(effective_on, ctx.actor, ctx.correlation_id, ctx.causation_id)

    def fields(self) -> dict[str, Any]:
        return {
            "effective_on": self.effective_on,
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }


class LedgerAggregate(Aggregate):
    """Base of every aggregate: its events carry the envelope.

    Subclasses declare their events as nested classes with an ``apply`` method that records only
    the facts (it runs again on every replay); public command methods check the rules first.
    """

    class Event(Aggregate.Event):
        effective_on: date
        actor: str
        correlation_id: UUID
        causation_id: UUID

    class Created(Event, Aggregate.Created):
        def mutate(self, aggregate: Any) -> Any:
            """The new aggregate, as eventsourcing's ``CanInitAggregate.mutate`` makes it, without its
            generic keyword matching: every ledger aggregate's ``__init__`` takes no argument (its state
            comes from ``apply``), so there is nothing to match. That matching, an ``inspect``-built
            parameter set filtered against the event's fields twice per aggregate, was about a quarter
            of making one (issue #6, P2; ``tests/domain/test_envelope.py`` holds the two to the same
            aggregate for every created event of the ledger)."""
            assert aggregate is None
            cls = resolve_topic(self.originator_topic)
            agg = cls.__new__(cls)
            agg.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            agg.__init__()
            self.apply(agg)
            return agg

    @classmethod
    def _create(cls, event_class: type[Any], *, id: UUID | None = None, **kwargs: Any) -> Self:
        """A new aggregate and its created event, as eventsourcing's ``BaseAggregate._create`` makes
        them when given the id, as every ledger aggregate's creation is (each derives its id, R1.2, or
        takes a new one from its command): the event's topic, version 1 and recorded moment, then
        ``Created.mutate``. eventsourcing's own also matches the keywords against ``create_id``'s
        parameters and copies them twice, which the ledger never needs (issue #6, P2). Without an id,
        eventsourcing's own makes one."""
        if id is None:
            return super()._create(event_class, **kwargs)
        event = event_class(
            originator_topic=get_topic(cls),
            originator_id=id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=event_class.create_timestamp(),
            **kwargs,
        )
        agg = cast(Self, event.mutate(None))
        agg.pending_events.append(event)
        return agg

    def _record(self, event_class: type[Aggregate.Event], meta: EventMeta, **facts: Any) -> None:
        self.trigger_event(event_class, **facts, **meta.fields())

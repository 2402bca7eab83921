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
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

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
        pass

    def _record(self, event_class: type[Aggregate.Event], meta: EventMeta, **facts: Any) -> None:
        self.trigger_event(event_class, **facts, **meta.fields())

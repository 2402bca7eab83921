"""An aggregate as it was on a business date, as known at a moment: folding its events by effective date.

The events of one aggregate are recorded in order (their versions), but they take effect on their own
business dates (``effective_on``), which a late entry or a correction may put before facts recorded
earlier (R1.3). The state of an aggregate *as of* a date is therefore the fold of the events whose
effective date is on or before that date, taken in effective-date order (ties in recorded order);
*as known at* a moment keeps only the events recorded by then.

Assumptions, for officers reading the figures:
- The creating event (registration, establishment) opens the aggregate's life; an event dated before
  it takes effect on the creation date.
- If an event cannot be applied in effective-date order (it removes something that, in that order,
  is not there yet), the fold skips it: the ledger's rules were checked in recorded order, so such a
  pair is a data-entry inconsistency, to be corrected by a new event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any


def effective_day(event: Any, created_on: date) -> date:
    """The day from which an event takes effect in the fold: never before the aggregate's creation."""
    day: date = max(event.effective_on, created_on)
    return day


def _ordered(events: Sequence[Any]) -> tuple[Any, list[Any]]:
    created, rest = events[0], list(events[1:])
    rest.sort(key=lambda e: (effective_day(e, created.effective_on), e.originator_version))
    return created, rest


def apply_event(event: Any, aggregate: Any) -> bool:
    """Apply one event to the folded aggregate; False (and skipped) if it cannot apply in this order."""
    try:
        event.apply(aggregate)
    except (ValueError, KeyError):
        return False
    if event.originator_version > aggregate.version:
        aggregate.version = event.originator_version
        aggregate.modified_on = event.timestamp
    return True


def timeline(events: Sequence[Any]) -> Iterator[tuple[date, Any]]:
    """Yield ``(valid_from, aggregate)`` for each date on which the aggregate's state changes.

    The same aggregate object is advanced between yields: read what you need before asking for the
    next one. Each state holds from its ``valid_from`` until the next one's. The aggregate left after
    the last yield can be extended with a later event whose ``effective_day`` is not before the last
    ``valid_from``: that event comes last in this order (``projections.temporal.Fold``, issue #6).
    """
    if not events:
        return
    created, rest = _ordered(events)
    aggregate = created.mutate(None)
    start = created.effective_on
    for event in rest:
        day = effective_day(event, created.effective_on)
        if day > start:
            yield start, aggregate
            start = day
        apply_event(event, aggregate)
    yield start, aggregate


def state_as_of(events: Sequence[Any], as_of: date, known_at: datetime | None = None) -> Any | None:
    """The aggregate as it was on ``as_of``, from the events recorded by ``known_at`` (default: all)."""
    known = [e for e in events if known_at is None or e.timestamp <= known_at]
    if not known or known[0].effective_on > as_of:
        return None
    created, rest = _ordered(known)
    aggregate = created.mutate(None)
    for event in rest:
        if event.effective_on > as_of:
            break
        apply_event(event, aggregate)
    return aggregate

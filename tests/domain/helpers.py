"""Helpers for the domain unit tests: positions in the store, stored events, rejection checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.errors import DomainError
from tests.conftest import fixed_today


def new_memory_ledger() -> Ledger:
    """The same in-memory ledger as the ``memory_ledger`` fixture.

    For hypothesis tests, which need a fresh store per generated example while a function-scoped
    fixture is created only once per test function.
    """
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=fixed_today)


def position(ledger: Ledger) -> int:
    """The id of the last notification recorded, 0 when the store is empty."""
    return ledger.recorder.max_notification_id() or 0


def stored_events(ledger: Ledger, start: int = 1, limit: int = 100) -> list[Any]:
    """The domain events recorded from notification ``start`` on, as stored (decoded again)."""
    notifications = ledger.recorder.select_notifications(start=start, limit=limit)
    return [ledger.mapper.to_domain_event(n) for n in notifications]


def events_after(ledger: Ledger, before: int) -> list[Any]:
    """The events recorded after the notification ``before``."""
    return stored_events(ledger, start=before + 1, limit=1000)


def version(ledger: Ledger, aggregate_id: UUID) -> int:
    return int(ledger.repository.get(aggregate_id).version)


def replay(ledger: Ledger, aggregate_id: UUID) -> Any:
    """Fold the stored events of one aggregate by hand, the first with ``mutate(None)``."""
    aggregate = None
    for event in ledger.events.get(aggregate_id):
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: Any) -> dict[str, Any]:
    """An aggregate's whole state, for comparing two copies of it."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@contextmanager
def rejected(
    ledger: Ledger, error: type[DomainError], *, rule: str, field: str | None
) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """The block raises exactly ``error`` with this rule and field, and records nothing."""
    before = position(ledger)
    with pytest.raises(error) as info:
        yield info
    assert type(info.value) is error, f"{type(info.value).__name__} is not {error.__name__}"
    assert info.value.rule == rule
    assert info.value.field == field
    assert position(ledger) == before, "a rejected command recorded events"

"""MarketEntity (市场主体): one business, identified by its unified social credit code.

Its id is derived from the credit code, so registering the same code twice collides in the event
store (R1.2: one record per entity, captured at registration) even when two officers race.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import (
    EntityKind,
    EntityStatus,
    Formation,
    require_text,
    validate_credit_code,
    validate_region_code,
)

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/market-entity")

CORRECTABLE = ("name", "kind", "industry", "region_code", "station")


@functools.lru_cache(maxsize=4096)  # the command and the aggregate derive it in turn (issue #6, P2)
def entity_id_for(credit_code: str) -> UUID:
    """The aggregate id of the entity with this unified social credit code."""
    return uuid5(_NAMESPACE, credit_code.strip().upper())


class MarketEntity(LedgerAggregate):
    credit_code: str
    name: str
    kind: str
    industry: str
    region_code: str
    station: str
    status: str
    status_since: date
    organization_id: UUID | None
    formation: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Registered(LedgerAggregate.Created):
        credit_code: str
        name: str
        kind: str
        industry: str
        region_code: str
        station: str

        def apply(self, aggregate: Any) -> None:
            aggregate.credit_code = self.credit_code
            aggregate.name = self.name
            aggregate.kind = self.kind
            aggregate.industry = self.industry
            aggregate.region_code = self.region_code
            aggregate.station = self.station
            aggregate.status = EntityStatus.OPERATING.value
            aggregate.status_since = self.effective_on
            aggregate.organization_id = None
            aggregate.formation = None

    class StatusChanged(LedgerAggregate.Event):
        status: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = self.status
            aggregate.status_since = self.effective_on

    class DetailsCorrected(LedgerAggregate.Event):
        changes: dict[str, str]
        reason: str

        def apply(self, aggregate: Any) -> None:
            for name, value in self.changes.items():
                setattr(aggregate, name, value)

    class CoverageAssigned(LedgerAggregate.Event):
        """Recorded together with the organisation's event in one transaction (R13.1)."""

        organization_id: UUID
        formation: str

        def apply(self, aggregate: Any) -> None:
            aggregate.organization_id = self.organization_id
            aggregate.formation = self.formation

    class CoverageReleased(LedgerAggregate.Event):
        organization_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.organization_id = None
            aggregate.formation = None

    @classmethod
    def register(
        cls,
        *,
        credit_code: str,
        name: str,
        kind: EntityKind,
        industry: str,
        region_code: str,
        station: str,
        meta: EventMeta,
    ) -> MarketEntity:
        """Register an entity as captured at business registration (R1.2)."""
        code = validate_credit_code(credit_code)
        return cls._create(
            cls.Registered,
            id=entity_id_for(code),
            credit_code=code,
            name=require_text(name, "name"),
            kind=EntityKind(kind).value,
            industry=require_text(industry, "industry"),
            region_code=validate_region_code(region_code),
            station=require_text(station, "station"),
            **meta.fields(),
        )

    @property
    def is_operating(self) -> bool:
        return self.status == EntityStatus.OPERATING

    def _check_not_deregistered(self) -> None:
        if self.status == EntityStatus.DEREGISTERED:
            raise errors.EntityDeregistered(f"entity {self.credit_code} is deregistered")

    def change_status(self, status: EntityStatus, reason: str, meta: EventMeta) -> None:
        """Operating ↔ suspended, or deregistered for good (R13.6: never deleted)."""
        self._check_not_deregistered()
        status = EntityStatus(status)
        if status == self.status:
            raise errors.StatusUnchanged(f"entity {self.credit_code} is already {status.value}")
        self._record(self.StatusChanged, meta, status=status.value, reason=reason.strip())

    def correct_details(self, changes: dict[str, Any], reason: str, meta: EventMeta) -> None:
        """Correct registration details (R1.3); the credit code is the identity and never changes."""
        self._check_not_deregistered()
        clean: dict[str, str] = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name not in CORRECTABLE:
                raise errors.NothingToCorrect(f"{name} cannot be corrected", field=name)
            if name == "kind":
                value = EntityKind(value).value
            elif name == "region_code":
                value = validate_region_code(value)
            else:
                value = require_text(value, name)
            if value != getattr(self, name):
                clean[name] = value
        if not clean:
            raise errors.NothingToCorrect("the correction changes nothing", field="changes")
        self._record(self.DetailsCorrected, meta, changes=clean, reason=require_text(reason, "reason"))

    def assign_coverage(self, organization_id: UUID, formation: Formation, meta: EventMeta) -> None:
        """Mark the entity covered by ``organization_id``; at most one at a time (R13.1)."""
        if not self.is_operating:
            raise errors.EntityNotOperating(f"entity {self.credit_code} is {self.status}, not operating")
        if self.organization_id is not None:
            raise errors.EntityAlreadyCovered(
                f"entity {self.credit_code} is already covered by organisation {self.organization_id}"
            )
        self._record(self.CoverageAssigned, meta, organization_id=organization_id, formation=formation.value)

    def release_coverage(self, organization_id: UUID, meta: EventMeta) -> None:
        if self.organization_id != organization_id:
            raise errors.EntityNotCovered(
                f"entity {self.credit_code} is not covered by organisation {organization_id}"
            )
        self._record(self.CoverageReleased, meta, organization_id=organization_id)

"""PartyOrganization (党组织 / 党支部): a party organisation and the entities it covers.

Organisation coverage (组织覆盖, R13.1): a standalone organisation covers exactly one entity, a joint
one two to five (R13.2), a regional or functional one (agency, station, association, street block)
none directly. Work coverage (工作覆盖): an organisation assigns a guidance officer (党建指导员) to
entities that have no organisation of their own. That an entity is covered by at most one
organisation is checked on the entity itself by the application, which saves both in one
transaction (see ``domain.application``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import Formation, OrgKind, require_text, validate_region_code

JOINT_MIN, JOINT_MAX = 2, 5


def check_coverage_count(formation: Formation, count: int) -> None:
    """R13.1/R13.2: how many entities an organisation of this formation covers."""
    if formation == Formation.STANDALONE and count != 1:
        raise errors.StandaloneCoversOneEntity(
            f"a standalone organisation covers exactly one entity, not {count}"
        )
    if formation == Formation.JOINT and not JOINT_MIN <= count <= JOINT_MAX:
        raise errors.JointCoversTwoToFive(
            f"a joint organisation covers {JOINT_MIN} to {JOINT_MAX} entities, not {count}"
        )
    if formation == Formation.REGIONAL and count:
        raise errors.RegionalCoversNoEntity(
            "a regional organisation covers no entity directly; assign a guidance officer"
        )


class PartyOrganization(LedgerAggregate):
    name: str
    kind: str
    formation: str
    parent_id: UUID | None
    region_code: str
    entity_ids: list[UUID]
    guidance: dict[str, list[UUID]]
    dissolved: bool

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Established(LedgerAggregate.Created):
        name: str
        kind: str
        formation: str
        parent_id: UUID | None
        region_code: str
        entity_ids: list[UUID]

        def apply(self, aggregate: Any) -> None:
            aggregate.name = self.name
            aggregate.kind = self.kind
            aggregate.formation = self.formation
            aggregate.parent_id = self.parent_id
            aggregate.region_code = self.region_code
            aggregate.entity_ids = list(self.entity_ids)
            aggregate.guidance = {}
            aggregate.dissolved = False

    class EntityCoverageAdded(LedgerAggregate.Event):
        entity_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.entity_ids.append(self.entity_id)

    class EntityCoverageRemoved(LedgerAggregate.Event):
        entity_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.entity_ids.remove(self.entity_id)

    class GuidanceOfficerAssigned(LedgerAggregate.Event):
        officer: str
        entity_ids: list[UUID]

        def apply(self, aggregate: Any) -> None:
            reached = aggregate.guidance.setdefault(self.officer, [])
            reached.extend(e for e in self.entity_ids if e not in reached)

    class GuidanceOfficerWithdrawn(LedgerAggregate.Event):
        officer: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            del aggregate.guidance[self.officer]

    class Dissolved(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.dissolved = True
            aggregate.entity_ids = []
            aggregate.guidance = {}

    @classmethod
    def establish(
        cls,
        *,
        id: UUID,
        name: str,
        kind: OrgKind,
        formation: Formation,
        parent_id: UUID | None,
        region_code: str,
        entity_ids: list[UUID],
        meta: EventMeta,
    ) -> PartyOrganization:
        """Establish an organisation covering ``entity_ids`` (R13.1, R13.2).

        The application has already checked that every entity exists, operates and is not covered
        elsewhere, and records ``MarketEntity.CoverageAssigned`` on each in the same transaction.
        """
        formation = Formation(formation)
        if len(set(entity_ids)) != len(entity_ids):
            raise errors.JointCoversTwoToFive("an entity is listed twice")
        check_coverage_count(formation, len(entity_ids))
        return cls._create(
            cls.Established,
            id=id,
            name=require_text(name, "name"),
            kind=OrgKind(kind).value,
            formation=formation.value,
            parent_id=parent_id,
            region_code=validate_region_code(region_code),
            entity_ids=list(entity_ids),
            **meta.fields(),
        )

    def check_active(self) -> None:
        if self.dissolved:
            raise errors.OrganizationDissolved(f"organisation {self.name} is dissolved")

    def add_entity(self, entity_id: UUID, meta: EventMeta) -> None:
        """Add an entity to a joint organisation (R13.2: at most five)."""
        self.check_active()
        if entity_id in self.entity_ids:
            raise errors.EntityAlreadyCovered("the organisation already covers this entity")
        check_coverage_count(Formation(self.formation), len(self.entity_ids) + 1)
        self._record(self.EntityCoverageAdded, meta, entity_id=entity_id)

    def remove_entity(self, entity_id: UUID, reason: str, meta: EventMeta) -> None:
        """Remove an entity; a standalone or joint organisation keeps its minimum (R13.2)."""
        self.check_active()
        if entity_id not in self.entity_ids:
            raise errors.EntityNotCovered("the organisation does not cover this entity")
        check_coverage_count(Formation(self.formation), len(self.entity_ids) - 1)
        self._record(
            self.EntityCoverageRemoved,
            meta,
            entity_id=entity_id,
            reason=require_text(reason, "reason"),
        )

    def assign_guidance_officer(self, officer: str, entity_ids: list[UUID], meta: EventMeta) -> None:
        """An officer of this organisation reaches these entities: work coverage (R13.1, R12)."""
        self.check_active()
        officer = require_text(officer, "officer")
        if not entity_ids:
            raise errors.MissingField("name at least one entity the officer reaches", field="entity_ids")
        already = set(self.guidance.get(officer, []))
        if already.issuperset(entity_ids):
            raise errors.GuidanceOfficerAlreadyAssigned(
                f"{officer} already reaches these entities for this organisation"
            )
        self._record(
            self.GuidanceOfficerAssigned,
            meta,
            officer=officer,
            entity_ids=list(dict.fromkeys(entity_ids)),
        )

    def withdraw_guidance_officer(self, officer: str, reason: str, meta: EventMeta) -> None:
        self.check_active()
        if officer not in self.guidance:
            raise errors.GuidanceOfficerNotAssigned(f"{officer} is not assigned by this organisation")
        self._record(
            self.GuidanceOfficerWithdrawn,
            meta,
            officer=officer,
            reason=require_text(reason, "reason"),
        )

    def dissolve(self, reason: str, meta: EventMeta) -> None:
        """Dissolve; the organisation stays on record and accepts nothing more (R13.6)."""
        self.check_active()
        self._record(self.Dissolved, meta, reason=require_text(reason, "reason"))

"""Member (党员): a party member registered on the 《个体工商户党建信息登记表》 (R1.1).

A member has exactly one relationship organisation (组织关系所在地党组织) at a time, in this
system (``relationship_org_id``) or outside it (only ``relationship_org_name``, e.g. a township
committee elsewhere), and any number of organisational-life organisations (辖区党组织) in this
system: 一方隶属，多重管理 (R2.2). A transfer of relationship ends one affiliation and starts
another on its effective date (R2.3). Members are never deleted (R13.6).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import (
    Affiliation,
    Distribution,
    MemberCategory,
    require_text,
    validate_mobile,
)

CORRECTABLE = (
    "unit_name",
    "name",
    "mobile",
    "is_business_owner",
    "household_district",
    "distribution",
)


class Member(LedgerAggregate):
    unit_name: str
    entity_id: UUID | None
    name: str
    mobile: str
    is_business_owner: bool
    household_district: str
    life_org_ids: list[UUID]
    relationship_org_id: UUID | None
    relationship_org_name: str
    relationship_since: date
    category: str
    affiliation: str
    distribution: str
    form_date: date
    filled_by_name: str
    filled_by_phone: str
    has_left: bool

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Registered(LedgerAggregate.Created):
        """The registration form, field by field (R1.1), with the affiliation (R2.1)."""

        unit_name: str
        entity_id: UUID | None
        name: str
        mobile: str
        is_business_owner: bool
        household_district: str
        life_org_ids: list[UUID]
        relationship_org_id: UUID | None
        relationship_org_name: str
        category: str
        affiliation: str
        distribution: str
        form_date: date
        filled_by_name: str
        filled_by_phone: str

        def apply(self, aggregate: Any) -> None:
            for name in (
                "unit_name",
                "entity_id",
                "name",
                "mobile",
                "is_business_owner",
                "household_district",
                "relationship_org_id",
                "relationship_org_name",
                "category",
                "affiliation",
                "distribution",
                "form_date",
                "filled_by_name",
                "filled_by_phone",
            ):
                setattr(aggregate, name, getattr(self, name))
            aggregate.life_org_ids = list(self.life_org_ids)
            aggregate.relationship_since = self.effective_on
            aggregate.has_left = False

    class RelationshipTransferred(LedgerAggregate.Event):
        """R2.3: the relationship moves; the affiliation may change with it."""

        from_org_id: UUID | None
        from_org_name: str
        to_org_id: UUID | None
        to_org_name: str
        affiliation: str

        def apply(self, aggregate: Any) -> None:
            aggregate.relationship_org_id = self.to_org_id
            aggregate.relationship_org_name = self.to_org_name
            aggregate.affiliation = self.affiliation
            aggregate.relationship_since = self.effective_on

    class LifeOrganizationJoined(LedgerAggregate.Event):
        org_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.life_org_ids.append(self.org_id)

    class LifeOrganizationLeft(LedgerAggregate.Event):
        org_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.life_org_ids.remove(self.org_id)

    class DetailsCorrected(LedgerAggregate.Event):
        changes: dict[str, Any]
        reason: str

        def apply(self, aggregate: Any) -> None:
            for name, value in self.changes.items():
                setattr(aggregate, name, value)

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        unit_name: str,
        entity_id: UUID | None,
        name: str,
        mobile: str,
        is_business_owner: bool,
        household_district: str,
        life_org_ids: list[UUID],
        relationship_org_id: UUID | None,
        relationship_org_name: str,
        relationship_is_association: bool,
        category: MemberCategory,
        affiliation: Affiliation,
        distribution: Distribution,
        form_date: date,
        filled_by_name: str,
        filled_by_phone: str,
        meta: EventMeta,
    ) -> Member:
        """Register a member from the form (R1.1) with their affiliation (R2.1, R2.2).

        ``relationship_is_association`` is whether the relationship organisation is an association
        (分会) organisation of this system, which the application looks up.
        """
        affiliation = Affiliation(affiliation)
        _check_relationship(relationship_org_id, relationship_org_name)
        if affiliation == Affiliation.SUBORDINATE and not relationship_is_association:
            raise errors.AffiliationRequiresAssociation(
                "a 隶属 member's relationship must sit in an association organisation"
            )
        if not life_org_ids:
            raise errors.LifeOrganizationRequired("name the organisation hosting organisational life")
        return cls._create(
            cls.Registered,
            id=id,
            unit_name=require_text(unit_name, "unit_name"),
            entity_id=entity_id,
            name=require_text(name, "name"),
            mobile=validate_mobile(mobile),
            is_business_owner=bool(is_business_owner),
            household_district=require_text(household_district, "household_district"),
            life_org_ids=list(dict.fromkeys(life_org_ids)),
            relationship_org_id=relationship_org_id,
            relationship_org_name=relationship_org_name.strip(),
            category=MemberCategory(category).value,
            affiliation=affiliation.value,
            distribution=Distribution(distribution).value,
            form_date=form_date,
            filled_by_name=require_text(filled_by_name, "filled_by_name"),
            filled_by_phone=require_text(filled_by_phone, "filled_by_phone"),
            **meta.fields(),
        )

    def _check_present(self) -> None:
        if self.has_left:
            raise errors.MemberHasLeft(f"member {self.id} has left")

    def transfer_relationship(
        self,
        *,
        to_org_id: UUID | None,
        to_org_name: str,
        to_is_association: bool,
        affiliation: Affiliation | None,
        meta: EventMeta,
    ) -> None:
        """Move the relationship to another organisation from ``meta.effective_on`` (R2.3)."""
        self._check_present()
        _check_relationship(to_org_id, to_org_name)
        if to_org_id == self.relationship_org_id and (
            to_org_id is not None or to_org_name.strip() == self.relationship_org_name
        ):
            raise errors.TransferToSameOrganization("the member's relationship is already there")
        if meta.effective_on < self.relationship_since:
            raise errors.TransferBeforeCurrentRelationship(
                f"the current relationship began on {self.relationship_since}"
            )
        new_affiliation = Affiliation(affiliation or self.affiliation)
        if new_affiliation == Affiliation.SUBORDINATE and not to_is_association:
            raise errors.AffiliationRequiresAssociation(
                "a 隶属 member's relationship must sit in an association organisation",
                field="to_org_id",
            )
        self._record(
            self.RelationshipTransferred,
            meta,
            from_org_id=self.relationship_org_id,
            from_org_name=self.relationship_org_name,
            to_org_id=to_org_id,
            to_org_name=to_org_name.strip(),
            affiliation=new_affiliation.value,
        )

    def join_life_organization(self, org_id: UUID, meta: EventMeta) -> None:
        """Take part in another organisation's organisational life (R2.2 多重管理)."""
        self._check_present()
        if org_id in self.life_org_ids:
            raise errors.NothingToCorrect("the member already takes part there", field="org_id")
        self._record(self.LifeOrganizationJoined, meta, org_id=org_id)

    def leave_life_organization(self, org_id: UUID, meta: EventMeta) -> None:
        self._check_present()
        if org_id not in self.life_org_ids:
            raise errors.NothingToCorrect("the member does not take part there", field="org_id")
        if len(self.life_org_ids) == 1:
            raise errors.LifeOrganizationRequired("a member keeps one organisational-life organisation")
        self._record(self.LifeOrganizationLeft, meta, org_id=org_id)

    def correct_details(self, changes: dict[str, Any], reason: str, meta: EventMeta) -> None:
        """Correct form details (R1.3). Category, affiliation and organisations have commands of their own."""
        self._check_present()
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name not in CORRECTABLE:
                raise errors.NothingToCorrect(f"{name} cannot be corrected", field=name)
            if name == "mobile":
                value = validate_mobile(value)
            elif name == "distribution":
                value = Distribution(value).value
            elif name == "is_business_owner":
                value = bool(value)
            else:
                value = require_text(value, name)
            if value != getattr(self, name):
                clean[name] = value
        if not clean:
            raise errors.NothingToCorrect("the correction changes nothing", field="changes")
        self._record(self.DetailsCorrected, meta, changes=clean, reason=require_text(reason, "reason"))


def _check_relationship(org_id: UUID | None, org_name: str) -> None:
    if org_id is None and not org_name.strip():
        raise errors.RelationshipOrganizationRequired(
            "name the relationship organisation (an id in this system, or its name outside it)"
        )

"""XinhuoDemonstration (薪火示范): a 薪火 demonstration organisation or member household (R9.2).

The subject is either a party organisation (薪火示范党组织) or a member household (薪火党员示范户: a
member and the market entity they run). The record's id is derived from the subject, so a subject has
one demonstration in force at a time; after a revocation it may be awarded again on the same record.

A household is counted (R9.2 百千万) in the category its entity's kind gives: micro and internet
enterprises, or professional markets and individual businesses (an individual business inside a market
included); a category given by the command must agree. The focus industry (R9.3) is optional.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import EntityKind, FocusIndustry, XinhuoCategory, require_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/xinhuo-demonstration")

SUBJECT_ORGANIZATION = "organization"
SUBJECT_HOUSEHOLD = "household"

HOUSEHOLD_CATEGORY_BY_KIND: dict[EntityKind, XinhuoCategory] = {
    EntityKind.MICRO_ENTERPRISE: XinhuoCategory.HOUSEHOLD_MICRO_INTERNET,
    EntityKind.INTERNET_ENTERPRISE: XinhuoCategory.HOUSEHOLD_MICRO_INTERNET,
    EntityKind.INDIVIDUAL_BUSINESS: XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL,
    EntityKind.PROFESSIONAL_MARKET: XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL,
    EntityKind.COMMODITY_MARKET: XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL,
    EntityKind.FARMERS_MARKET: XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL,
}


def organization_demonstration_id(org_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"organization:{org_id}")


def household_demonstration_id(member_id: UUID, entity_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"household:{member_id}:{entity_id}")


def category_for(entity_kind: EntityKind | None, given: XinhuoCategory | None) -> XinhuoCategory:
    """The R9.2 category: an organisation's (``entity_kind`` None) or a household's by its entity's
    kind, checked against the one given."""
    derived = (
        XinhuoCategory.ORGANIZATION
        if entity_kind is None
        else HOUSEHOLD_CATEGORY_BY_KIND[EntityKind(entity_kind)]
    )
    if given is not None and XinhuoCategory(given) != derived:
        raise errors.XinhuoCategoryMismatch(f"this demonstration counts as {derived.value}, not {given}")
    return derived


class XinhuoDemonstration(LedgerAggregate):
    subject: str
    org_id: UUID | None
    member_id: UUID | None
    entity_id: UUID | None
    category: str | None
    focus_industry: str | None
    awarding_body: str | None
    awarded_on: date | None
    active: bool
    revoked_on: date | None
    revocation_reason: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Opened(LedgerAggregate.Created):
        """The subject's demonstration record, opened with its first award (``Awarded`` follows)."""

        subject: str
        org_id: UUID | None
        member_id: UUID | None
        entity_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            aggregate.subject = self.subject
            aggregate.org_id = self.org_id
            aggregate.member_id = self.member_id
            aggregate.entity_id = self.entity_id
            aggregate.category = None
            aggregate.focus_industry = None
            aggregate.awarding_body = None
            aggregate.awarded_on = None
            aggregate.active = False
            aggregate.revoked_on = None
            aggregate.revocation_reason = None

    class Awarded(LedgerAggregate.Event):
        category: str
        focus_industry: str | None
        awarding_body: str

        def apply(self, aggregate: Any) -> None:
            aggregate.category = self.category
            aggregate.focus_industry = self.focus_industry
            aggregate.awarding_body = self.awarding_body
            aggregate.awarded_on = self.effective_on
            aggregate.active = True
            aggregate.revoked_on = None
            aggregate.revocation_reason = None

    class Revoked(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.active = False
            aggregate.revoked_on = self.effective_on
            aggregate.revocation_reason = self.reason

    @classmethod
    def open(
        cls, *, org_id: UUID | None, member_id: UUID | None, entity_id: UUID | None, meta: EventMeta
    ) -> XinhuoDemonstration:
        """Open the record of an organisation, or of a member household (member and entity), R9.2."""
        if org_id is not None:
            if member_id is not None or entity_id is not None:
                raise errors.XinhuoSubjectInvalid("name an organisation, or a member and an entity, not both")
            return cls._create(
                cls.Opened,
                id=organization_demonstration_id(org_id),
                subject=SUBJECT_ORGANIZATION,
                org_id=org_id,
                member_id=None,
                entity_id=None,
                **meta.fields(),
            )
        if member_id is None or entity_id is None:
            raise errors.XinhuoSubjectInvalid(
                "a household names the member and the market entity",
                field="member_id" if member_id is None else "entity_id",
            )
        return cls._create(
            cls.Opened,
            id=household_demonstration_id(member_id, entity_id),
            subject=SUBJECT_HOUSEHOLD,
            org_id=None,
            member_id=member_id,
            entity_id=entity_id,
            **meta.fields(),
        )

    def award(
        self,
        category: XinhuoCategory,
        focus_industry: FocusIndustry | None,
        awarding_body: str,
        meta: EventMeta,
    ) -> None:
        """Award the demonstration in its category and focus industry (R9.2, R9.3); one in force at a time."""
        if self.active:
            raise errors.XinhuoAlreadyActive("this subject is already a 薪火 demonstration", field="id")
        self._record(
            self.Awarded,
            meta,
            category=XinhuoCategory(category).value,
            focus_industry=FocusIndustry(focus_industry).value if focus_industry is not None else None,
            awarding_body=require_text(awarding_body, "awarding_body"),
        )

    def revoke(self, reason: str, meta: EventMeta) -> None:
        """Revoke the demonstration with a reason (R9.2)."""
        if not self.active:
            raise errors.XinhuoNotActive("this subject holds no demonstration in force")
        self._record(self.Revoked, meta, reason=require_text(reason, "reason"))

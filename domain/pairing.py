"""Pairing (结对共建): two organisations building together under a co-building agreement (R10, R12).

R10 "(1+1)+N": an agency branch (机关党支部) pairs with a station branch (市场所党支部), the "1+1"; each
of them also pairs with 小个专 organisations (``domain.values.SMALL_PRIVATE_KINDS``), the "N". The
kind is derived from the two organisations' kinds; in the "1+1" the agency branch is the lead, in
the "N" the agency or station branch is the lead and the 小个专 organisation the partner.

Every pairing rests on a co-building agreement (共建协议: reference and signing date) with a yearly
activity plan (R12, 004: "每年以共建协议的形式，制定年度活动计划"); plans for later years are added.

One active pairing per pair of organisations: a pairing's id is derived from the two organisation
ids (sorted) and a sequence number, 1 for their first pairing, 2 for the one after it ended, and so
on. Two officers pairing the same organisations at once compute the same id, and the event store
lets only one of them record it. Ending is final; pairing again starts the next sequence.

Brand (一支部一品牌, R10): the pairing records the brand its organisations build together (品牌互创).
Uniqueness per branch is NOT enforced: a branch brings its one brand into each of its pairings, so
the same name legitimately repeats across them, and a register of each branch's brand belongs on the
organisation, not here.

The frequency rules of R10 (paired branches meet at least quarterly; a station branch visits each
paired organisation monthly) are statistics for the read side: activities of type pairing exchange
name their pairing and station visits the visited organisation (``domain.activity``), so they can be
counted; they are not command rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.organization import PartyOrganization
from domain.values import PAIRING_BRANCH_KINDS, SMALL_PRIVATE_KINDS, OrgKind, PairingKind, require_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/pairing")


def pairing_id_for(org_a: UUID, org_b: UUID, sequence: int) -> UUID:
    """The id of the ``sequence``-th pairing (from 1) of these two organisations, in either order."""
    low, high = sorted((str(org_a), str(org_b)))
    return uuid5(_NAMESPACE, f"{low}/{high}/{sequence}")


def pairing_roles(
    first: PartyOrganization, second: PartyOrganization
) -> tuple[PairingKind, PartyOrganization, PartyOrganization]:
    """R10: the kind of pairing these organisations form, its lead and its partner."""
    kinds = {OrgKind(first.kind), OrgKind(second.kind)}
    if kinds == {OrgKind.AGENCY_BRANCH, OrgKind.STATION_BRANCH}:
        lead, partner = (first, second) if first.kind == OrgKind.AGENCY_BRANCH else (second, first)
        return PairingKind.AGENCY_STATION, lead, partner
    for lead, partner in ((first, second), (second, first)):
        if lead.kind in PAIRING_BRANCH_KINDS and partner.kind in SMALL_PRIVATE_KINDS:
            return PairingKind.BRANCH_SMALL_PRIVATE, lead, partner
    raise errors.PairingKindsNotAllowed(
        f"a {first.kind} organisation cannot pair with a {second.kind} one: pairings are agency branch with "
        "station branch, or either of them with a 小个专 organisation"
    )


def clean_plan_items(items: list[str]) -> list[str]:
    """R12: a yearly plan lists at least one item, none blank."""
    cleaned = [item.strip() for item in items]
    if not cleaned or not all(cleaned):
        raise errors.PlanItemsRequired("a yearly plan lists at least one item, none blank")
    return cleaned


class Pairing(LedgerAggregate):
    kind: str
    lead_org_id: UUID
    partner_org_id: UUID
    sequence: int
    agreement_reference: str
    agreement_signed_on: date
    brand: str
    plans: dict[int, list[str]]
    started_on: date
    ended_on: date | None
    end_reason: str

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Paired(LedgerAggregate.Created):
        """Two organisations pair under an agreement with its first yearly plan (R10, R12)."""

        kind: str
        lead_org_id: UUID
        partner_org_id: UUID
        sequence: int
        agreement_reference: str
        agreement_signed_on: date
        brand: str
        plan_year: int
        plan_items: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.kind = self.kind
            aggregate.lead_org_id = self.lead_org_id
            aggregate.partner_org_id = self.partner_org_id
            aggregate.sequence = self.sequence
            aggregate.agreement_reference = self.agreement_reference
            aggregate.agreement_signed_on = self.agreement_signed_on
            aggregate.brand = self.brand
            aggregate.plans = {self.plan_year: list(self.plan_items)}
            aggregate.started_on = self.effective_on
            aggregate.ended_on = None
            aggregate.end_reason = ""

    class PlanAdded(LedgerAggregate.Event):
        """R12: the plan for a later year."""

        year: int
        items: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.plans[self.year] = list(self.items)

    class Ended(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.ended_on = self.effective_on
            aggregate.end_reason = self.reason

    @classmethod
    def pair(
        cls,
        *,
        first: PartyOrganization,
        second: PartyOrganization,
        previous: Pairing | None,
        agreement_reference: str,
        agreement_signed_on: date,
        brand: str,
        plan_year: int,
        plan_items: list[str],
        meta: EventMeta,
    ) -> Pairing:
        """Pair two active organisations (R10) under an agreement with a yearly plan (R12).

        ``previous`` is the last pairing of the same two organisations, if any: it must have ended
        (one active pairing at a time) on or before this one starts.
        """
        if first.id == second.id:
            raise errors.PairingNeedsTwoOrganizations("an organisation cannot pair with itself")
        for org in (first, second):
            if org.dissolved:
                raise errors.OrganizationDissolved(f"organisation {org.name} is dissolved", field="org_ids")
        kind, lead, partner = pairing_roles(first, second)
        sequence = 1
        if previous is not None:
            if previous.ended_on is None:
                raise errors.PairingAlreadyActive(
                    f"{first.name} and {second.name} are already paired (pairing {previous.id})"
                )
            if meta.effective_on < previous.ended_on:
                raise errors.PairingPeriodInvalid(
                    f"their previous pairing ended on {previous.ended_on}; a new one cannot start earlier"
                )
            sequence = previous.sequence + 1
        if plan_year < meta.effective_on.year:
            raise errors.PlanYearInvalid(
                f"the first plan is for {meta.effective_on.year} or later, not {plan_year}"
            )
        return cls._create(
            cls.Paired,
            id=pairing_id_for(first.id, second.id, sequence),
            kind=kind.value,
            lead_org_id=lead.id,
            partner_org_id=partner.id,
            sequence=sequence,
            agreement_reference=require_text(agreement_reference, "agreement_reference"),
            agreement_signed_on=agreement_signed_on,
            brand=brand.strip(),
            plan_year=plan_year,
            plan_items=clean_plan_items(plan_items),
            **meta.fields(),
        )

    @property
    def is_active(self) -> bool:
        return self.ended_on is None

    @property
    def org_ids(self) -> list[UUID]:
        return [self.lead_org_id, self.partner_org_id]

    def runs_on(self, day: date) -> bool:
        """Whether the pairing ran on ``day``: from its start, until (excluding) the day it ended."""
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)

    def _check_active(self) -> None:
        if not self.is_active:
            raise errors.PairingEnded(f"pairing {self.id} ended on {self.ended_on}")

    def add_plan(self, year: int, items: list[str], meta: EventMeta) -> None:
        """Add the yearly plan for a later year (R12)."""
        self._check_active()
        if year < self.started_on.year:
            raise errors.PlanYearInvalid(f"the pairing started in {self.started_on.year}; no plan for {year}")
        if year in self.plans:
            raise errors.PlanYearAlreadyPlanned(f"the pairing already has a plan for {year}")
        self._record(self.PlanAdded, meta, year=year, items=clean_plan_items(items))

    def end(self, reason: str, meta: EventMeta) -> None:
        """End the pairing; it stays on record and the organisations may pair again later."""
        self._check_active()
        if meta.effective_on < self.started_on:
            raise errors.PairingPeriodInvalid(f"the pairing started on {self.started_on}")
        self._record(self.Ended, meta, reason=require_text(reason, "reason"))

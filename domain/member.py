"""Member (党员): a party member registered on the 《个体工商户党建信息登记表》 (R1.1).

A member has exactly one relationship organisation (组织关系所在地党组织) at a time, in this
system (``relationship_org_id``) or outside it (only ``relationship_org_name``, e.g. a township
committee elsewhere), and any number of organisational-life organisations (辖区党组织) in this
system: 一方隶属，多重管理 (R2.2). A transfer of relationship ends one affiliation and starts
another on its effective date (R2.3). Members are never deleted (R13.6).

Lifecycle (issue #3): probation from the admission date (入党日期), completed (转正) no earlier than
one year after it or extended once by 6 to 12 months (R13.5); business suspended and resumed
(停歇业), away on business (外出经营), disciplinary periods (处分期) and basic-policy violations
(违反基本国策), which the pioneer index reads (R5.2, R5.3); and leaving, with a reason (R13.6),
after which the member accepts nothing. Each change of one kind takes effect no earlier than the
change of that kind before it, and none before the registration, so that ``member_as_of`` can
rebuild the member on any business date.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.personal import ERASED, PERSONAL_FIELDS, PersonalData
from domain.values import (
    Affiliation,
    Distribution,
    LeavingReason,
    MemberCategory,
    require_text,
    validate_mobile,
)

PROBATION_MONTHS = 12
EXTENSION_MONTHS = (6, 12)
AWAY_EXCLUDES_AFTER_MONTHS = 6

# The kinds of lifecycle change: each kind takes effect in date order (see ``Member._check_order``).
PROBATION, BUSINESS, AWAY, DISCIPLINE, POLICY = "probation", "business", "away", "discipline", "policy"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, the month's last day when it is shorter (29 Feb → 28 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def probation_ends_on(admitted_on: date | None, extension_months: int = 0) -> date | None:
    """R13.5: the earliest date of 转正: one year after admission, plus the extension if any."""
    return None if admitted_on is None else add_months(admitted_on, PROBATION_MONTHS + extension_months)


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
    admitted_on: date | None
    registered_on: date
    probation_ends_on: date | None
    """R13.5: the earliest completion of probation; None for full members."""
    probation_extension_months: int | None
    full_since: date | None
    """The date of 转正 when it happened in this system."""
    business_suspended: bool
    suspended_since: date | None
    away_since: date | None
    in_disciplinary_period: bool
    disciplinary_since: date | None
    policy_violations: list[date]
    left_on: date | None
    left_reason: str | None
    pioneer_ratings: dict[int, int]
    """R5.5: stars by year."""
    excellent_years: list[int]
    last_change_on: dict[str, date]
    """The effective date of the last change of each lifecycle kind."""
    open_transfer_letter_id: UUID | None = None
    """R13.4: the member's open relationship-transfer letter, if any (see domain.transfer_letter)."""
    personal_data_erased_on: date | None = None
    """Issue #7: the effective date of the erasure of the member's personal data, if any."""

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
        admitted_on: date | None

        class_version = 2
        personal_data = PersonalData("originator_id", PERSONAL_FIELDS)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Registrations recorded before the admission date was asked for do not know it."""
            state["admitted_on"] = None

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
                "admitted_on",
            ):
                setattr(aggregate, name, getattr(self, name))
            aggregate.life_org_ids = list(self.life_org_ids)
            aggregate.relationship_since = self.effective_on
            aggregate.has_left = False
            aggregate.registered_on = self.effective_on
            probationary = self.category == MemberCategory.PROBATIONARY
            aggregate.probation_ends_on = probation_ends_on(self.admitted_on) if probationary else None
            aggregate.probation_extension_months = None
            aggregate.full_since = None
            aggregate.business_suspended = False
            aggregate.suspended_since = None
            aggregate.away_since = None
            aggregate.in_disciplinary_period = False
            aggregate.disciplinary_since = None
            aggregate.policy_violations = []
            aggregate.left_on = None
            aggregate.left_reason = None
            aggregate.pioneer_ratings = {}
            aggregate.excellent_years = []
            aggregate.last_change_on = {}

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
            # tolerant for ``member_as_of``: a join dated later than the day asked for is not applied
            if self.org_id in aggregate.life_org_ids:
                aggregate.life_org_ids.remove(self.org_id)

    class DetailsCorrected(LedgerAggregate.Event):
        changes: dict[str, Any]
        reason: str

        personal_data = PersonalData("originator_id", tuple(f"changes.{f}" for f in PERSONAL_FIELDS))

        def apply(self, aggregate: Any) -> None:
            for name, value in self.changes.items():
                setattr(aggregate, name, value)

    # --- lifecycle (R13.5, R13.6, R5.2, R5.3) ----------------------------------------------

    class ProbationCompleted(LedgerAggregate.Event):
        """R13.5 转正: probationary → full on ``effective_on``."""

        def apply(self, aggregate: Any) -> None:
            aggregate.category = MemberCategory.FULL.value
            aggregate.full_since = self.effective_on
            aggregate.probation_ends_on = None
            aggregate.last_change_on[PROBATION] = self.effective_on

    class ProbationExtended(LedgerAggregate.Event):
        """R13.5: probation extended once, by ``months``; 转正 no earlier than ``probation_ends_on``."""

        months: int
        probation_ends_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.probation_extension_months = self.months
            aggregate.probation_ends_on = self.probation_ends_on
            aggregate.last_change_on[PROBATION] = self.effective_on

    class BusinessSuspended(LedgerAggregate.Event):
        """R5.2 停歇业: the member's business stops from ``effective_on``."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.business_suspended = True
            aggregate.suspended_since = self.effective_on
            aggregate.last_change_on[BUSINESS] = self.effective_on

    class BusinessResumed(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.business_suspended = False
            aggregate.suspended_since = None
            aggregate.last_change_on[BUSINESS] = self.effective_on

    class AwayStarted(LedgerAggregate.Event):
        """R5.2 外出经营: the member does business elsewhere from ``effective_on`` (``away_since``)."""

        place: str

        def apply(self, aggregate: Any) -> None:
            aggregate.away_since = self.effective_on
            aggregate.last_change_on[AWAY] = self.effective_on

    class AwayEnded(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.away_since = None
            aggregate.last_change_on[AWAY] = self.effective_on

    class DisciplinaryPeriodStarted(LedgerAggregate.Event):
        """R5.3 处分期 begins (the decision's date)."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.in_disciplinary_period = True
            aggregate.disciplinary_since = self.effective_on
            aggregate.last_change_on[DISCIPLINE] = self.effective_on

    class DisciplinaryPeriodEnded(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.in_disciplinary_period = False
            aggregate.disciplinary_since = None
            aggregate.last_change_on[DISCIPLINE] = self.effective_on

    class PolicyViolationRecorded(LedgerAggregate.Event):
        """R5.3 违反基本国策, on ``effective_on``."""

        description: str

        def apply(self, aggregate: Any) -> None:
            aggregate.policy_violations.append(self.effective_on)
            aggregate.last_change_on[POLICY] = self.effective_on

    class Left(LedgerAggregate.Event):
        """R13.6: the member leaves the ledger's count for ``reason``; the record stays."""

        reason: str
        note: str

        def apply(self, aggregate: Any) -> None:
            aggregate.has_left = True
            aggregate.left_on = self.effective_on
            aggregate.left_reason = self.reason

    class PersonalDataErased(LedgerAggregate.Event):
        """Issue #7: the member's personal data (name, mobile, household; ``domain.personal``) is
        erased for ``reason``; its key is destroyed, so every earlier event reads ``ERASED`` too. The
        record, and every figure it counts in, stays (R13.6)."""

        reason: str

        erases_personal_data = True

        def apply(self, aggregate: Any) -> None:
            for name in PERSONAL_FIELDS:
                setattr(aggregate, name, ERASED)
            aggregate.personal_data_erased_on = self.effective_on

    class PioneerRated(LedgerAggregate.Event):
        """R5.5: the member's pioneer-index result of ``year``, recorded with the round's result."""

        round_id: UUID
        year: int
        stars: int
        excellent: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.pioneer_ratings[self.year] = self.stars
            if self.excellent:
                aggregate.excellent_years.append(self.year)

    class TransferLetterIssued(LedgerAggregate.Event):
        """R13.4: a relationship-transfer letter is open for the member (one at a time)."""

        letter_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.open_transfer_letter_id = self.letter_id

    class TransferLetterClosed(LedgerAggregate.Event):
        """R13.4: the open letter was accepted, refused, cancelled or re-issued (``outcome``)."""

        letter_id: UUID
        outcome: str

        def apply(self, aggregate: Any) -> None:
            aggregate.open_transfer_letter_id = None

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
        admitted_on: date | None = None,
    ) -> Member:
        """Register a member from the form (R1.1) with their affiliation (R2.1, R2.2).

        ``relationship_is_association`` is whether the relationship organisation is an association
        (分会) organisation of this system, which the application looks up. ``admitted_on`` (入党日期)
        is required for a probationary member, whose probation runs from it (R13.5).
        """
        affiliation = Affiliation(affiliation)
        category = MemberCategory(category)
        if category == MemberCategory.PROBATIONARY and admitted_on is None:
            raise errors.AdmissionDateRequired(
                "a probationary member's admission date (入党日期) is required"
            )
        if admitted_on is not None and admitted_on > meta.effective_on:
            raise errors.AdmissionDateInvalid(
                f"admitted on {admitted_on}, after the registration on {meta.effective_on}"
            )
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
            name=_personal(require_text(name, "name"), "name"),
            mobile=validate_mobile(mobile),
            is_business_owner=bool(is_business_owner),
            household_district=_personal(
                require_text(household_district, "household_district"), "household_district"
            ),
            life_org_ids=list(dict.fromkeys(life_org_ids)),
            relationship_org_id=relationship_org_id,
            relationship_org_name=relationship_org_name.strip(),
            category=MemberCategory(category).value,
            affiliation=affiliation.value,
            distribution=Distribution(distribution).value,
            form_date=form_date,
            filled_by_name=require_text(filled_by_name, "filled_by_name"),
            filled_by_phone=require_text(filled_by_phone, "filled_by_phone"),
            admitted_on=admitted_on,
            **meta.fields(),
        )

    @property
    def erased(self) -> bool:
        """Whether the member's personal data is erased (issue #7): by the event, or because its key
        is gone, which makes every stored copy read ``ERASED`` on any date asked about."""
        return self.personal_data_erased_on is not None or self.name == ERASED

    def erase_personal_data(self, reason: str, meta: EventMeta) -> None:
        """Erase the member's personal data (issue #7); the member stays on file and in every figure
        (R13.6). The application destroys the member's key, which erases every earlier event's copy."""
        if self.personal_data_erased_on is not None:
            raise errors.PersonalDataAlreadyErased(f"member {self.id}'s personal data is already erased")
        self._record(self.PersonalDataErased, meta, reason=require_text(reason, "reason"))

    def _check_present(self) -> None:
        if self.has_left:
            raise errors.MemberHasLeft(f"member {self.id} has left")

    def _check_order(self, kind: str, meta: EventMeta) -> None:
        """A change takes effect no earlier than the registration and the last change of its kind."""
        floor = max(self.registered_on, self.last_change_on.get(kind, self.registered_on))
        if meta.effective_on < floor:
            raise errors.LifecycleOutOfOrder(f"{kind} change on {meta.effective_on} precedes {floor}")

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
            if name in PERSONAL_FIELDS and self.erased:
                raise errors.PersonalDataErasedMember(
                    f"member {self.id}'s personal data was erased; it cannot be entered again", field=name
                )
            if name == "mobile":
                value = validate_mobile(value)
            elif name == "distribution":
                value = Distribution(value).value
            elif name == "is_business_owner":
                value = bool(value)
            else:
                value = require_text(value, name)
            if name in PERSONAL_FIELDS:
                value = _personal(value, name)
            if value != getattr(self, name):
                clean[name] = value
        if not clean:
            raise errors.NothingToCorrect("the correction changes nothing", field="changes")
        self._record(self.DetailsCorrected, meta, changes=clean, reason=require_text(reason, "reason"))

    def open_transfer_letter(self, letter_id: UUID, meta: EventMeta) -> None:
        """R13.4: record that a transfer letter is open; a member has at most one at a time."""
        self._check_present()
        if self.open_transfer_letter_id is not None:
            raise errors.TransferLetterAlreadyOpen(
                f"letter {self.open_transfer_letter_id} is still open for member {self.id}"
            )
        self._record(self.TransferLetterIssued, meta, letter_id=letter_id)

    def close_transfer_letter(self, letter_id: UUID, outcome: str, meta: EventMeta) -> None:
        """R13.4: the open letter is closed (accepted, refused, cancelled or re-issued)."""
        if self.open_transfer_letter_id != letter_id:
            raise errors.TransferLetterNotOpen(f"letter {letter_id} is not open for member {self.id}")
        self._record(self.TransferLetterClosed, meta, letter_id=letter_id, outcome=outcome)

    # --- lifecycle -------------------------------------------------------------------------

    def _check_probationary(self) -> date:
        self._check_present()
        if self.category != MemberCategory.PROBATIONARY:
            raise errors.MemberNotProbationary(f"member {self.name} is not probationary")
        if self.probation_ends_on is None:
            raise errors.AdmissionDateRequired("the admission date is unknown; correct the registration")
        return self.probation_ends_on

    def complete_probation(self, meta: EventMeta) -> None:
        """转正: probationary → full, no earlier than one year after admission plus any extension (R13.5)."""
        ends_on = self._check_probationary()
        self._check_order(PROBATION, meta)
        if meta.effective_on < ends_on:
            raise errors.ProbationNotOver(f"probation runs until {ends_on}")
        self._record(self.ProbationCompleted, meta)

    def extend_probation(self, months: int, meta: EventMeta) -> None:
        """Extend probation once, by 6 to 12 months; the earliest 转正 moves with it (R13.5)."""
        self._check_probationary()
        if self.probation_extension_months is not None:
            raise errors.ProbationAlreadyExtended(
                f"probation was already extended by {self.probation_extension_months} months"
            )
        low, high = EXTENSION_MONTHS
        if not low <= months <= high:
            raise errors.ProbationExtensionOutOfRange(f"extend by {low} to {high} months, not {months}")
        self._check_order(PROBATION, meta)
        self._record(
            self.ProbationExtended,
            meta,
            months=months,
            probation_ends_on=probation_ends_on(self.admitted_on, months),
        )

    def suspend_business(self, reason: str, meta: EventMeta) -> None:
        """停歇业 from ``meta.effective_on`` (R5.2)."""
        self._check_present()
        if self.business_suspended:
            raise errors.BusinessAlreadySuspended(f"the business is suspended since {self.suspended_since}")
        self._check_order(BUSINESS, meta)
        self._record(self.BusinessSuspended, meta, reason=reason.strip())

    def resume_business(self, meta: EventMeta) -> None:
        self._check_present()
        if not self.business_suspended:
            raise errors.BusinessNotSuspended("the business is not suspended")
        self._check_order(BUSINESS, meta)
        self._record(self.BusinessResumed, meta)

    def start_away(self, place: str, meta: EventMeta) -> None:
        """外出经营 from ``meta.effective_on``; more than 6 months away excludes from R5 (R5.2)."""
        self._check_present()
        if self.away_since is not None:
            raise errors.AlreadyAway(f"the member is away since {self.away_since}")
        self._check_order(AWAY, meta)
        self._record(self.AwayStarted, meta, place=place.strip())

    def end_away(self, meta: EventMeta) -> None:
        self._check_present()
        if self.away_since is None:
            raise errors.NotAway("the member is not away")
        self._check_order(AWAY, meta)
        self._record(self.AwayEnded, meta)

    def start_disciplinary_period(self, reason: str, meta: EventMeta) -> None:
        """处分期 from ``meta.effective_on`` (R5.3 veto while it runs)."""
        self._check_present()
        if self.in_disciplinary_period:
            raise errors.AlreadyInDisciplinaryPeriod(
                f"in a disciplinary period since {self.disciplinary_since}"
            )
        self._check_order(DISCIPLINE, meta)
        self._record(self.DisciplinaryPeriodStarted, meta, reason=require_text(reason, "reason"))

    def end_disciplinary_period(self, meta: EventMeta) -> None:
        self._check_present()
        if not self.in_disciplinary_period:
            raise errors.NotInDisciplinaryPeriod("the member is not in a disciplinary period")
        self._check_order(DISCIPLINE, meta)
        self._record(self.DisciplinaryPeriodEnded, meta)

    def record_policy_violation(self, description: str, meta: EventMeta) -> None:
        """违反基本国策 on ``meta.effective_on`` (R5.3 veto in that year's evaluation)."""
        self._check_present()
        self._check_order(POLICY, meta)
        self._record(self.PolicyViolationRecorded, meta, description=require_text(description, "description"))

    def leave(self, reason: LeavingReason, note: str, meta: EventMeta) -> None:
        """The member leaves for ``reason`` (R13.6); no earlier than any change recorded before."""
        self._check_present()
        reason = LeavingReason(reason)
        latest = max([self.registered_on, self.relationship_since, *self.last_change_on.values()])
        if meta.effective_on < latest:
            raise errors.LifecycleOutOfOrder(f"the member's last change took effect on {latest}")
        self._record(self.Left, meta, reason=reason.value, note=note.strip())

    def record_pioneer_rating(
        self, *, round_id: UUID, year: int, stars: int, excellent: bool, meta: EventMeta
    ) -> None:
        """R5.5: the round's result, on the member too (the application saves both together)."""
        self._check_present()
        self._record(self.PioneerRated, meta, round_id=round_id, year=year, stars=stars, excellent=excellent)


def member_as_of(events: Iterable[Any], day: date) -> Member | None:
    """The member as of the business date ``day``, from its stored events (``ledger.events.get``).

    Applies the created event and then only the events whose ``effective_on`` is on or before
    ``day``, in the order they were recorded; None when the registration takes effect after ``day``.
    This is right because every change of one kind takes effect no earlier than the change of that
    kind before it (``Member._check_order``, R2.3 for transfers) and the kinds are independent, so
    leaving out the later-dated events leaves out the tail of each kind. It is an assumption for
    form corrections and organisational-life changes, which carry no such order: a correction dated
    after ``day`` is not applied. The result is a read-only copy: never save it.
    """
    member: Member | None = None
    for event in events:
        if member is None:
            if event.effective_on > day:
                return None
            member = event.mutate(None)
            continue
        if event.effective_on <= day:
            event.apply(member)
            member.version = event.originator_version
            member.modified_on = event.timestamp
    return member


def _personal(value: str, field: str) -> str:
    """R1.1: a personal field holds a real value, never the erasure marker."""
    if value == ERASED:
        raise errors.ErasedMarkerNotAllowed(f"{field} cannot be {ERASED!r}", field=field)
    return value


def _check_relationship(org_id: UUID | None, org_name: str) -> None:
    if org_id is None and not org_name.strip():
        raise errors.RelationshipOrganizationRequired(
            "name the relationship organisation (an id in this system, or its name outside it)"
        )

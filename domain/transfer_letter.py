"""TransferLetter (组织关系介绍信): the letter that carries a member's relationship to another organisation.

R13.4: the sending organisation (the member's current relationship organisation) issues the letter
to a receiving organisation, in this system (an id) or outside it (only a name). The letter has three
parts, stub (存根, kept by the issuer), letter (carried by the member) and receipt (回执, returned by the
receiver); the letter records the reference of each. It is valid about 10 days within the same city
and 30 days elsewhere; an explicit validity may be given, never more than 3 months.

The sending organisation keeps the member until the receiving organisation accepts: only acceptance
moves the relationship (R2.3), and the application records ``Member.RelationshipTransferred`` in the
same transaction as ``TransferLetter.Accepted``. The receipt then goes back to the issuer.

A letter past its validity without acceptance is *overdue*. That is derived from the dates
(``is_overdue(today)``), never recorded: an overdue letter can no longer be accepted but may be
re-issued as a new letter, which closes it (``Reissued``). Validity is judged on the effective date of
each command, so an acceptance entered late (R1.3) counts if it happened while the letter was valid.

That a member has at most one open letter is kept on the member (``Member.TransferLetterIssued`` /
``TransferLetterClosed``), which the application saves with the letter, so two concurrent letters
for one member collide in the event store.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.personal import PersonalData
from domain.values import TransferLetterStatus, TransferScope, require_text

DEFAULT_VALID_DAYS = {TransferScope.SAME_CITY: 10, TransferScope.ELSEWHERE: 30}
MAX_VALID_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the last day of that month when it is shorter."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def valid_until(issued_on: date, scope: TransferScope, valid_days: int | None) -> tuple[int, date]:
    """R13.4: the validity in days and the last day the letter is valid.

    Defaults: 10 days within the same city, 30 elsewhere. An explicit validity is at least one day and
    ends no later than 3 calendar months after the issue date.
    """
    days = DEFAULT_VALID_DAYS[TransferScope(scope)] if valid_days is None else valid_days
    if days < 1:
        raise errors.TransferLetterValidityInvalid(f"a letter is valid at least one day, not {days}")
    until = issued_on + timedelta(days=days)
    limit = add_months(issued_on, MAX_VALID_MONTHS)
    if until > limit:
        raise errors.TransferLetterValidityInvalid(
            f"{days} days from {issued_on} end after {limit}: "
            f"a letter is valid at most {MAX_VALID_MONTHS} months"
        )
    return days, until


def _part(value: str, field: str) -> str:
    if not value or not value.strip():
        raise errors.TransferLetterPartMissing(f"the letter's {field} is required", field=field)
    return value.strip()


class TransferLetter(LedgerAggregate):
    member_id: UUID
    member_name: str
    letter_number: str
    stub_ref: str
    receipt_ref: str
    from_org_id: UUID | None
    from_org_name: str
    to_org_id: UUID | None
    to_org_name: str
    scope: str
    valid_days: int
    issued_on: date
    valid_until: date
    reissue_of: UUID | None
    status: str
    closed_on: date | None
    closed_by: str | None
    reason: str
    affiliation: str | None
    reissued_as: UUID | None
    receipt_returned_on: date | None
    receipt_returned_by: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Issued(LedgerAggregate.Created):
        """R13.4: the letter with its three parts; ``effective_on`` is the issue date."""

        member_id: UUID
        member_name: str
        letter_number: str
        stub_ref: str
        receipt_ref: str
        from_org_id: UUID | None
        from_org_name: str
        to_org_id: UUID | None
        to_org_name: str
        scope: str
        valid_days: int
        valid_until: date
        reissue_of: UUID | None

        personal_data = PersonalData("member_id", ("member_name",))

        def apply(self, aggregate: Any) -> None:
            for name in (
                "member_id",
                "member_name",
                "letter_number",
                "stub_ref",
                "receipt_ref",
                "from_org_id",
                "from_org_name",
                "to_org_id",
                "to_org_name",
                "scope",
                "valid_days",
                "valid_until",
                "reissue_of",
            ):
                setattr(aggregate, name, getattr(self, name))
            aggregate.issued_on = self.effective_on
            aggregate.status = TransferLetterStatus.ISSUED.value
            aggregate.closed_on = None
            aggregate.closed_by = None
            aggregate.reason = ""
            aggregate.affiliation = None
            aggregate.reissued_as = None
            aggregate.receipt_returned_on = None
            aggregate.receipt_returned_by = None

    class Accepted(LedgerAggregate.Event):
        """The receiving organisation accepted; the member's relationship moved in the same transaction."""

        affiliation: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TransferLetterStatus.ACCEPTED.value
            aggregate.affiliation = self.affiliation
            aggregate.closed_on = self.effective_on
            aggregate.closed_by = self.actor

    class Refused(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TransferLetterStatus.REFUSED.value
            aggregate.reason = self.reason
            aggregate.closed_on = self.effective_on
            aggregate.closed_by = self.actor

    class Cancelled(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TransferLetterStatus.CANCELLED.value
            aggregate.reason = self.reason
            aggregate.closed_on = self.effective_on
            aggregate.closed_by = self.actor

    class Reissued(LedgerAggregate.Event):
        """The overdue letter is replaced by ``new_letter_id``, issued in the same transaction."""

        new_letter_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TransferLetterStatus.REISSUED.value
            aggregate.reissued_as = self.new_letter_id
            aggregate.closed_on = self.effective_on
            aggregate.closed_by = self.actor

    class ReceiptReturned(LedgerAggregate.Event):
        """The receipt (回执) came back to the issuing organisation."""

        def apply(self, aggregate: Any) -> None:
            aggregate.receipt_returned_on = self.effective_on
            aggregate.receipt_returned_by = self.actor

    @classmethod
    def issue(
        cls,
        *,
        id: UUID,
        member_id: UUID,
        member_name: str,
        letter_number: str,
        stub_ref: str,
        receipt_ref: str,
        from_org_id: UUID | None,
        from_org_name: str,
        to_org_id: UUID | None,
        to_org_name: str,
        scope: TransferScope,
        valid_days: int | None,
        reissue_of: UUID | None,
        meta: EventMeta,
    ) -> TransferLetter:
        """Issue a letter from the member's relationship organisation (R13.4, R2.3).

        The application supplies the sending organisation from the member and has checked that the
        receiving organisation exists and differs from it.
        """
        scope = TransferScope(scope)
        days, until = valid_until(meta.effective_on, scope, valid_days)
        if to_org_id is None and not to_org_name.strip():
            raise errors.RelationshipOrganizationRequired(
                "name the receiving organisation (an id in this system, or its name outside it)",
                field="to_org_id",
            )
        return cls._create(
            cls.Issued,
            id=id,
            member_id=member_id,
            member_name=member_name,
            letter_number=_part(letter_number, "letter_number"),
            stub_ref=_part(stub_ref, "stub_ref"),
            receipt_ref=_part(receipt_ref, "receipt_ref"),
            from_org_id=from_org_id,
            from_org_name=from_org_name.strip(),
            to_org_id=to_org_id,
            to_org_name=to_org_name.strip(),
            scope=scope.value,
            valid_days=days,
            valid_until=until,
            reissue_of=reissue_of,
            **meta.fields(),
        )

    @property
    def is_open(self) -> bool:
        """Issued and not yet accepted, refused, cancelled or re-issued (overdue letters stay open)."""
        return self.status == TransferLetterStatus.ISSUED

    def is_overdue(self, today: date) -> bool:
        """R13.4: open and past its validity on ``today``. Derived, never recorded."""
        return self.is_open and today > self.valid_until

    def _check_open(self, action: str) -> None:
        if not self.is_open:
            raise errors.TransferLetterNotOpen(
                f"letter {self.letter_number} is {self.status}; cannot {action}"
            )

    def _check_not_before_issue(self, day: date) -> None:
        if day < self.issued_on:
            raise errors.TransferLetterDateTooEarly(f"the letter was issued on {self.issued_on}, after {day}")

    def accept(self, affiliation: str, meta: EventMeta) -> None:
        """The receiving organisation accepts on ``meta.effective_on``, within the validity (R13.4).

        ``affiliation`` is the member's affiliation from then on (the application has moved the
        relationship on the member in the same command).
        """
        self._check_open("accept it")
        self._check_not_before_issue(meta.effective_on)
        if meta.effective_on > self.valid_until:
            raise errors.TransferLetterOverdue(
                f"letter {self.letter_number} was valid until {self.valid_until}; re-issue it"
            )
        self._record(self.Accepted, meta, affiliation=affiliation)

    def refuse(self, reason: str, meta: EventMeta) -> None:
        """The receiving organisation refuses, with a reason; the member stays where they are."""
        self._check_open("refuse it")
        self._check_not_before_issue(meta.effective_on)
        self._record(self.Refused, meta, reason=require_text(reason, "reason"))

    def cancel(self, reason: str, meta: EventMeta) -> None:
        """The sending organisation withdraws the open letter, with a reason."""
        self._check_open("cancel it")
        self._check_not_before_issue(meta.effective_on)
        self._record(self.Cancelled, meta, reason=require_text(reason, "reason"))

    def mark_reissued(self, new_letter_id: UUID, meta: EventMeta) -> None:
        """Close an overdue letter because ``new_letter_id`` replaces it (R13.4)."""
        self._check_open("re-issue it")
        if meta.effective_on <= self.valid_until:
            raise errors.TransferLetterNotOverdue(
                f"letter {self.letter_number} is valid until {self.valid_until}: accept, refuse or cancel it"
            )
        self._record(self.Reissued, meta, new_letter_id=new_letter_id)

    def return_receipt(self, meta: EventMeta) -> None:
        """The receipt (回执) is back with the issuer: once, after acceptance (R13.4)."""
        if self.status != TransferLetterStatus.ACCEPTED:
            raise errors.TransferReceiptNotExpected(
                f"letter {self.letter_number} is {self.status}: a receipt follows acceptance"
            )
        if self.receipt_returned_on is not None:
            raise errors.TransferReceiptNotExpected(
                f"the receipt of letter {self.letter_number} came back on {self.receipt_returned_on}"
            )
        if self.closed_on is not None and meta.effective_on < self.closed_on:
            raise errors.TransferLetterDateTooEarly(f"the letter was accepted on {self.closed_on}")
        self._record(self.ReceiptReturned, meta)

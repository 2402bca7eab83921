"""Relationship-transfer letters (组织关系介绍信, R13.4)."""

from __future__ import annotations

from datetime import date
from typing import Self
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Reason, Text
from domain.transfer_letter import TransferLetter
from domain.values import Affiliation, TransferLetterStatus, TransferScope

ValidDays = Field(
    default=None, ge=1, le=92, description="Explicit validity in days (R13.4: at most 3 months)"
)


class TransferLetterIssue(Command):
    """Issue a letter from the member's relationship organisation; ``effective_on`` is the issue date."""

    member_id: UUID
    letter_number: Text = Field(description="介绍信编号 (the letter part carries it)")
    stub_ref: Text = Field(description="存根 reference, kept by the issuer")
    receipt_ref: Text = Field(description="回执 reference, returned by the receiver")
    scope: TransferScope = Field(description="same_city: valid 10 days; elsewhere: 30 days (R13.4)")
    to_org_id: UUID | None = Field(default=None, description="Receiving organisation in this system")
    to_org_name: OptionalText = Field(default="", description="Its name, when outside this system")
    valid_days: int | None = ValidDays


class TransferLetterAccept(Command):
    affiliation: Affiliation | None = Field(
        default=None, description="The member's affiliation from now on (unchanged if omitted)"
    )


class TransferLetterClose(Command):
    reason: Reason


class TransferLetterReissue(Command):
    """Re-issue an overdue letter as a new one to the same organisation."""

    letter_number: Text
    stub_ref: Text
    receipt_ref: Text
    scope: TransferScope | None = Field(default=None, description="Unchanged if omitted")
    valid_days: int | None = ValidDays


class TransferReceipt(Command):
    """The receipt (回执) came back to the issuing organisation on ``effective_on``."""


class TransferLetterPublic(AggregatePublic):
    member_id: UUID
    member_name: str
    letter_number: str
    stub_ref: str
    receipt_ref: str
    from_org_id: UUID | None
    from_org_name: str
    to_org_id: UUID | None
    to_org_name: str
    scope: TransferScope
    valid_days: int
    issued_on: date
    valid_until: date
    reissue_of: UUID | None
    status: TransferLetterStatus
    closed_on: date | None
    closed_by: str | None
    reason: str
    affiliation: Affiliation | None
    reissued_as: UUID | None
    receipt_returned_on: date | None
    receipt_returned_by: str | None
    overdue: bool = Field(
        default=False, description="Open and past its validity as of the ledger's today (derived, R13.4)"
    )

    @classmethod
    def at(cls, letter: TransferLetter, today: date) -> Self:
        """The letter as it stands, with ``overdue`` computed for ``today``."""
        return cls.of(letter).model_copy(update={"overdue": letter.is_overdue(today)})

"""Commands on relationship-transfer letters (组织关系介绍信, R13.4) and the transfer they carry (R2.3).

Every command that opens or closes a letter also records it on the member
(``Member.TransferLetterIssued`` / ``TransferLetterClosed``) and saves letter and member in one
transaction: a member has at most one open letter, and two letters issued at once for one member
collide on the member's version (one succeeds, the other gets ``TransferLetterAlreadyOpen``).
Acceptance moves the relationship (``Member.RelationshipTransferred``) in that same transaction:
the sending organisation keeps the member until then (R13.4).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext, EventMeta
from domain.member import Member
from domain.transfer_letter import TransferLetter
from domain.values import ASSOCIATION_KINDS, Affiliation, TransferLetterStatus, TransferScope


class TransferCommands(MemberCommands):
    def get_transfer_letter(self, letter_id: UUID) -> TransferLetter:
        return self._get(TransferLetter, letter_id, "transfer letter")

    def _new_letter(
        self,
        member: Member,
        *,
        letter_id: UUID,
        letter_number: str,
        stub_ref: str,
        receipt_ref: str,
        to_org_id: UUID | None,
        to_org_name: str,
        scope: TransferScope,
        valid_days: int | None,
        reissue_of: UUID | None,
        meta: EventMeta,
    ) -> TransferLetter:
        if to_org_id is not None:
            to_org_name = to_org_name or self._active_organization(to_org_id, "to_org_id").name
        same = (
            to_org_id == member.relationship_org_id
            if to_org_id is not None or member.relationship_org_id is not None
            else to_org_name.strip() == member.relationship_org_name
        )
        if same:
            raise errors.TransferToSameOrganization("the member's relationship is already there")
        return TransferLetter.issue(
            id=letter_id,
            member_id=member.id,
            member_name=member.name,
            letter_number=letter_number,
            stub_ref=stub_ref,
            receipt_ref=receipt_ref,
            from_org_id=member.relationship_org_id,
            from_org_name=member.relationship_org_name,
            to_org_id=to_org_id,
            to_org_name=to_org_name,
            scope=scope,
            valid_days=valid_days,
            reissue_of=reissue_of,
            meta=meta,
        )

    def _open_conflict(self, member_id: UUID) -> errors.DomainError:
        return errors.TransferLetterAlreadyOpen(
            f"another transfer letter for member {member_id} was recorded at the same time"
        )

    @command
    def issue_transfer_letter(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        member_id: UUID,
        letter_number: str,
        stub_ref: str,
        receipt_ref: str,
        scope: TransferScope,
        to_org_id: UUID | None = None,
        to_org_name: str = "",
        valid_days: int | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Issue a relationship-transfer letter from the member's relationship organisation (R13.4).

        ``effective_on`` is the issue date. The validity is 10 days within the same city, 30 elsewhere,
        or ``valid_days`` (at most 3 months). One open letter per member.
        """
        meta = self._meta(ctx, effective_on)
        member = self._get(Member, member_id, "member", "member_id")
        letter = self._new_letter(
            member,
            letter_id=id or uuid4(),
            letter_number=letter_number,
            stub_ref=stub_ref,
            receipt_ref=receipt_ref,
            to_org_id=to_org_id,
            to_org_name=to_org_name,
            scope=scope,
            valid_days=valid_days,
            reissue_of=None,
            meta=meta,
        )
        member.open_transfer_letter(letter.id, meta)
        return self._commit(letter.id, letter, member, on_conflict=self._open_conflict(member.id))

    @command
    def accept_transfer_letter(
        self,
        ctx: CommandContext,
        letter_id: UUID,
        *,
        effective_on: date,
        affiliation: Affiliation | None = None,
    ) -> CommandResult:
        """The receiving organisation accepts the letter: the relationship moves on ``effective_on``
        (R2.3), which lies within the letter's validity (R13.4)."""
        meta = self._meta(ctx, effective_on)
        letter = self.get_transfer_letter(letter_id)
        member = self._get(Member, letter.member_id, "member", "member_id")
        new_affiliation = Affiliation(affiliation or member.affiliation)
        letter.accept(new_affiliation.value, meta)
        if not _still_with_sender(member, letter):
            raise errors.TransferLetterStale(
                f"the member's relationship is now with {member.relationship_org_name}, "
                f"not the letter's sender {letter.from_org_name}"
            )
        is_association = False
        if letter.to_org_id is not None:
            is_association = (
                self._active_organization(letter.to_org_id, "to_org_id").kind in ASSOCIATION_KINDS
            )
        member.transfer_relationship(
            to_org_id=letter.to_org_id,
            to_org_name=letter.to_org_name,
            to_is_association=is_association,
            affiliation=new_affiliation,
            meta=meta,
        )
        member.close_transfer_letter(letter.id, TransferLetterStatus.ACCEPTED.value, meta)
        return self._commit(letter.id, letter, member)

    @command
    def refuse_transfer_letter(
        self, ctx: CommandContext, letter_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """The receiving organisation refuses the letter, with a reason; the member stays (R13.4)."""
        meta = self._meta(ctx, effective_on)
        letter = self.get_transfer_letter(letter_id)
        member = self._get(Member, letter.member_id, "member", "member_id")
        letter.refuse(reason, meta)
        member.close_transfer_letter(letter.id, TransferLetterStatus.REFUSED.value, meta)
        return self._commit(letter.id, letter, member)

    @command
    def cancel_transfer_letter(
        self, ctx: CommandContext, letter_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """The sending organisation withdraws an open letter, with a reason (R13.4)."""
        meta = self._meta(ctx, effective_on)
        letter = self.get_transfer_letter(letter_id)
        member = self._get(Member, letter.member_id, "member", "member_id")
        letter.cancel(reason, meta)
        member.close_transfer_letter(letter.id, TransferLetterStatus.CANCELLED.value, meta)
        return self._commit(letter.id, letter, member)

    @command
    def reissue_transfer_letter(
        self,
        ctx: CommandContext,
        letter_id: UUID,
        *,
        effective_on: date,
        letter_number: str,
        stub_ref: str,
        receipt_ref: str,
        scope: TransferScope | None = None,
        valid_days: int | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Re-issue an overdue letter as a new letter to the same organisation (R13.4).

        The old letter is closed as re-issued and the new one opened, in one transaction. Returns the
        new letter's id.
        """
        meta = self._meta(ctx, effective_on)
        old = self.get_transfer_letter(letter_id)
        member = self._get(Member, old.member_id, "member", "member_id")
        new = self._new_letter(
            member,
            letter_id=id or uuid4(),
            letter_number=letter_number,
            stub_ref=stub_ref,
            receipt_ref=receipt_ref,
            to_org_id=old.to_org_id,
            to_org_name=old.to_org_name,
            scope=TransferScope(scope or old.scope),
            valid_days=valid_days,
            reissue_of=old.id,
            meta=meta,
        )
        old.mark_reissued(new.id, meta)
        member.close_transfer_letter(old.id, TransferLetterStatus.REISSUED.value, meta)
        member.open_transfer_letter(new.id, meta)
        return self._commit(new.id, new, old, member, on_conflict=self._open_conflict(member.id))

    @command
    def return_transfer_receipt(
        self, ctx: CommandContext, letter_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """The receipt (回执) is back with the issuing organisation, after acceptance (R13.4)."""
        letter = self.get_transfer_letter(letter_id)
        letter.return_receipt(self._meta(ctx, effective_on))
        return self._commit(letter.id, letter)


def _still_with_sender(member: Member, letter: TransferLetter) -> bool:
    """R2.3: the member's relationship is still with the organisation that issued the letter."""
    if letter.from_org_id is not None:
        return member.relationship_org_id == letter.from_org_id
    return member.relationship_org_id is None and member.relationship_org_name == letter.from_org_name

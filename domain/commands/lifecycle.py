"""Commands on a member's lifecycle: probation (R13.5), business suspended and away (R5.2),
disciplinary periods and basic-policy violations (R5.3), leaving (R13.6); and the member as of a
business date, which the pioneer index reads (``member_as_of``)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext
from domain.member import Member, member_as_of
from domain.values import LeavingReason


class LifecycleCommands(MemberCommands):
    def member_as_of(self, member_id: UUID, day: date, version: int | None = None) -> Member | None:
        """The member as of the business date ``day`` (see ``domain.member.member_as_of``).

        ``version`` limits the events read to those of an already loaded copy, so that a rule
        checked on the result and the save of that copy see the same history.
        """
        self.get_member(member_id)  # NotFound for an unknown id
        return member_as_of(self.events.get(member_id, lte=version), day)

    @command
    def complete_probation(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """转正: probationary → full, no earlier than one year after admission (R13.5)."""
        member = self.get_member(member_id)
        member.complete_probation(self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def extend_probation(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, months: int
    ) -> CommandResult:
        """Extend probation once, by 6 to 12 months (R13.5)."""
        member = self.get_member(member_id)
        member.extend_probation(months, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def suspend_member_business(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, reason: str = ""
    ) -> CommandResult:
        """停歇业: the member's business is suspended (R5.2)."""
        member = self.get_member(member_id)
        member.suspend_business(reason, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def resume_member_business(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """The member's suspended business resumes (R5.2)."""
        member = self.get_member(member_id)
        member.resume_business(self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def start_member_absence(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, place: str = ""
    ) -> CommandResult:
        """外出经营: the member does business elsewhere from ``effective_on`` (R5.2)."""
        member = self.get_member(member_id)
        member.start_away(place, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def end_member_absence(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """The member is back from doing business elsewhere (R5.2)."""
        member = self.get_member(member_id)
        member.end_away(self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def start_disciplinary_period(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """处分期 begins (R5.3)."""
        member = self.get_member(member_id)
        member.start_disciplinary_period(reason, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def end_disciplinary_period(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """处分期 ends (R5.3)."""
        member = self.get_member(member_id)
        member.end_disciplinary_period(self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def record_policy_violation(
        self, ctx: CommandContext, member_id: UUID, *, effective_on: date, description: str
    ) -> CommandResult:
        """违反基本国策 (R5.3)."""
        member = self.get_member(member_id)
        member.record_policy_violation(description, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

    @command
    def record_member_departure(
        self,
        ctx: CommandContext,
        member_id: UUID,
        *,
        effective_on: date,
        reason: LeavingReason,
        note: str = "",
    ) -> CommandResult:
        """The member leaves, with a reason; the record stays and accepts nothing more (R13.6)."""
        member = self.get_member(member_id)
        member.leave(reason, note, self._meta(ctx, effective_on))
        return self._commit(member.id, member)

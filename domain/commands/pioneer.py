"""Commands of the pioneer-index evaluation (先锋指数, R5): one round per organisation and year.

A member's standing is judged on the round's date from the member's own events
(``member_as_of``). Rating a member reads the Member aggregate as loaded, checks the standing on
it again, and records ``Member.PioneerRated`` with the round's result in one transaction: a
lifecycle change to the same member racing with the rating makes one of them a ``ConcurrentChange``.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.lifecycle import LifecycleCommands
from domain.envelope import CommandContext
from domain.member import Member, member_as_of
from domain.pioneer_round import Assessment, PioneerRound, assess, check_eligible, pioneer_round_id_for
from domain.values import PioneerStep


class PioneerCommands(LifecycleCommands):
    def get_pioneer_round(self, round_id: UUID) -> PioneerRound:
        return self._get(PioneerRound, round_id, "pioneer round")

    def _assess(self, round_: PioneerRound, member: Member) -> Assessment:
        """The member's standing on the round's date, from the events of the copy loaded."""
        as_of = member_as_of(self.events.get(member.id, lte=member.version), round_.round_date)
        return assess(as_of, round_.org_id, round_.year, round_.round_date)

    @command
    def open_pioneer_round(
        self, ctx: CommandContext, *, effective_on: date, org_id: UUID, year: int, round_date: date
    ) -> CommandResult:
        """Open an organisation's yearly round (R5.4), dated by 30 November (R5.6)."""
        meta = self._meta(ctx, effective_on)
        self._active_organization(org_id, "org_id")
        duplicate = errors.PioneerRoundAlreadyOpened(f"organisation {org_id} already has a round for {year}")
        if pioneer_round_id_for(org_id, year) in self.repository:
            raise duplicate
        round_ = PioneerRound.open(org_id=org_id, year=year, round_date=round_date, meta=meta)
        return self._commit(round_.id, round_, on_conflict=duplicate)

    @command
    def enrol_pioneer_member(
        self, ctx: CommandContext, round_id: UUID, *, effective_on: date, member_id: UUID
    ) -> CommandResult:
        """Enrol a member with their standing on the round's date (R5.1, R5.2, R5.3)."""
        meta = self._meta(ctx, effective_on)
        round_ = self.get_pioneer_round(round_id)
        member = self._get(Member, member_id, "member", "member_id")
        round_.enrol(member.id, member.name, self._assess(round_, member), meta)
        return self._commit(round_.id, round_)

    @command
    def record_pioneer_step(
        self, ctx: CommandContext, round_id: UUID, *, effective_on: date, member_id: UUID, step: PioneerStep
    ) -> CommandResult:
        """Self-evaluation, peer evaluation, organisation review, public notice, in order (R5.4)."""
        round_ = self.get_pioneer_round(round_id)
        round_.record_step(member_id, step, self._meta(ctx, effective_on))
        return self._commit(round_.id, round_)

    @command
    def rate_pioneer_member(
        self,
        ctx: CommandContext,
        round_id: UUID,
        *,
        effective_on: date,
        member_id: UUID,
        stars: int,
        excellent: bool = False,
    ) -> CommandResult:
        """The result, 1 to 5 stars (R5.5), on the round and on the member in one transaction."""
        meta = self._meta(ctx, effective_on)
        round_ = self.get_pioneer_round(round_id)
        member = self._get(Member, member_id, "member", "member_id")
        round_.rate(member_id, stars, excellent, meta)
        check_eligible(self._assess(round_, member), member.name)
        member.record_pioneer_rating(
            round_id=round_.id, year=round_.year, stars=stars, excellent=excellent, meta=meta
        )
        return self._commit(round_.id, round_, member)

    @command
    def record_pioneer_talk(
        self,
        ctx: CommandContext,
        round_id: UUID,
        *,
        effective_on: date,
        member_id: UUID,
        talked_by: str,
        note: str = "",
    ) -> CommandResult:
        """谈心谈话 with a 1- or 2-star member (R5.5)."""
        round_ = self.get_pioneer_round(round_id)
        round_.record_talk(member_id, talked_by, note, self._meta(ctx, effective_on))
        return self._commit(round_.id, round_)

    @command
    def record_pioneer_support_pairing(
        self,
        ctx: CommandContext,
        round_id: UUID,
        *,
        effective_on: date,
        member_id: UUID,
        partner: str,
        note: str = "",
    ) -> CommandResult:
        """结对帮扶 for a 1- or 2-star member (R5.5)."""
        round_ = self.get_pioneer_round(round_id)
        round_.record_support_pairing(member_id, partner, note, self._meta(ctx, effective_on))
        return self._commit(round_.id, round_)

    @command
    def close_pioneer_round(
        self, ctx: CommandContext, round_id: UUID, *, effective_on: date
    ) -> CommandResult:
        """Close the round once every 1- or 2-star member has a talk and a support pairing (R5.5)."""
        round_ = self.get_pioneer_round(round_id)
        round_.close(self._meta(ctx, effective_on))
        return self._commit(round_.id, round_)

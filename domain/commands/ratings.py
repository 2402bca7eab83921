"""Commands on strongest-branch ratings (最强党支部, R11)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext, check_not_ahead
from domain.strongest_branch import StrongestBranchRating, rating_id_for
from domain.values import DisqualificationKind, EvaluationKind, OrgRating, RatingLevel, SocialResult


class RatingCommands(MemberCommands):
    def get_strongest_branch_rating(self, rating_id: UUID) -> StrongestBranchRating:
        return self._get(StrongestBranchRating, rating_id, "strongest-branch rating")

    @command
    def start_strongest_branch_rating(
        self, ctx: CommandContext, *, effective_on: date, org_id: UUID, year: int
    ) -> CommandResult:
        """Start a branch's self-creation (自创) for a year: one rating per branch and year (R11.6)."""
        meta = self._meta(ctx, effective_on)
        if year > self.today().year:
            raise errors.RatingYearInvalid(f"{year} lies in the future")
        branch = self._active_organization(org_id, "org_id")
        duplicate = errors.StrongestBranchRatingAlreadyStarted(
            f"the branch's rating for {year} has already started"
        )
        if rating_id_for(org_id, year) in self.repository:
            raise duplicate
        rating = StrongestBranchRating.start(org_id=org_id, year=year, parent_id=branch.parent_id, meta=meta)
        return self._commit(rating.id, rating, on_conflict=duplicate)

    @command
    def record_strongest_branch_evaluation(
        self,
        ctx: CommandContext,
        rating_id: UUID,
        *,
        effective_on: date,
        kind: EvaluationKind,
        rating: OrgRating | None = None,
        participants: int | None = None,
        excellent: int | None = None,
        respondents: int | None = None,
        dissatisfied: int | None = None,
        verified: bool | None = None,
        result: SocialResult | None = None,
        no_public_function: bool | None = None,
    ) -> CommandResult:
        """Record one of the four evaluations (四评, R11.4); a repeat of a kind replaces it."""
        meta = self._meta(ctx, effective_on)
        subject = self.get_strongest_branch_rating(rating_id)
        subject.record_evaluation(
            kind,
            rating=rating,
            participants=participants,
            excellent=excellent,
            respondents=respondents,
            dissatisfied=dissatisfied,
            verified=verified,
            result=result,
            no_public_function=no_public_function,
            meta=meta,
        )
        return self._commit(subject.id, subject)

    @command
    def record_strongest_branch_disqualification(
        self,
        ctx: CommandContext,
        rating_id: UUID,
        *,
        effective_on: date,
        kind: DisqualificationKind,
        occurred_on: date,
        description: str = "",
    ) -> CommandResult:
        """Record a disqualifying fact of the rating's year (R11.5)."""
        meta = self._meta(ctx, effective_on)
        check_not_ahead(occurred_on, self.today(), "occurred_on")
        rating = self.get_strongest_branch_rating(rating_id)
        rating.record_disqualification(kind, occurred_on, description, meta)
        return self._commit(rating.id, rating)

    @command
    def apply_strongest_branch(
        self, ctx: CommandContext, rating_id: UUID, *, effective_on: date, level: RatingLevel, to_body: str
    ) -> CommandResult:
        """Apply to the agency committee, or upward after its pass (R11.6 逐级申报)."""
        rating = self.get_strongest_branch_rating(rating_id)
        rating.apply_to(level, to_body, self._meta(ctx, effective_on))
        return self._commit(rating.id, rating)

    @command
    def decide_strongest_branch(
        self,
        ctx: CommandContext,
        rating_id: UUID,
        *,
        effective_on: date,
        level: RatingLevel,
        passed: bool,
        reason: str = "",
    ) -> CommandResult:
        """The level applied to passes or fails the branch (R11.6 分级评定)."""
        rating = self.get_strongest_branch_rating(rating_id)
        rating.decide(level, passed, reason, self._meta(ctx, effective_on))
        return self._commit(rating.id, rating)

    @command
    def award_strongest_branch(
        self, ctx: CommandContext, rating_id: UUID, *, effective_on: date, start_year: int, end_year: int
    ) -> CommandResult:
        """Award for a term on the deciding level's pass, unless disqualified (R11.5, R11.6, R11.7)."""
        rating = self.get_strongest_branch_rating(rating_id)
        rating.award(start_year, end_year, self._meta(ctx, effective_on))
        return self._commit(rating.id, rating)

    @command
    def revoke_strongest_branch(
        self, ctx: CommandContext, rating_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Revoke the award: the branch no longer meets the standard (R11.7)."""
        rating = self.get_strongest_branch_rating(rating_id)
        rating.revoke(reason, self._meta(ctx, effective_on))
        return self._commit(rating.id, rating)

    @command
    def change_strongest_branch_parent(
        self, ctx: CommandContext, rating_id: UUID, *, effective_on: date, to_parent_id: UUID
    ) -> CommandResult:
        """Record the branch's change of parent; the rating and its award continue (R11.7)."""
        meta = self._meta(ctx, effective_on)
        rating = self.get_strongest_branch_rating(rating_id)
        if to_parent_id == rating.org_id:
            raise errors.ParentOrganizationInvalid("a branch cannot be its own parent", field="to_parent_id")
        self._active_organization(to_parent_id, "to_parent_id")
        rating.change_parent(to_parent_id, meta)
        return self._commit(rating.id, rating)

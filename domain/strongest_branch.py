"""StrongestBranchRating (最强党支部评定): one branch's strongest-branch rating for one year (R11).

Steps (R11.6, source 003 "评定程序"): self-creation (自创) starts the rating; the four evaluations
(四评, R11.4) and the year's disqualifying facts (R11.5) are recorded as they become known; the branch
applies to the agency party committee (机关党委), which rates it, and may then apply upward (市直机关工委
or above), which decides. A lower level's pass only qualifies the application upward; it is the pass of
the highest level applied to that awards (下级党组织的评定结果只作为向上级党组织申报的条件，不作为评定依据).
The award has a term (R11.7), survives a change of parent (接续建设: ``ParentChanged``) and is revoked
when the branch stops meeting the standard (取消评定).

Whether the branch is disqualified is derived from the recorded inputs, never stored: an organisation
rating below "excellent" (the agency committee's 组织评定 rests on the yearly 述职评议考核, R11.5), fewer
than 90% "excellent" among members taking part, more than 10% "dissatisfied" in the mass survey when
verified, adverse social feedback, or any disqualifying fact recorded for the year.

Assumptions where the source is silent: an evaluation recorded again replaces the earlier one (a
correction, R1.3); disqualifying facts may still be recorded after the award, and revoking the award is
then an explicit decision (R11.7); nothing more is accepted once the award is revoked.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import (
    DisqualificationKind,
    EvaluationFailure,
    EvaluationKind,
    OrgRating,
    RatingLevel,
    SocialResult,
    require_text,
)

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/strongest-branch-rating")

MEMBER_EXCELLENT_MIN_PERCENT = 90  # R11.4: at least 90% of participants rate "excellent"
MASS_DISSATISFIED_MAX_PERCENT = 10  # R11.4: above 10% "dissatisfied", when verified, disqualifies

_EVALUATION_FIELDS: dict[EvaluationKind, tuple[str, ...]] = {
    EvaluationKind.ORGANIZATION: ("rating",),
    EvaluationKind.MEMBERS: ("participants", "excellent"),
    EvaluationKind.MASS: ("respondents", "dissatisfied", "verified"),
    EvaluationKind.SOCIAL: ("result", "no_public_function"),
}


def rating_id_for(org_id: UUID, year: int) -> UUID:
    """The aggregate id of the rating of branch ``org_id`` for ``year``."""
    return uuid5(_NAMESPACE, f"{org_id}:{year}")


def member_share_qualifies(participants: int, excellent: int) -> bool:
    """R11.4: "excellent" from at least 90% of the members taking part."""
    return excellent * 100 >= participants * MEMBER_EXCELLENT_MIN_PERCENT


def mass_share_exceeded(respondents: int, dissatisfied: int) -> bool:
    """R11.4: "dissatisfied" above 10% of respondents."""
    return dissatisfied * 100 > respondents * MASS_DISSATISFIED_MAX_PERCENT


class StrongestBranchRating(LedgerAggregate):
    org_id: UUID
    year: int
    parent_id: UUID | None
    started_on: date
    organization_rating: str | None
    member_participants: int | None
    member_excellent: int | None
    mass_respondents: int | None
    mass_dissatisfied: int | None
    mass_verified: bool | None
    social_result: str | None
    disqualifications: list[dict[str, Any]]
    applications: dict[str, dict[str, Any]]
    decisions: dict[str, dict[str, Any]]
    awarded_level: str | None
    awarded_on: date | None
    term_start_year: int | None
    term_end_year: int | None
    revoked: bool
    revoked_on: date | None
    revocation_reason: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class SelfCreationStarted(LedgerAggregate.Created):
        """R11.6 全面自创: the branch starts creating for the year."""

        org_id: UUID
        year: int
        parent_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            aggregate.org_id = self.org_id
            aggregate.year = self.year
            aggregate.parent_id = self.parent_id
            aggregate.started_on = self.effective_on
            aggregate.organization_rating = None
            aggregate.member_participants = None
            aggregate.member_excellent = None
            aggregate.mass_respondents = None
            aggregate.mass_dissatisfied = None
            aggregate.mass_verified = None
            aggregate.social_result = None
            aggregate.disqualifications = []
            aggregate.applications = {}
            aggregate.decisions = {}
            aggregate.awarded_level = None
            aggregate.awarded_on = None
            aggregate.term_start_year = None
            aggregate.term_end_year = None
            aggregate.revoked = False
            aggregate.revoked_on = None
            aggregate.revocation_reason = None

    class OrganizationRated(LedgerAggregate.Event):
        """R11.4 组织评定."""

        rating: str

        def apply(self, aggregate: Any) -> None:
            aggregate.organization_rating = self.rating

    class MembersEvaluated(LedgerAggregate.Event):
        """R11.4 党员评议: how many members took part and how many rated "excellent"."""

        participants: int
        excellent: int

        def apply(self, aggregate: Any) -> None:
            aggregate.member_participants = self.participants
            aggregate.member_excellent = self.excellent

    class MassSurveyed(LedgerAggregate.Event):
        """R11.4 群众评判: respondents, "dissatisfied" answers, and whether they were verified (查核属实)."""

        respondents: int
        dissatisfied: int
        verified: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.mass_respondents = self.respondents
            aggregate.mass_dissatisfied = self.dissatisfied
            aggregate.mass_verified = self.verified

    class SociallyEvaluated(LedgerAggregate.Event):
        """R11.4 社会评价; ``no_public_function`` is what the command stated to justify an exemption."""

        result: str
        no_public_function: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.social_result = self.result

    class DisqualificationRecorded(LedgerAggregate.Event):
        """R11.5: a disqualifying fact of the rating's year."""

        kind: str
        description: str
        occurred_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.disqualifications.append(
                {"kind": self.kind, "description": self.description, "occurred_on": self.occurred_on}
            )

    class Applied(LedgerAggregate.Event):
        """R11.6 逐级申报: the branch applies to ``level`` (the body's name in ``to_body``)."""

        level: str
        to_body: str

        def apply(self, aggregate: Any) -> None:
            aggregate.applications[self.level] = {"to_body": self.to_body, "applied_on": self.effective_on}

    class Decided(LedgerAggregate.Event):
        """R11.6 分级评定: the level applied to passes or fails the branch."""

        level: str
        passed: bool
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.decisions[self.level] = {
                "passed": self.passed,
                "reason": self.reason,
                "decided_on": self.effective_on,
            }

    class Awarded(LedgerAggregate.Event):
        """R11.6/R11.7: awarded on the deciding level's pass, for a term of years."""

        level: str
        start_year: int
        end_year: int

        def apply(self, aggregate: Any) -> None:
            aggregate.awarded_level = self.level
            aggregate.awarded_on = self.effective_on
            aggregate.term_start_year = self.start_year
            aggregate.term_end_year = self.end_year

    class Revoked(LedgerAggregate.Event):
        """R11.7 取消评定: the branch no longer meets the standard."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.revoked = True
            aggregate.revoked_on = self.effective_on
            aggregate.revocation_reason = self.reason

    class ParentChanged(LedgerAggregate.Event):
        """R11.7 接续建设: the branch's parent changed; the rating and any award continue."""

        from_parent_id: UUID | None
        to_parent_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.parent_id = self.to_parent_id

    @classmethod
    def start(
        cls, *, org_id: UUID, year: int, parent_id: UUID | None, meta: EventMeta
    ) -> StrongestBranchRating:
        """Start self-creation (自创) for ``year`` (R11.6): one rating per branch and year."""
        if meta.effective_on.year != year:
            raise errors.RatingYearInvalid(
                f"self-creation for {year} starts in {year}, not on {meta.effective_on}"
            )
        return cls._create(
            cls.SelfCreationStarted,
            id=rating_id_for(org_id, year),
            org_id=org_id,
            year=year,
            parent_id=parent_id,
            **meta.fields(),
        )

    # --- derived ---------------------------------------------------------------------------------

    @property
    def missing_evaluations(self) -> list[str]:
        """The evaluations (四评) not yet recorded, in order (R11.4)."""
        recorded = {
            EvaluationKind.ORGANIZATION: self.organization_rating is not None,
            EvaluationKind.MEMBERS: self.member_participants is not None,
            EvaluationKind.MASS: self.mass_respondents is not None,
            EvaluationKind.SOCIAL: self.social_result is not None,
        }
        return [kind.value for kind, done in recorded.items() if not done]

    @property
    def member_rating_qualifies(self) -> bool:
        """R11.4: the member evaluation is recorded and at least 90% rated "excellent"."""
        if self.member_participants is None or self.member_excellent is None:
            return False
        return member_share_qualifies(self.member_participants, self.member_excellent)

    @property
    def disqualification_reasons(self) -> list[str]:
        """Every reason the branch is ruled out this year, derived from what was recorded (R11.4, R11.5)."""
        reasons: list[str] = []
        if self.organization_rating is not None and self.organization_rating != OrgRating.EXCELLENT:
            reasons.append(EvaluationFailure.ORGANIZATION_BELOW_EXCELLENT.value)
        if self.member_participants is not None and not self.member_rating_qualifies:
            reasons.append(EvaluationFailure.MEMBER_EXCELLENT_BELOW_90.value)
        if (
            self.mass_respondents is not None
            and self.mass_dissatisfied is not None
            and self.mass_verified
            and mass_share_exceeded(self.mass_respondents, self.mass_dissatisfied)
        ):
            reasons.append(EvaluationFailure.MASS_DISSATISFACTION_VERIFIED.value)
        if self.social_result == SocialResult.ADVERSE:
            reasons.append(EvaluationFailure.SOCIAL_ADVERSE.value)
        for fact in self.disqualifications:
            if fact["kind"] not in reasons:
                reasons.append(fact["kind"])
        return reasons

    @property
    def disqualified(self) -> bool:
        return bool(self.disqualification_reasons)

    @property
    def deciding_level(self) -> RatingLevel | None:
        """The highest level applied to: its decision is the one that awards (R11.6)."""
        for level in reversed(RatingLevel):
            if level.value in self.applications:
                return level
        return None

    @property
    def awarded(self) -> bool:
        """An award in force: made and not revoked (R11.7)."""
        return self.awarded_level is not None and not self.revoked

    # --- commands --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.revoked:
            raise errors.RatingRevoked(f"the {self.year} rating was revoked: {self.revocation_reason}")

    def record_evaluation(
        self,
        kind: EvaluationKind,
        *,
        rating: OrgRating | None = None,
        participants: int | None = None,
        excellent: int | None = None,
        respondents: int | None = None,
        dissatisfied: int | None = None,
        verified: bool | None = None,
        result: SocialResult | None = None,
        no_public_function: bool | None = None,
        meta: EventMeta,
    ) -> None:
        """Record one of the four evaluations (四评, R11.4); recording a kind again replaces it."""
        self._check_open()
        kind = EvaluationKind(kind)
        given = {
            "rating": rating,
            "participants": participants,
            "excellent": excellent,
            "respondents": respondents,
            "dissatisfied": dissatisfied,
            "verified": verified,
            "result": result,
            "no_public_function": no_public_function,
        }
        for name, value in given.items():
            if value is not None and name not in _EVALUATION_FIELDS[kind]:
                raise errors.EvaluationInvalid(
                    f"{name} is not part of the {kind.value} evaluation", field=name
                )
        if kind == EvaluationKind.ORGANIZATION:
            if rating is None:
                raise errors.EvaluationInvalid("the organisation rating is required", field="rating")
            self._record(self.OrganizationRated, meta, rating=OrgRating(rating).value)
        elif kind == EvaluationKind.MEMBERS:
            participants, excellent = _counts(participants, "participants", excellent, "excellent")
            self._record(self.MembersEvaluated, meta, participants=participants, excellent=excellent)
        elif kind == EvaluationKind.MASS:
            respondents, dissatisfied = _counts(respondents, "respondents", dissatisfied, "dissatisfied")
            self._record(
                self.MassSurveyed,
                meta,
                respondents=respondents,
                dissatisfied=dissatisfied,
                verified=bool(verified),
            )
        else:
            if result is None:
                raise errors.EvaluationInvalid("the social evaluation result is required", field="result")
            result = SocialResult(result)
            if result == SocialResult.EXEMPT and not no_public_function:
                raise errors.SocialEvaluationExemptionNotAllowed(
                    "only a unit without a public-facing function may skip the social evaluation"
                )
            self._record(
                self.SociallyEvaluated, meta, result=result.value, no_public_function=bool(no_public_function)
            )

    def record_disqualification(
        self, kind: DisqualificationKind, occurred_on: date, description: str, meta: EventMeta
    ) -> None:
        """Record a disqualifying fact of the rating's year (R11.5)."""
        self._check_open()
        kind = DisqualificationKind(kind)
        if occurred_on.year != self.year:
            raise errors.DisqualificationOutsideYear(
                f"{occurred_on} is not in {self.year}, the year of this rating"
            )
        description = description.strip()
        if kind == DisqualificationKind.OTHER:
            description = require_text(description, "description")
        self._record(
            self.DisqualificationRecorded,
            meta,
            kind=kind.value,
            description=description,
            occurred_on=occurred_on,
        )

    def _check_not_disqualified(self) -> None:
        if self.disqualified:
            raise errors.StrongestBranchDisqualified(
                f"the branch is disqualified for {self.year}: {', '.join(self.disqualification_reasons)}"
            )

    def apply_to(self, level: RatingLevel, to_body: str, meta: EventMeta) -> None:
        """Apply to the agency committee, or upward once it passed the branch (R11.6 逐级申报).

        The application to the agency committee needs a qualifying member evaluation (R11.4 党员评议:
        "可向机关党委申报").
        """
        self._check_open()
        level = RatingLevel(level)
        if self.awarded_level is not None:
            raise errors.ApplicationOutOfOrder(f"the branch is already awarded for {self.year}")
        if level.value in self.applications:
            raise errors.ApplicationOutOfOrder(f"the branch has already applied to the {level.value} level")
        if level == RatingLevel.AGENCY_COMMITTEE:
            if not self.member_rating_qualifies:
                raise errors.MemberRatingNotQualifying(
                    "apply to the agency committee with at least 90% of members rating the branch excellent"
                )
        else:
            agency = self.decisions.get(RatingLevel.AGENCY_COMMITTEE.value)
            if agency is None or not agency["passed"]:
                raise errors.ApplicationOutOfOrder(
                    "a branch applies upward only after the agency committee passed it"
                )
        self._record(self.Applied, meta, level=level.value, to_body=require_text(to_body, "to_body"))

    def decide(self, level: RatingLevel, passed: bool, reason: str, meta: EventMeta) -> None:
        """The level applied to passes or fails the branch on the four evaluations (R11.6 分级评定)."""
        self._check_open()
        level = RatingLevel(level)
        if level.value not in self.applications:
            raise errors.DecisionWithoutApplication(f"the branch has not applied to the {level.value} level")
        if level.value in self.decisions:
            raise errors.DecisionWithoutApplication(f"the {level.value} level has already decided")
        if passed:
            if self.missing_evaluations:
                raise errors.EvaluationsIncomplete(
                    f"evaluations still missing: {', '.join(self.missing_evaluations)}"
                )
            self._check_not_disqualified()
        self._record(self.Decided, meta, level=level.value, passed=bool(passed), reason=reason.strip())

    def award(self, start_year: int, end_year: int, meta: EventMeta) -> None:
        """Award for a term on the highest applied level's pass, if not disqualified (R11.6, R11.7)."""
        self._check_open()
        if self.awarded_level is not None:
            raise errors.StrongestBranchAlreadyAwarded(f"the branch is already awarded for {self.year}")
        level = self.deciding_level
        decision = self.decisions.get(level.value) if level is not None else None
        if level is None or decision is None or not decision["passed"]:
            raise errors.AwardNotDecided(
                "the highest level applied to has not passed the branch"
                if level is not None
                else "the branch has not applied to the agency committee"
            )
        self._check_not_disqualified()
        if start_year < self.year:
            raise errors.AwardTermInvalid(
                f"the term starts in {self.year} or later, not {start_year}", field="start_year"
            )
        if end_year < start_year:
            raise errors.AwardTermInvalid(f"the term ends in {start_year} or later, not {end_year}")
        self._record(self.Awarded, meta, level=level.value, start_year=start_year, end_year=end_year)

    def revoke(self, reason: str, meta: EventMeta) -> None:
        """Revoke the award: the branch no longer meets the standard (R11.7 取消评定)."""
        if not self.awarded:
            if self.revoked:
                self._check_open()
            raise errors.StrongestBranchNotAwarded(f"the branch holds no award for {self.year}")
        self._record(self.Revoked, meta, reason=require_text(reason, "reason"))

    def change_parent(self, to_parent_id: UUID, meta: EventMeta) -> None:
        """Record a change of parent; the rating and its award continue (R11.7 接续建设)."""
        self._check_open()
        if to_parent_id == self.parent_id:
            raise errors.ParentUnchanged("the branch already sits under this parent")
        self._record(self.ParentChanged, meta, from_parent_id=self.parent_id, to_parent_id=to_parent_id)


def _counts(total: int | None, total_field: str, part: int | None, part_field: str) -> tuple[int, int]:
    """R11.4: a head count of at least one, and a part of it between zero and the whole."""
    if total is None or total < 1:
        raise errors.EvaluationInvalid(f"{total_field} must be at least 1", field=total_field)
    if part is None or not 0 <= part <= total:
        raise errors.EvaluationInvalid(f"{part_field} must be between 0 and {total_field}", field=part_field)
    return total, part

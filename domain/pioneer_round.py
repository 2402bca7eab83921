"""PioneerRound (党员先锋指数考评): one organisation's yearly pioneer-index evaluation (R5).

One round per organisation and year: its id is derived from both (``pioneer_round_id_for``), so a
second round for the same organisation and year collides in the store. The round has a date, no
later than 30 November (R5.6), on which every member's standing is judged (``assess``):

- scope (R5.1), kept simple: the member's relationship organisation or one of their
  organisational-life organisations is the round's organisation, and they have not left;
- excluded (R5.2): probationary, business suspended (停歇业), or away on business (外出经营) for
  more than 6 months;
- vetoed (R5.3): in a disciplinary period (处分期), or a basic-policy violation (违反基本国策)
  dated in the round's year up to the round's date (assumed: a violation vetoes the evaluation of
  the year it happened in).

Enrolled members go through self-evaluation, peer evaluation, organisation review and public notice,
strictly in that order (R5.4), then get 1 to 5 stars; "excellent member" only with 4 or 5 stars,
and a 1- or 2-star member needs a talk and a support pairing before the round can close (R5.5).
The result is recorded on the member too (``Member.PioneerRated``), checked on the member as loaded
and saved in the same transaction (see ``domain.commands.pioneer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.member import AWAY_EXCLUDES_AFTER_MONTHS, Member, add_months
from domain.personal import PersonalData
from domain.values import PIONEER_STEPS, MemberCategory, PioneerStanding, PioneerStep, require_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/pioneer-round")
LAST_MONTH, LAST_DAY = 11, 30  # R5.6: done by the end of November
MIN_STARS, MAX_STARS = 1, 5
EXCELLENT_MIN_STARS = 4
FOLLOW_UP_MAX_STARS = 2


def pioneer_round_id_for(org_id: UUID, year: int) -> UUID:
    """The one id of an organisation's round of ``year``."""
    return uuid5(_NAMESPACE, f"{org_id}:{year}")


@dataclass(frozen=True)
class Assessment:
    """A member's standing in a round and why."""

    standing: PioneerStanding
    reasons: list[str]


def assess(member: Member | None, org_id: UUID, year: int, day: date) -> Assessment:
    """The standing of ``member`` as of the round's date ``day`` (``member_as_of``; None: not yet
    registered then). Scope first (R5.1), then the veto (R5.3), then the exclusions (R5.2)."""
    if member is None:
        return Assessment(PioneerStanding.OUT_OF_SCOPE, [f"not registered on {day}"])
    if member.has_left:
        return Assessment(PioneerStanding.OUT_OF_SCOPE, [f"left on {member.left_on} ({member.left_reason})"])
    if member.relationship_org_id != org_id and org_id not in member.life_org_ids:
        return Assessment(PioneerStanding.OUT_OF_SCOPE, ["neither relationship nor organisational life here"])
    vetoes = []
    if member.in_disciplinary_period:
        vetoes.append(f"in a disciplinary period since {member.disciplinary_since}")
    vetoes += [f"basic-policy violation on {d}" for d in member.policy_violations if d.year == year]
    if vetoes:
        return Assessment(PioneerStanding.VETOED, vetoes)
    exclusions = []
    if member.category == MemberCategory.PROBATIONARY:
        exclusions.append("probationary member")
    if member.business_suspended:
        exclusions.append(f"business suspended since {member.suspended_since}")
    away_since = member.away_since
    if away_since is not None and day > add_months(away_since, AWAY_EXCLUDES_AFTER_MONTHS):
        exclusions.append(f"away on business since {away_since}, more than 6 months")
    if exclusions:
        return Assessment(PioneerStanding.EXCLUDED, exclusions)
    return Assessment(PioneerStanding.ELIGIBLE, [])


def check_eligible(assessment: Assessment, who: str) -> None:
    """Raise the error of a standing other than eligible (R5.1, R5.2, R5.3)."""
    error = {
        PioneerStanding.OUT_OF_SCOPE: errors.MemberOutOfScope,
        PioneerStanding.EXCLUDED: errors.MemberExcluded,
        PioneerStanding.VETOED: errors.MemberVetoed,
    }.get(assessment.standing)
    if error is not None:
        raise error(f"{who}: {'; '.join(assessment.reasons)}")


@dataclass
class Enrolment:
    """One member in a round (state only, built by the round's events)."""

    member_id: UUID
    name: str
    standing: str
    reasons: list[str]
    enrolled_on: date
    steps: dict[str, date] = field(default_factory=dict)
    stars: int | None = None
    excellent: bool = False
    rated_on: date | None = None
    talked_on: date | None = None
    talked_by: str | None = None
    support_partner: str | None = None
    support_on: date | None = None

    @property
    def needs_follow_up(self) -> bool:
        return self.stars is not None and self.stars <= FOLLOW_UP_MAX_STARS

    @property
    def follow_up_done(self) -> bool:
        return self.talked_on is not None and self.support_on is not None


class PioneerRound(LedgerAggregate):
    org_id: UUID
    year: int
    round_date: date
    enrolments: dict[UUID, Enrolment]
    closed: bool
    closed_on: date | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Opened(LedgerAggregate.Created):
        """R5.4/R5.6: the organisation's round of ``year``; standings are judged on ``round_date``."""

        org_id: UUID
        year: int
        round_date: date

        def apply(self, aggregate: Any) -> None:
            aggregate.org_id = self.org_id
            aggregate.year = self.year
            aggregate.round_date = self.round_date
            aggregate.enrolments = {}
            aggregate.closed = False
            aggregate.closed_on = None

    class MemberEnrolled(LedgerAggregate.Event):
        """The member and their standing on the round's date, with the reasons (R5.1-R5.3)."""

        member_id: UUID
        name: str
        standing: str
        reasons: list[str]

        personal_data = PersonalData("member_id", ("name",))

        def apply(self, aggregate: Any) -> None:
            aggregate.enrolments[self.member_id] = Enrolment(
                self.member_id, self.name, self.standing, list(self.reasons), self.effective_on
            )

    class StepRecorded(LedgerAggregate.Event):
        """R5.4: a step of the member's evaluation was done on ``effective_on``."""

        member_id: UUID
        step: str

        def apply(self, aggregate: Any) -> None:
            aggregate.enrolments[self.member_id].steps[self.step] = self.effective_on

    class MemberRated(LedgerAggregate.Event):
        """R5.5: the member's stars, and whether designated excellent member (优秀党员)."""

        member_id: UUID
        stars: int
        excellent: bool

        def apply(self, aggregate: Any) -> None:
            enrolment = aggregate.enrolments[self.member_id]
            enrolment.stars = self.stars
            enrolment.excellent = self.excellent
            enrolment.rated_on = self.effective_on

    class TalkRecorded(LedgerAggregate.Event):
        """R5.5 谈心谈话 with a 1- or 2-star member."""

        member_id: UUID
        talked_by: str
        note: str

        def apply(self, aggregate: Any) -> None:
            enrolment = aggregate.enrolments[self.member_id]
            enrolment.talked_on = self.effective_on
            enrolment.talked_by = self.talked_by

    class SupportPairingRecorded(LedgerAggregate.Event):
        """R5.5 结对帮扶 for a 1- or 2-star member: who supports them."""

        member_id: UUID
        partner: str
        note: str

        def apply(self, aggregate: Any) -> None:
            enrolment = aggregate.enrolments[self.member_id]
            enrolment.support_partner = self.partner
            enrolment.support_on = self.effective_on

    class Closed(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.closed = True
            aggregate.closed_on = self.effective_on

    @classmethod
    def open(cls, *, org_id: UUID, year: int, round_date: date, meta: EventMeta) -> PioneerRound:
        """Open the organisation's round of ``year`` (R5.4), dated no later than 30 November (R5.6)."""
        if round_date.year != year or round_date > date(year, LAST_MONTH, LAST_DAY):
            raise errors.PioneerRoundDateInvalid(
                f"the round of {year} is dated between 1 January and 30 November {year}, not {round_date}"
            )
        return cls._create(
            cls.Opened,
            id=pioneer_round_id_for(org_id, year),
            org_id=org_id,
            year=year,
            round_date=round_date,
            **meta.fields(),
        )

    def _check_open(self) -> None:
        if self.closed:
            raise errors.PioneerRoundClosed(f"the round of {self.year} closed on {self.closed_on}")

    def _enrolment(self, member_id: UUID) -> Enrolment:
        self._check_open()
        enrolment = self.enrolments.get(member_id)
        if enrolment is None:
            raise errors.MemberNotEnrolled(f"member {member_id} is not enrolled in this round")
        return enrolment

    def _eligible(self, member_id: UUID) -> Enrolment:
        enrolment = self._enrolment(member_id)
        check_eligible(Assessment(PioneerStanding(enrolment.standing), enrolment.reasons), enrolment.name)
        return enrolment

    def _rated(self, member_id: UUID, meta: EventMeta) -> Enrolment:
        """A member rated 1 or 2 stars, for the follow-ups (R5.5)."""
        enrolment = self._enrolment(member_id)
        if not enrolment.needs_follow_up or enrolment.rated_on is None:
            raise errors.FollowUpNotRequired(
                f"talks and support pairings follow a 1- or 2-star result; {enrolment.name} has "
                f"{enrolment.stars or 'no'} stars"
            )
        if meta.effective_on < enrolment.rated_on:
            raise errors.PioneerStepOutOfOrder(
                f"the result was recorded on {enrolment.rated_on}", field="effective_on", rule="R5.5"
            )
        return enrolment

    def enrol(self, member_id: UUID, name: str, assessment: Assessment, meta: EventMeta) -> None:
        """Enrol a member with their standing on the round's date; out of scope is refused (R5.1).

        Excluded and vetoed members are kept on the list with the reasons (R5.2, R5.3) but go
        through no step.
        """
        self._check_open()
        if member_id in self.enrolments:
            raise errors.MemberAlreadyEnrolled(f"{name} is already enrolled")
        if assessment.standing == PioneerStanding.OUT_OF_SCOPE:
            check_eligible(assessment, name)
        self._record(
            self.MemberEnrolled,
            meta,
            member_id=member_id,
            name=name,
            standing=assessment.standing.value,
            reasons=list(assessment.reasons),
        )

    def record_step(self, member_id: UUID, step: PioneerStep, meta: EventMeta) -> None:
        """The next step of an eligible member's evaluation, strictly in order (R5.4)."""
        enrolment = self._eligible(member_id)
        step = PioneerStep(step)
        done = len(enrolment.steps)
        expected = PIONEER_STEPS[done] if done < len(PIONEER_STEPS) else None
        if step != expected:
            next_one = expected.value if expected else "the result"
            raise errors.PioneerStepOutOfOrder(f"next for {enrolment.name} is {next_one}, not {step.value}")
        last = max(enrolment.steps.values(), default=enrolment.enrolled_on)
        if meta.effective_on < last:
            raise errors.PioneerStepOutOfOrder(f"the step before was on {last}", field="effective_on")
        self._record(self.StepRecorded, meta, member_id=member_id, step=step.value)

    def rate(self, member_id: UUID, stars: int, excellent: bool, meta: EventMeta) -> None:
        """The result: 1 to 5 stars after the public notice; excellent only with 4 or 5 (R5.4, R5.5).

        The application also checks the member's standing on the member itself and records
        ``Member.PioneerRated`` in the same transaction.
        """
        enrolment = self._eligible(member_id)
        if enrolment.stars is not None:
            raise errors.MemberAlreadyRated(f"{enrolment.name} already has {enrolment.stars} stars")
        if len(enrolment.steps) < len(PIONEER_STEPS):
            raise errors.PioneerStepsIncomplete(
                f"{enrolment.name} is at step {len(enrolment.steps)} of {len(PIONEER_STEPS)}; "
                "the result follows the public notice"
            )
        if not MIN_STARS <= stars <= MAX_STARS:
            raise errors.PioneerStarsOutOfRange(f"{MIN_STARS} to {MAX_STARS} stars, not {stars}")
        if excellent and stars < EXCELLENT_MIN_STARS:
            raise errors.ExcellentRequiresFourStars(f"excellent member needs 4 or 5 stars, not {stars}")
        notice = enrolment.steps[PioneerStep.PUBLIC_NOTICE.value]
        if meta.effective_on < notice:
            raise errors.PioneerStepOutOfOrder(f"the public notice was on {notice}", field="effective_on")
        self._record(self.MemberRated, meta, member_id=member_id, stars=stars, excellent=bool(excellent))

    def record_talk(self, member_id: UUID, talked_by: str, note: str, meta: EventMeta) -> None:
        """谈心谈话 with a 1- or 2-star member (R5.5)."""
        self._rated(member_id, meta)
        self._record(
            self.TalkRecorded,
            meta,
            member_id=member_id,
            talked_by=require_text(talked_by, "talked_by"),
            note=note.strip(),
        )

    def record_support_pairing(self, member_id: UUID, partner: str, note: str, meta: EventMeta) -> None:
        """结对帮扶 for a 1- or 2-star member: who supports them (R5.5)."""
        self._rated(member_id, meta)
        self._record(
            self.SupportPairingRecorded,
            meta,
            member_id=member_id,
            partner=require_text(partner, "partner"),
            note=note.strip(),
        )

    def close(self, meta: EventMeta) -> None:
        """Close the round; every 1- or 2-star member has a talk and a support pairing (R5.5)."""
        self._check_open()
        missing = [e.name for e in self.enrolments.values() if e.needs_follow_up and not e.follow_up_done]
        if missing:
            raise errors.FollowUpMissing(
                f"a talk and a support pairing are still missing for: {', '.join(missing)}"
            )
        self._record(self.Closed, meta)

"""MobileRound (流动党员双向反馈): one member's yearly round of the mobile-member feedback chain (R6).

R6.2 fixes the steps and their order: registration (流动党员登记表: the business-place organisation and
the relationship organisation) → identity confirmed by the relationship organisation (a stamped
certificate) → activity filing (organisational life, training, education attended) → feedback (the
business-place branch secretary's assessment, a feedback form and a letter to the relationship
organisation) → receipt (回执) returned and archived. Each step records its own facts; who and when
come from the envelope (``actor``, ``effective_on``). A step takes effect on or after the one before.

Activity filing may happen several times while the round is at that step (activities are filed as
they happen during the year); it ends when the feedback is issued. Each filing lists activities
with their dates, a description and optionally the id of an activity recorded in this system.

There is one round per member and year (R6.3): its id is derived from both (``round_id``), so a
second registration collides. Only mobile members (流动, R6.1/R13.3) have a round; the application
checks that on the member. A round is *overdue* when its receipt has not come back and the day is
after 30 November of its year (R6.3): derived by ``overdue(today)``, never recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.personal import PersonalData
from domain.values import MobileStep

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/mobile-round")
STEP_ORDER = tuple(MobileStep)
DEADLINE_MONTH, DEADLINE_DAY = 11, 30  # R6.3: done by the end of November


def round_id(member_id: UUID, year: int) -> UUID:
    """The id of a member's round of ``year``: one round per member and year (R6.3)."""
    return uuid5(_NAMESPACE, f"{member_id}/{year}")


def deadline(year: int) -> date:
    return date(year, DEADLINE_MONTH, DEADLINE_DAY)


def _text(value: str | None, field: str) -> str:
    if value is None or not value.strip():
        raise errors.MobileStepIncomplete(f"{field} is required", field=field)
    return value.strip()


class MobileRound(LedgerAggregate):
    member_id: UUID
    member_name: str
    year: int
    business_org_id: UUID
    business_org_name: str
    relationship_org_id: UUID | None
    relationship_org_name: str
    step: str
    steps: list[dict[str, Any]]
    """The timeline: one ``{step, effective_on, actor}`` per step reached (and per filing)."""
    certificate_ref: str | None
    confirming_org_id: UUID | None
    confirming_org_name: str | None
    activities: list[dict[str, Any]]
    assessment: str | None
    secretary_name: str | None
    feedback_form_ref: str | None
    letter_ref: str | None
    archive_ref: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    def _reach(self, step: MobileStep, event: LedgerAggregate.Event) -> None:
        self.step = step.value
        self.steps.append({"step": step.value, "effective_on": event.effective_on, "actor": event.actor})

    class Registered(LedgerAggregate.Created):
        """R6.2 step 1, 流动党员登记表."""

        member_id: UUID
        member_name: str
        year: int
        business_org_id: UUID
        business_org_name: str
        relationship_org_id: UUID | None
        relationship_org_name: str

        personal_data = PersonalData("member_id", ("member_name",))

        def apply(self, aggregate: Any) -> None:
            for name in (
                "member_id",
                "member_name",
                "year",
                "business_org_id",
                "business_org_name",
                "relationship_org_id",
                "relationship_org_name",
            ):
                setattr(aggregate, name, getattr(self, name))
            aggregate.steps = []
            aggregate.activities = []
            for name in (
                "certificate_ref",
                "confirming_org_id",
                "confirming_org_name",
                "assessment",
                "secretary_name",
                "feedback_form_ref",
                "letter_ref",
                "archive_ref",
            ):
                setattr(aggregate, name, None)
            aggregate._reach(MobileStep.REGISTERED, self)

    class IdentityConfirmed(LedgerAggregate.Event):
        """R6.2 step 2: the relationship organisation's stamped certificate (党员身份证明)."""

        certificate_ref: str
        confirming_org_id: UUID | None
        confirming_org_name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.certificate_ref = self.certificate_ref
            aggregate.confirming_org_id = self.confirming_org_id
            aggregate.confirming_org_name = self.confirming_org_name
            aggregate._reach(MobileStep.IDENTITY_CONFIRMED, self)

    class ActivitiesFiled(LedgerAggregate.Event):
        """R6.2 step 3: activities attended, each ``{on, description, activity_id}``; may repeat."""

        activities: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.activities.extend(dict(a) for a in self.activities)
            aggregate._reach(MobileStep.ACTIVITIES_FILED, self)

    class FeedbackIssued(LedgerAggregate.Event):
        """R6.2 step 4: the business-place secretary's assessment, feedback form and letter (反馈表、函)."""

        assessment: str
        secretary_name: str
        feedback_form_ref: str
        letter_ref: str
        to_org_id: UUID | None
        to_org_name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.assessment = self.assessment
            aggregate.secretary_name = self.secretary_name
            aggregate.feedback_form_ref = self.feedback_form_ref
            aggregate.letter_ref = self.letter_ref
            aggregate._reach(MobileStep.FEEDBACK_ISSUED, self)

    class ReceiptReturned(LedgerAggregate.Event):
        """R6.2 step 5: the relationship organisation's receipt (回执), archived under ``archive_ref``."""

        archive_ref: str

        def apply(self, aggregate: Any) -> None:
            aggregate.archive_ref = self.archive_ref
            aggregate._reach(MobileStep.RECEIPT_RETURNED, self)

    @classmethod
    def register(
        cls,
        *,
        member_id: UUID,
        member_name: str,
        year: int,
        business_org_id: UUID,
        business_org_name: str,
        relationship_org_id: UUID | None,
        relationship_org_name: str,
        meta: EventMeta,
    ) -> MobileRound:
        """Register a mobile member for ``year`` (R6.2 step 1) within that year (R6.3).

        The application has checked that the member is mobile (R6.1) and has no round that year.
        """
        if meta.effective_on.year != year:
            raise errors.MobileRoundYearMismatch(
                f"the {year} round is registered in {year}, not on {meta.effective_on}"
            )
        return cls._create(
            cls.Registered,
            id=round_id(member_id, year),
            member_id=member_id,
            member_name=member_name,
            year=year,
            business_org_id=business_org_id,
            business_org_name=business_org_name,
            relationship_org_id=relationship_org_id,
            relationship_org_name=relationship_org_name,
            **meta.fields(),
        )

    @property
    def complete(self) -> bool:
        return self.step == MobileStep.RECEIPT_RETURNED

    @property
    def reached(self) -> dict[str, date]:
        """R6.2: the day each step was first reached, by step (later filings only add activities)."""
        first: dict[str, date] = {}
        for step in self.steps:
            first.setdefault(step["step"], step["effective_on"])
        return first

    @property
    def returned_by_deadline(self) -> bool:
        """R6.3: the receipt came back by 30 November of the round's year."""
        returned = self.reached.get(MobileStep.RECEIPT_RETURNED.value)
        return returned is not None and returned <= self.deadline

    @property
    def deadline(self) -> date:
        """R6.3: the round is done by the end of November of its year."""
        return deadline(self.year)

    def overdue(self, today: date) -> bool:
        """R6.3: not complete and ``today`` is after 30 November of the round's year. Derived."""
        return not self.complete and today > self.deadline

    def _check_step(self, step: MobileStep, allowed_from: tuple[MobileStep, ...], meta: EventMeta) -> None:
        """R6.2: ``step`` follows one of ``allowed_from`` and takes effect on or after it."""
        if self.step not in allowed_from:
            expected = " or ".join(s.value for s in allowed_from)
            raise errors.MobileStepOutOfOrder(
                f"R6.2: {step.value} follows {expected}; the round is at {self.step}"
            )
        previous = self.steps[-1]["effective_on"]
        if meta.effective_on < previous:
            raise errors.MobileStepBeforePrevious(
                f"R6.2: {step.value} on {meta.effective_on} precedes the previous step on {previous}"
            )

    def confirm_identity(
        self,
        *,
        certificate_ref: str,
        confirming_org_id: UUID | None,
        confirming_org_name: str,
        meta: EventMeta,
    ) -> None:
        """R6.2 step 2: the relationship organisation confirms the member's identity.

        Without a confirming organisation the round's relationship organisation is meant; one given
        by id must be that organisation.
        """
        self._check_step(MobileStep.IDENTITY_CONFIRMED, (MobileStep.REGISTERED,), meta)
        if confirming_org_id is not None and confirming_org_id != self.relationship_org_id:
            raise errors.IdentityNotConfirmedByRelationshipOrganization(
                f"the relationship organisation is {self.relationship_org_name}, not {confirming_org_id}"
            )
        if confirming_org_id is None and not confirming_org_name.strip():
            confirming_org_id = self.relationship_org_id
            confirming_org_name = self.relationship_org_name
        self._record(
            self.IdentityConfirmed,
            meta,
            certificate_ref=_text(certificate_ref, "certificate_ref"),
            confirming_org_id=confirming_org_id,
            confirming_org_name=confirming_org_name.strip() or self.relationship_org_name,
        )

    def file_activities(self, activities: list[Mapping[str, Any]], meta: EventMeta) -> None:
        """R6.2 step 3: file activities attended, each ``{on, description, activity_id?}``.

        Allowed after the identity confirmation and again while at this step. Each activity took place
        within the round's year and not after the filing (R6.3).
        """
        self._check_step(
            MobileStep.ACTIVITIES_FILED, (MobileStep.IDENTITY_CONFIRMED, MobileStep.ACTIVITIES_FILED), meta
        )
        if not activities:
            raise errors.MobileStepIncomplete("file at least one activity", field="activities")
        clean: list[dict[str, Any]] = []
        for activity in activities:
            unknown = set(activity) - {"on", "description", "activity_id"}
            if unknown:
                raise errors.MobileStepIncomplete(
                    f"unknown activity fields {sorted(unknown)}", field="activities"
                )
            on = activity.get("on")
            if not isinstance(on, date):
                raise errors.MobileStepIncomplete("each activity has its date", field="activities")
            if on.year != self.year or on > meta.effective_on:
                raise errors.MobileActivityOutsideRound(
                    f"an activity on {on} is outside the {self.year} round or after its filing"
                )
            activity_id = activity.get("activity_id")
            if activity_id is not None and not isinstance(activity_id, UUID):
                raise errors.MobileStepIncomplete("activity_id is a UUID", field="activities")
            clean.append(
                {
                    "on": on,
                    "description": _text(activity.get("description"), "activities"),
                    "activity_id": activity_id,
                }
            )
        self._record(self.ActivitiesFiled, meta, activities=clean)

    def issue_feedback(
        self,
        *,
        assessment: str,
        secretary_name: str,
        feedback_form_ref: str,
        letter_ref: str,
        meta: EventMeta,
    ) -> None:
        """R6.2 step 4: the business-place secretary's assessment, sent with a feedback form and a
        letter to the relationship organisation. Follows at least one activity filing."""
        self._check_step(MobileStep.FEEDBACK_ISSUED, (MobileStep.ACTIVITIES_FILED,), meta)
        self._record(
            self.FeedbackIssued,
            meta,
            assessment=_text(assessment, "assessment"),
            secretary_name=_text(secretary_name, "secretary_name"),
            feedback_form_ref=_text(feedback_form_ref, "feedback_form_ref"),
            letter_ref=_text(letter_ref, "letter_ref"),
            to_org_id=self.relationship_org_id,
            to_org_name=self.relationship_org_name,
        )

    def return_receipt(self, archive_ref: str, meta: EventMeta) -> None:
        """R6.2 step 5: the relationship organisation's receipt is back and archived."""
        self._check_step(MobileStep.RECEIPT_RETURNED, (MobileStep.FEEDBACK_ISSUED,), meta)
        self._record(self.ReceiptReturned, meta, archive_ref=_text(archive_ref, "archive_ref"))

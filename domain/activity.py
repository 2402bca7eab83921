"""Activity (组织活动): a party activity an organisation held on a date (三会一课 R4.3, R7, R10, R11.3).

The activity's effective date is the day it was held. Participants are registered members; the
command takes ONE list of them (``participant_ids``) and classifies each when it is recorded
(一方隶属，多重管理, R2.2):

- an **attendee** is a member of the holding organisation: it holds the member's relationship or
  hosts the member's organisational life (``Member.relationship_org_id`` / ``life_org_ids``);
- a **guest** is any other member, e.g. a member of the paired organisation at a pairing exchange.

The classification is recorded in the event (``attendee_ids`` / ``guest_ids``), so the read side
counts without reloading members and a later transfer of a member does not rewrite history. It uses
the member's organisations as they stand when the activity is recorded: an activity entered late,
after a member transferred, classifies that member by the new organisations (a known approximation:
members keep no history of their organisational-life organisations). Officers of the bureau who are
not registered as members here are not listed; a list may therefore be empty.

Attendance is corrected with a new full list and a reason (R1.3): members already listed keep their
classification, newly listed ones are classified then. An activity is never deleted: it is voided
with a reason and then accepts nothing (R13.6).

R10 contacts: a pairing exchange (结对交流) may name its pairing, which must include the holding
organisation and run on the activity's date (an exchange entered after the pairing ended is fine);
a station visit (走访) names the visited organisation. The R10 frequencies are counted on the read
side, not enforced here. The holder of a visit is not restricted to station branches: agency
branches visit too (走访慰问, 000).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.member import Member
from domain.organization import PartyOrganization
from domain.pairing import Pairing
from domain.values import ActivityType, require_text


def check_details(activity_type: ActivityType, pairing_id: UUID | None, visited_org_id: UUID | None) -> None:
    """R10: a pairing is named by an exchange only, a visited organisation by a visit only (and always)."""
    if pairing_id is not None and activity_type != ActivityType.PAIRING_EXCHANGE:
        raise errors.ActivityDetailNotApplicable(
            f"only a pairing exchange names a pairing, not a {activity_type.value}", field="pairing_id"
        )
    if visited_org_id is not None and activity_type != ActivityType.STATION_VISIT:
        raise errors.ActivityDetailNotApplicable(
            f"only a station visit names a visited organisation, not a {activity_type.value}",
            field="visited_org_id",
        )
    if activity_type == ActivityType.STATION_VISIT and visited_org_id is None:
        raise errors.VisitedOrganizationRequired("a station visit names the organisation visited")


def classify(org_id: UUID, participants: list[Member]) -> tuple[list[UUID], list[UUID]]:
    """R2.2: split present members into the holding organisation's own (attendees) and guests."""
    attendees: list[UUID] = []
    guests: list[UUID] = []
    for member in participants:
        if member.has_left:
            raise errors.MemberHasLeft(
                f"member {member.name} ({member.id}) has left", field="participant_ids"
            )
        belongs = member.relationship_org_id == org_id or org_id in member.life_org_ids
        target = attendees if belongs else guests
        if member.id not in target:
            target.append(member.id)
    return attendees, guests


class Activity(LedgerAggregate):
    org_id: UUID
    activity_type: str
    held_on: date
    topic: str
    host: str
    attendee_ids: list[UUID]
    guest_ids: list[UUID]
    pairing_id: UUID | None
    visited_org_id: UUID | None
    voided: bool
    void_reason: str

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Held(LedgerAggregate.Created):
        """An organisation held an activity on ``effective_on``, with who took part (R2.2)."""

        org_id: UUID
        activity_type: str
        topic: str
        host: str
        attendee_ids: list[UUID]
        guest_ids: list[UUID]
        pairing_id: UUID | None
        visited_org_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            aggregate.org_id = self.org_id
            aggregate.activity_type = self.activity_type
            aggregate.held_on = self.effective_on
            aggregate.topic = self.topic
            aggregate.host = self.host
            aggregate.attendee_ids = list(self.attendee_ids)
            aggregate.guest_ids = list(self.guest_ids)
            aggregate.pairing_id = self.pairing_id
            aggregate.visited_org_id = self.visited_org_id
            aggregate.voided = False
            aggregate.void_reason = ""

    class AttendanceCorrected(LedgerAggregate.Event):
        """R1.3: the full, corrected lists replace the recorded ones."""

        attendee_ids: list[UUID]
        guest_ids: list[UUID]
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.attendee_ids = list(self.attendee_ids)
            aggregate.guest_ids = list(self.guest_ids)

    class Voided(LedgerAggregate.Event):
        """R13.6: recorded in error; kept on record, counted nowhere."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.voided = True
            aggregate.void_reason = self.reason

    @classmethod
    def hold(
        cls,
        *,
        id: UUID,
        org: PartyOrganization,
        activity_type: ActivityType,
        topic: str,
        host: str,
        participants: list[Member],
        pairing: Pairing | None,
        visited: PartyOrganization | None,
        meta: EventMeta,
    ) -> Activity:
        """Record an activity ``org`` held on ``meta.effective_on`` (R2.2, R10).

        The application has loaded the organisations, the pairing and every participant.
        """
        activity_type = ActivityType(activity_type)
        check_details(activity_type, pairing.id if pairing else None, visited.id if visited else None)
        if org.dissolved:
            raise errors.OrganizationDissolved(f"organisation {org.name} is dissolved", field="org_id")
        if pairing is not None and (org.id not in pairing.org_ids or not pairing.runs_on(meta.effective_on)):
            raise errors.PairingDoesNotCoverActivity(
                f"pairing {pairing.id} does not pair {org.name} on {meta.effective_on}"
            )
        if visited is not None:
            if visited.id == org.id:
                raise errors.VisitedOrganizationInvalid("an organisation does not visit itself")
            if visited.dissolved:
                raise errors.OrganizationDissolved(
                    f"organisation {visited.name} is dissolved", field="visited_org_id"
                )
        attendees, guests = classify(org.id, participants)
        return cls._create(
            cls.Held,
            id=id,
            org_id=org.id,
            activity_type=activity_type.value,
            topic=require_text(topic, "topic"),
            host=require_text(host, "host"),
            attendee_ids=attendees,
            guest_ids=guests,
            pairing_id=pairing.id if pairing else None,
            visited_org_id=visited.id if visited else None,
            **meta.fields(),
        )

    @property
    def participant_ids(self) -> list[UUID]:
        return [*self.attendee_ids, *self.guest_ids]

    def _check_open(self) -> None:
        if self.voided:
            raise errors.ActivityVoided(f"activity {self.id} is voided")

    def correct_attendance(self, participants: list[Member], reason: str, meta: EventMeta) -> None:
        """Replace the attendance with a new full list (R1.3); listed members keep their classification."""
        self._check_open()
        attendees: list[UUID] = []
        guests: list[UUID] = []
        newcomers: list[Member] = []
        for member in participants:
            if member.id in self.attendee_ids:
                attendees.append(member.id)
            elif member.id in self.guest_ids:
                guests.append(member.id)
            else:
                newcomers.append(member)
        new_attendees, new_guests = classify(self.org_id, newcomers)
        attendees = list(dict.fromkeys([*attendees, *new_attendees]))
        guests = list(dict.fromkeys([*guests, *new_guests]))
        if set(attendees) == set(self.attendee_ids) and set(guests) == set(self.guest_ids):
            raise errors.NothingToCorrect("the corrected attendance is the same", field="participant_ids")
        self._record(
            self.AttendanceCorrected,
            meta,
            attendee_ids=attendees,
            guest_ids=guests,
            reason=require_text(reason, "reason"),
        )

    def void(self, reason: str, meta: EventMeta) -> None:
        """Void an activity recorded in error; it stays on record and accepts nothing more (R13.6)."""
        self._check_open()
        self._record(self.Voided, meta, reason=require_text(reason, "reason"))

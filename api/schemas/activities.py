"""Activities (组织活动)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, Reason, Text
from domain.values import ActivityType

# --- activities ---------------------------------------------------------------------------------


class ActivityHold(Command):
    """An activity held on ``effective_on``. Participants are classified as attendees or guests (R2.2)."""

    org_id: UUID = Field(description="The holding organisation")
    activity_type: ActivityType
    topic: Text = Field(description="主题")
    host: Text = Field(description="主持人 / 主讲人")
    participant_ids: list[UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="Registered members who took part: the holder's own become attendees, others guests",
    )
    pairing_id: UUID | None = Field(default=None, description="Pairing exchange only: the pairing (R10)")
    visited_org_id: UUID | None = Field(default=None, description="Station visit only (required there, R10)")


class ActivityAttendanceCorrection(Command):
    participant_ids: list[UUID] = Field(max_length=1000, description="The new full list")
    reason: Reason


class ActivityVoiding(Command):
    reason: Reason


class ActivityPublic(AggregatePublic):
    org_id: UUID
    activity_type: ActivityType
    held_on: date
    topic: str
    host: str
    attendee_ids: list[UUID] = Field(description="Members of the holding organisation")
    guest_ids: list[UUID] = Field(description="Members of other organisations (R2.2)")
    pairing_id: UUID | None
    visited_org_id: UUID | None
    voided: bool
    void_reason: str

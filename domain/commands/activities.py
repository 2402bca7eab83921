"""Commands on activities (组织活动): held, attendance corrected, voided (R2.2, R10, R13.6)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain.activity import Activity, check_details
from domain.commands.base import CommandResult, command
from domain.commands.members import MemberCommands
from domain.envelope import CommandContext
from domain.member import Member
from domain.pairing import Pairing
from domain.values import ActivityType


class ActivityCommands(MemberCommands):
    def get_activity(self, activity_id: UUID) -> Activity:
        return self._get(Activity, activity_id, "activity")

    def _participants(self, member_ids: list[UUID]) -> list[Member]:
        return [self._get(Member, m, "member", "participant_ids") for m in dict.fromkeys(member_ids)]

    @command
    def hold_activity(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        org_id: UUID,
        activity_type: ActivityType,
        topic: str,
        host: str,
        participant_ids: list[UUID],
        pairing_id: UUID | None = None,
        visited_org_id: UUID | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Record an activity an organisation held on ``effective_on``; participants are classified (R2.2)."""
        meta = self._meta(ctx, effective_on)
        activity_type = ActivityType(activity_type)
        check_details(activity_type, pairing_id, visited_org_id)  # before loading what they name
        org = self._active_organization(org_id, "org_id")
        pairing = self._get(Pairing, pairing_id, "pairing", "pairing_id") if pairing_id else None
        visited = self._active_organization(visited_org_id, "visited_org_id") if visited_org_id else None
        activity = Activity.hold(
            id=id or uuid4(),
            org=org,
            activity_type=activity_type,
            topic=topic,
            host=host,
            participants=self._participants(participant_ids),
            pairing=pairing,
            visited=visited,
            meta=meta,
        )
        return self._commit(activity.id, activity)

    @command
    def correct_activity_attendance(
        self,
        ctx: CommandContext,
        activity_id: UUID,
        *,
        effective_on: date,
        participant_ids: list[UUID],
        reason: str,
    ) -> CommandResult:
        """Replace an activity's attendance with a new full list (R1.3)."""
        meta = self._meta(ctx, effective_on)
        activity = self.get_activity(activity_id)
        activity.correct_attendance(self._participants(participant_ids), reason, meta)
        return self._commit(activity.id, activity)

    @command
    def void_activity(
        self, ctx: CommandContext, activity_id: UUID, *, effective_on: date, reason: str
    ) -> CommandResult:
        """Void an activity recorded in error; it is kept and accepts nothing more (R13.6)."""
        activity = self.get_activity(activity_id)
        activity.void(reason, self._meta(ctx, effective_on))
        return self._commit(activity.id, activity)

"""Activities (组织活动): one command or one query per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep, PartsDep
from api.schemas.activities import (
    ActivityAttendanceCorrection,
    ActivityHold,
    ActivityPublic,
    ActivityVoiding,
)
from api.schemas.common import CommandAccepted

router = APIRouter(prefix="/activities", tags=["activities"])


@router.post("", status_code=201)
async def hold_activity(body: ActivityHold, commands: CommandsDep, ctx: ContextDep) -> CommandAccepted:
    """Record an activity an organisation held; participants become attendees or guests (R2.2, R10)."""
    return await commands.run(lambda ledger: ledger.hold_activity(ctx, **body.model_dump()))


@router.post("/{activity_id}/attendance-corrections", status_code=201)
async def correct_activity_attendance(
    activity_id: UUID, body: ActivityAttendanceCorrection, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Replace an activity's attendance with a new full list (R1.3)."""
    return await commands.run(
        lambda ledger: ledger.correct_activity_attendance(ctx, activity_id, **body.model_dump())
    )


@router.post("/{activity_id}/voiding", status_code=201)
async def void_activity(
    activity_id: UUID, body: ActivityVoiding, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Void an activity recorded in error; it is kept and accepts nothing more (R13.6)."""
    return await commands.run(lambda ledger: ledger.void_activity(ctx, activity_id, **body.model_dump()))


@router.get("/{activity_id}")
def get_activity(activity_id: UUID, parts: PartsDep) -> ActivityPublic:
    """One activity as it stands now."""
    return ActivityPublic.of(parts.ledger.get_activity(activity_id))

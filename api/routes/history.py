"""The audit trail and each aggregate's history, from the audit index kept by a projection."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import IsoDate, IsoDateTime, MinPosition, PartsDep, ReadConnection
from api.schemas.audit import AuditEntryPublic, AuditPage
from projections.audit import AuditFilter

router = APIRouter(tags=["audit"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Entries per page")]
Cursor = Annotated[int, Query(ge=0, description="next_cursor of the previous page (0: from the start)")]


def _page(parts: PartsDep, conn: ReadConnection, where: AuditFilter, cursor: int, limit: int) -> AuditPage:
    entries = parts.audit.page(conn, where, after=cursor, limit=limit)
    return AuditPage(
        entries=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in entries],
        next_cursor=entries[-1].position if len(entries) == limit else None,
    )


@router.get("/audit")
def get_audit(
    parts: PartsDep,
    conn: ReadConnection,
    _fresh: MinPosition,
    aggregate_id: UUID | None = None,
    aggregate_type: Annotated[str | None, Query(max_length=64, examples=["Member"])] = None,
    event_type: Annotated[str | None, Query(max_length=64, examples=["RelationshipTransferred"])] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    correlation_id: UUID | None = None,
    recorded_from: IsoDateTime | None = None,
    recorded_to: IsoDateTime | None = None,
    effective_from: IsoDate | None = None,
    effective_to: IsoDate | None = None,
    cursor: Cursor = 0,
    limit: Limit = 100,
) -> AuditPage:
    """Who recorded what and when, filtered, in recorded order, a page at a time."""
    where = AuditFilter(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        event_type=event_type,
        actor=actor,
        correlation_id=correlation_id,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    return _page(parts, conn, where, cursor, limit)


@router.get("/history/{aggregate_id}")
def get_history(
    aggregate_id: UUID,
    parts: PartsDep,
    conn: ReadConnection,
    _fresh: MinPosition,
    cursor: Cursor = 0,
    limit: Limit = 100,
) -> AuditPage:
    """The full history of one entity, organisation or member, event by event."""
    return _page(parts, conn, AuditFilter(aggregate_id=aggregate_id), cursor, limit)

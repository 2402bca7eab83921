"""Audit trail entries."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime


class AuditEntryPublic(BaseModel):
    position: int = Field(description="Place of the event in the ledger's global order")
    aggregate_id: UUID
    aggregate_type: str
    aggregate_version: int
    event_type: str
    actor: str = Field(description="Who recorded it")
    correlation_id: UUID
    causation_id: UUID
    effective_on: date = Field(description="Business date it takes effect")
    recorded_at: UtcDateTime = Field(description="When it was recorded (UTC, server clock)")
    changes: dict[str, Any] = Field(description="What the event records")


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null on the last page")

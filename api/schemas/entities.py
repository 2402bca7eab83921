"""Market entities."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Reason, Text
from domain.values import (
    EntityKind,
    EntityStatus,
    Formation,
)

# --- market entities ----------------------------------------------------------------------------


class EntityRegister(Command):
    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100-2015)")
    name: Text
    kind: EntityKind
    industry: Text
    region_code: str = Field(pattern=r"^\d{6}$", description="6-digit region code (GB/T 2260)")
    station: Text = Field(description="Supervising market-supervision station (市场监管所)")


class EntityStatusChange(Command):
    status: EntityStatus
    reason: OptionalText = ""


class EntityCorrection(Command):
    name: Text | None = None
    kind: EntityKind | None = None
    industry: Text | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    station: Text | None = None
    reason: Reason


class EntityPublic(AggregatePublic):
    credit_code: str
    name: str
    kind: EntityKind
    industry: str
    region_code: str
    station: str
    status: EntityStatus
    status_since: date
    organization_id: UUID | None
    formation: Formation | None

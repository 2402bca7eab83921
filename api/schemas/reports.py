"""The half-year report."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import UtcDateTime


class HalfYearReport(BaseModel):
    region: str
    as_of: date = Field(description="The cut-off date the figures describe")
    as_known_at: UtcDateTime | None = Field(description="Only events recorded by then (UTC); null: all")
    official_cut_off: bool = Field(description="R3: as_of is 30 June or 31 December")
    position: int = Field(description="Event position the figures include")
    areas: list[dict[str, Any]] = Field(description="The region, then each child region, with every section")

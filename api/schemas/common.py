"""Shared request and response building blocks.

Requests are strict: unknown fields are rejected and text lengths bounded. The domain validates
the rules again; these schemas only give early, field-level errors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
"""A moment in an answer: stored moments are naive UTC, answered with their zone (RFC 3339)."""

Text = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
OptionalText = Annotated[str, Field(max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Command(Strict):
    effective_on: date = Field(
        description="Business date the fact takes effect (R1.3: at most one day ahead)."
    )


class CommandAccepted(BaseModel):
    """A command was recorded: the aggregate it concerns and the position of its last event."""

    id: UUID
    position: int


class AggregatePublic(BaseModel):
    id: UUID
    version: int
    created_on: datetime = Field(description="When its first event was recorded (UTC)")
    modified_on: datetime = Field(description="When its last event was recorded (UTC)")

    @classmethod
    def of(cls, aggregate: Any) -> Self:
        """The public view of an aggregate's current state."""
        base = {
            "id": aggregate.id,
            "version": aggregate.version,
            "created_on": aggregate.created_on,
            "modified_on": aggregate.modified_on,
        }
        return cls.model_validate({**vars(aggregate), **base})

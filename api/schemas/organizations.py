"""Party organisations."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, Reason, Text
from domain.values import (
    Formation,
    OrgKind,
)

# --- party organisations ------------------------------------------------------------------------


class OrganizationEstablish(Command):
    name: Text
    kind: OrgKind
    formation: Formation
    parent_id: UUID | None = None
    region_code: str = Field(pattern=r"^\d{6}$")
    entity_ids: list[UUID] = Field(default_factory=list, max_length=5)


class OrganizationEntityAdd(Command):
    entity_id: UUID


class OrganizationEntityRemove(Command):
    entity_id: UUID
    reason: Reason


class GuidanceOfficerAssign(Command):
    officer: Text
    entity_ids: list[UUID] = Field(min_length=1, max_length=1000)


class GuidanceOfficerWithdraw(Command):
    officer: Text
    reason: Reason


class OrganizationDissolve(Command):
    reason: Reason


class OrganizationPublic(AggregatePublic):
    name: str
    kind: OrgKind
    formation: Formation
    parent_id: UUID | None
    region_code: str
    entity_ids: list[UUID]
    guidance: dict[str, list[UUID]]
    dissolved: bool

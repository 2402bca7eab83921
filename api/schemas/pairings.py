"""Pairings (结对共建, R10) and liaison points (联系点, R12)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import Field

from api.schemas.common import AggregatePublic, Command, OptionalText, Reason, Strict, Text
from domain.values import PairingKind

Year = Annotated[int, Field(ge=2000, le=2100)]
PlanItems = Annotated[list[Text], Field(min_length=1, max_length=100, description="年度活动计划 items")]

# --- pairings -----------------------------------------------------------------------------------


class PairingCreate(Command):
    """Two organisations pair under a co-building agreement (共建协议) with its first yearly plan."""

    org_ids: list[UUID] = Field(min_length=2, max_length=2, description="The two organisations, any order")
    agreement_reference: Text = Field(description="共建协议 reference")
    agreement_signed_on: date
    plan_year: Year
    plan_items: PlanItems
    brand: OptionalText = Field(default="", description="一支部一品牌: the brand built together")


class PairingPlanAdd(Command):
    plan_year: Year
    plan_items: PlanItems


class PairingEnding(Command):
    reason: Reason


class PairingPublic(AggregatePublic):
    kind: PairingKind
    lead_org_id: UUID = Field(description="The agency branch (1+1), or the branch pairing with a 小个专 one")
    partner_org_id: UUID
    sequence: int = Field(description="1 for the first pairing of these organisations, then 2, ...")
    agreement_reference: str
    agreement_signed_on: date
    brand: str
    plans: dict[int, list[str]]
    started_on: date
    ended_on: date | None
    end_reason: str


# --- liaison points -----------------------------------------------------------------------------


class LiaisonPointLink(Command):
    leader_name: Text
    leader_title: Text = Field(description="职务")
    org_id: UUID = Field(description="The branch the leader links to")
    leader_ref: OptionalText = Field(
        default="", description="A stable identifier of the leader (e.g. staff number); defaults to the name"
    )


class LiaisonPointEnding(Command):
    reason: Reason


class LiaisonLinkPublic(Strict):
    org_id: UUID
    linked_on: date
    ended_on: date
    reason: str


class LiaisonPointPublic(AggregatePublic):
    leader_ref: str
    leader_name: str
    leader_title: str
    org_id: UUID | None = Field(description="The current branch; null between links")
    linked_on: date | None
    history: list[LiaisonLinkPublic] = Field(description="Earlier links, oldest first")

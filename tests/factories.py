"""Valid commands with random identities, overridable field by field."""

from __future__ import annotations

import random
from datetime import date
from typing import Any
from uuid import UUID

from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from domain.values import (
    Affiliation,
    Distribution,
    EntityKind,
    Formation,
    MemberCategory,
    OrgKind,
    credit_code_check_char,
)

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DAY = date(2025, 3, 1)


def credit_code(region: str = "330402", individual: bool = True, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    head = ("92" if individual else "91") + region + "".join(rng.choice(ALPHABET) for _ in range(9))
    return head + credit_code_check_char(head)


def entity_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "effective_on": DAY,
        "credit_code": credit_code(overrides.get("region_code", "330402")),
        "name": "南湖区某某农贸市场",
        "kind": EntityKind.FARMERS_MARKET,
        "industry": "商品交易市场",
        "region_code": "330402",
        "station": "南湖区城西市场监管所",
    }
    fields.update(overrides)
    return fields


def register_entity(ledger: Ledger, ctx: CommandContext, **overrides: Any) -> UUID:
    return ledger.register_entity(ctx, **entity_fields(**overrides)).id


def establish(
    ledger: Ledger,
    ctx: CommandContext,
    entity_ids: list[UUID] | None = None,
    formation: Formation | None = None,
    **overrides: Any,
) -> UUID:
    entity_ids = entity_ids or []
    if formation is None:
        formation = {0: Formation.REGIONAL, 1: Formation.STANDALONE}.get(len(entity_ids), Formation.JOINT)
    fields: dict[str, Any] = {
        "effective_on": DAY,
        "name": "某市场党支部",
        "kind": OrgKind.MARKET if entity_ids else OrgKind.BRANCH_ASSOCIATION,
        "formation": formation,
        "region_code": "330402",
        "entity_ids": entity_ids,
    }
    fields.update(overrides)
    return ledger.establish_organization(ctx, **fields).id


def member_fields(life_org_ids: list[UUID], **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "effective_on": DAY,
        "unit_name": "南湖区某某农贸市场",
        "name": "张三",
        "mobile": "13805730000",
        "is_business_owner": True,
        "household_district": "南湖区",
        "life_org_ids": life_org_ids,
        "category": MemberCategory.FULL,
        "affiliation": Affiliation.LOCAL,
        "distribution": Distribution.MARKET_INDIVIDUAL_BUSINESS,
        "form_date": DAY,
        "filled_by_name": "李四",
        "filled_by_phone": "0573-82000000",
        "relationship_org_name": "南湖区某街道党工委",
    }
    fields.update(overrides)
    return fields


def register_member(
    ledger: Ledger, ctx: CommandContext, life_org_ids: list[UUID], **overrides: Any
) -> CommandResult:
    return ledger.register_member(ctx, **member_fields(life_org_ids, **overrides))

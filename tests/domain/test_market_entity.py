"""MarketEntity rules: registration (R1.2), codes (R1.3), status and corrections (R1.3, R13.6)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.market_entity import MarketEntity, entity_id_for
from domain.values import (
    EntityKind,
    EntityStatus,
    credit_code_check_char,
    validate_credit_code,
    validate_region_code,
)
from tests.domain.helpers import position, rejected, stored_events, version
from tests.factories import DAY, credit_code, entity_fields, establish, register_entity

ALIBABA = "91330100716105852F"  # a published code: 阿里巴巴（中国）有限公司


def flip_check_char(code: str) -> str:
    wrong = "0" if code[17] != "0" else "1"
    return code[:17] + wrong


# --- R1.2: one record per credit code ------------------------------------------------------------


def test_R1_2_register_entity_records_the_registration(memory_ledger: Ledger, ctx: CommandContext) -> None:
    result = memory_ledger.register_entity(ctx, **entity_fields(credit_code=ALIBABA))
    assert result.id == entity_id_for(ALIBABA)
    assert result.position == position(memory_ledger) == 1
    entity = memory_ledger.get_entity(result.id)
    assert entity.credit_code == ALIBABA
    assert entity.name == "南湖区某某农贸市场"
    assert entity.kind == EntityKind.FARMERS_MARKET.value
    assert entity.industry == "商品交易市场"
    assert entity.region_code == "330402"
    assert entity.station == "南湖区城西市场监管所"
    assert entity.status == EntityStatus.OPERATING.value
    assert entity.status_since == DAY
    assert entity.organization_id is None
    assert entity.formation is None
    (event,) = stored_events(memory_ledger)
    assert isinstance(event, MarketEntity.Registered)


def test_R1_2_register_entity_normalises_the_credit_code(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx, credit_code=f"  {ALIBABA.lower()} ")
    assert entity_id == entity_id_for(ALIBABA)
    assert memory_ledger.get_entity(entity_id).credit_code == ALIBABA


def test_R1_2_register_entity_rejects_a_registered_credit_code(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = register_entity(memory_ledger, ctx, credit_code=ALIBABA)
    with rejected(memory_ledger, errors.EntityAlreadyRegistered, rule="R1.2", field="credit_code") as info:
        register_entity(memory_ledger, ctx, credit_code=ALIBABA, name="另一个名字")
    assert info.value.status == 409
    assert version(memory_ledger, entity_id) == 1
    assert memory_ledger.get_entity(entity_id).name == "南湖区某某农贸市场"


def test_R1_2_register_entity_rejects_the_same_code_written_differently(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    register_entity(memory_ledger, ctx, credit_code=ALIBABA)
    with rejected(memory_ledger, errors.EntityAlreadyRegistered, rule="R1.2", field="credit_code"):
        register_entity(memory_ledger, ctx, credit_code=f" {ALIBABA.lower()}")


# --- R1.3: the credit code (GB 32100-2015) -----------------------------------------------------


@pytest.mark.parametrize("code", [ALIBABA, "9144030071526726XG", "91110000802100433B", "91350100M000100Y43"])
def test_R1_3_credit_code_check_digit_of_published_codes(code: str) -> None:
    assert credit_code_check_char(code[:17]) == code[17]
    assert validate_credit_code(code) == code


def test_R1_3_credit_code_accepts_generated_codes(memory_ledger: Ledger, ctx: CommandContext) -> None:
    for region in ("330402", "310117", "150602"):
        code = credit_code(region)
        entity_id = register_entity(memory_ledger, ctx, credit_code=code, region_code=region)
        assert memory_ledger.get_entity(entity_id).credit_code == code


@pytest.mark.parametrize(
    "code",
    [
        flip_check_char(ALIBABA),  # check digit fails
        ALIBABA[:-1],  # 17 characters
        ALIBABA + "0",  # 19 characters
        "",
        "9133010071610585IF",  # I is not in the alphabet
        "9133010071610585OF",  # O neither
        "91330100716105852Z",  # nor Z
        "913301A0716105852F",  # the region part is six digits
        "91330100-16105852F",
    ],
)
def test_R1_3_credit_code_rejects_malformed_or_failing_check_digit(
    memory_ledger: Ledger, ctx: CommandContext, code: str
) -> None:
    with rejected(memory_ledger, errors.InvalidCreditCode, rule="R1.3", field="credit_code"):
        register_entity(memory_ledger, ctx, credit_code=code)


def test_R1_3_credit_code_rejects_a_valid_format_with_a_wrong_check_digit() -> None:
    code = credit_code()
    with pytest.raises(errors.InvalidCreditCode) as info:
        validate_credit_code(flip_check_char(code))
    assert (info.value.rule, info.value.field) == ("R1.3", "credit_code")


# --- R1.3: the region code (GB/T 2260) ---------------------------------------------------------


@pytest.mark.parametrize("region", ["330402", "330000", "110101"])
def test_R1_3_region_code_six_digits_is_accepted(
    memory_ledger: Ledger, ctx: CommandContext, region: str
) -> None:
    assert validate_region_code(region) == region
    entity_id = register_entity(memory_ledger, ctx, region_code=region)
    assert memory_ledger.get_entity(entity_id).region_code == region


@pytest.mark.parametrize("region", ["33040", "3304021", "000402", "33O402", "", "33 402"])
def test_R1_3_region_code_rejects_other_than_six_digits(
    memory_ledger: Ledger, ctx: CommandContext, region: str
) -> None:
    fields = entity_fields()  # a valid code: the factory would build it from the region
    fields["region_code"] = region
    with rejected(memory_ledger, errors.InvalidRegionCode, rule="R1.3", field="region_code"):
        memory_ledger.register_entity(ctx, **fields)


# --- R1.1: required fields ---------------------------------------------------------------------


def test_R1_1_register_entity_strips_required_text(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx, name="  某某超市 ", station=" 城西所 ")
    entity = memory_ledger.get_entity(entity_id)
    assert (entity.name, entity.station) == ("某某超市", "城西所")


@pytest.mark.parametrize("field", ["name", "industry", "station"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_R1_1_register_entity_rejects_a_blank_required_field(
    memory_ledger: Ledger, ctx: CommandContext, field: str, blank: str
) -> None:
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field=field):
        register_entity(memory_ledger, ctx, **{field: blank})


# --- R1.3: status changes ----------------------------------------------------------------------


def test_R1_3_status_change_records_the_new_status_and_its_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    steps = [
        (EntityStatus.SUSPENDED, date(2025, 4, 1)),
        (EntityStatus.OPERATING, date(2025, 5, 1)),
        (EntityStatus.DEREGISTERED, date(2025, 6, 1)),
    ]
    for n, (status, day) in enumerate(steps, start=2):
        memory_ledger.change_entity_status(
            ctx, entity_id, effective_on=day, status=status, reason=" 年报核查 "
        )
        entity = memory_ledger.get_entity(entity_id)
        assert (entity.status, entity.status_since, entity.version) == (status.value, day, n)
    last = stored_events(memory_ledger)[-1]
    assert isinstance(last, MarketEntity.StatusChanged)
    assert last.reason == "年报核查"


@pytest.mark.parametrize("status", [EntityStatus.OPERATING, EntityStatus.SUSPENDED])
def test_R1_3_status_change_rejects_an_unchanged_status(
    memory_ledger: Ledger, ctx: CommandContext, status: EntityStatus
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    if status == EntityStatus.SUSPENDED:
        memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=status)
    before = version(memory_ledger, entity_id)
    with rejected(memory_ledger, errors.StatusUnchanged, rule="R1.3", field="status"):
        memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=status)
    assert version(memory_ledger, entity_id) == before


@pytest.mark.parametrize("status", list(EntityStatus))
def test_R13_6_deregistered_entity_rejects_any_status_change(
    memory_ledger: Ledger, ctx: CommandContext, status: EntityStatus
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=EntityStatus.DEREGISTERED)
    with rejected(memory_ledger, errors.EntityDeregistered, rule="R13.6", field=None):
        memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=status)
    assert version(memory_ledger, entity_id) == 2
    assert memory_ledger.get_entity(entity_id).status == EntityStatus.DEREGISTERED


def test_R13_6_deregistered_entity_rejects_corrections(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=EntityStatus.DEREGISTERED)
    with rejected(memory_ledger, errors.EntityDeregistered, rule="R13.6", field=None):
        memory_ledger.correct_entity(
            ctx, entity_id, effective_on=DAY, changes={"name": "新名称"}, reason="核对"
        )
    assert memory_ledger.get_entity(entity_id).name == "南湖区某某农贸市场"


def test_R13_6_deregistered_entity_is_kept(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx, credit_code=ALIBABA)
    memory_ledger.change_entity_status(ctx, entity_id, effective_on=DAY, status=EntityStatus.DEREGISTERED)
    assert memory_ledger.get_entity(entity_id).credit_code == ALIBABA
    with rejected(memory_ledger, errors.EntityAlreadyRegistered, rule="R1.2", field="credit_code"):
        register_entity(memory_ledger, ctx, credit_code=ALIBABA)


# --- R1.3: corrections -------------------------------------------------------------------------


def test_R1_3_correction_records_only_the_fields_it_changes(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    memory_ledger.correct_entity(
        ctx,
        entity_id,
        effective_on=DAY,
        changes={
            "name": " 南湖区新农贸市场 ",
            "kind": EntityKind.PROFESSIONAL_MARKET,
            "region_code": "330411",
            "station": "南湖区城西市场监管所",  # unchanged
            "industry": None,  # not given
        },
        reason=" 年报核对 ",
    )
    entity = memory_ledger.get_entity(entity_id)
    assert entity.name == "南湖区新农贸市场"
    assert entity.kind == EntityKind.PROFESSIONAL_MARKET.value
    assert entity.region_code == "330411"
    assert entity.version == 2
    event = stored_events(memory_ledger)[-1]
    assert isinstance(event, MarketEntity.DetailsCorrected)
    assert event.changes == {
        "name": "南湖区新农贸市场",
        "kind": "professional_market",
        "region_code": "330411",
    }
    assert event.reason == "年报核对"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"name": "南湖区某某农贸市场"},
        {"name": " 南湖区某某农贸市场 ", "region_code": "330402", "kind": "farmers_market"},
        {"industry": None},
    ],
)
def test_R1_3_correction_rejects_a_correction_that_changes_nothing(
    memory_ledger: Ledger, ctx: CommandContext, changes: dict[str, object]
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field="changes"):
        memory_ledger.correct_entity(ctx, entity_id, effective_on=DAY, changes=changes, reason="核对")
    assert version(memory_ledger, entity_id) == 1


@pytest.mark.parametrize(
    "field", ["credit_code", "status", "organization_id", "formation", "id", "status_since"]
)
def test_R1_3_correction_rejects_an_uncorrectable_field(
    memory_ledger: Ledger, ctx: CommandContext, field: str
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field=field):
        memory_ledger.correct_entity(
            ctx, entity_id, effective_on=DAY, changes={"name": "新名称", field: "x"}, reason="核对"
        )
    assert version(memory_ledger, entity_id) == 1
    assert memory_ledger.get_entity(entity_id).name == "南湖区某某农贸市场"


def test_R1_3_correction_rejects_an_invalid_region_code(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.InvalidRegionCode, rule="R1.3", field="region_code"):
        memory_ledger.correct_entity(
            ctx, entity_id, effective_on=DAY, changes={"region_code": "3304"}, reason="核对"
        )
    assert version(memory_ledger, entity_id) == 1


@pytest.mark.parametrize("field", ["name", "industry", "station"])
def test_R1_1_correction_rejects_blanking_a_required_field(
    memory_ledger: Ledger, ctx: CommandContext, field: str
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field=field):
        memory_ledger.correct_entity(ctx, entity_id, effective_on=DAY, changes={field: "  "}, reason="核对")


def test_R1_3_correction_requires_a_reason(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.correct_entity(ctx, entity_id, effective_on=DAY, changes={"name": "新名称"}, reason=" ")
    assert version(memory_ledger, entity_id) == 1


# --- NotFound ----------------------------------------------------------------------------------


def test_not_found_entity_commands_on_a_known_entity_succeed(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity_id = register_entity(memory_ledger, ctx)
    assert memory_ledger.get_entity(entity_id).id == entity_id


def test_not_found_entity_commands_reject_an_unknown_id(memory_ledger: Ledger, ctx: CommandContext) -> None:
    register_entity(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="id") as info:
        memory_ledger.change_entity_status(ctx, uuid4(), effective_on=DAY, status=EntityStatus.SUSPENDED)
    assert info.value.status == 404
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.correct_entity(ctx, uuid4(), effective_on=DAY, changes={"name": "x"}, reason="核对")


def test_not_found_entity_commands_reject_the_id_of_another_aggregate(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.change_entity_status(ctx, org_id, effective_on=DAY, status=EntityStatus.SUSPENDED)
    assert version(memory_ledger, org_id) == 1

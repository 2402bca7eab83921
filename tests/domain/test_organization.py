"""PartyOrganization rules: coverage counts (R13.2), one organisation per entity (R13.1),
operating entities only, dissolution, parent organisation and guidance officers (R2.2, R13.1)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.market_entity import MarketEntity
from domain.organization import PartyOrganization
from domain.values import EntityStatus, Formation, OrgKind
from tests.domain.helpers import position, rejected, stored_events, version
from tests.factories import DAY, establish, register_entity, register_member


def entities(ledger: Ledger, ctx: CommandContext, n: int) -> list[UUID]:
    return [register_entity(ledger, ctx) for _ in range(n)]


def covering(ledger: Ledger, entity_id: UUID) -> UUID | None:
    return ledger.get_entity(entity_id).organization_id


def assert_uncovered(ledger: Ledger, entity_ids: list[UUID]) -> None:
    for entity_id in entity_ids:
        entity = ledger.get_entity(entity_id)
        assert entity.organization_id is None
        assert entity.formation is None


def assert_covered_by(ledger: Ledger, org_id: UUID, entity_ids: list[UUID]) -> None:
    org = ledger.get_organization(org_id)
    assert sorted(org.entity_ids) == sorted(entity_ids)
    for entity_id in entity_ids:
        entity = ledger.get_entity(entity_id)
        assert entity.organization_id == org_id
        assert entity.formation == org.formation


# --- establishing -----------------------------------------------------------------------------


def test_R13_2_establish_records_the_organisation_and_marks_its_entities(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    before = position(memory_ledger)
    result = memory_ledger.establish_organization(
        ctx,
        effective_on=DAY,
        name=" 南湖区联合党支部 ",
        kind=OrgKind.MARKET,
        formation=Formation.JOINT,
        region_code="330402",
        entity_ids=[a, b],
    )
    org = memory_ledger.get_organization(result.id)
    assert org.name == "南湖区联合党支部"
    assert (org.kind, org.formation, org.region_code) == ("market", "joint", "330402")
    assert org.parent_id is None
    assert org.dissolved is False
    assert org.guidance == {}
    assert org.entity_ids == [a, b]
    assert_covered_by(memory_ledger, result.id, [a, b])
    events = stored_events(memory_ledger)[before:]
    assert [type(e) for e in events] == [
        PartyOrganization.Established,
        MarketEntity.CoverageAssigned,
        MarketEntity.CoverageAssigned,
    ]
    assert result.position == position(memory_ledger) == before + 3


def test_R13_2_establish_with_a_given_id(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = uuid4()
    assert establish(memory_ledger, ctx, id=org_id) == org_id


def test_R13_2_establish_rejects_a_blank_name(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="name"):
        establish(memory_ledger, ctx, [a], name="  ")
    assert_uncovered(memory_ledger, [a])


def test_R1_3_establish_rejects_an_invalid_region_code(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    with rejected(memory_ledger, errors.InvalidRegionCode, rule="R1.3", field="region_code"):
        establish(memory_ledger, ctx, [a], region_code="3304")
    assert_uncovered(memory_ledger, [a])


# --- R13.2: standalone covers exactly one -----------------------------------------------------


def test_R13_2_standalone_organization_covers_one_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx, [a], formation=Formation.STANDALONE)
    assert memory_ledger.get_organization(org_id).formation == "standalone"
    assert_covered_by(memory_ledger, org_id, [a])


@pytest.mark.parametrize("n", [0, 2, 3])
def test_R13_2_standalone_organization_rejects_other_than_one_entity(
    memory_ledger: Ledger, ctx: CommandContext, n: int
) -> None:
    ids = entities(memory_ledger, ctx, n)
    with rejected(memory_ledger, errors.StandaloneCoversOneEntity, rule="R13.2", field="entity_ids"):
        establish(memory_ledger, ctx, ids, formation=Formation.STANDALONE)
    assert_uncovered(memory_ledger, ids)


def test_R13_2_standalone_organization_rejects_adding_a_second_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    org_id = establish(memory_ledger, ctx, [a], formation=Formation.STANDALONE)
    with rejected(memory_ledger, errors.StandaloneCoversOneEntity, rule="R13.2", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, org_id, effective_on=DAY, entity_id=b)
    assert version(memory_ledger, org_id) == 1
    assert_covered_by(memory_ledger, org_id, [a])
    assert_uncovered(memory_ledger, [b])


def test_R13_2_standalone_organization_rejects_removing_its_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx, [a], formation=Formation.STANDALONE)
    with rejected(memory_ledger, errors.StandaloneCoversOneEntity, rule="R13.2", field="entity_ids"):
        memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=a, reason="迁出")
    assert_covered_by(memory_ledger, org_id, [a])


# --- R13.2: joint covers two to five ----------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_R13_2_joint_organization_covers_two_to_five_entities(
    memory_ledger: Ledger, ctx: CommandContext, n: int
) -> None:
    ids = entities(memory_ledger, ctx, n)
    org_id = establish(memory_ledger, ctx, ids, formation=Formation.JOINT)
    assert memory_ledger.get_organization(org_id).formation == "joint"
    assert_covered_by(memory_ledger, org_id, ids)


@pytest.mark.parametrize("n", [0, 1, 6, 7])
def test_R13_2_joint_organization_rejects_fewer_than_two_or_more_than_five_entities(
    memory_ledger: Ledger, ctx: CommandContext, n: int
) -> None:
    ids = entities(memory_ledger, ctx, n)
    with rejected(memory_ledger, errors.JointCoversTwoToFive, rule="R13.2", field="entity_ids"):
        establish(memory_ledger, ctx, ids, formation=Formation.JOINT)
    assert_uncovered(memory_ledger, ids)


def test_R13_2_joint_organization_rejects_six_entities(memory_ledger: Ledger, ctx: CommandContext) -> None:
    ids = entities(memory_ledger, ctx, 6)
    with rejected(memory_ledger, errors.JointCoversTwoToFive, rule="R13.2", field="entity_ids"):
        establish(memory_ledger, ctx, ids, formation=Formation.JOINT)
    assert_uncovered(memory_ledger, ids)


def test_R13_2_joint_organization_rejects_an_entity_listed_twice(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    with rejected(memory_ledger, errors.JointCoversTwoToFive, rule="R13.2", field="entity_ids"):
        establish(memory_ledger, ctx, [a, b, a], formation=Formation.JOINT)
    assert_uncovered(memory_ledger, [a, b])


def test_R13_2_joint_organization_adds_entities_up_to_five(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    ids = entities(memory_ledger, ctx, 5)
    org_id = establish(memory_ledger, ctx, ids[:2])
    for n, entity_id in enumerate(ids[2:], start=2):
        before = position(memory_ledger)
        result = memory_ledger.add_organization_entity(ctx, org_id, effective_on=DAY, entity_id=entity_id)
        assert result.id == org_id
        added, assigned = stored_events(memory_ledger)[before:]
        assert isinstance(added, PartyOrganization.EntityCoverageAdded)
        assert added.entity_id == entity_id
        assert isinstance(assigned, MarketEntity.CoverageAssigned)
        assert assigned.originator_id == entity_id
        assert version(memory_ledger, org_id) == n
    assert_covered_by(memory_ledger, org_id, ids)


def test_R13_2_joint_organization_rejects_adding_a_sixth_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    ids = entities(memory_ledger, ctx, 6)
    org_id = establish(memory_ledger, ctx, ids[:5])
    with rejected(memory_ledger, errors.JointCoversTwoToFive, rule="R13.2", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, org_id, effective_on=DAY, entity_id=ids[5])
    assert version(memory_ledger, org_id) == 1
    assert_covered_by(memory_ledger, org_id, ids[:5])
    assert_uncovered(memory_ledger, ids[5:])


def test_R13_2_joint_organization_removes_an_entity_down_to_two(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    org_id = establish(memory_ledger, ctx, [a, b, c])
    before = position(memory_ledger)
    memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=b, reason=" 迁出 ")
    removed, released = stored_events(memory_ledger)[before:]
    assert isinstance(removed, PartyOrganization.EntityCoverageRemoved)
    assert (removed.entity_id, removed.reason) == (b, "迁出")
    assert isinstance(released, MarketEntity.CoverageReleased)
    assert released.organization_id == org_id
    assert_covered_by(memory_ledger, org_id, [a, c])
    assert_uncovered(memory_ledger, [b])


def test_R13_2_joint_organization_rejects_removing_below_two(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    org_id = establish(memory_ledger, ctx, [a, b])
    with rejected(memory_ledger, errors.JointCoversTwoToFive, rule="R13.2", field="entity_ids"):
        memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=a, reason="迁出")
    assert version(memory_ledger, org_id) == 1
    assert_covered_by(memory_ledger, org_id, [a, b])


def test_R13_1_remove_entity_the_organisation_covers(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    org_id = establish(memory_ledger, ctx, [a, b, c])
    memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=c, reason="迁出")
    assert covering(memory_ledger, c) is None


def test_R13_1_remove_entity_rejects_an_entity_the_organisation_does_not_cover(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c, d = entities(memory_ledger, ctx, 4)
    org_id = establish(memory_ledger, ctx, [a, b, c])
    other = establish(memory_ledger, ctx, [d])
    with rejected(memory_ledger, errors.EntityNotCovered, rule="R13.1", field="entity_id"):
        memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=d, reason="迁出")
    assert covering(memory_ledger, d) == other
    assert version(memory_ledger, org_id) == 1


def test_R13_1_remove_entity_requires_a_reason(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    org_id = establish(memory_ledger, ctx, [a, b, c])
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.remove_organization_entity(ctx, org_id, effective_on=DAY, entity_id=c, reason=" ")
    assert_covered_by(memory_ledger, org_id, [a, b, c])


# --- R13.1: regional covers none --------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [OrgKind.AGENCY_BRANCH, OrgKind.STATION_BRANCH, OrgKind.ASSOCIATION, OrgKind.STREET_BLOCK]
)
def test_R13_1_regional_organization_covers_no_entity(
    memory_ledger: Ledger, ctx: CommandContext, kind: OrgKind
) -> None:
    org_id = establish(memory_ledger, ctx, [], formation=Formation.REGIONAL, kind=kind)
    org = memory_ledger.get_organization(org_id)
    assert (org.formation, org.kind, org.entity_ids) == ("regional", kind.value, [])


@pytest.mark.parametrize("n", [1, 2])
def test_R13_1_regional_organization_rejects_entities(
    memory_ledger: Ledger, ctx: CommandContext, n: int
) -> None:
    ids = entities(memory_ledger, ctx, n)
    with rejected(memory_ledger, errors.RegionalCoversNoEntity, rule="R13.1", field="entity_ids"):
        establish(memory_ledger, ctx, ids, formation=Formation.REGIONAL)
    assert_uncovered(memory_ledger, ids)


def test_R13_1_regional_organization_rejects_adding_an_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx, [], formation=Formation.REGIONAL)
    with rejected(memory_ledger, errors.RegionalCoversNoEntity, rule="R13.1", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, org_id, effective_on=DAY, entity_id=a)
    assert version(memory_ledger, org_id) == 1
    assert_uncovered(memory_ledger, [a])


# --- R13.1: at most one organisation per entity -----------------------------------------------


def test_R13_1_entity_covered_by_one_organisation(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    first = establish(memory_ledger, ctx, [a])
    second = establish(memory_ledger, ctx, [b, c])
    assert covering(memory_ledger, a) == first
    assert covering(memory_ledger, b) == covering(memory_ledger, c) == second


@pytest.mark.parametrize("formation", [Formation.STANDALONE, Formation.JOINT])
def test_R13_1_establish_rejects_an_entity_covered_elsewhere(
    memory_ledger: Ledger, ctx: CommandContext, formation: Formation
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    first = establish(memory_ledger, ctx, [a])
    ids = [a] if formation == Formation.STANDALONE else [b, a]
    with rejected(memory_ledger, errors.EntityAlreadyCovered, rule="R13.1", field="entity_ids") as info:
        establish(memory_ledger, ctx, ids, formation=formation)
    assert info.value.status == 409
    assert_covered_by(memory_ledger, first, [a])
    assert version(memory_ledger, a) == 2
    assert_uncovered(memory_ledger, [b])


def test_R13_1_add_rejects_an_entity_covered_by_another_organisation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    first = establish(memory_ledger, ctx, [a])
    joint = establish(memory_ledger, ctx, [b, c])
    with rejected(memory_ledger, errors.EntityAlreadyCovered, rule="R13.1", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, joint, effective_on=DAY, entity_id=a)
    assert version(memory_ledger, joint) == 1
    assert_covered_by(memory_ledger, first, [a])
    assert_covered_by(memory_ledger, joint, [b, c])


def test_R13_1_add_rejects_an_entity_the_organisation_already_covers(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    joint = establish(memory_ledger, ctx, [a, b])
    with rejected(memory_ledger, errors.EntityAlreadyCovered, rule="R13.1", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, joint, effective_on=DAY, entity_id=a)
    assert memory_ledger.get_organization(joint).entity_ids == [a, b]


def test_R13_1_a_removed_entity_can_be_covered_by_another_organisation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c, d = entities(memory_ledger, ctx, 4)
    first = establish(memory_ledger, ctx, [a, b, c])
    memory_ledger.remove_organization_entity(ctx, first, effective_on=DAY, entity_id=c, reason="迁出")
    second = establish(memory_ledger, ctx, [c, d])
    assert_covered_by(memory_ledger, first, [a, b])
    assert_covered_by(memory_ledger, second, [c, d])


# --- R13.1: operating entities only -----------------------------------------------------------


def test_R13_1_establish_covers_an_operating_entity_again_after_suspension(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    for status in (EntityStatus.SUSPENDED, EntityStatus.OPERATING):
        memory_ledger.change_entity_status(ctx, a, effective_on=DAY, status=status)
    org_id = establish(memory_ledger, ctx, [a])
    assert_covered_by(memory_ledger, org_id, [a])


@pytest.mark.parametrize("status", [EntityStatus.SUSPENDED, EntityStatus.DEREGISTERED])
def test_R13_1_establish_rejects_an_entity_not_operating(
    memory_ledger: Ledger, ctx: CommandContext, status: EntityStatus
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    memory_ledger.change_entity_status(ctx, b, effective_on=DAY, status=status)
    with rejected(memory_ledger, errors.EntityNotOperating, rule="R13.1", field="entity_ids"):
        establish(memory_ledger, ctx, [a, b])
    assert_uncovered(memory_ledger, [a, b])
    assert version(memory_ledger, a) == 1


@pytest.mark.parametrize("status", [EntityStatus.SUSPENDED, EntityStatus.DEREGISTERED])
def test_R13_1_add_rejects_an_entity_not_operating(
    memory_ledger: Ledger, ctx: CommandContext, status: EntityStatus
) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    joint = establish(memory_ledger, ctx, [a, b])
    memory_ledger.change_entity_status(ctx, c, effective_on=DAY, status=status)
    with rejected(memory_ledger, errors.EntityNotOperating, rule="R13.1", field="entity_ids"):
        memory_ledger.add_organization_entity(ctx, joint, effective_on=DAY, entity_id=c)
    assert version(memory_ledger, joint) == 1
    assert_uncovered(memory_ledger, [c])


# --- dissolution ------------------------------------------------------------------------------


def test_R2_2_dissolve_releases_the_entities_and_officers(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    org_id = establish(memory_ledger, ctx, [a, b])
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[c])
    before = position(memory_ledger)
    memory_ledger.dissolve_organization(ctx, org_id, effective_on=DAY, reason=" 撤销 ")
    dissolved, *released = stored_events(memory_ledger)[before:]
    assert isinstance(dissolved, PartyOrganization.Dissolved)
    assert dissolved.reason == "撤销"
    assert {e.originator_id for e in released} == {a, b}
    assert all(isinstance(e, MarketEntity.CoverageReleased) for e in released)
    org = memory_ledger.get_organization(org_id)
    assert (org.dissolved, org.entity_ids, org.guidance) == (True, [], {})
    assert_uncovered(memory_ledger, [a, b])


def test_R2_2_dissolve_lets_another_organisation_cover_the_entities(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    first = establish(memory_ledger, ctx, [a, b])
    with rejected(memory_ledger, errors.EntityAlreadyCovered, rule="R13.1", field="entity_ids"):
        establish(memory_ledger, ctx, [a])
    memory_ledger.dissolve_organization(ctx, first, effective_on=DAY, reason="撤销")
    second = establish(memory_ledger, ctx, [a])
    third = establish(memory_ledger, ctx, [b], formation=Formation.STANDALONE)
    assert_covered_by(memory_ledger, second, [a])
    assert_covered_by(memory_ledger, third, [b])


def test_R2_2_dissolve_requires_a_reason(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx, [a])
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.dissolve_organization(ctx, org_id, effective_on=DAY, reason="")
    assert_covered_by(memory_ledger, org_id, [a])


def dissolved_joint(ledger: Ledger, ctx: CommandContext) -> tuple[UUID, list[UUID]]:
    ids = entities(ledger, ctx, 3)
    org_id = establish(ledger, ctx, ids[:2])
    ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=ids)
    ledger.dissolve_organization(ctx, org_id, effective_on=DAY, reason="撤销")
    return org_id, ids


@pytest.mark.parametrize("command", ["add", "remove", "assign", "withdraw", "dissolve"])
def test_R2_2_dissolved_organization_accepts_nothing(
    memory_ledger: Ledger, ctx: CommandContext, command: str
) -> None:
    org_id, (a, _, c) = dissolved_joint(memory_ledger, ctx)
    calls = {
        "add": lambda: memory_ledger.add_organization_entity(ctx, org_id, effective_on=DAY, entity_id=c),
        "remove": lambda: memory_ledger.remove_organization_entity(
            ctx, org_id, effective_on=DAY, entity_id=a, reason="迁出"
        ),
        "assign": lambda: memory_ledger.assign_guidance_officer(
            ctx, org_id, effective_on=DAY, officer="赵六", entity_ids=[c]
        ),
        "withdraw": lambda: memory_ledger.withdraw_guidance_officer(
            ctx, org_id, effective_on=DAY, officer="王五", reason="调岗"
        ),
        "dissolve": lambda: memory_ledger.dissolve_organization(
            ctx, org_id, effective_on=DAY, reason="再次撤销"
        ),
    }
    before = version(memory_ledger, org_id)
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field=None):
        calls[command]()
    assert version(memory_ledger, org_id) == before
    assert_uncovered(memory_ledger, [a, c])


# --- R2.2: the parent organisation ------------------------------------------------------------


def test_R2_2_parent_organization_active_is_accepted(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    parent = establish(memory_ledger, ctx, kind=OrgKind.ASSOCIATION)
    child = establish(memory_ledger, ctx, [a], parent_id=parent)
    assert memory_ledger.get_organization(child).parent_id == parent


def test_R2_2_parent_organization_rejects_itself(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = uuid4()
    with rejected(memory_ledger, errors.ParentOrganizationInvalid, rule="R2.2", field="parent_id"):
        establish(memory_ledger, ctx, id=org_id, parent_id=org_id)
    assert org_id not in memory_ledger.repository


def test_R2_2_parent_organization_rejects_a_dissolved_parent(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    parent = establish(memory_ledger, ctx)
    memory_ledger.dissolve_organization(ctx, parent, effective_on=DAY, reason="撤销")
    with rejected(memory_ledger, errors.ParentOrganizationInvalid, rule="R2.2", field="parent_id"):
        establish(memory_ledger, ctx, [a], parent_id=parent)
    assert_uncovered(memory_ledger, [a])


def test_R2_2_parent_organization_rejects_an_unknown_parent(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    for parent in (uuid4(), a):  # nothing there, or an entity rather than an organisation
        with rejected(memory_ledger, errors.NotFound, rule="", field="parent_id"):
            establish(memory_ledger, ctx, [a], parent_id=parent)
    assert_uncovered(memory_ledger, [a])


# --- R13.1: guidance officers (work coverage) -------------------------------------------------


def test_R13_1_guidance_officer_assign_reaches_the_entities(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c = entities(memory_ledger, ctx, 3)
    org_id = establish(memory_ledger, ctx, formation=Formation.REGIONAL)
    memory_ledger.assign_guidance_officer(
        ctx, org_id, effective_on=DAY, officer=" 王五 ", entity_ids=[a, b, a]
    )
    event = stored_events(memory_ledger)[-1]
    assert isinstance(event, PartyOrganization.GuidanceOfficerAssigned)
    assert (event.officer, event.entity_ids) == ("王五", [a, b])
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[b, c])
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="赵六", entity_ids=[c])
    org = memory_ledger.get_organization(org_id)
    assert org.guidance == {"王五": [a, b, c], "赵六": [c]}
    assert org.version == 4
    assert_uncovered(memory_ledger, [a, b, c])  # work coverage is not organisation coverage


def test_R13_1_guidance_officer_assign_rejects_entities_already_reached(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    org_id = establish(memory_ledger, ctx)
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[a, b])
    for again in ([a], [b, a], [a, a]):
        with rejected(
            memory_ledger,
            errors.GuidanceOfficerAlreadyAssigned,
            rule="R13.1",
            field="officer",
        ):
            memory_ledger.assign_guidance_officer(
                ctx, org_id, effective_on=DAY, officer="王五", entity_ids=again
            )
    assert version(memory_ledger, org_id) == 2


def test_R13_1_guidance_officer_assign_rejects_a_blank_officer(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="officer"):
        memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="  ", entity_ids=[a])
    assert memory_ledger.get_organization(org_id).guidance == {}


def test_R13_1_guidance_officer_assign_rejects_no_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="entity_ids"):
        memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[])
    assert version(memory_ledger, org_id) == 1


def test_R13_1_guidance_officer_assign_rejects_an_unknown_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx)
    with rejected(memory_ledger, errors.NotFound, rule="", field="entity_ids"):
        memory_ledger.assign_guidance_officer(
            ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[a, uuid4()]
        )
    assert version(memory_ledger, org_id) == 1


def test_R13_1_guidance_officer_assign_rejects_an_id_that_is_no_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    """An officer reaches market entities, not organisations or members."""
    org_id = establish(memory_ledger, ctx)
    other_org = establish(memory_ledger, ctx)
    member_id = register_member(memory_ledger, ctx, [org_id]).id
    for not_an_entity in (other_org, member_id):
        with rejected(memory_ledger, errors.NotFound, rule="", field="entity_ids"):
            memory_ledger.assign_guidance_officer(
                ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[not_an_entity]
            )
    assert memory_ledger.get_organization(org_id).guidance == {}


def test_R13_1_guidance_officer_withdraw_an_assigned_officer(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx)
    for officer in ("王五", "赵六"):
        memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer=officer, entity_ids=[a])
    memory_ledger.withdraw_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", reason=" 调岗 ")
    event = stored_events(memory_ledger)[-1]
    assert isinstance(event, PartyOrganization.GuidanceOfficerWithdrawn)
    assert (event.officer, event.reason) == ("王五", "调岗")
    assert memory_ledger.get_organization(org_id).guidance == {"赵六": [a]}
    # withdrawn, the officer can be assigned again
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[a])
    assert memory_ledger.get_organization(org_id).guidance == {"赵六": [a], "王五": [a]}


def test_R13_1_guidance_officer_withdraw_rejects_an_officer_not_assigned(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx)
    other = establish(memory_ledger, ctx)
    memory_ledger.assign_guidance_officer(ctx, other, effective_on=DAY, officer="王五", entity_ids=[a])
    with rejected(memory_ledger, errors.GuidanceOfficerNotAssigned, rule="R13.1", field="officer"):
        memory_ledger.withdraw_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", reason="调岗")
    assert version(memory_ledger, org_id) == 1
    assert memory_ledger.get_organization(other).guidance == {"王五": [a]}


def test_R13_1_guidance_officer_withdraw_requires_a_reason(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    org_id = establish(memory_ledger, ctx)
    memory_ledger.assign_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", entity_ids=[a])
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.withdraw_guidance_officer(ctx, org_id, effective_on=DAY, officer="王五", reason="")
    assert memory_ledger.get_organization(org_id).guidance == {"王五": [a]}


# --- NotFound ---------------------------------------------------------------------------------


def test_not_found_organization_known_id_is_found(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org_id = establish(memory_ledger, ctx)
    assert memory_ledger.get_organization(org_id).id == org_id


@pytest.mark.parametrize("command", ["add", "remove", "assign", "withdraw", "dissolve", "get"])
def test_not_found_organization_commands_reject_an_unknown_organisation(
    memory_ledger: Ledger, ctx: CommandContext, command: str
) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    for unknown in (uuid4(), a):  # nothing there, or an entity rather than an organisation
        calls = {
            "add": lambda u=unknown: memory_ledger.add_organization_entity(
                ctx, u, effective_on=DAY, entity_id=a
            ),
            "remove": lambda u=unknown: memory_ledger.remove_organization_entity(
                ctx, u, effective_on=DAY, entity_id=a, reason="迁出"
            ),
            "assign": lambda u=unknown: memory_ledger.assign_guidance_officer(
                ctx, u, effective_on=DAY, officer="王五", entity_ids=[a]
            ),
            "withdraw": lambda u=unknown: memory_ledger.withdraw_guidance_officer(
                ctx, u, effective_on=DAY, officer="王五", reason="调岗"
            ),
            "dissolve": lambda u=unknown: memory_ledger.dissolve_organization(
                ctx, u, effective_on=DAY, reason="撤销"
            ),
            "get": lambda u=unknown: memory_ledger.get_organization(u),
        }
        with rejected(memory_ledger, errors.NotFound, rule="", field="id") as info:
            calls[command]()
        assert info.value.status == 404
    assert version(memory_ledger, a) == 1


def test_not_found_establish_rejects_an_unknown_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    (a,) = entities(memory_ledger, ctx, 1)
    with rejected(memory_ledger, errors.NotFound, rule="", field="entity_ids"):
        establish(memory_ledger, ctx, [a, uuid4()])
    assert_uncovered(memory_ledger, [a])


def test_not_found_add_rejects_an_unknown_entity(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b = entities(memory_ledger, ctx, 2)
    joint = establish(memory_ledger, ctx, [a, b])
    regional = establish(memory_ledger, ctx)
    for unknown in (uuid4(), regional):
        with rejected(memory_ledger, errors.NotFound, rule="", field="entity_ids"):
            memory_ledger.add_organization_entity(ctx, joint, effective_on=DAY, entity_id=unknown)
    assert version(memory_ledger, joint) == 1

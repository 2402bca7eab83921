"""Member rules: the registration form (R1.1), affiliation (R2.1), one relationship organisation
and many organisational-life organisations (R2.2), transfers (R2.3) and corrections (R1.3)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.values import Affiliation, Distribution, MemberCategory, OrgKind
from tests.domain.helpers import rejected, stored_events, version
from tests.factories import DAY, establish, member_fields, register_entity, register_member

LATER = DAY + timedelta(days=30)


def org(ledger: Ledger, ctx: CommandContext, kind: OrgKind = OrgKind.STREET_BLOCK, **kw: Any) -> UUID:
    return establish(ledger, ctx, kind=kind, **kw)


def association(ledger: Ledger, ctx: CommandContext, name: str = "南湖区个私协会分会党支部") -> UUID:
    return org(ledger, ctx, OrgKind.BRANCH_ASSOCIATION, name=name)


def dissolved(ledger: Ledger, ctx: CommandContext, kind: OrgKind = OrgKind.BRANCH_ASSOCIATION) -> UUID:
    org_id = org(ledger, ctx, kind)
    ledger.dissolve_organization(ctx, org_id, effective_on=DAY, reason="撤销")
    return org_id


def member(ledger: Ledger, ctx: CommandContext, life: list[UUID], **overrides: Any) -> UUID:
    return register_member(ledger, ctx, life, **overrides).id


# --- R1.1: the registration form ---------------------------------------------------------------


def test_R1_1_register_member_records_the_form(memory_ledger: Ledger, ctx: CommandContext) -> None:
    life = org(memory_ledger, ctx)
    other = org(memory_ledger, ctx)
    entity_id = register_entity(memory_ledger, ctx)
    member_id = uuid4()
    result = memory_ledger.register_member(
        ctx,
        **member_fields(
            [life, other, life],
            id=member_id,
            entity_id=entity_id,
            unit_name=" 南湖区某某农贸市场 ",
            name=" 张三 ",
            mobile="138 0573-0000",
            distribution=Distribution.INDIVIDUAL_BUSINESS,
            relationship_org_name=" 南湖区某街道党工委 ",
        ),
    )
    assert result.id == member_id
    m = memory_ledger.get_member(member_id)
    assert m.unit_name == "南湖区某某农贸市场"
    assert m.entity_id == entity_id
    assert m.name == "张三"
    assert m.mobile == "13805730000"
    assert m.is_business_owner is True
    assert m.household_district == "南湖区"
    assert m.life_org_ids == [life, other]
    assert m.relationship_org_id is None
    assert m.relationship_org_name == "南湖区某街道党工委"
    assert m.relationship_since == DAY
    assert m.category == MemberCategory.FULL.value
    assert m.affiliation == "local"
    assert m.distribution == "individual_business"
    assert m.form_date == DAY
    assert (m.filled_by_name, m.filled_by_phone) == ("李四", "0573-82000000")
    assert m.has_left is False
    assert isinstance(stored_events(memory_ledger)[-1], Member.Registered)


@pytest.mark.parametrize(
    ("mobile", "stored"),
    [
        ("13805730000", "13805730000"),
        ("19912345678", "19912345678"),
        (" 138 0573 0000 ", "13805730000"),
        ("138-0573-0000", "13805730000"),
    ],
)
def test_R1_1_mobile_number_of_eleven_digits_from_13_to_19_is_accepted(
    memory_ledger: Ledger, ctx: CommandContext, mobile: str, stored: str
) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)], mobile=mobile)
    assert memory_ledger.get_member(member_id).mobile == stored


@pytest.mark.parametrize(
    "mobile",
    ["12805730000", "10805730000", "1380573000", "138057300001", "0573-82000000", "", "1380573000a"],
)
def test_R1_1_mobile_number_rejects_other_formats(
    memory_ledger: Ledger, ctx: CommandContext, mobile: str
) -> None:
    life = org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.InvalidMobileNumber, rule="R1.1", field="mobile"):
        member(memory_ledger, ctx, [life], mobile=mobile)


@pytest.mark.parametrize(
    "field", ["unit_name", "name", "household_district", "filled_by_name", "filled_by_phone"]
)
@pytest.mark.parametrize("blank", ["", "  "])
def test_R1_1_register_member_rejects_a_blank_required_field(
    memory_ledger: Ledger, ctx: CommandContext, field: str, blank: str
) -> None:
    life = org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field=field):
        member(memory_ledger, ctx, [life], **{field: blank})


def test_R1_1_life_organization_named_on_the_form_is_accepted(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    assert memory_ledger.get_member(member(memory_ledger, ctx, [life])).life_org_ids == [life]


def test_R1_1_life_organization_required(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org(memory_ledger, ctx)
    with rejected(memory_ledger, errors.LifeOrganizationRequired, rule="R1.1", field="life_org_ids"):
        member(memory_ledger, ctx, [])


def test_R2_2_life_organization_must_be_active(memory_ledger: Ledger, ctx: CommandContext) -> None:
    active = org(memory_ledger, ctx)
    gone = dissolved(memory_ledger, ctx)
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="life_org_ids"):
        member(memory_ledger, ctx, [active, gone])


def test_not_found_register_member_rejects_unknown_organisations_and_entity(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    entity_id = register_entity(memory_ledger, ctx)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"life_org_ids": [life, uuid4()]}, "life_org_ids"),
        ({"life_org_ids": [entity_id]}, "life_org_ids"),  # an entity is no organisation
        ({"relationship_org_id": uuid4()}, "relationship_org_id"),
        ({"entity_id": uuid4()}, "entity_id"),
        ({"entity_id": life}, "entity_id"),  # an organisation is no entity
    ]
    for overrides, field in cases:
        fields = member_fields([life])
        fields.update(overrides)
        with rejected(memory_ledger, errors.NotFound, rule="", field=field):
            memory_ledger.register_member(ctx, **fields)


# --- R2.1: 隶属 members sit in an association organisation -------------------------------------


@pytest.mark.parametrize("kind", [OrgKind.ASSOCIATION, OrgKind.BRANCH_ASSOCIATION])
def test_R2_1_subordinate_member_in_an_association_organisation(
    memory_ledger: Ledger, ctx: CommandContext, kind: OrgKind
) -> None:
    rel = org(memory_ledger, ctx, kind, name="南湖区个私协会党委")
    member_id = member(
        memory_ledger,
        ctx,
        [org(memory_ledger, ctx)],
        affiliation=Affiliation.SUBORDINATE,
        relationship_org_id=rel,
        relationship_org_name="",
    )
    m = memory_ledger.get_member(member_id)
    assert (m.affiliation, m.relationship_org_id) == ("subordinate", rel)
    assert m.relationship_org_name == "南湖区个私协会党委"  # taken from the organisation


@pytest.mark.parametrize("kind", [OrgKind.MARKET, OrgKind.STATION_BRANCH, OrgKind.STREET_BLOCK, None])
def test_R2_1_subordinate_member_rejects_a_relationship_outside_an_association(
    memory_ledger: Ledger, ctx: CommandContext, kind: OrgKind | None
) -> None:
    life = org(memory_ledger, ctx)
    # None: a relationship organisation outside the system, named only
    rel = {"relationship_org_id": org(memory_ledger, ctx, kind)} if kind else {}
    with rejected(
        memory_ledger,
        errors.AffiliationRequiresAssociation,
        rule="R2.1",
        field="relationship_org_id",
    ):
        member(memory_ledger, ctx, [life], affiliation=Affiliation.SUBORDINATE, **rel)


@pytest.mark.parametrize("affiliation", [Affiliation.LOCAL, Affiliation.MOBILE])
def test_R2_1_local_and_mobile_members_may_sit_outside_an_association(
    memory_ledger: Ledger, ctx: CommandContext, affiliation: Affiliation
) -> None:
    market = org(memory_ledger, ctx, OrgKind.MARKET)
    for rel in ({"relationship_org_id": market}, {"relationship_org_name": "外省某镇党委"}):
        member_id = member(memory_ledger, ctx, [market], affiliation=affiliation, **rel)
        assert memory_ledger.get_member(member_id).affiliation == affiliation.value


# --- R2.2: one relationship organisation ------------------------------------------------------


def test_R2_2_relationship_organization_in_or_outside_the_system(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx, name="城西街区党支部")
    inside = member(memory_ledger, ctx, [life], relationship_org_id=life, relationship_org_name="")
    outside = member(memory_ledger, ctx, [life], relationship_org_name="外省某镇党委")
    m_in, m_out = memory_ledger.get_member(inside), memory_ledger.get_member(outside)
    assert (m_in.relationship_org_id, m_in.relationship_org_name) == (life, "城西街区党支部")
    assert (m_out.relationship_org_id, m_out.relationship_org_name) == (None, "外省某镇党委")


@pytest.mark.parametrize("name", ["", "   "])
def test_R2_2_relationship_organization_required(
    memory_ledger: Ledger, ctx: CommandContext, name: str
) -> None:
    life = org(memory_ledger, ctx)
    with rejected(
        memory_ledger,
        errors.RelationshipOrganizationRequired,
        rule="R2.2",
        field="relationship_org_id",
    ):
        member(memory_ledger, ctx, [life], relationship_org_name=name)


def test_R2_2_relationship_organization_must_be_active(memory_ledger: Ledger, ctx: CommandContext) -> None:
    life = org(memory_ledger, ctx)
    gone = dissolved(memory_ledger, ctx)
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="relationship_org_id"):
        member(memory_ledger, ctx, [life], affiliation=Affiliation.SUBORDINATE, relationship_org_id=gone)


# --- R2.3: transfer of the relationship -------------------------------------------------------


def test_R2_3_transfer_moves_the_relationship_from_its_effective_date(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    target = association(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [life])
    memory_ledger.transfer_member_relationship(
        ctx, member_id, effective_on=LATER, to_org_id=target, affiliation=Affiliation.SUBORDINATE
    )
    m = memory_ledger.get_member(member_id)
    assert m.relationship_org_id == target
    assert m.relationship_org_name == "南湖区个私协会分会党支部"
    assert m.affiliation == "subordinate"
    assert m.relationship_since == LATER
    assert m.life_org_ids == [life]  # organisational life is unchanged
    assert m.version == 2
    event = stored_events(memory_ledger)[-1]
    assert isinstance(event, Member.RelationshipTransferred)
    assert (event.from_org_id, event.from_org_name) == (None, "南湖区某街道党工委")
    assert (event.to_org_id, event.to_org_name) == (target, "南湖区个私协会分会党支部")
    assert event.affiliation == "subordinate"
    assert event.effective_on == LATER


def test_R2_3_transfer_out_of_the_system_keeps_the_affiliation_unless_given(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    rel = association(memory_ledger, ctx)
    member_id = member(
        memory_ledger, ctx, [life], affiliation=Affiliation.SUBORDINATE, relationship_org_id=rel
    )
    memory_ledger.transfer_member_relationship(
        ctx,
        member_id,
        effective_on=LATER,
        to_org_name=" 外省某镇党委 ",
        affiliation=Affiliation.MOBILE,
    )
    m = memory_ledger.get_member(member_id)
    assert (m.relationship_org_id, m.relationship_org_name) == (None, "外省某镇党委")
    assert (m.affiliation, m.relationship_since) == ("mobile", LATER)
    memory_ledger.transfer_member_relationship(
        ctx, member_id, effective_on=LATER + timedelta(days=1), to_org_id=life
    )
    m = memory_ledger.get_member(member_id)
    assert (m.relationship_org_id, m.affiliation) == (life, "mobile")


def test_R2_3_transfer_rejects_the_same_organisation(memory_ledger: Ledger, ctx: CommandContext) -> None:
    life = org(memory_ledger, ctx)
    rel = association(memory_ledger, ctx)
    inside = member(memory_ledger, ctx, [life], affiliation=Affiliation.SUBORDINATE, relationship_org_id=rel)
    outside = member(memory_ledger, ctx, [life], relationship_org_name="外省某镇党委")
    cases: list[tuple[UUID, dict[str, Any]]] = [
        (inside, {"to_org_id": rel}),
        (outside, {"to_org_name": " 外省某镇党委 "}),
    ]
    for member_id, target in cases:
        with rejected(memory_ledger, errors.TransferToSameOrganization, rule="R2.3", field="to_org_id"):
            memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, **target)
        assert version(memory_ledger, member_id) == 1


def test_R2_3_transfer_on_or_after_the_current_relationship_began(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life, a, b = org(memory_ledger, ctx), org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [life], effective_on=DAY)
    memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=DAY, to_org_id=a)
    memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, to_org_id=b)
    assert memory_ledger.get_member(member_id).relationship_since == LATER


@pytest.mark.parametrize("days_before", [1, 365])
def test_R2_3_transfer_rejects_a_date_before_the_current_relationship_began(
    memory_ledger: Ledger, ctx: CommandContext, days_before: int
) -> None:
    life, a, b = org(memory_ledger, ctx), org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [life], effective_on=DAY)
    with rejected(memory_ledger, errors.TransferBeforeCurrentRelationship, rule="R2.3", field="effective_on"):
        memory_ledger.transfer_member_relationship(
            ctx, member_id, effective_on=DAY - timedelta(days=days_before), to_org_id=a
        )
    memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, to_org_id=a)
    with rejected(memory_ledger, errors.TransferBeforeCurrentRelationship, rule="R2.3", field="effective_on"):
        memory_ledger.transfer_member_relationship(
            ctx, member_id, effective_on=LATER - timedelta(days=days_before), to_org_id=b
        )
    m = memory_ledger.get_member(member_id)
    assert (m.relationship_org_id, m.relationship_since, m.version) == (a, LATER, 2)


def test_R2_3_transfer_of_a_subordinate_member_requires_an_association(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    rel = association(memory_ledger, ctx)
    market = org(memory_ledger, ctx, OrgKind.MARKET)
    member_id = member(
        memory_ledger, ctx, [life], affiliation=Affiliation.SUBORDINATE, relationship_org_id=rel
    )
    for target in ({"to_org_id": market}, {"to_org_name": "外省某镇党委"}):
        with rejected(memory_ledger, errors.AffiliationRequiresAssociation, rule="R2.1", field="to_org_id"):
            memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, **target)
    with rejected(memory_ledger, errors.AffiliationRequiresAssociation, rule="R2.1", field="to_org_id"):
        memory_ledger.transfer_member_relationship(
            ctx,
            member_id,
            effective_on=LATER,
            to_org_id=market,
            affiliation=Affiliation.SUBORDINATE,
        )
    assert version(memory_ledger, member_id) == 1
    # naming the new affiliation makes the same transfer valid
    memory_ledger.transfer_member_relationship(
        ctx, member_id, effective_on=LATER, to_org_id=market, affiliation=Affiliation.LOCAL
    )
    m = memory_ledger.get_member(member_id)
    assert (m.relationship_org_id, m.affiliation) == (market, "local")


def test_R2_3_transfer_requires_a_target(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    with rejected(
        memory_ledger,
        errors.RelationshipOrganizationRequired,
        rule="R2.2",
        field="relationship_org_id",
    ):
        memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, to_org_name="  ")


def test_R2_3_transfer_rejects_a_dissolved_target(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    gone = dissolved(memory_ledger, ctx)
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="to_org_id"):
        memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, to_org_id=gone)
    assert version(memory_ledger, member_id) == 1


def test_not_found_transfer_rejects_an_unknown_member_or_target(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [life])
    for unknown in (uuid4(), life):  # nothing there, or an organisation rather than a member
        with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
            memory_ledger.transfer_member_relationship(ctx, unknown, effective_on=LATER, to_org_id=life)
    for unknown in (uuid4(), member_id):
        with rejected(memory_ledger, errors.NotFound, rule="", field="to_org_id"):
            memory_ledger.transfer_member_relationship(ctx, member_id, effective_on=LATER, to_org_id=unknown)


# --- R2.2: organisational life in several organisations ---------------------------------------


def test_R2_2_life_organization_join_and_leave(memory_ledger: Ledger, ctx: CommandContext) -> None:
    a, b, c = org(memory_ledger, ctx), org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a])
    memory_ledger.join_life_organization(ctx, member_id, effective_on=LATER, org_id=b)
    memory_ledger.join_life_organization(ctx, member_id, effective_on=LATER, org_id=c)
    assert memory_ledger.get_member(member_id).life_org_ids == [a, b, c]
    memory_ledger.leave_life_organization(ctx, member_id, effective_on=LATER, org_id=a)
    m = memory_ledger.get_member(member_id)
    assert (m.life_org_ids, m.version) == ([b, c], 4)
    joined, _, left = stored_events(memory_ledger)[-3:]
    assert isinstance(joined, Member.LifeOrganizationJoined)
    assert joined.org_id == b
    assert isinstance(left, Member.LifeOrganizationLeft)
    assert left.org_id == a


def test_R2_2_life_organization_join_rejects_one_already_joined(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a = org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a])
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field="org_id"):
        memory_ledger.join_life_organization(ctx, member_id, effective_on=LATER, org_id=a)
    assert version(memory_ledger, member_id) == 1


def test_R2_2_life_organization_join_rejects_a_dissolved_organisation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    gone = dissolved(memory_ledger, ctx)
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="org_id"):
        memory_ledger.join_life_organization(ctx, member_id, effective_on=LATER, org_id=gone)
    assert version(memory_ledger, member_id) == 1


def test_not_found_life_organization_join_rejects_unknown_ids(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a = org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a])
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_id"):
        memory_ledger.join_life_organization(ctx, member_id, effective_on=LATER, org_id=uuid4())
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.join_life_organization(ctx, uuid4(), effective_on=LATER, org_id=a)
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.leave_life_organization(ctx, uuid4(), effective_on=LATER, org_id=a)


def test_R2_2_life_organization_leave_rejects_the_last_one(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a, b])
    memory_ledger.leave_life_organization(ctx, member_id, effective_on=LATER, org_id=a)
    with rejected(memory_ledger, errors.LifeOrganizationRequired, rule="R1.1", field="life_org_ids"):
        memory_ledger.leave_life_organization(ctx, member_id, effective_on=LATER, org_id=b)
    assert memory_ledger.get_member(member_id).life_org_ids == [b]


def test_R2_2_life_organization_leave_rejects_one_not_joined(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b, c = org(memory_ledger, ctx), org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a, b])
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field="org_id"):
        memory_ledger.leave_life_organization(ctx, member_id, effective_on=LATER, org_id=c)
    assert memory_ledger.get_member(member_id).life_org_ids == [a, b]


def test_R2_2_life_organization_leave_a_dissolved_organisation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    a, b = org(memory_ledger, ctx), org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [a, b])
    memory_ledger.dissolve_organization(ctx, b, effective_on=DAY, reason="撤销")
    memory_ledger.leave_life_organization(ctx, member_id, effective_on=LATER, org_id=b)
    assert memory_ledger.get_member(member_id).life_org_ids == [a]


# --- R1.3: corrections -------------------------------------------------------------------------


def test_R1_3_member_correction_records_only_what_changes(memory_ledger: Ledger, ctx: CommandContext) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    memory_ledger.correct_member(
        ctx,
        member_id,
        effective_on=LATER,
        changes={
            "mobile": "139 0573 0001",
            "is_business_owner": False,
            "distribution": Distribution.INDIVIDUAL_BUSINESS,
            "name": "张三",  # unchanged
            "unit_name": None,  # not given
        },
        reason="核对",
    )
    m = memory_ledger.get_member(member_id)
    assert (m.mobile, m.is_business_owner, m.distribution) == (
        "13905730001",
        False,
        "individual_business",
    )
    event = stored_events(memory_ledger)[-1]
    assert isinstance(event, Member.DetailsCorrected)
    assert event.changes == {
        "mobile": "13905730001",
        "is_business_owner": False,
        "distribution": "individual_business",
    }


@pytest.mark.parametrize(
    "changes",
    [{}, {"mobile": "138-0573-0000"}, {"name": " 张三 ", "is_business_owner": True}, {"name": None}],
)
def test_R1_3_member_correction_rejects_a_correction_that_changes_nothing(
    memory_ledger: Ledger, ctx: CommandContext, changes: dict[str, Any]
) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field="changes"):
        memory_ledger.correct_member(ctx, member_id, effective_on=LATER, changes=changes, reason="核对")
    assert version(memory_ledger, member_id) == 1


@pytest.mark.parametrize(
    "field",
    [
        "category",
        "affiliation",
        "relationship_org_id",
        "relationship_org_name",
        "life_org_ids",
        "form_date",
        "has_left",
    ],
)
def test_R1_3_member_correction_rejects_an_uncorrectable_field(
    memory_ledger: Ledger, ctx: CommandContext, field: str
) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    with rejected(memory_ledger, errors.NothingToCorrect, rule="R1.3", field=field):
        memory_ledger.correct_member(
            ctx, member_id, effective_on=LATER, changes={"name": "李五", field: "x"}, reason="核对"
        )
    assert memory_ledger.get_member(member_id).name == "张三"


def test_R1_1_member_correction_rejects_an_invalid_mobile_or_a_blank_field(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    member_id = member(memory_ledger, ctx, [org(memory_ledger, ctx)])
    with rejected(memory_ledger, errors.InvalidMobileNumber, rule="R1.1", field="mobile"):
        memory_ledger.correct_member(
            ctx, member_id, effective_on=LATER, changes={"mobile": "1234"}, reason="核对"
        )
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="household_district"):
        memory_ledger.correct_member(
            ctx, member_id, effective_on=LATER, changes={"household_district": " "}, reason="核对"
        )
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="reason"):
        memory_ledger.correct_member(ctx, member_id, effective_on=LATER, changes={"name": "李五"}, reason="")
    assert version(memory_ledger, member_id) == 1


def test_not_found_member_correction_rejects_an_unknown_member(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    life = org(memory_ledger, ctx)
    member_id = member(memory_ledger, ctx, [life])
    assert memory_ledger.get_member(member_id).id == member_id
    for unknown in (uuid4(), life):
        with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
            memory_ledger.correct_member(
                ctx, unknown, effective_on=LATER, changes={"name": "李五"}, reason="核对"
            )


def test_R1_3_member_registered_late_keeps_both_dates(memory_ledger: Ledger, ctx: CommandContext) -> None:
    """Late entry (补录): the relationship began long before the form was filled in."""
    member_id = member(
        memory_ledger, ctx, [org(memory_ledger, ctx)], effective_on=date(2012, 7, 1), form_date=DAY
    )
    m = memory_ledger.get_member(member_id)
    assert (m.relationship_since, m.form_date) == (date(2012, 7, 1), DAY)

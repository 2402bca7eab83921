"""Liaison-point rules (R12): each leader links to one branch at a time, even under a race; a link is
ended and the leader may link again; the branch exists and is active."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.liaison import LiaisonPoint, liaison_point_id_for, normalise_leader_ref
from domain.values import OrgKind
from tests.conftest import TODAY
from tests.domain.helpers import events_after, position, rejected, replay, state
from tests.factories import DAY, establish


def branch(ledger: Ledger, ctx: CommandContext, kind: OrgKind = OrgKind.STATION_BRANCH) -> UUID:
    return establish(ledger, ctx, kind=kind, name="某市场所党支部")


def link(ledger: Ledger, ctx: CommandContext, org_id: UUID, **overrides: Any) -> UUID:
    fields: dict[str, Any] = {
        "effective_on": DAY,
        "leader_name": "李 明",
        "leader_title": "副局长",
        "org_id": org_id,
    }
    fields.update(overrides)
    return ledger.link_liaison_point(ctx, **fields).id


def test_R12_leader_links_to_one_branch(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    before = position(memory_ledger)

    point_id = link(memory_ledger, ctx, org)

    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, LiaisonPoint.Linked)
    assert point_id == liaison_point_id_for("李 明")
    point = memory_ledger.get_liaison_point(point_id)
    assert (point.leader_ref, point.leader_name, point.leader_title) == ("李 明", "李 明", "副局长")
    assert (point.org_id, point.linked_on, point.history, point.is_linked) == (org, DAY, [], True)
    assert state(replay(memory_ledger, point_id)) == state(point)


def test_R12_leader_identifier_is_normalised() -> None:
    assert normalise_leader_ref(" Ｌｉ　 Ming ") == normalise_leader_ref("li ming") == "li ming"
    assert liaison_point_id_for("ＳＪ-001") == liaison_point_id_for("sj-001")


def test_R12_a_leader_has_at_most_one_active_liaison_point(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    first, second = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    link(memory_ledger, ctx, first)
    with rejected(memory_ledger, errors.LeaderAlreadyLinked, rule="R12", field="leader_name"):
        link(memory_ledger, ctx, second, leader_name=" 李  明 ", effective_on=TODAY)  # the same leader


def test_R12_same_leader_by_reference_is_rejected_twice(memory_ledger: Ledger, ctx: CommandContext) -> None:
    first, second = branch(memory_ledger, ctx), branch(memory_ledger, ctx)
    link(memory_ledger, ctx, first, leader_ref="SJ-001", leader_name="王芳")
    with rejected(memory_ledger, errors.LeaderAlreadyLinked, rule="R12", field="leader_name"):
        link(memory_ledger, ctx, second, leader_ref=" sj-001 ", leader_name="王芳", leader_title="局长")


def test_R12_namesakes_are_told_apart_by_reference(memory_ledger: Ledger, ctx: CommandContext) -> None:
    first, second = branch(memory_ledger, ctx), branch(memory_ledger, ctx)
    a = link(memory_ledger, ctx, first, leader_ref="SJ-001", leader_name="王芳")
    b = link(memory_ledger, ctx, second, leader_ref="SJ-002", leader_name="王芳")
    assert a != b


def test_R12_concurrent_second_link_conflicts_in_the_store(
    memory_ledger: Ledger, ctx: CommandContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two officers link the same leader at once: both create the same aggregate, one wins."""
    first, second = branch(memory_ledger, ctx), branch(memory_ledger, ctx)
    link(memory_ledger, ctx, first)

    # the second command read the store before the first one saved: the leader had no aggregate yet
    monkeypatch.setattr(type(memory_ledger.repository), "__contains__", lambda self, item: False)
    with rejected(memory_ledger, errors.LeaderAlreadyLinked, rule="R12", field="leader_name"):
        link(memory_ledger, ctx, second)


def test_R12_ending_then_relinking_is_allowed(memory_ledger: Ledger, ctx: CommandContext) -> None:
    first, second = branch(memory_ledger, ctx), branch(memory_ledger, ctx, OrgKind.MARKET)
    point_id = link(memory_ledger, ctx, first)
    memory_ledger.end_liaison_point(ctx, point_id, effective_on=date(2025, 9, 1), reason="分工调整")
    before = position(memory_ledger)

    again = link(memory_ledger, ctx, second, effective_on=date(2025, 9, 1), leader_title="局长")

    assert again == point_id
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, LiaisonPoint.Relinked)
    point = memory_ledger.get_liaison_point(point_id)
    assert (point.org_id, point.linked_on, point.leader_title) == (second, date(2025, 9, 1), "局长")
    assert point.history == [
        {"org_id": first, "linked_on": DAY, "ended_on": date(2025, 9, 1), "reason": "分工调整"}
    ]
    assert state(replay(memory_ledger, point_id)) == state(point)


def test_R12_ended_link_records_the_end(memory_ledger: Ledger, ctx: CommandContext) -> None:
    point_id = link(memory_ledger, ctx, branch(memory_ledger, ctx))
    before = position(memory_ledger)
    memory_ledger.end_liaison_point(ctx, point_id, effective_on=TODAY, reason="退休")
    (event,) = events_after(memory_ledger, before)
    assert isinstance(event, LiaisonPoint.Unlinked) and event.reason == "退休"
    point = memory_ledger.get_liaison_point(point_id)
    assert (point.org_id, point.linked_on, point.is_linked) == (None, None, False)


def test_R12_only_a_current_link_is_ended(memory_ledger: Ledger, ctx: CommandContext) -> None:
    point_id = link(memory_ledger, ctx, branch(memory_ledger, ctx))
    memory_ledger.end_liaison_point(ctx, point_id, effective_on=TODAY, reason="退休")
    with rejected(memory_ledger, errors.LiaisonPointNotLinked, rule="R12", field=None):
        memory_ledger.end_liaison_point(ctx, point_id, effective_on=TODAY, reason="again")


def test_R12_link_periods_do_not_overlap(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    point_id = link(memory_ledger, ctx, org)
    with rejected(memory_ledger, errors.LiaisonPeriodInvalid, rule="R12", field="effective_on"):
        memory_ledger.end_liaison_point(ctx, point_id, effective_on=date(2025, 2, 1), reason="录错")
    memory_ledger.end_liaison_point(ctx, point_id, effective_on=date(2025, 9, 1), reason="分工调整")
    with rejected(memory_ledger, errors.LiaisonPeriodInvalid, rule="R12", field="effective_on"):
        link(memory_ledger, ctx, org, effective_on=date(2025, 8, 1))


def test_R12_liaison_branch_exists_and_is_active(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="org_id"):
        link(memory_ledger, ctx, uuid4())
    org = branch(memory_ledger, ctx)
    memory_ledger.dissolve_organization(ctx, org, effective_on=DAY, reason="撤并")
    with rejected(memory_ledger, errors.OrganizationDissolved, rule="R2.2", field="org_id"):
        link(memory_ledger, ctx, org)


def test_R12_leader_name_and_title_are_required(memory_ledger: Ledger, ctx: CommandContext) -> None:
    org = branch(memory_ledger, ctx)
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="leader_name"):
        link(memory_ledger, ctx, org, leader_name=" ")
    with rejected(memory_ledger, errors.MissingField, rule="R1.1", field="leader_title"):
        link(memory_ledger, ctx, org, leader_title="")


def test_unknown_liaison_point_is_not_found(memory_ledger: Ledger, ctx: CommandContext) -> None:
    with rejected(memory_ledger, errors.NotFound, rule="", field="id"):
        memory_ledger.end_liaison_point(ctx, uuid4(), effective_on=TODAY, reason="x")

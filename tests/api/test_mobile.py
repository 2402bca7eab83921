"""The mobile-member feedback chain through the HTTP API on both backends (R6): the steps in order,
one round per member and year, mobile members only, overdue derived; problems name field and rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

from infra.store import Container
from tests import factories as f

ACTOR = "branch-secretary-wang"  # the actor of the client's token (tests/conftest.py, S4)
HOME = "安徽省某县某镇党委"


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def get(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_problem(response: Any, status: int, field: str, rule: str | None, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem
    if code is not None:
        assert problem["type"].endswith("/" + code), problem


def setup(client: TestClient, affiliation: str = "mobile") -> tuple[str, str]:
    """The business-place branch and a member whose relationship lies outside the system."""
    org = {
        "effective_on": "2025-03-01",
        "name": "南湖区个私协会城西分会党支部",
        "kind": "branch_association",
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    branch = str(post(client, "/organizations", org)["id"])
    fields = f.member_fields([]) | {"relationship_org_name": HOME, "affiliation": affiliation}
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
    member = str(post(client, "/members", payload | {"life_org_ids": [branch]})["id"])
    return branch, member


def register(client: TestClient, branch: str, member: str, **overrides: Any) -> str:
    payload = {"effective_on": "2025-03-05", "member_id": member, "year": 2025, "business_org_id": branch}
    return str(post(client, "/mobile-rounds", payload | overrides)["id"])


FEEDBACK = {
    "effective_on": "2025-11-10",
    "assessment": "按时参加组织生活，经营守法。",
    "secretary_name": "王书记",
    "feedback_form_ref": "反馈表2025-3",
    "letter_ref": "南个协函〔2025〕3号",
}


def test_R6_2_the_chain_through_the_api(
    client: TestClient, as_actor: Callable[[str], dict[str, str]]
) -> None:
    client.headers.update(as_actor("branch-secretary-wang"))  # the actor comes from the token (S4)
    branch, member = setup(client)
    rid = register(client, branch, member)
    body = get(client, f"/mobile-rounds/{rid}")
    assert (body["step"], body["year"], body["deadline"], body["overdue"]) == (
        "registered",
        2025,
        "2025-11-30",
        False,
    )
    assert (body["business_org_id"], body["relationship_org_name"]) == (branch, HOME)
    post(
        client,
        f"/mobile-rounds/{rid}/identity-confirmation",
        {"effective_on": "2025-03-20", "certificate_ref": "证明7"},
    )
    activity = str(uuid4())
    post(
        client,
        f"/mobile-rounds/{rid}/activity-filings",
        {
            "effective_on": "2025-06-30",
            "activities": [
                {"on": "2025-06-01", "description": "主题党日"},
                {"on": "2025-06-15", "description": "党课", "activity_id": activity},
            ],
        },
    )
    post(
        client,
        f"/mobile-rounds/{rid}/activity-filings",
        {"effective_on": "2025-09-02", "activities": [{"on": "2025-09-01", "description": "志愿服务"}]},
    )
    post(client, f"/mobile-rounds/{rid}/feedback", FEEDBACK)
    post(client, f"/mobile-rounds/{rid}/receipt", {"effective_on": "2025-11-19", "archive_ref": "档案3"})
    body = get(client, f"/mobile-rounds/{rid}")
    assert body["step"] == "receipt_returned" and body["overdue"] is False
    assert body["activities"] == [
        {"on": "2025-06-01", "description": "主题党日", "activity_id": None},
        {"on": "2025-06-15", "description": "党课", "activity_id": activity},
        {"on": "2025-09-01", "description": "志愿服务", "activity_id": None},
    ]
    assert [(s["step"], s["effective_on"], s["actor"]) for s in body["steps"]] == [
        ("registered", "2025-03-05", "branch-secretary-wang"),
        ("identity_confirmed", "2025-03-20", "branch-secretary-wang"),
        ("activities_filed", "2025-06-30", "branch-secretary-wang"),
        ("activities_filed", "2025-09-02", "branch-secretary-wang"),
        ("feedback_issued", "2025-11-10", "branch-secretary-wang"),
        ("receipt_returned", "2025-11-19", "branch-secretary-wang"),
    ]
    assert (body["assessment"], body["letter_ref"], body["archive_ref"]) == (
        "按时参加组织生活，经营守法。",
        "南个协函〔2025〕3号",
        "档案3",
    )


def test_R6_2_step_out_of_order_is_rejected(client: TestClient, container: Container) -> None:
    branch, member = setup(client)
    rid = register(client, branch, member)
    before = container.ledger.recorder.max_notification_id()
    response = client.post(f"/mobile-rounds/{rid}/feedback", json=FEEDBACK)
    assert_problem(response, 422, "step", "R6.2", "MobileStepOutOfOrder")
    response = client.post(
        f"/mobile-rounds/{rid}/receipt", json={"effective_on": "2025-11-19", "archive_ref": "x"}
    )
    assert_problem(response, 422, "step", "R6.2", "MobileStepOutOfOrder")
    assert container.ledger.recorder.max_notification_id() == before


def test_R6_3_second_round_for_the_year_is_a_conflict(client: TestClient) -> None:
    branch, member = setup(client)
    register(client, branch, member)
    response = client.post(
        "/mobile-rounds",
        json={"effective_on": "2025-04-01", "member_id": member, "year": 2025, "business_org_id": branch},
    )
    assert_problem(response, 409, "member_id", "R6.3", "MobileRoundAlreadyRegistered")


def test_R6_1_non_mobile_member_is_rejected(client: TestClient) -> None:
    branch, member = setup(client, affiliation="local")
    response = client.post(
        "/mobile-rounds",
        json={"effective_on": "2025-03-05", "member_id": member, "year": 2025, "business_org_id": branch},
    )
    assert_problem(response, 422, "member_id", "R6.1", "MemberNotMobile")


def test_R6_3_incomplete_round_of_a_past_year_is_overdue(client: TestClient) -> None:
    branch, member = setup(client)
    rid = register(client, branch, member, effective_on="2024-12-01", year=2024)
    assert get(client, f"/mobile-rounds/{rid}")["overdue"] is True


def test_R6_2_schema_errors_name_the_rule(client: TestClient) -> None:
    branch, member = setup(client)
    rid = register(client, branch, member)
    post(
        client,
        f"/mobile-rounds/{rid}/identity-confirmation",
        {"effective_on": "2025-03-20", "certificate_ref": "证明7"},
    )
    response = client.post(
        f"/mobile-rounds/{rid}/activity-filings", json={"effective_on": "2025-06-30", "activities": []}
    )
    assert_problem(response, 422, "activities", "R6.2")
    response = client.post(
        f"/mobile-rounds/{rid}/activity-filings",
        json={"effective_on": "2025-06-30", "activities": [{"on": "2024-06-01", "description": "党课"}]},
    )
    assert_problem(response, 422, "activities", "R6.3", "MobileActivityOutsideRound")


def test_R6_unknown_round_is_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"/mobile-rounds/{uuid4()}"), 404, "id", None)

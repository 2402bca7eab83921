"""A member's lifecycle through the HTTP API on both backends (R13.5, R5.2, R5.3, R13.6): 201 with
the position, the new state on GET, and every rejection an RFC 9457 problem that writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "station-officer-wang"  # the actor of the client's token (tests/conftest.py, S4)


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def head(client: TestClient) -> int:
    return int(client.get("/health").json()["head"])


def rejected(
    client: TestClient, path: str, payload: dict[str, Any], status: int, field: str | None, rule: str | None
) -> dict[str, Any]:
    """The request is refused with a problem naming ``field`` and ``rule``, and nothing is written."""
    before = head(client)
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = dict(response.json())
    assert problem["status"] == status
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem
    assert head(client) == before
    return problem


def organization(client: TestClient) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": "南湖分会党支部",
        "kind": "branch_association",
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def register(client: TestClient, **overrides: Any) -> str:
    fields = f.member_fields([])
    payload = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()}
    payload |= {"life_org_ids": [organization(client)], **overrides}
    return str(post(client, "/members", payload)["id"])


def test_R13_5_probation_through_the_api(client: TestClient) -> None:
    member_id = register(client, category="probationary", admitted_on="2024-06-01")
    member = client.get(f"/members/{member_id}").json()
    assert (member["admitted_on"], member["probation_ends_on"]) == ("2024-06-01", "2025-06-01")
    post(client, f"/members/{member_id}/probation-extensions", {"effective_on": "2025-05-20", "months": 6})
    problem = rejected(
        client,
        f"/members/{member_id}/probation-completion",
        {"effective_on": "2025-11-20"},
        422,
        "effective_on",
        "R13.5",
    )
    assert problem["type"].endswith("ProbationNotOver")
    rejected(
        client,
        f"/members/{member_id}/probation-extensions",
        {"effective_on": "2025-06-20", "months": 6},
        422,
        "months",
        "R13.5",
    )
    member = client.get(f"/members/{member_id}").json()
    assert (member["category"], member["probation_extension_months"], member["probation_ends_on"]) == (
        "probationary",
        6,
        "2025-12-01",
    )


def test_R13_5_probation_completed_after_one_year(client: TestClient) -> None:
    member_id = register(client, category="probationary", admitted_on="2024-06-01")
    accepted = post(client, f"/members/{member_id}/probation-completion", {"effective_on": "2025-06-01"})
    assert accepted["id"] == member_id and accepted["position"] == head(client)
    member = client.get(f"/members/{member_id}").json()
    assert (member["category"], member["full_since"], member["probation_ends_on"]) == (
        "full",
        "2025-06-01",
        None,
    )


def test_R13_5_probationary_registration_needs_the_admission_date(client: TestClient) -> None:
    fields = f.member_fields([])
    payload = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()}
    payload |= {"life_org_ids": [organization(client)], "category": "probationary"}
    rejected(client, "/members", payload, 422, "admitted_on", "R13.5")


@pytest.mark.parametrize("months", [5, 13])
def test_R13_5_extension_outside_6_to_12_months_is_422(client: TestClient, months: int) -> None:
    member_id = register(client, category="probationary", admitted_on="2025-01-10")
    rejected(
        client,
        f"/members/{member_id}/probation-extensions",
        {"effective_on": "2025-05-20", "months": months},
        422,
        "months",
        "R13.5",
    )


def test_R5_2_R5_3_lifecycle_routes_record_the_state(client: TestClient) -> None:
    member_id = register(client)
    for path, payload in [
        ("suspensions", {"effective_on": "2025-04-01", "reason": "装修"}),
        ("resumptions", {"effective_on": "2025-05-01"}),
        ("absences", {"effective_on": "2025-05-02", "place": "上海市松江区"}),
        ("disciplinary-periods", {"effective_on": "2025-06-01", "reason": "警告处分"}),
        ("policy-violations", {"effective_on": "2025-06-02", "description": "违反计划生育政策"}),
        ("suspensions", {"effective_on": "2025-07-01"}),
    ]:
        post(client, f"/members/{member_id}/{path}", payload)
    member = client.get(f"/members/{member_id}").json()
    assert (member["business_suspended"], member["suspended_since"]) == (True, "2025-07-01")
    assert member["away_since"] == "2025-05-02"
    assert (member["in_disciplinary_period"], member["disciplinary_since"]) == (True, "2025-06-01")
    assert member["policy_violations"] == ["2025-06-02"]
    post(client, f"/members/{member_id}/returns", {"effective_on": "2025-08-01"})
    post(client, f"/members/{member_id}/disciplinary-period-ends", {"effective_on": "2025-09-01"})
    member = client.get(f"/members/{member_id}").json()
    assert (member["away_since"], member["in_disciplinary_period"], member["version"]) == (None, False, 9)


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("resumptions", "R5.2"),
        ("returns", "R5.2"),
        ("disciplinary-period-ends", "R5.3"),
    ],
)
def test_R5_2_R5_3_end_without_a_start_is_422(client: TestClient, path: str, rule: str) -> None:
    member_id = register(client)
    rejected(client, f"/members/{member_id}/{path}", {"effective_on": "2025-05-01"}, 422, None, rule)


def test_R1_3_resumption_before_its_suspension_is_422(client: TestClient) -> None:
    member_id = register(client)
    post(client, f"/members/{member_id}/suspensions", {"effective_on": "2025-06-01"})
    rejected(
        client,
        f"/members/{member_id}/resumptions",
        {"effective_on": "2025-05-01"},
        422,
        "effective_on",
        "R1.3",
    )


def test_R13_6_member_leaves_with_a_reason_and_accepts_nothing_more(client: TestClient) -> None:
    member_id = register(client)
    post(
        client,
        f"/members/{member_id}/departures",
        {"effective_on": "2025-09-01", "reason": "died", "note": "病故"},
    )
    member = client.get(f"/members/{member_id}").json()
    assert (member["has_left"], member["left_on"], member["left_reason"]) == (True, "2025-09-01", "died")
    problem = rejected(
        client, f"/members/{member_id}/suspensions", {"effective_on": "2025-10-01"}, 422, None, "R13.6"
    )
    assert problem["type"].endswith("MemberHasLeft")


def test_R13_6_departure_reason_outside_the_list_is_422(client: TestClient) -> None:
    member_id = register(client)
    before = head(client)
    response = client.post(
        f"/members/{member_id}/departures",
        json={"effective_on": "2025-09-01", "reason": "moved"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert head(client) == before


def test_lifecycle_of_an_unknown_member_is_404(client: TestClient) -> None:
    rejected(
        client,
        "/members/00000000-0000-4000-8000-000000000000/suspensions",
        {"effective_on": "2025-05-01"},
        404,
        "id",
        None,
    )

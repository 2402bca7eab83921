"""Pairings (R10, R12) and liaison points (R12) through the HTTP API on both backends; errors are
problems naming field and rule, and a rejected command writes nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

ACTOR = "bureau-officer-li"  # the actor of the client's token (tests/conftest.py, S4)


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def assert_problem(response: Any, status: int, field: str | None, rule: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem


def organization(client: TestClient, kind: str) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": f"{kind} 党组织",
        "kind": kind,
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def pairing(org_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "effective_on": "2025-03-01",
        "org_ids": org_ids,
        "agreement_reference": "共建协议〔2025〕1号",
        "agreement_signed_on": "2025-02-20",
        "plan_year": 2025,
        "plan_items": ["每季度共建交流", "党课共讲"],
        "brand": "红色市监",
        **overrides,
    }


def test_R10_pairing_lifecycle_through_the_api(client: TestClient) -> None:
    agency, station = organization(client, "agency_branch"), organization(client, "station_branch")

    pairing_id = post(client, "/pairings", pairing([station, agency]))["id"]
    got = client.get(f"/pairings/{pairing_id}").json()
    assert (got["kind"], got["lead_org_id"], got["partner_org_id"]) == ("agency_station", agency, station)
    assert (got["sequence"], got["started_on"], got["ended_on"], got["brand"]) == (
        1,
        "2025-03-01",
        None,
        "红色市监",
    )
    assert got["plans"] == {"2025": ["每季度共建交流", "党课共讲"]}

    post(
        client,
        f"/pairings/{pairing_id}/plans",
        {"effective_on": "2025-11-20", "plan_year": 2026, "plan_items": ["主题党日共参与"]},
    )
    assert client.get(f"/pairings/{pairing_id}").json()["plans"]["2026"] == ["主题党日共参与"]

    assert_problem(client.post("/pairings", json=pairing([agency, station])), 409, "org_ids", "R10")
    assert_problem(
        client.post(
            f"/pairings/{pairing_id}/plans",
            json={"effective_on": "2025-11-20", "plan_year": 2026, "plan_items": ["x"]},
        ),
        409,
        "plan_year",
        "R12",
    )

    post(client, f"/pairings/{pairing_id}/ending", {"effective_on": "2025-10-01", "reason": "协议到期"})
    got = client.get(f"/pairings/{pairing_id}").json()
    assert (got["ended_on"], got["end_reason"]) == ("2025-10-01", "协议到期")

    again = post(client, "/pairings", pairing([agency, station], effective_on="2025-10-01"))["id"]
    assert again != pairing_id
    assert client.get(f"/pairings/{again}").json()["sequence"] == 2


def test_R10_pairing_errors_are_problems(client: TestClient) -> None:
    agency, other_agency = organization(client, "agency_branch"), organization(client, "agency_branch")
    before = client.get("/health").json()
    assert_problem(client.post("/pairings", json=pairing([agency, other_agency])), 422, "org_ids", "R10")
    assert_problem(client.post("/pairings", json=pairing([agency])), 422, "org_ids", "R10")
    assert_problem(client.post("/pairings", json=pairing([agency, str(uuid4())])), 404, "org_ids", None)
    assert_problem(
        client.post("/pairings", json=pairing([agency, other_agency], plan_items=[])),
        422,
        "plan_items",
        "R12",
    )
    assert_problem(
        client.post("/pairings", json=pairing([agency, other_agency], plan_year=1999)),
        422,
        "plan_year",
        "R12",
    )
    assert_problem(client.get(f"/pairings/{uuid4()}"), 404, "id", None)
    assert client.get("/health").json() == before, "a rejected command wrote something"


def test_R12_liaison_point_lifecycle_through_the_api(client: TestClient) -> None:
    first, second = organization(client, "station_branch"), organization(client, "enterprise")
    link = {"effective_on": "2025-03-01", "leader_name": "李明", "leader_title": "副局长", "org_id": first}

    point_id = post(client, "/liaison-points", link)["id"]
    got = client.get(f"/liaison-points/{point_id}").json()
    assert (got["leader_name"], got["leader_title"], got["org_id"], got["linked_on"]) == (
        "李明",
        "副局长",
        first,
        "2025-03-01",
    )

    response = client.post("/liaison-points", json={**link, "org_id": second})
    assert_problem(response, 409, "leader_name", "R12")

    post(client, f"/liaison-points/{point_id}/ending", {"effective_on": "2025-09-01", "reason": "分工调整"})
    assert_problem(
        client.post(f"/liaison-points/{point_id}/ending", json={"effective_on": "2025-09-01", "reason": "x"}),
        422,
        None,
        "R12",
    )
    again = post(client, "/liaison-points", {**link, "org_id": second, "effective_on": "2025-09-01"})["id"]
    assert again == point_id
    got = client.get(f"/liaison-points/{point_id}").json()
    assert got["org_id"] == second
    assert got["history"] == [
        {"org_id": first, "linked_on": "2025-03-01", "ended_on": "2025-09-01", "reason": "分工调整"}
    ]
    assert_problem(client.get(f"/liaison-points/{uuid4()}"), 404, "id", None)
    assert_problem(
        client.post("/liaison-points", json={**link, "leader_title": ""}), 422, "leader_title", "R12"
    )

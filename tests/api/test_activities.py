"""Activities through the HTTP API on both backends: held with attendees and guests (R2.2), R10
details, attendance corrected, voided (R13.6); errors are problems naming field and rule."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "station-officer-wang"  # the actor of the client's token (tests/conftest.py, S4)


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
        "name": f"{kind} 党支部",
        "kind": kind,
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def member(client: TestClient, org: str) -> str:
    fields = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in f.member_fields([]).items()}
    payload = {**fields, "life_org_ids": [org], "category": "full", "affiliation": "local"}
    payload["distribution"] = "market_individual_business"
    return str(post(client, "/members", payload)["id"])


def activity(org: str, participants: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "effective_on": "2025-06-01",
        "org_id": org,
        "activity_type": "party_lecture",
        "topic": "党史专题党课",
        "host": "王书记",
        "participant_ids": participants,
        **overrides,
    }


def test_R2_2_activity_lifecycle_through_the_api(client: TestClient) -> None:
    station, market = organization(client, "station_branch"), organization(client, "market")
    own, guest = member(client, station), member(client, market)

    accepted = post(client, "/activities", activity(station, [own, guest]))
    assert accepted["position"] >= 1
    activity_id = accepted["id"]
    got = client.get(f"/activities/{activity_id}").json()
    assert (got["activity_type"], got["held_on"], got["topic"]) == (
        "party_lecture",
        "2025-06-01",
        "党史专题党课",
    )
    assert (got["attendee_ids"], got["guest_ids"], got["voided"]) == ([own], [guest], False)

    post(
        client,
        f"/activities/{activity_id}/attendance-corrections",
        {"effective_on": "2025-06-02", "participant_ids": [own], "reason": "签到表核对"},
    )
    assert client.get(f"/activities/{activity_id}").json()["guest_ids"] == []

    post(client, f"/activities/{activity_id}/voiding", {"effective_on": "2025-06-03", "reason": "重复录入"})
    got = client.get(f"/activities/{activity_id}").json()
    assert (got["voided"], got["void_reason"], got["version"]) == (True, "重复录入", 3)

    response = client.post(
        f"/activities/{activity_id}/voiding", json={"effective_on": "2025-06-03", "reason": "again"}
    )
    assert_problem(response, 422, None, "R13.6")


def test_R10_station_visit_and_pairing_exchange_through_the_api(client: TestClient) -> None:
    agency, station = organization(client, "agency_branch"), organization(client, "station_branch")
    market = organization(client, "market")
    pairing = post(
        client,
        "/pairings",
        {
            "effective_on": "2025-03-01",
            "org_ids": [agency, station],
            "agreement_reference": "共建协议〔2025〕1号",
            "agreement_signed_on": "2025-03-01",
            "plan_year": 2025,
            "plan_items": ["每季度共建交流"],
        },
    )["id"]
    exchange = post(
        client, "/activities", activity(agency, [], activity_type="pairing_exchange", pairing_id=pairing)
    )["id"]
    assert client.get(f"/activities/{exchange}").json()["pairing_id"] == pairing
    visit = post(
        client, "/activities", activity(station, [], activity_type="station_visit", visited_org_id=market)
    )
    assert client.get(f"/activities/{visit['id']}").json()["visited_org_id"] == market

    response = client.post("/activities", json=activity(station, [], activity_type="station_visit"))
    assert_problem(response, 422, "visited_org_id", "R10")


def test_activity_errors_are_problems(client: TestClient) -> None:
    station = organization(client, "station_branch")
    before = client.get("/health").json()
    assert_problem(client.post("/activities", json=activity(str(uuid4()), [])), 404, "org_id", None)
    assert_problem(
        client.post("/activities", json=activity(station, [str(uuid4())])), 404, "participant_ids", None
    )
    assert_problem(
        client.post("/activities", json=activity(station, [], activity_type="picnic")),
        422,
        "activity_type",
        "R4.3",
    )
    assert_problem(client.post("/activities", json=activity(station, [], topic="")), 422, "topic", "R1.1")
    assert_problem(client.get(f"/activities/{uuid4()}"), 404, "id", None)
    assert client.get("/health").json() == before, "a rejected command wrote something"

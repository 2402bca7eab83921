"""Star stations (R9.1), 薪火 demonstrations (R9.2) and market standardisation (R4) through the HTTP
API on both backends."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "market-division-zhao"  # the actor of the client's token (tests/conftest.py, S4)
ON = "2025-10-08"


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def assert_problem(response: Any, status: int, field: str | None, rule: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = dict(response.json())
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem
    return problem


def entity(client: TestClient, kind: str) -> str:
    fields = f.entity_fields(kind=kind)
    payload = {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in fields.items()}
    return str(post(client, "/market-entities", payload)["id"])


def organization(client: TestClient, kind: str) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": "城西市场监管所党支部",
        "kind": kind,
        "formation": "regional",
        "region_code": "330106",
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def test_R9_1_station_stars_through_the_api(client: TestClient) -> None:
    org_id = organization(client, "station_branch")
    award = {"effective_on": ON, "org_id": org_id, "level": 3, "awarding_body": "杭州市市场监督管理局"}
    star_id = post(client, "/station-stars", award)["id"]
    post(client, f"/station-stars/{star_id}/raise", {"effective_on": ON, "level": 5, "awarding_body": "省局"})
    star = client.get(f"/station-stars/{star_id}").json()
    assert (star["org_id"], star["level"], star["awarding_body"], star["awarded_on"]) == (
        org_id,
        5,
        "省局",
        ON,
    )
    response = client.post(
        f"/station-stars/{star_id}/raise",
        json={"effective_on": ON, "level": 4, "awarding_body": "省局"},
    )
    assert_problem(response, 422, "level", "R9.1")
    post(client, f"/station-stars/{star_id}/revocation", {"effective_on": ON, "reason": "复评未达标"})
    assert post(client, "/station-stars", award | {"level": 4})["id"] == star_id
    assert client.get(f"/station-stars/{star_id}").json()["level"] == 4


def test_R9_1_only_station_branches_get_stars_through_the_api(client: TestClient) -> None:
    org_id = organization(client, "agency_branch")
    payload = {"effective_on": ON, "org_id": org_id, "level": 5, "awarding_body": "杭州市市场监督管理局"}
    response = client.post("/station-stars", json=payload)
    assert_problem(response, 422, "org_id", "R9.1")


def test_R9_2_xinhuo_demonstrations_through_the_api(client: TestClient) -> None:
    entity_id = entity(client, "internet_enterprise")
    org_id = organization(client, "branch_association")
    member = f.member_fields([], entity_id=entity_id)
    payload = {
        k: (v.isoformat() if isinstance(v, date) else v.value if hasattr(v, "value") else v)
        for k, v in member.items()
    } | {"life_org_ids": [org_id]}
    member_id = post(client, "/members", payload)["id"]
    award = {
        "effective_on": ON,
        "member_id": member_id,
        "entity_id": entity_id,
        "awarding_body": "西湖区市场监管局",
    }
    demo_id = post(client, "/xinhuo-demonstrations", award | {"focus_industry": "online_platforms"})["id"]
    demo = client.get(f"/xinhuo-demonstrations/{demo_id}").json()
    assert (demo["subject"], demo["category"], demo["focus_industry"], demo["active"]) == (
        "household",
        "household_micro_internet",
        "online_platforms",
        True,
    )
    response = client.post("/xinhuo-demonstrations", json=award)
    assert_problem(response, 409, "id", "R9.2")
    post(client, f"/xinhuo-demonstrations/{demo_id}/revocation", {"effective_on": ON, "reason": "失信"})
    assert client.get(f"/xinhuo-demonstrations/{demo_id}").json()["active"] is False
    response = client.post("/xinhuo-demonstrations", json=award | {"category": "household_market_individual"})
    assert_problem(response, 422, "category", "R9.2")


def test_R4_market_standardisation_through_the_api(client: TestClient) -> None:
    entity_id = entity(client, "farmers_market")
    record_id = post(
        client,
        "/market-standardisations",
        {"effective_on": ON, "entity_id": entity_id, "scope": "county_central_farmers"},
    )["id"]
    criteria = [
        "member_information",
        "organization_coverage",
        "institutions",
        "role",
        "education",
        "guarantees",
    ]
    for criterion in criteria:
        payload: dict[str, Any] = {
            "effective_on": ON,
            "criterion": criterion,
            "evidence": "台账",
            "evidence_on": ON,
        }
        if criterion == "education":
            payload["training_dates"] = ["2025-04-10", "2025-09-18"]
        if criterion == "guarantees":
            payload["party_affairs_workers"] = 1
        post(client, f"/market-standardisations/{record_id}/criteria", payload)
    record = client.get(f"/market-standardisations/{record_id}").json()
    assert record["standardised"] is True and record["met_criteria"] == criteria
    assert record["criteria"]["education"]["training_dates"] == ["2025-04-10", "2025-09-18"]
    post(
        client,
        f"/market-standardisations/{record_id}/lapses",
        {"effective_on": ON, "criterion": "role", "reason": "未挂牌"},
    )
    assert client.get(f"/market-standardisations/{record_id}").json()["standardised"] is False
    version = client.get(f"/market-standardisations/{record_id}").json()["version"]
    response = client.post(
        f"/market-standardisations/{record_id}/criteria",
        json={
            "effective_on": ON,
            "criterion": "education",
            "evidence": "台账",
            "evidence_on": ON,
            "training_dates": [ON],
        },
    )
    assert_problem(response, 422, "training_dates", "R4")
    response = client.post(
        f"/market-standardisations/{record_id}/criteria",
        json={
            "effective_on": ON,
            "criterion": "guarantees",
            "evidence": "台账",
            "evidence_on": ON,
            "party_affairs_workers": 3,
        },
    )
    assert_problem(response, 422, "party_affairs_workers", "R4")
    assert client.get(f"/market-standardisations/{record_id}").json()["version"] == version


def test_R4_only_markets_are_enrolled_through_the_api(client: TestClient) -> None:
    entity_id = entity(client, "individual_business")
    response = client.post(
        "/market-standardisations",
        json={"effective_on": ON, "entity_id": entity_id, "scope": "five_star"},
    )
    assert_problem(response, 422, "entity_id", "R4")

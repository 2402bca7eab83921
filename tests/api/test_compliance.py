"""Compliance statistics through the HTTP API on both backends: training rates (R7), themed party days
and R10 frequencies, volunteers (R11.3); both time axes; 422 problems for bad parameters."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "association-officer-li"  # the actor of the client's token (tests/conftest.py, S4)


def post(client: TestClient, path: str, payload: dict[str, Any]) -> str:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def organization(client: TestClient, kind: str, region: str = "330402") -> str:
    payload = {
        "effective_on": "2025-01-10",
        "name": f"{kind} 党组织",
        "kind": kind,
        "formation": "regional",
        "region_code": region,
        "entity_ids": [],
    }
    return post(client, "/organizations", payload)


def member(client: TestClient, org: str, affiliation: str, **overrides: Any) -> str:
    fields = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in f.member_fields([]).items()}
    payload = {**fields, "effective_on": "2025-01-10", "life_org_ids": [org], "affiliation": affiliation}
    return post(client, "/members", {**payload, **overrides})


def activity(client: TestClient, org: str, day: str, kind: str, participants: list[str], **extra: Any) -> str:
    payload = {
        "effective_on": day,
        "org_id": org,
        "activity_type": kind,
        "topic": "主题",
        "host": "王书记",
        "participant_ids": participants,
        **extra,
    }
    return post(client, "/activities", payload)


def test_training_rates_beside_R7_and_as_known_at_a_moment(client: TestClient) -> None:
    assoc = organization(client, "branch_association", "330411")
    market = organization(client, "market")
    sub = member(client, assoc, "subordinate", relationship_org_id=assoc)
    mobile = member(client, market, "mobile", name="流动")
    member(client, market, "local", name="属地")
    activity(client, market, "2025-04-01", "training", [mobile])
    time.sleep(0.05)
    filed_at = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    activity(client, assoc, "2025-05-01", "training", [sub])  # entered late, held before 30 June

    now = get(client, "/statistics/training", year=2025, as_of="2025-06-30")
    assert (now["year"], now["period_end"], now["members"], now["trained"]) == (2025, "2025-06-30", 3, 2)
    by = now["by_affiliation"]
    assert by["subordinate"] == {
        "members": 1,
        "trained": 1,
        "rate": 1.0,
        "target_rate": 1.0,
        "min_sessions_each": None,
        "meets_target": True,
    }
    assert (by["mobile"]["rate"], by["mobile"]["target_rate"], by["mobile"]["meets_target"]) == (
        1.0,
        0.8,
        True,
    )
    assert (by["local"]["trained"], by["local"]["min_sessions_each"], by["local"]["meets_target"]) == (
        0,
        1,
        False,
    )

    filed = get(client, "/statistics/training", as_of="2025-06-30", as_known_at=filed_at)
    assert filed["by_affiliation"]["subordinate"]["trained"] == 0
    assert filed["as_known_at"] is not None and filed["position"] < now["position"]
    county = get(client, "/statistics/training", region="330411")
    assert county["members"] == 1 and county["year"] == 2025  # default year: as_of's (today)
    assert get(client, "/statistics/training", org_id=market)["members"] == 2


def test_compliance_and_volunteers(client: TestClient) -> None:
    station = organization(client, "station_branch")
    agency = organization(client, "agency_branch")
    market = organization(client, "market")
    local = member(client, market, "local")
    pairing_payload = {
        "effective_on": "2025-02-01",
        "org_ids": [station, market],
        "agreement_reference": "共建协议〔2025〕1号",
        "agreement_signed_on": "2025-01-20",
        "plan_year": 2025,
        "plan_items": ["每月走访"],
    }
    pairing = post(client, "/pairings", pairing_payload)
    post(client, "/pairings", {**pairing_payload, "org_ids": [agency, station]})
    activity(client, station, "2025-02-05", "station_visit", [], visited_org_id=market)
    activity(client, station, "2025-03-05", "pairing_exchange", [local], pairing_id=pairing)
    activity(client, market, "2025-02-20", "themed_party_day", [local])
    activity(client, market, "2025-03-01", "volunteer_service", [local])

    report = get(client, "/statistics/compliance", year=2025, as_of="2025-04-15", region="330400")
    assert report["period_end"] == "2025-04-15"
    themed = {d["org_id"]: d["months"] for d in report["themed_days"]}
    assert themed[market] == {
        "due": [1, 2, 3, 4],
        "held": [2],
        "missed": [1, 3],
        "pending": [4],
        "compliant": False,
    }
    exchanges = {e["pairing_id"]: e for e in report["exchanges"]}
    assert exchanges[pairing]["exchanges"] == 1
    assert exchanges[pairing]["quarters"] == {
        "due": [1, 2],
        "held": [1],
        "missed": [],
        "pending": [2],
        "compliant": True,
    }
    (visit,) = report["visits"]
    assert (visit["station_org_id"], visit["partner_org_id"], visit["visits"]) == (station, market, 1)
    assert (visit["months"]["held"], visit["months"]["missed"]) == ([2], [3])

    volunteers = get(client, "/statistics/volunteers", as_of="2025-12-31", org_id=market)
    (figures,) = volunteers["organizations"]
    assert (figures["members"], figures["volunteers"], figures["share"]) == (1, 1, 1.0)
    assert (figures["target_share"], figures["meets_share"]) == (0.8, True)
    assert (figures["activities"], figures["min_activities"], figures["meets_activities"]) == (1, 2, False)
    earlier = get(client, "/statistics/volunteers", as_of="2025-02-28", org_id=market)
    assert earlier["organizations"][0]["volunteers"] == 0
    head = client.get("/health").json()["head"]
    assert get(client, "/statistics/volunteers", min_position=head)["position"] == head


@pytest.mark.parametrize("path", ["/statistics/training", "/statistics/compliance", "/statistics/volunteers"])
@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"region": "3304"}, "region", "R1.3"),
        ({"org_id": "not-a-uuid"}, "org_id", "R1.3"),
        ({"year": 1999}, "year", None),
        ({"year": 2025, "as_of": "2024-12-31"}, "year", "R3"),
        ({"as_of": "30 June"}, "as_of", "R1.3"),
        ({"as_known_at": "soon"}, "as_known_at", "R1.3"),
        ({"min_position": -1}, "min_position", "R1.3"),
    ],
)
def test_bad_parameters_are_422_problems(
    client: TestClient, path: str, params: dict[str, Any], field: str, rule: str | None
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"] == field and (rule is None or e["rule"] == rule) for e in errors), errors


def test_an_unknown_organisation_gives_empty_figures(client: TestClient) -> None:
    assert get(client, "/statistics/volunteers", org_id=str(uuid4()))["organizations"] == []
    assert get(client, "/statistics/training", org_id=str(uuid4()))["members"] == 0

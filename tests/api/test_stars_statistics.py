"""GET /statistics/stars: the stars figures (R5, R11.2, R9.1, R9.2, R4) through the HTTP API, as of a
date and as known at a moment, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domain.envelope import CommandContext
from domain.values import OrgKind
from infra.store import Container
from tests import factories as f

ACTOR = "market-division-zhao"  # the actor of the client's token (tests/conftest.py, S4)
PATH = "/statistics/stars"
BUREAU = "嘉兴市市场监督管理局"


def post(client: TestClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


def organization(client: TestClient, kind: str, region: str = "330402") -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": "城西市场监管所党支部",
        "kind": kind,
        "formation": "regional",
        "region_code": region,
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def stars(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(PATH, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_stars_figures_through_the_api(client: TestClient) -> None:
    five = organization(client, "station_branch")
    organization(client, "station_branch")
    organization(client, "station_branch", region="330106")
    award = {"effective_on": "2025-06-01", "org_id": five, "level": 5, "awarding_body": BUREAU}
    post(client, "/station-stars", award)
    xinhuo = {"effective_on": "2025-07-01", "org_id": five, "awarding_body": BUREAU}
    post(client, "/xinhuo-demonstrations", xinhuo)

    body = stars(client, region="330400", as_of="2025-11-20")
    assert (body["region"], body["year"], body["as_of"], body["as_known_at"]) == (
        "330400",
        2025,
        "2025-11-20",
        None,
    )
    assert body["position"] == client.get("/health").json()["head"]
    station = body["station_stars"]
    assert (station["stations"], station["five_star"], station["unstarred"]) == (2, 1, 1)
    assert station["by_level"] == {"3": 0, "4": 0, "5": 1}
    assert (station["five_star_target"], station["three_plus_share"], station["three_plus_target_share"]) == (
        25,
        0.5,
        1.0,
    )
    assert body["xinhuo"]["by_category"]["organization"] == {
        "count": 1,
        "target": 100,
        "share_of_target": 0.01,
    }
    branch = body["strongest_branch"]
    assert (branch["branches"], branch["awarded"], branch["share"]) == (2, 0, 0.0)
    assert (branch["target_share"], branch["target_year"], branch["meets_target"]) == (0.5, 2023, False)
    assert body["pioneer"]["by_stars"] == {str(n): 0 for n in range(1, 6)}
    assert body["markets"]["total"] == {"enrolled": 0, "standardised": 0, "standardised_share": None}

    # the year and the organisation narrow the figures
    assert stars(client, year=2021, as_of="2025-11-20")["strongest_branch"]["target_share"] == 0.3
    narrowed = stars(client, org_id=five, as_of="2025-11-20")
    assert (narrowed["org_id"], narrowed["station_stars"]["stations"]) == (five, 1)
    # before the award
    assert stars(client, region="330400", as_of="2025-05-31")["station_stars"]["five_star"] == 0


def test_R3_stars_as_known_at_a_moment(client: TestClient, container: Container) -> None:
    ledger, ctx = container.ledger, CommandContext.new("station")
    station = f.establish(ledger, ctx, [], name="城南所党支部", kind=OrgKind.STATION_BRANCH)
    container.runner.catch_up()
    filed = datetime.now(UTC)
    # entered after the report was filed, effective in May
    ledger.award_station_star(
        ctx, effective_on=date(2025, 5, 20), org_id=station, level=4, awarding_body=BUREAU
    )
    container.runner.catch_up()

    params = {"region": "330400", "as_of": "2025-06-30"}
    july = stars(client, **params, as_known_at=filed.isoformat())
    now = stars(client, **params)
    assert july["station_stars"]["by_level"]["4"] == 0 and july["as_known_at"] is not None
    assert now["station_stars"]["by_level"]["4"] == 1
    assert july["position"] < now["position"]
    head = client.get("/health").json()["head"]
    assert stars(client, **params, min_position=head)["station_stars"]["starred"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "3304"}, "region"),
        ({"year": 1999}, "year"),
        ({"year": "abc"}, "year"),
        ({"org_id": "not-a-uuid"}, "org_id"),
        ({"as_of": "2025-13-01"}, "as_of"),
        ({"as_known_at": "yesterday"}, "as_known_at"),
        ({"min_position": -1}, "min_position"),
    ],
)
def test_bad_parameters_are_422_problems(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get(PATH, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_unknown_organisation_gives_empty_figures(client: TestClient) -> None:
    body = stars(client, org_id=str(uuid4()))
    assert body["station_stars"]["stations"] == 0 and body["pioneer"]["enrolled"] == 0

"""Strongest-branch ratings through the HTTP API on both backends (R11.4-R11.7): commands answer 201,
the read answers the derived disqualification, and rule breaks are problems naming field and rule."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

ACTOR = "agency-committee-liu"  # the actor of the client's token (tests/conftest.py, S4)


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


def organization(client: TestClient, kind: str = "agency_branch", parent_id: str | None = None) -> str:
    payload: dict[str, Any] = {
        "effective_on": "2025-03-01",
        "name": "市局机关第一党支部",
        "kind": kind,
        "formation": "regional",
        "region_code": "150600",
        "entity_ids": [],
        "parent_id": parent_id,
    }
    return str(post(client, "/organizations", payload)["id"])


def start(client: TestClient, org_id: str) -> str:
    payload = {"effective_on": "2025-03-01", "org_id": org_id, "year": 2025}
    return str(post(client, "/strongest-branch-ratings", payload)["id"])


def evaluate(client: TestClient, rating_id: str, **fields: Any) -> dict[str, Any]:
    return post(
        client, f"/strongest-branch-ratings/{rating_id}/evaluations", {"effective_on": "2025-11-15", **fields}
    )


def step(client: TestClient, rating_id: str, path: str, status: int = 201, **fields: Any) -> Any:
    response = client.post(
        f"/strongest-branch-ratings/{rating_id}/{path}",
        json={"effective_on": "2025-11-15", **fields},
    )
    if status == 201:
        assert response.status_code == 201, response.text
    return response


def test_R11_6_rating_from_self_creation_to_award_through_the_api(client: TestClient) -> None:
    old_parent, new_parent = organization(client), organization(client)
    rating_id = start(client, organization(client, parent_id=old_parent))
    evaluate(client, rating_id, kind="organization", rating="excellent")
    evaluate(client, rating_id, kind="members", participants=30, excellent=28)
    evaluate(client, rating_id, kind="mass", respondents=200, dissatisfied=12, verified=True)
    evaluate(client, rating_id, kind="social", result="exempt", no_public_function=True)
    step(client, rating_id, "applications", level="agency_committee", to_body="机关党委")
    step(client, rating_id, "decisions", level="agency_committee", passed=True)
    step(client, rating_id, "applications", level="upper", to_body="市直机关工委")
    step(client, rating_id, "decisions", level="upper", passed=True, reason="好中选优")
    step(client, rating_id, "award", start_year=2026, end_year=2027)
    step(client, rating_id, "parent-changes", to_parent_id=new_parent)
    rating = client.get(f"/strongest-branch-ratings/{rating_id}").json()
    assert (rating["year"], rating["parent_id"], rating["awarded_level"]) == (2025, new_parent, "upper")
    assert (rating["term_start_year"], rating["term_end_year"]) == (2026, 2027)
    assert rating["awarded"] is True and rating["disqualified"] is False
    assert rating["missing_evaluations"] == [] and rating["disqualification_reasons"] == []
    assert rating["decisions"]["upper"] == {"passed": True, "reason": "好中选优", "decided_on": "2025-11-15"}
    assert rating["version"] == 11
    step(client, rating_id, "revocation", reason="支部书记受到党纪处分")
    rating = client.get(f"/strongest-branch-ratings/{rating_id}").json()
    assert rating["awarded"] is False and rating["revocation_reason"] == "支部书记受到党纪处分"


def test_R11_5_disqualification_is_derived_and_blocks_the_pass(client: TestClient) -> None:
    rating_id = start(client, organization(client))
    evaluate(client, rating_id, kind="organization", rating="excellent")
    evaluate(client, rating_id, kind="members", participants=10, excellent=10)
    evaluate(client, rating_id, kind="mass", respondents=10, dissatisfied=0)
    evaluate(client, rating_id, kind="social", result="clean")
    step(client, rating_id, "disqualifications", kind="head_under_investigation", occurred_on="2025-09-01")
    rating = client.get(f"/strongest-branch-ratings/{rating_id}").json()
    assert rating["disqualified"] is True
    assert rating["disqualification_reasons"] == ["head_under_investigation"]
    step(client, rating_id, "applications", level="agency_committee", to_body="机关党委")
    before = client.get(f"/strongest-branch-ratings/{rating_id}").json()["version"]
    response = step(client, rating_id, "decisions", status=422, level="agency_committee", passed=True)
    problem = assert_problem(response, 422, None, "R11.5")
    assert problem["type"].endswith("StrongestBranchDisqualified")
    assert client.get(f"/strongest-branch-ratings/{rating_id}").json()["version"] == before


def test_R11_4_rejections_name_field_and_rule(client: TestClient) -> None:
    rating_id = start(client, organization(client))
    response = step(client, rating_id, "evaluations", status=422, kind="members", participants=5, excellent=6)
    assert_problem(response, 422, "excellent", "R11.4")
    response = step(client, rating_id, "evaluations", status=422, kind="social", result="exempt")
    assert_problem(response, 422, "result", "R11.4")
    response = step(client, rating_id, "evaluations", status=422, kind="mass", respondents=-1, dissatisfied=0)
    assert_problem(response, 422, "respondents", "R11.4")
    response = step(
        client, rating_id, "applications", status=422, level="agency_committee", to_body="机关党委"
    )
    assert_problem(response, 422, "level", "R11.4")
    assert client.get(f"/strongest-branch-ratings/{rating_id}").json()["version"] == 1


def test_R11_6_one_rating_per_branch_and_year_through_the_api(client: TestClient) -> None:
    org_id = organization(client)
    start(client, org_id)
    payload = {"effective_on": "2025-03-01", "org_id": org_id, "year": 2025}
    response = client.post("/strongest-branch-ratings", json=payload)
    assert_problem(response, 409, "org_id", "R11.6")
    response = step(client, str(uuid4()), "award", status=404, start_year=2026, end_year=2026)
    assert_problem(response, 404, "id", None)
    assert client.get(f"/strongest-branch-ratings/{uuid4()}").status_code == 404

"""The HTTP API on both backends: commands answer 201 with id and position, reads answer the
state, and every error is an RFC 9457 problem naming the field and the rule, with nothing written."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "station-officer-wang"  # the actor of the client's token (tests/conftest.py, S4)


def body(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k.endswith("_id") and v else v)
        for k, v in fields.items()
    }


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def assert_problem(response: Any, status: int, field: str, rule: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys()
    assert problem["status"] == status
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem
    return dict(problem)


def member_body(org: str, **overrides: Any) -> dict[str, Any]:
    return body(f.member_fields([])) | {"life_org_ids": [org]} | overrides


def register_entity(client: TestClient, **overrides: Any) -> str:
    return str(post(client, "/market-entities", body(f.entity_fields(**overrides)))["id"])


def establish(client: TestClient, entity_ids: list[str], formation: str, **overrides: Any) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": "某党支部",
        "kind": "market" if entity_ids else "branch_association",
        "formation": formation,
        "region_code": "330402",
        "entity_ids": entity_ids,
        **overrides,
    }
    return str(post(client, "/organizations", payload)["id"])


def test_entity_lifecycle_through_the_api(client: TestClient) -> None:
    accepted = post(client, "/market-entities", body(f.entity_fields(name="嘉兴·南湖菜市场")))
    assert accepted["position"] >= 1
    entity_id = accepted["id"]
    entity = client.get(f"/market-entities/{entity_id}").json()
    assert entity["name"] == "嘉兴·南湖菜市场" and entity["status"] == "operating"
    changed = post(
        client,
        f"/market-entities/{entity_id}/status",
        {"effective_on": "2025-04-01", "status": "suspended", "reason": "装修"},
    )
    assert changed["position"] > accepted["position"]
    post(
        client,
        f"/market-entities/{entity_id}/corrections",
        {"effective_on": "2025-04-02", "industry": "农副产品", "reason": "核对"},
    )
    entity = client.get(f"/market-entities/{entity_id}").json()
    assert (entity["status"], entity["industry"], entity["version"]) == ("suspended", "农副产品", 3)


def test_R13_1_coverage_figures_through_the_api(client: TestClient) -> None:
    alone = register_entity(client)
    pair = [register_entity(client) for _ in range(2)]
    reached = register_entity(client)
    register_entity(client)
    establish(client, [alone], "standalone")
    joint = establish(client, pair, "joint")
    station = establish(client, [], "regional", kind="station_branch")
    post(
        client,
        f"/organizations/{station}/guidance-officers",
        {"effective_on": "2025-03-02", "officer": "李指导员", "entity_ids": [reached]},
    )
    member_org = establish(client, [], "regional", name="南湖分会")
    post(client, "/members", member_body(member_org))

    coverage = client.get("/coverage", params={"region": "330400"}).json()
    assert coverage["total"] == {
        "operating": 5,
        "standalone": 1,
        "joint": 2,
        "work_only": 1,
        "uncovered": 1,
        "organization_coverage_rate": 0.6,
        "work_coverage_share": 0.2,
    }
    assert coverage["members"]["total"] == 1
    assert coverage["position"] == client.get("/health").json()["head"]
    org = client.get(f"/organizations/{joint}").json()
    assert sorted(org["entity_ids"]) == sorted(pair) and org["formation"] == "joint"
    grouped = client.get("/coverage", params={"group_by": "station"}).json()
    assert list(grouped["groups"]) == ["南湖区城西市场监管所"]


def test_R13_1_entity_already_covered_is_409_and_writes_nothing(client: TestClient) -> None:
    entity = register_entity(client)
    establish(client, [entity], "standalone")
    head = client.get("/health").json()["head"]
    response = client.post(
        "/organizations",
        json={
            "effective_on": "2025-03-01",
            "name": "第二个",
            "kind": "market",
            "formation": "standalone",
            "region_code": "330402",
            "entity_ids": [entity],
        },
    )
    assert_problem(response, 409, "entity_ids", "R13.1")
    assert client.get("/health").json()["head"] == head


def test_R13_2_joint_with_one_entity_is_422(client: TestClient) -> None:
    entity = register_entity(client)
    response = client.post(
        "/organizations",
        json={
            "effective_on": "2025-03-01",
            "name": "联合",
            "kind": "market",
            "formation": "joint",
            "region_code": "330402",
            "entity_ids": [entity],
        },
    )
    problem = assert_problem(response, 422, "entity_ids", "R13.2")
    assert problem["type"].endswith("/JointCoversTwoToFive")


@pytest.mark.parametrize(
    ("override", "field", "rule"),
    [
        ({"credit_code": "91330400MA2B3C4D5X"}, "credit_code", "R1.3"),
        ({"region_code": "33040"}, "region_code", "R1.3"),
        ({"kind": "bank"}, "kind", "R1.1"),
        ({"effective_on": "2099-01-01"}, "effective_on", "R1.3"),
        ({"unexpected": 1}, "unexpected", "R1.3"),
    ],
)
def test_bad_entity_input_is_a_problem(
    client: TestClient, override: dict[str, Any], field: str, rule: str
) -> None:
    response = client.post("/market-entities", json=body(f.entity_fields()) | override)
    assert_problem(response, 422, field, rule)
    assert client.get("/health").json()["head"] == 0


def test_R1_1_member_form_errors_name_their_field(client: TestClient) -> None:
    org = establish(client, [], "regional")
    payload = member_body(org)
    assert_problem(client.post("/members", json=payload | {"mobile": "12345678901"}), 422, "mobile", "R1.1")
    assert_problem(client.post("/members", json=payload | {"life_org_ids": []}), 422, "life_org_ids", "R2.2")
    assert_problem(client.post("/members", json=payload | {"name": "  "}), 422, "name", "R1.1")
    assert_problem(
        client.post(
            "/members", json=payload | {"affiliation": "subordinate", "relationship_org_name": "外地党委"}
        ),
        422,
        "relationship_org_id",
        "R2.1",
    )
    member = post(client, "/members", payload)["id"]
    got = client.get(f"/members/{member}").json()
    assert got["name"] == "张三" and got["life_org_ids"] == [org]


def test_R2_3_transfer_through_the_api(client: TestClient) -> None:
    here = establish(client, [], "regional", name="南湖分会")
    there = establish(client, [], "regional", name="秀洲分会", region_code="330411")
    member = post(client, "/members", member_body(here))["id"]
    post(
        client,
        f"/members/{member}/transfers",
        {"effective_on": "2025-06-01", "to_org_id": there, "affiliation": "subordinate"},
    )
    got = client.get(f"/members/{member}").json()
    assert (got["relationship_org_id"], got["affiliation"], got["relationship_since"]) == (
        there,
        "subordinate",
        "2025-06-01",
    )
    again = client.post(
        f"/members/{member}/transfers", json={"effective_on": "2025-06-02", "to_org_id": there}
    )
    assert_problem(again, 422, "to_org_id", "R2.3")


def test_unknown_aggregate_is_404_problem(client: TestClient) -> None:
    response = client.get(f"/members/{uuid4()}")
    assert_problem(response, 404, "id", None)
    response = client.post(
        f"/market-entities/{uuid4()}/status", json={"effective_on": "2025-01-01", "status": "suspended"}
    )
    assert_problem(response, 404, "id", None)


def test_health_and_openapi_answer(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/market-entities", "/organizations", "/members", "/coverage", "/health"} <= set(paths)


def test_command_id_header_makes_a_command_idempotent(client: TestClient) -> None:
    payload = body(f.entity_fields())
    headers = {"X-Command-ID": str(uuid4()), "X-Correlation-ID": str(uuid4())}
    first = client.post("/market-entities", json=payload, headers=headers)
    again = client.post("/market-entities", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert client.get("/health").json()["head"] == first.json()["position"]
    bad = client.post("/market-entities", json=payload, headers={"X-Command-ID": "not-a-uuid"})
    assert_problem(bad, 422, "x-command-id", "R1.3")


def test_health_reports_a_failed_projection(client: TestClient) -> None:
    parts = client.app.state.parts  # type: ignore[attr-defined]
    original = parts.runner.projections["coverage"]

    class Broken(type(original)):  # type: ignore[misc]
        def handle_batch(self, conn: Any, batch: Any) -> None:
            raise RuntimeError("broken handler")

    parts.runner.projections["coverage"] = Broken(original.history)
    accepted = post(client, "/market-entities", body(f.entity_fields()))  # the event is stored anyway
    health = client.get("/health").json()
    assert health["status"] == "failed" and "broken handler" in health["failures"]["coverage"]
    assert health["head"] == accepted["position"] and health["projections"]["coverage"] == 0
    parts.runner.projections["coverage"] = original
    parts.runner.catch_up()
    assert client.get("/health").json()["status"] == "ok"

"""Mobile-member chain statistics through the HTTP API on both backends (R6): the rounds of a year
with their steps, overdue on as_of (R6.3), totals; both time axes; 422 problems for bad parameters."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "branch-secretary-wang"  # the actor of the client's token (tests/conftest.py, S4)
HOME = "安徽省某县某镇党委"


def post(client: TestClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/statistics/mobile-chain", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def branch(client: TestClient, region_code: str) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": f"{region_code}分会党支部",
        "kind": "branch_association",
        "formation": "regional",
        "region_code": region_code,
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def mobile_round(client: TestClient, org: str, name: str) -> str:
    fields = f.member_fields([]) | {"relationship_org_name": HOME, "affiliation": "mobile", "name": name}
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
    member = str(post(client, "/members", payload | {"life_org_ids": [org]})["id"])
    body = {"effective_on": "2025-03-05", "member_id": member, "year": 2025, "business_org_id": org}
    return str(post(client, "/mobile-rounds", body)["id"])


def complete(client: TestClient, rid: str, receipt_on: str = "2025-09-01") -> None:
    post(
        client,
        f"/mobile-rounds/{rid}/identity-confirmation",
        {"effective_on": "2025-04-01", "certificate_ref": "证明"},
    )
    activity = {"on": "2025-05-01", "description": "主题党日"}
    post(
        client,
        f"/mobile-rounds/{rid}/activity-filings",
        {"effective_on": "2025-05-02", "activities": [activity]},
    )
    feedback = {
        "effective_on": "2025-08-01",
        "assessment": "表现良好",
        "secretary_name": "王书记",
        "feedback_form_ref": "反馈表",
        "letter_ref": "函",
    }
    post(client, f"/mobile-rounds/{rid}/feedback", feedback)
    post(client, f"/mobile-rounds/{rid}/receipt", {"effective_on": receipt_on, "archive_ref": "档案"})


def test_R6_chain_statistics_through_the_api(client: TestClient) -> None:
    jiaxing, hangzhou = branch(client, "330402"), branch(client, "330102")
    done = mobile_round(client, jiaxing, "甲")
    complete(client, done)
    waiting = mobile_round(client, jiaxing, "乙")
    mobile_round(client, hangzhou, "丙")
    head = client.get("/health").json()["head"]

    body = get(client, year=2025, as_of="2025-12-01")
    assert body["deadline"] == "2025-11-30" and body["position"] == head and body["year"] == 2025
    assert body["totals"] == {
        "rounds": 3,
        "completed": 1,
        "completed_by_deadline": 1,
        "completion_rate": pytest.approx(1 / 3),
        "overdue": 2,
        "by_step": {
            "registered": 2,
            "identity_confirmed": 0,
            "activities_filed": 0,
            "feedback_issued": 0,
            "receipt_returned": 1,
        },
    }
    rounds = {r["round_id"]: r for r in body["rounds"]}
    assert rounds[done]["step_dates"]["receipt_returned"] == "2025-09-01" and not rounds[done]["overdue"]
    assert rounds[waiting]["overdue"] and rounds[waiting]["step_dates"]["identity_confirmed"] is None

    # before the deadline nothing is overdue; year defaults to as_of's
    november = get(client, as_of="2025-11-30")
    assert november["year"] == 2025 and november["totals"]["overdue"] == 0
    city = get(client, year=2025, region="330400", as_of="2025-12-01")
    assert city["totals"]["rounds"] == 2 and city["totals"]["completion_rate"] == 0.5
    assert {r["member_name"] for r in city["rounds"]} == {"甲", "乙"}
    registered = get(client, year=2025, step="registered", as_of="2025-12-01")
    assert {r["member_name"] for r in registered["rounds"]} == {"乙", "丙"}
    overdue = get(client, year=2025, overdue="true", as_of="2025-12-01", limit=1)
    assert len(overdue["rounds"]) == 1 and overdue["next_cursor"] is not None
    rest = get(client, year=2025, overdue="true", as_of="2025-12-01", limit=1, after=overdue["next_cursor"])
    assert len(rest["rounds"]) == 1 and rest["next_cursor"] is None
    # as of August, the completed round was at feedback
    august = get(client, year=2025, as_of="2025-08-15")
    assert august["totals"]["by_step"]["feedback_issued"] == 1 and august["totals"]["completed"] == 0


def test_as_known_at_leaves_out_a_late_receipt(client: TestClient) -> None:
    org = branch(client, "330402")
    rid = mobile_round(client, org, "甲")
    post(
        client,
        f"/mobile-rounds/{rid}/identity-confirmation",
        {"effective_on": "2025-04-01", "certificate_ref": "证明"},
    )
    time.sleep(0.05)
    filed_at = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    # entered late: the rest of the chain, effective before 30 November
    activity = {"on": "2025-05-01", "description": "主题党日"}
    post(
        client,
        f"/mobile-rounds/{rid}/activity-filings",
        {"effective_on": "2025-05-02", "activities": [activity]},
    )
    feedback = {
        "effective_on": "2025-08-01",
        "assessment": "表现良好",
        "secretary_name": "王书记",
        "feedback_form_ref": "反馈表",
        "letter_ref": "函",
    }
    post(client, f"/mobile-rounds/{rid}/feedback", feedback)
    post(client, f"/mobile-rounds/{rid}/receipt", {"effective_on": "2025-09-01", "archive_ref": "档案"})

    filed = get(client, year=2025, as_of="2025-12-01", as_known_at=filed_at)
    now = get(client, year=2025, as_of="2025-12-01")
    assert (filed["totals"]["completed"], filed["totals"]["overdue"]) == (0, 1)
    assert filed["rounds"][0]["step"] == "identity_confirmed" and filed["rounds"][0]["overdue"]
    assert (now["totals"]["completed"], now["totals"]["overdue"]) == (1, 0)
    head = client.get("/health").json()["head"]
    assert get(client, year=2025, min_position=head)["position"] == head


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year": 1999}, "year"),
        ({"year": "twenty"}, "year"),
        ({"region": "33"}, "region"),
        ({"step": "done"}, "step"),
        ({"overdue": "perhaps"}, "overdue"),
        ({"after": "nope"}, "after"),
        ({"limit": 0}, "limit"),
        ({"as_of": "30-11-2025"}, "as_of"),
        ({"as_known_at": "soon"}, "as_known_at"),
        ({"min_position": -5}, "min_position"),
    ],
)
def test_bad_parameters_are_422_problems(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get("/statistics/mobile-chain", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field for e in response.json()["errors"])

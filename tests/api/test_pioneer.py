"""The pioneer index through the HTTP API on both backends (R5): a whole round, and the problems
for a second round, a late round date, out-of-scope members, steps out of order, excellent below
four stars and a round closed without the follow-ups."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests import factories as f
from tests.api.test_lifecycle import head, organization, post, rejected

STEPS = [
    ("self_evaluation", "2025-10-10"),
    ("peer_evaluation", "2025-10-20"),
    ("organization_review", "2025-11-01"),
    ("public_notice", "2025-11-10"),
]


def member(client: TestClient, org: str, **overrides: Any) -> str:
    fields = f.member_fields([])
    payload = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()}
    return str(post(client, "/members", payload | {"life_org_ids": [org], **overrides})["id"])


def open_round(client: TestClient, org: str, round_date: str = "2025-11-15") -> str:
    payload = {"effective_on": "2025-10-01", "org_id": org, "year": 2025, "round_date": round_date}
    return str(post(client, "/pioneer-rounds", payload)["id"])


def enrol(client: TestClient, round_id: str, member_id: str) -> None:
    post(
        client,
        f"/pioneer-rounds/{round_id}/enrolments",
        {"effective_on": "2025-10-01", "member_id": member_id},
    )


def steps(client: TestClient, round_id: str, member_id: str) -> None:
    for step, day in STEPS:
        post(
            client,
            f"/pioneer-rounds/{round_id}/steps",
            {"effective_on": day, "member_id": member_id, "step": step},
        )


def result(member_id: str, stars: int, excellent: bool = False) -> dict[str, Any]:
    return {"effective_on": "2025-11-16", "member_id": member_id, "stars": stars, "excellent": excellent}


def test_R5_a_whole_round_through_the_api(client: TestClient) -> None:
    org = organization(client)
    star, weak = member(client, org, name="王五"), member(client, org, name="赵六")
    probationary = member(client, org, name="钱七", category="probationary", admitted_on="2025-01-10")
    round_id = open_round(client, org)
    for member_id in (star, weak, probationary):
        enrol(client, round_id, member_id)
    for member_id in (star, weak):
        steps(client, round_id, member_id)
    post(client, f"/pioneer-rounds/{round_id}/results", result(star, 5, excellent=True))
    post(client, f"/pioneer-rounds/{round_id}/results", result(weak, 2))
    rejected(
        client,
        f"/pioneer-rounds/{round_id}/closure",
        {"effective_on": "2025-11-20"},
        422,
        "member_id",
        "R5.5",
    )
    post(
        client,
        f"/pioneer-rounds/{round_id}/talks",
        {"effective_on": "2025-11-17", "member_id": weak, "talked_by": "支部书记王某", "note": "谈心谈话"},
    )
    post(
        client,
        f"/pioneer-rounds/{round_id}/support-pairings",
        {"effective_on": "2025-11-17", "member_id": weak, "partner": "王五"},
    )
    closed = post(client, f"/pioneer-rounds/{round_id}/closure", {"effective_on": "2025-11-20"})
    assert closed == {"id": round_id, "position": head(client)}

    round_ = client.get(f"/pioneer-rounds/{round_id}").json()
    assert (round_["org_id"], round_["year"], round_["round_date"], round_["closed"]) == (
        org,
        2025,
        "2025-11-15",
        True,
    )
    by_name = {e["name"]: e for e in round_["enrolments"]}
    assert (by_name["王五"]["stars"], by_name["王五"]["excellent"]) == (5, True)
    assert by_name["王五"]["steps"] == dict(STEPS)
    assert (by_name["赵六"]["stars"], by_name["赵六"]["talked_by"], by_name["赵六"]["support_partner"]) == (
        2,
        "支部书记王某",
        "王五",
    )
    assert (by_name["钱七"]["standing"], by_name["钱七"]["reasons"]) == ("excluded", ["probationary member"])
    assert client.get(f"/members/{star}").json()["pioneer_ratings"] == {"2025": 5}
    assert client.get(f"/members/{star}").json()["excellent_years"] == [2025]


def test_R5_4_second_round_for_the_same_organisation_and_year_is_409(client: TestClient) -> None:
    org = organization(client)
    open_round(client, org)
    payload = {"effective_on": "2025-10-02", "org_id": org, "year": 2025, "round_date": "2025-11-30"}
    problem = rejected(client, "/pioneer-rounds", payload, 409, "year", "R5.4")
    assert problem["type"].endswith("PioneerRoundAlreadyOpened")


def test_R5_6_round_dated_after_november_is_422(client: TestClient) -> None:
    payload = {
        "effective_on": "2025-10-01",
        "org_id": organization(client),
        "year": 2025,
        "round_date": "2025-12-01",
    }
    rejected(client, "/pioneer-rounds", payload, 422, "round_date", "R5.6")


def test_R5_1_member_of_another_organisation_is_422(client: TestClient) -> None:
    round_id = open_round(client, organization(client))
    stranger = member(client, organization(client))
    payload = {"effective_on": "2025-10-01", "member_id": stranger}
    rejected(client, f"/pioneer-rounds/{round_id}/enrolments", payload, 422, "member_id", "R5.1")


def test_R5_3_vetoed_member_goes_through_no_step(client: TestClient) -> None:
    org = organization(client)
    member_id = member(client, org)
    post(
        client,
        f"/members/{member_id}/disciplinary-periods",
        {"effective_on": "2025-07-01", "reason": "警告处分"},
    )
    round_id = open_round(client, org)
    enrol(client, round_id, member_id)
    (enrolment,) = client.get(f"/pioneer-rounds/{round_id}").json()["enrolments"]
    assert enrolment["standing"] == "vetoed"
    payload = {"effective_on": "2025-10-10", "member_id": member_id, "step": "self_evaluation"}
    rejected(client, f"/pioneer-rounds/{round_id}/steps", payload, 422, "member_id", "R5.3")


def test_R5_4_step_out_of_order_is_422(client: TestClient) -> None:
    org = organization(client)
    member_id = member(client, org)
    round_id = open_round(client, org)
    enrol(client, round_id, member_id)
    payload = {"effective_on": "2025-10-10", "member_id": member_id, "step": "peer_evaluation"}
    rejected(client, f"/pioneer-rounds/{round_id}/steps", payload, 422, "step", "R5.4")


def test_R5_5_excellent_requires_four_stars_and_stars_are_1_to_5(client: TestClient) -> None:
    org = organization(client)
    member_id = member(client, org)
    round_id = open_round(client, org)
    enrol(client, round_id, member_id)
    steps(client, round_id, member_id)
    rejected(
        client,
        f"/pioneer-rounds/{round_id}/results",
        result(member_id, 3, excellent=True),
        422,
        "excellent",
        "R5.5",
    )
    rejected(client, f"/pioneer-rounds/{round_id}/results", result(member_id, 6), 422, "stars", "R5.5")
    assert client.get(f"/members/{member_id}").json()["pioneer_ratings"] == {}


def test_unknown_round_is_404(client: TestClient) -> None:
    response = client.get("/pioneer-rounds/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")

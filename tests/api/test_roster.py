"""The member roster and member counts through the HTTP API on both backends: figures, both time
axes (as_of, as_known_at), cursor pages, and 422 problems for bad parameters."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories as f

ACTOR = "station-officer-wang"  # the actor of the client's token (tests/conftest.py, S4)


def post(client: TestClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def establish(client: TestClient, name: str, region_code: str) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": name,
        "kind": "branch_association",
        "formation": "regional",
        "region_code": region_code,
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def register(client: TestClient, org: str, **overrides: Any) -> str:
    fields = f.member_fields([]) | {"life_org_ids": [org]} | overrides
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
    return str(post(client, "/members", payload)["id"])


def test_roster_and_counts_through_the_api(client: TestClient) -> None:
    nanhu = establish(client, "南湖分会", "330402")
    xiuzhou = establish(client, "秀洲分会", "330411")
    first = register(client, nanhu, name="甲")
    register(
        client,
        nanhu,
        name="乙",
        affiliation="subordinate",
        relationship_org_id=xiuzhou,
        is_business_owner=False,
        distribution="individual_business",
    )
    register(client, xiuzhou, name="丙", category="probationary", admitted_on="2024-10-01")
    post(client, f"/members/{first}/departures", {"effective_on": "2025-05-01", "reason": "transferred_out"})
    head = client.get("/health").json()["head"]

    roster = get(client, "/roster", as_of="2025-06-30")
    assert {m["name"] for m in roster["members"]} == {"甲", "乙", "丙"}
    assert roster["position"] == head and roster["as_of"] == "2025-06-30" and roster["next_cursor"] is None
    yi = next(m for m in roster["members"] if m["name"] == "乙")
    assert (yi["home_org_id"], yi["home_org_name"], yi["home_region_code"]) == (xiuzhou, "秀洲分会", "330411")
    assert yi["life_org_ids"] == [nanhu] and yi["affiliation"] == "subordinate"
    jia = next(m for m in roster["members"] if m["name"] == "甲")
    assert (jia["present"], jia["left_on"], jia["left_reason"]) == (False, "2025-05-01", "transferred_out")

    assert [m["name"] for m in get(client, "/roster", region="330402", as_of="2025-06-30")["members"]] == [
        "甲"
    ]
    present = get(client, "/roster", present="true", as_of="2025-06-30")["members"]
    assert {m["name"] for m in present} == {"乙", "丙"}
    assert {m["name"] for m in get(client, "/roster", org_id=nanhu)["members"]} == {"甲", "乙"}
    assert [m["name"] for m in get(client, "/roster", category="probationary")["members"]] == ["丙"]
    assert [m["name"] for m in get(client, "/roster", distribution="individual_business")["members"]] == [
        "乙"
    ]
    # before the departure (as of April) 甲 is present
    assert get(client, "/roster", as_of="2025-04-01", present="true")["members"][0]["present"] is True

    # pages of one, following next_cursor
    seen, params = [], {"limit": 1}
    while True:
        page = get(client, "/roster", **params)
        seen += [m["member_id"] for m in page["members"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 1, "after": page["next_cursor"]}
    assert len(seen) == len(set(seen)) == 3 and seen == sorted(seen)

    stats = get(client, "/statistics/members", region="330400", as_of="2025-06-30")
    assert stats["total"] == 2 and stats["position"] == head and stats["region"] == "330400"
    assert stats["by_category"] == {"full": 1, "probationary": 1}
    assert stats["by_affiliation"] == {"subordinate": 1, "local": 1}
    assert stats["by_distribution"] == {"individual_business": 1, "market_individual_business": 1}
    assert (stats["business_owners"], stats["not_business_owners"]) == (1, 1)
    assert stats["by_home_organization"] == [
        {"org_id": xiuzhou, "name": "秀洲分会", "region_code": "330411", "members": 2}
    ]
    assert stats["left_by_reason"] == {"transferred_out": 1}
    april = get(client, "/statistics/members", region="330402", as_of="2025-04-01")
    assert april["total"] == 1 and april["left_by_reason"] == {}


def test_counts_as_known_at_a_moment_leave_out_a_late_entry(client: TestClient) -> None:
    org = establish(client, "南湖分会", "330402")
    register(client, org, name="早")
    time.sleep(0.05)
    filed_at = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    register(client, org, name="补录", effective_on="2025-05-12", form_date="2025-05-12")

    filed = get(client, "/statistics/members", as_of="2025-06-30", as_known_at=filed_at)
    now = get(client, "/statistics/members", as_of="2025-06-30")
    assert filed["total"] == 1 and now["total"] == 2
    assert filed["as_known_at"] is not None and filed["position"] < now["position"]
    roster = get(client, "/roster", as_of="2025-06-30", as_known_at=filed_at)
    assert [m["name"] for m in roster["members"]] == ["早"]
    head = client.get("/health").json()["head"]
    assert get(client, "/roster", min_position=head)["position"] == head


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/roster", {"region": "3304"}, "region"),
        ("/roster", {"category": "honorary"}, "category"),
        ("/roster", {"affiliation": "floating"}, "affiliation"),
        ("/roster", {"distribution": "online"}, "distribution"),
        ("/roster", {"org_id": "not-a-uuid"}, "org_id"),
        ("/roster", {"after": "x"}, "after"),
        ("/roster", {"limit": 0}, "limit"),
        ("/roster", {"limit": 501}, "limit"),
        ("/roster", {"present": "maybe"}, "present"),
        ("/roster", {"as_of": "2025-13-01"}, "as_of"),
        ("/statistics/members", {"region": "abcdef"}, "region"),
        ("/statistics/members", {"as_known_at": "yesterday"}, "as_known_at"),
        ("/statistics/members", {"min_position": -1}, "min_position"),
    ],
)
def test_bad_parameters_are_422_problems(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field for e in response.json()["errors"])

"""The audit trail (issue #4 item 4), time travel for one aggregate (item 3) and read-your-writes
(item 7) through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from fastapi.testclient import TestClient

from tests import factories as f
from tests.api.test_routes import body


def test_audit_filters_and_pages_in_a_stable_order(
    client: TestClient, as_actor: Callable[[str], dict[str, str]]
) -> None:
    correlation = str(uuid4())
    first = client.post("/market-entities", json=body(f.entity_fields()), headers=as_actor("clerk-a")).json()
    client.post(
        "/market-entities",
        json=body(f.entity_fields(effective_on=f.DAY.replace(month=1))),
        headers={**as_actor("clerk-b"), "X-Correlation-ID": correlation},
    )
    for i in range(3):
        client.post(
            f"/market-entities/{first['id']}/corrections",
            json={"effective_on": "2025-04-01", "name": f"更正{i}", "reason": "核对"},
            headers=as_actor("clerk-a"),
        )
    everything = client.get("/audit").json()["entries"]
    assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)
    assert len(everything) == 5
    by_actor = client.get("/audit", params={"actor": "clerk-b"}).json()["entries"]
    assert len(by_actor) == 1 and by_actor[0]["correlation_id"] == correlation
    corrections = client.get(
        "/audit", params={"aggregate_type": "MarketEntity", "event_type": "DetailsCorrected"}
    ).json()["entries"]
    assert [e["changes"]["changes"]["name"] for e in corrections] == ["更正0", "更正1", "更正2"]
    assert all(e["actor"] == "clerk-a" and e["effective_on"] == "2025-04-01" for e in corrections)
    early = client.get("/audit", params={"effective_to": "2025-01-31"}).json()["entries"]
    assert len(early) == 1 and early[0]["actor"] == "clerk-b"
    none_yet = client.get("/audit", params={"recorded_to": "2000-01-01T00:00:00Z"}).json()["entries"]
    assert none_yet == []

    pages, cursor = [], 0
    while True:
        page = client.get("/audit", params={"limit": 2, "cursor": cursor}).json()
        pages.append([e["position"] for e in page["entries"]])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert [p for page in pages for p in page] == [e["position"] for e in everything]
    history = client.get(f"/history/{first['id']}").json()["entries"]
    assert [e["aggregate_version"] for e in history] == [1, 2, 3, 4]


def test_one_aggregate_as_of_a_date_and_as_known_at_a_moment(client: TestClient) -> None:
    entity = client.post("/market-entities", json=body(f.entity_fields(effective_on=f.DAY))).json()["id"]
    before_correction = datetime.now(UTC).isoformat()
    client.post(
        f"/market-entities/{entity}/corrections",
        json={"effective_on": "2025-05-01", "industry": "餐饮服务", "reason": "核对"},
    )
    now = client.get(f"/market-entities/{entity}").json()
    assert now["industry"] == "餐饮服务"
    april = client.get(f"/market-entities/{entity}", params={"as_of": "2025-04-30"}).json()
    assert april["industry"] == "商品交易市场"
    known_then = client.get(
        f"/market-entities/{entity}", params={"as_of": "2025-06-30", "as_known_at": before_correction}
    ).json()
    assert known_then["industry"] == "商品交易市场"
    missing = client.get(f"/market-entities/{entity}", params={"as_of": "2024-01-01"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_min_position_waits_then_answers_503(client: TestClient) -> None:
    parts = client.app.state.parts  # type: ignore[attr-defined]
    accepted = client.post("/market-entities", json=body(f.entity_fields())).json()
    assert client.get("/coverage", params={"min_position": accepted["position"]}).status_code == 200
    parts.inline_projections, parts.read_wait_seconds = False, 0.3
    later = client.post("/market-entities", json=body(f.entity_fields())).json()
    for path in ("/coverage", "/audit", "/statistics/members", "/roster"):
        response = client.get(path, params={"min_position": later["position"]})
        assert response.status_code == 503, path
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"].startswith("application/problem+json")
    parts.runner.catch_up()
    assert (
        client.get("/coverage", params={"min_position": later["position"]}).json()["total"]["operating"] == 2
    )

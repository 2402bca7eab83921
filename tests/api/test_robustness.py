"""Bad input and concurrency (issue #7 items 5 and 6): oversized bodies are 413, conflicting
commands each get a success or a 409, never a lost update."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from api.limits import MAX_BODY_BYTES
from tests import factories as f
from tests.api.test_routes import body


def test_oversized_body_is_413_and_writes_nothing(client: TestClient) -> None:
    payload = body(f.entity_fields()) | {"name": "店" * MAX_BODY_BYTES}
    response = client.post("/market-entities", json=payload)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413
    assert client.get("/health").json()["head"] == 0


def test_chunked_oversized_body_is_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    response = client.post("/market-entities", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_chinese_text_round_trips(client: TestClient) -> None:
    name = "嘉兴市南湖区「红船」农贸市场（东栅）𠀀"
    created = client.post("/market-entities", json=body(f.entity_fields(name=name))).json()
    assert client.get(f"/market-entities/{created['id']}").json()["name"] == name


def test_100_conflicting_commands_each_succeed_or_conflict(client: TestClient) -> None:
    entity = client.post("/market-entities", json=body(f.entity_fields())).json()["id"]

    def correct(i: int) -> int:
        response = client.post(
            f"/market-entities/{entity}/corrections",
            json={"effective_on": "2025-03-02", "name": f"并发更正{i:03d}", "reason": "核对"},
        )
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["errors"][0]["field"] == "id"
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(correct, range(100)))
    successes = statuses.count(201)
    assert successes >= 1
    state = client.get(f"/market-entities/{entity}").json()
    assert state["version"] == 1 + successes  # every success is one event, nothing lost or doubled
    history = client.get(f"/history/{entity}", params={"limit": 1000}).json()["entries"]
    assert len(history) == 1 + successes
    assert history[-1]["changes"]["changes"]["name"] == state["name"]


def test_a_number_is_not_a_date_and_moments_answer_with_their_zone(client: TestClient) -> None:
    """Found by schemathesis: pydantic read ``as_of=0`` as Unix time, and ``as_known_at`` was answered
    without a zone (outside ``format: date-time``)."""
    for params in ({"as_of": "0"}, {"as_known_at": "1700000000"}):
        response = client.get("/coverage", params=params)
        assert response.status_code == 422, response.text
        field = next(iter(params))
        assert response.json()["errors"][0]["field"] == field
    answered = client.get("/coverage", params={"as_known_at": "2025-06-30T08:00:00+08:00"}).json()
    assert answered["as_known_at"] == "2025-06-30T00:00:00Z"

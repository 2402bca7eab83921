"""GET /metrics (issue #5): the relay position, each projection's position and lag, each worker offset."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import insert

from domain.envelope import CommandContext
from infra.relay import relay_metadata, relay_positions
from infra.store import Container
from projections.tables import worker_offsets
from tests import factories as f

SAMPLE = re.compile(r'^([a-z_]+)(\{([a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*)\})? (-?[0-9.e+]+)$')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of a Prometheus text exposition, checking every line's syntax."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', match.group(3) or ""))
        samples[(match.group(1), labels)] = float(match.group(5))
    return samples


def test_metrics_report_positions_lags_relay_and_worker_offsets(
    client: TestClient, container: Container, ctx: CommandContext
) -> None:
    for _ in range(3):
        f.register_entity(container.ledger, ctx)  # recorded behind the API: the projections lag
    head = container.runner.head()
    relay_metadata.create_all(container.engine)
    with container.engine.begin() as conn:
        conn.execute(insert(relay_positions).values(name="kafka:dangjian.events", position=2))
        conn.execute(
            insert(worker_offsets),
            [
                {"group": "g", "topic": "dangjian.events", "partition": 0, "offset": 7, "position": 2},
                {"group": "g", "topic": "dangjian.events", "partition": 1, "offset": 0, "position": 0},
            ],
        )

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE dangjian_projection_lag_events gauge" in response.text
    samples = parse(response.text)
    assert samples[("dangjian_store_head_position", frozenset())] == head
    for name in container.runner.projections:
        label = frozenset({("projection", name)})
        assert samples[("dangjian_projection_position", label)] == 0
        assert samples[("dangjian_projection_lag_events", label)] == head
        assert samples[("dangjian_projection_failed", label)] == 0
    relay = frozenset({("relay", "kafka:dangjian.events")})
    assert samples[("dangjian_relay_position", relay)] == 2
    assert samples[("dangjian_relay_lag_events", relay)] == head - 2
    partition0 = frozenset({("group", "g"), ("topic", "dangjian.events"), ("partition", "0")})
    assert samples[("dangjian_worker_offset", partition0)] == 7
    assert samples[("dangjian_worker_position", partition0)] == 2

    container.runner.catch_up()
    samples = parse(client.get("/metrics").text)
    assert samples[("dangjian_projection_lag_events", frozenset({("projection", "coverage")}))] == 0


def test_metrics_without_a_relay_table(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = parse(response.text)
    assert not any(name.startswith("dangjian_relay_") for name, _ in samples)
    assert not any(name.startswith("dangjian_worker_") for name, _ in samples)

"""``GET /metrics``: positions and lags in the Prometheus text format (version 0.0.4), written by hand.

- ``dangjian_store_head_position``: the last position in the event store;
- ``dangjian_projection_position{projection}`` and ``dangjian_projection_lag_events{projection}``: each
  projection's checkpoint and how many positions it is behind the head;
- ``dangjian_projection_failed{projection}``: 1 when the projection stopped on an error in this process;
- ``dangjian_relay_position{relay}``: the last position the relay saw acknowledged (``relay_positions``),
  and ``dangjian_relay_lag_events{relay}``;
- ``dangjian_worker_offset{group,topic,partition}`` and ``dangjian_worker_position{group,topic,partition}``:
  each Kafka projection worker partition's next offset and the last position it applied
  (``worker_offsets``).

Relay and workers write to the database, so any API process reports them; tables that do not exist
yet (no relay ever ran) report nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, inspect, select

from api.deps import PartsDep
from projections.tables import worker_offsets as W

router = APIRouter(tags=["health"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The relay's table belongs to infra.relay; the API only reads it (api/ does not import infra/).
_relay_positions = Table(
    "relay_positions",
    MetaData(),
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

Sample = tuple[dict[str, str], float]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")
    return lines


def _rows(conn: Connection, table: Table) -> list[tuple[object, ...]]:
    if not inspect(conn).has_table(table.name):
        return []
    return [tuple(row) for row in conn.execute(select(table)).all()]


def render(
    head: int,
    projections: dict[str, int],
    failed: Iterable[str],
    relays: list[tuple[object, ...]],
    workers: list[tuple[object, ...]],
) -> str:
    failures = set(failed)
    lines = [
        *_family("dangjian_store_head_position", "gauge", "Last position in the event store.", [({}, head)]),
        *_family(
            "dangjian_projection_position",
            "gauge",
            "Checkpoint of each projection: every event at or below it is applied.",
            [({"projection": n}, p) for n, p in sorted(projections.items())],
        ),
        *_family(
            "dangjian_projection_lag_events",
            "gauge",
            "Positions between the store head and the projection's checkpoint.",
            [({"projection": n}, max(0, head - p)) for n, p in sorted(projections.items())],
        ),
        *_family(
            "dangjian_projection_failed",
            "gauge",
            "1 when the projection stopped on an error in this process.",
            [({"projection": n}, 1 if n in failures else 0) for n in sorted(projections)],
        ),
        *_family(
            "dangjian_relay_position",
            "gauge",
            "Last position the relay published and the broker acknowledged.",
            [({"relay": str(name)}, int(str(position))) for name, position in sorted(relays, key=str)],
        ),
        *_family(
            "dangjian_relay_lag_events",
            "gauge",
            "Positions between the store head and the relay's position.",
            [({"relay": str(n)}, max(0, head - int(str(p)))) for n, p in sorted(relays, key=str)],
        ),
    ]
    labelled = [
        ({"group": str(g), "topic": str(t), "partition": str(p)}, int(str(o)), int(str(pos)))
        for g, t, p, o, pos in sorted(workers, key=lambda r: (str(r[0]), str(r[1]), int(str(r[2]))))
    ]
    lines += _family(
        "dangjian_worker_offset",
        "gauge",
        "Next Kafka offset a projection worker group applies on a partition.",
        [(labels, offset) for labels, offset, _ in labelled],
    )
    lines += _family(
        "dangjian_worker_position",
        "gauge",
        "Last event position a projection worker group applied from a partition.",
        [(labels, position) for labels, _, position in labelled],
    )
    return "\n".join(lines) + "\n"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(parts: PartsDep) -> PlainTextResponse:
    """Positions and lags of the store, the projections, the relay and the workers (Prometheus text)."""
    head = parts.runner.head()
    with parts.engine.connect() as conn:
        projections = parts.runner.positions(conn)
        relays = _rows(conn, _relay_positions)
        workers = [
            tuple(row)
            for row in conn.execute(select(W.c.group, W.c.topic, W.c.partition, W.c.offset, W.c.position))
        ]
    body = render(head, projections, parts.runner.failures, relays, workers)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)

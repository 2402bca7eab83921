"""The projection worker reads a partition batch's events from the store in one query (issue #6, P6)
and gets exactly the objects a catch-up from the store would apply (issue #5)."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.utils import get_topic

from domain.application import Ledger
from domain.envelope import CommandContext
from infra.store import Container
from infra.worker import EventNotInStore, ProjectionWorker
from tests import factories as f


def _envelope(event: Any, position: int) -> dict[str, Any]:
    return {
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "topic": get_topic(type(event)),
        "position": position,
    }


def test_events_for_reads_the_batch_from_the_store_decoded(
    container: Container, ledger: Ledger, ctx: CommandContext
) -> None:
    entity = f.register_entity(ledger, ctx)
    org = f.establish(ledger, ctx, [entity])
    member = f.register_member(ledger, ctx, [org]).id
    worker = ProjectionWorker(ledger, container.engine, [], consumer=None, topic="t", group="g")  # type: ignore[arg-type]
    stored = [e for aggregate in (member, entity, org) for e in ledger.events.get(aggregate)]
    envelopes = [_envelope(e, i + 1) for i, e in enumerate(stored)]
    with container.engine.connect() as conn:
        events = worker.events_for(conn, envelopes)
    assert [type(e) for e in events] == [type(e) for e in stored]
    assert [vars(e) for e in events] == [vars(e) for e in stored]
    assert events[0].name == "张三"  # personal data decrypted with the member's key (issue #7)

    with container.engine.connect() as conn:
        missing = envelopes[0] | {"aggregate_version": 99}
        with pytest.raises(EventNotInStore, match="not in the store"):
            worker.events_for(conn, [envelopes[1], missing])
        wrong = envelopes[1] | {"topic": envelopes[0]["topic"]}
        with pytest.raises(EventNotInStore, match="the message says"):
            worker.events_for(conn, [wrong])

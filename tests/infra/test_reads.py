"""Reading notifications as tuples (issue #6, P3; ``infra.reads``): the same answers as eventsourcing's."""

from __future__ import annotations

import itertools

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from domain.envelope import CommandContext
from domain.values import EntityStatus
from infra.reads import TupleNotifications
from infra.store import Container
from tests import factories as f
from tests.conftest import fixed_today

pytestmark = pytest.mark.postgres


def test_P3_notifications_read_as_tuples_are_eventsourcings_for_every_kind_of_page(pg: Container) -> None:
    ctx = CommandContext.new("officer")
    for _ in range(3):
        entity = f.register_entity(pg.ledger, ctx)
        pg.ledger.change_entity_status(
            ctx, entity, effective_on=fixed_today(), status=EntityStatus.DEREGISTERED
        )
    recorder = pg.ledger.recorder
    assert isinstance(recorder, TupleNotifications)  # the group-commit recorder reads this way
    head = recorder.max_notification_id()
    assert head is not None and head >= 6
    topics = sorted({n.topic for n in recorder.select_notifications(start=None, limit=100)})
    assert len(topics) >= 2
    pages = 0
    for start, limit, stop, chosen, inclusive in itertools.product(
        (None, 1, 3, head), (1, 4, 100), (None, 4, head), ((), topics[:1], topics), (True, False)
    ):
        kwargs = {"stop": stop, "topics": chosen, "inclusive_of_start": inclusive}
        ours = recorder.select_notifications(start, limit, **kwargs)
        theirs = PostgresApplicationRecorder.select_notifications(recorder, start, limit, **kwargs)
        assert ours == theirs, (start, limit, kwargs)
        assert all(type(n.state) is bytes for n in ours)
        pages += bool(ours)
    assert pages > 100  # most of the pages asked hold notifications: the comparison compared something

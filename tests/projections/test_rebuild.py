"""Rebuilds without downtime (issue #4 item 6): queries are answered throughout, commands keep
arriving, an interrupted rebuild resumes, and the rebuilt tables equal the incremental ones."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from domain.envelope import CommandContext
from infra.demo import load_demo
from infra.store import Container
from projections.coverage import CoverageView
from tests import factories as f
from tests.projections.test_coverage import snapshot


def coverage_now(container: Container) -> dict[str, Any]:
    with container.engine.connect() as conn:
        report = CoverageView().report(conn, region="330400")
    return {"total": vars(report.total), "members": report.members}


def test_queries_are_answered_throughout_a_rebuild(container: Container) -> None:
    load_demo(container.ledger, seed=11)
    runner = container.runner
    runner.catch_up()
    expected = coverage_now(container)
    with container.engine.connect() as conn:
        before = snapshot(conn)

    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                answers.append(coverage_now(container))
            except BaseException as e:  # any failure of a read is a downtime
                errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    seen_during: list[int] = []

    def progress(name: str, position: int, head: int) -> None:
        count = len(answers)
        while len(answers) < count + 2 and reader.is_alive():  # let reads interleave with the replay
            stop.wait(0.01)
        seen_during.append(len(answers))

    try:
        runner.batch_size = 200
        runner.rebuild(progress=progress, restart=True)
        after_switch = len(answers)
        while len(answers) < after_switch + 3:
            stop.wait(0.01)
    finally:
        stop.set()
        reader.join()

    assert not errors
    assert len(seen_during) >= 4 and seen_during[-1] > seen_during[0]
    assert all(answer == expected for answer in answers), "a query saw a partial or empty table"
    with container.engine.connect() as conn:
        assert snapshot(conn) == before


def test_commands_during_a_rebuild_are_in_the_switched_tables(container: Container) -> None:
    load_demo(container.ledger, seed=12)
    runner = container.runner
    runner.catch_up()
    ctx = CommandContext.new("during")
    added: list[Any] = []

    def progress(name: str, position: int, head: int) -> None:
        if not added:  # a command and a live catch-up in the middle of the replay
            added.append(f.register_entity(container.ledger, ctx, region_code="330411"))
            runner.catch_up()

    runner.batch_size = 300
    runner.rebuild(progress=progress, restart=True)
    runner.catch_up()
    with container.engine.connect() as conn:
        assert added[0] in CoverageView().entity_ids(conn, "330411")
        rebuilt = snapshot(conn)
    runner.rebuild(restart=True)
    with container.engine.connect() as conn:
        assert snapshot(conn) == rebuilt


def test_an_interrupted_rebuild_resumes(container: Container) -> None:
    load_demo(container.ledger, seed=13)
    runner = container.runner
    runner.catch_up()
    with container.engine.connect() as conn:
        before = snapshot(conn)
    total = runner.head() * len(runner.projections)

    def interrupt(name: str, position: int, head: int) -> None:
        raise KeyboardInterrupt

    runner.batch_size = 250
    with pytest.raises(KeyboardInterrupt):
        runner.rebuild(progress=interrupt, restart=True)
    with container.engine.connect() as conn:
        assert snapshot(conn) == before  # the live tables never noticed
    resumed = runner.rebuild()
    assert 0 < resumed < total
    with container.engine.connect() as conn:
        assert snapshot(conn) == before


def test_the_rebuild_area_keeps_only_the_indexes_the_replay_reads(container: Container) -> None:
    """Issue #6 (P3): the area's tables are written by the replay, which reads them only through
    ``ix_<table>_subject``; the live tables keep every index their queries use."""
    from sqlalchemy import inspect

    runner = container.runner
    area = runner.rebuild_area
    assert area is not None
    tables = [t for p in runner.projections.values() for t in p.tables]
    area.prepare(tables, restart=True)
    schema = area.area.strip('"')
    try:
        with area.engine.connect() as conn:
            inspector = inspect(conn)
            for table in tables:
                kept = {ix["name"] for ix in inspector.get_indexes(table.name, schema=schema)}
                assert kept == {
                    ix.name for ix in table.indexes if ix.unique or str(ix.name).endswith("_subject")
                }
        with container.engine.connect() as conn:
            inspector = inspect(conn)
            for table in tables:
                assert {ix["name"] for ix in inspector.get_indexes(table.name)} == {
                    ix.name for ix in table.indexes
                }
    finally:
        area.drop(tables)
    assert any(str(ix.name).endswith("_known") for t in tables for ix in t.indexes)


def test_the_switch_copies_only_the_tables_whose_rows_changed(container: Container) -> None:
    """Issue #6 (P3): a live table that already holds the rebuilt rows is left as it is (same row
    ids); one that differs, even by a row written twice, gets the rebuilt rows."""
    from sqlalchemy import insert, select

    from projections.tables import coverage_entities as E
    from projections.tables import coverage_organizations as O

    ledger, runner, ctx = container.ledger, container.runner, CommandContext.new("station")
    entities = [f.register_entity(ledger, ctx, name=f"市场{i}") for i in range(3)]
    f.establish(ledger, ctx, entities[:2])
    runner.catch_up()
    with container.engine.connect() as conn:
        before = snapshot(conn)
        organizations = sorted(conn.execute(select(O)).all())
    with container.engine.begin() as conn:
        doubled = conn.execute(select(E).where(E.c.subject_id == entities[0])).first()
        assert doubled is not None
        conn.execute(insert(E).values({k: v for k, v in doubled._mapping.items() if k != "row_id"}))
    runner.rebuild(restart=True)
    with container.engine.connect() as conn:
        assert sorted(conn.execute(select(O)).all()) == organizations  # untouched, row ids included
        assert snapshot(conn) == before  # the doubled row is single again

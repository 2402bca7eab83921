"""Rebuilds without downtime (issue #4 item 6): queries are answered throughout, commands keep
arriving, an interrupted rebuild resumes, and the rebuilt tables equal the incremental ones."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.envelope import CommandContext
from infra.demo import load_demo
from infra.store import Container
from projections.coverage import CoverageView
from projections.runner import deal
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


def test_a_rebuild_works_with_fewer_collections_and_restores_the_collector(container: Container) -> None:
    """Issue #6 (P3): the collector's full passes walked the replay's heap (a quarter of a rebuild), so
    the replay runs with a higher first threshold (``REPLAY_GC_THRESHOLD``), restored afterwards."""
    import gc

    from projections.runner import REPLAY_GC_THRESHOLD

    load_demo(container.ledger, seed=11)
    before = gc.get_threshold()
    seen: set[int] = set()
    container.runner.rebuild(restart=True, progress=lambda name, at, head: seen.add(gc.get_threshold()[0]))
    assert seen == {max(REPLAY_GC_THRESHOLD, before[0])}
    assert gc.get_threshold() == before


def _rebuild_noting_pid(settings: Any, notes: str, names: Any) -> Any:
    """``infra.store.rebuild_apart``, noting the process it ran in (spawned processes import this)."""
    import os
    from pathlib import Path

    from infra.store import rebuild_apart

    with Path(notes).open("a") as out:
        out.write(f"{os.getpid()} {','.join(names)}\n")
    return rebuild_apart(settings, names)


def _rebuild_failing_for_coverage(settings: Any, names: Any) -> Any:
    from infra.store import rebuild_apart

    if "coverage" in names:
        raise RuntimeError("the coverage replay broke")
    return rebuild_apart(settings, names)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_rebuild_in_two_processes_switches_to_the_rows_of_the_incremental_tables(
    container: Container, tmp_path: Any
) -> None:
    """Issue #6 (P3): ``rebuild(jobs=2)`` deals the projections out to two spawned processes, each
    replaying the store for its share and switching it; the main process reports their checkpoints."""
    import functools
    import os

    load_demo(container.ledger, seed=14)
    runner = container.runner
    runner.catch_up()
    with container.engine.connect() as conn:
        before = snapshot(conn)
    notes = tmp_path / "pids"
    runner.rebuild_apart = functools.partial(_rebuild_noting_pid, container.settings, str(notes))
    reported: dict[str, int] = {}

    def progress(name: str, position: int, head: int) -> None:
        reported[name] = max(reported.get(name, 0), position)

    assert runner.rebuild(progress=progress, restart=True, jobs=2) == runner.head() * len(runner.projections)
    with container.engine.connect() as conn:
        assert snapshot(conn) == before
    ran = dict(line.split() for line in notes.read_text().splitlines())
    assert len(ran) == 2 and str(os.getpid()) not in ran
    assert sorted(n for names in ran.values() for n in names.split(",")) == sorted(runner.projections)
    assert reported == {name: runner.head() for name in runner.projections}


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_rebuild_whose_process_fails_raises_and_resumes(container: Container) -> None:
    """A process that fails fails the rebuild, after the other has rebuilt and switched its share: the
    live tables hold the same rows, and the next rebuild resumes where each process stopped."""
    import functools

    from infra.store import rebuild_apart

    load_demo(container.ledger, seed=15)
    runner = container.runner
    runner.catch_up()
    with container.engine.connect() as conn:
        before = snapshot(conn)
    runner.rebuild_apart = functools.partial(_rebuild_failing_for_coverage, container.settings)
    with pytest.raises(RuntimeError, match="the coverage replay broke"):
        runner.rebuild(restart=True, jobs=2)
    with container.engine.connect() as conn:
        assert snapshot(conn) == before
    runner.rebuild_apart = functools.partial(rebuild_apart, container.settings)
    total = runner.head() * len(runner.projections)
    resumed = runner.rebuild(jobs=2)
    assert 0 < resumed < total  # only the coverage group's projections replayed again
    with container.engine.connect() as conn:
        assert snapshot(conn) == before


def test_a_rebuild_on_sqlite_replays_in_this_process_whatever_the_jobs(tmp_path: Any) -> None:
    """SQLite has one writer: ``rebuild(jobs=2)`` there replays in one process, to the same rows."""
    from infra.settings import Settings
    from infra.store import build

    built = build(Settings(database_url=f"sqlite:///{tmp_path / 'd.sqlite'}", demo_when_empty=False))
    try:
        assert built.runner.rebuild_apart is None
        load_demo(built.ledger, seed=16)
        built.runner.catch_up()
        with built.engine.connect() as conn:
            before = snapshot(conn)
        total = built.runner.head() * len(built.runner.projections)
        assert built.runner.rebuild(restart=True, jobs=2) == total
        with built.engine.connect() as conn:
            assert snapshot(conn) == before
    finally:
        built.close()


@given(
    weights=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.integers(1, 50), min_size=1),
    jobs=st.integers(1, 8),
)
def test_deal_gives_every_projection_once_to_at_most_jobs_groups_of_about_equal_weight(
    weights: dict[str, int], jobs: int
) -> None:
    """Each name in one group, no group empty, at most ``jobs`` groups, and no group heavier than the
    lightest by more than the heaviest name (each name went to the lightest group so far)."""
    groups = deal(list(weights), {n: float(w) for n, w in weights.items()}, jobs)
    assert sorted(n for g in groups for n in g) == sorted(weights)
    assert 1 <= len(groups) <= jobs and all(groups)
    loads = [sum(weights[n] for n in g) for g in groups]
    assert max(loads) - min(loads) <= max(weights.values())

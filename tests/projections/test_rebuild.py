"""Rebuilds without downtime (issue #4 item 6): queries are answered throughout, commands keep
arriving, an interrupted rebuild resumes, and the rebuilt tables equal the incremental ones."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from domain.envelope import CommandContext
from infra.demo import load_demo
from infra.settings import Settings
from infra.store import Container, build
from projections.coverage import CoverageView
from projections.rebuild import REBUILD_APPLICATION
from projections.runner import deal
from projections.tables import coverage_entities as E
from projections.tables import indexes_on, projection_positions
from tests import factories as f
from tests.conftest import PG_URL, opened, postgres_settings, role_url
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


def test_a_rebuild_logs_how_long_each_phase_took(container: Container, caplog: Any) -> None:
    """Issue #6 (P3): a rebuild says where its time went (the replay, each refill, the indexes, the
    switch), so that an operator, or a benchmark, can see which phase is the long one."""
    load_demo(container.ledger, seed=17)
    with caplog.at_level(logging.INFO, logger="projections.runner"):
        container.runner.rebuild(["coverage", "audit"], restart=True)
    phases = [r.getMessage() for r in caplog.records if r.name == "projections.runner"]
    events = container.runner.head() * 2
    expected = [
        f"replay ({events:,} events handled)",
        "coverage's indexes for its finish",
        "coverage's finish",
        "indexes and statistics",
        "catch-up and switch",
    ]
    assert [m.split(": ", 1)[1].split(" in ")[0] for m in phases] == expected
    assert all(m.startswith("rebuild of coverage, audit: ") for m in phases)


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
                    ix.name
                    for ix in indexes_on(table, conn.dialect.name)
                    if ix.unique or str(ix.name).endswith("_subject")
                }
        with container.engine.connect() as conn:
            inspector = inspect(conn)
            for table in tables:
                assert {ix["name"] for ix in inspector.get_indexes(table.name)} == {
                    ix.name for ix in indexes_on(table, conn.dialect.name)
                }
    finally:
        area.drop(tables)
    assert any(str(ix.name).endswith("_known") for t in tables for ix in t.indexes)


def test_a_refill_finds_its_projections_indexes_and_statistics_in_the_area(container: Container) -> None:
    """Issue #6 (P3): a projection's ``finish_replay`` (the counts' refill) reads its rows by columns
    other than the subject (members by home organisation, training rows by member), a chunk of
    subjects at a time: the area builds those indexes and (PostgreSQL) gathers the tables' statistics
    before it, not after, or each chunk scans whole tables (a term quadratic in the history)."""
    from sqlalchemy import inspect

    load_demo(container.ledger, seed=14)
    runner = container.runner
    area = runner.rebuild_area
    assert area is not None
    coverage = runner.projections["coverage"]
    schema = area.area.strip('"')
    seen: dict[str, Any] = {}

    def finish_replay(conn: Any) -> None:
        inspector = inspect(conn)
        seen["indexes"] = {
            t.name: {ix["name"] for ix in inspector.get_indexes(t.name, schema=schema)}
            for t in coverage.tables
        }
        if conn.dialect.name == "postgresql":
            never_analyzed = text(
                "SELECT relname FROM pg_class WHERE relnamespace = CAST(:s AS regnamespace) "
                "AND relkind = 'r' AND reltuples < 0 AND relname = ANY(:names)"
            )
            names = [t.name for t in coverage.tables]
            seen["unanalyzed"] = conn.execute(never_analyzed, {"s": schema, "names": names}).scalars().all()
        type(coverage).finish_replay(coverage, conn)

    coverage.finish_replay = finish_replay  # type: ignore[method-assign]
    runner.rebuild(["coverage"], restart=True)
    dialect = container.engine.dialect.name
    assert seen["indexes"] == {t.name: {ix.name for ix in indexes_on(t, dialect)} for t in coverage.tables}
    assert "ix_coverage_members_home_org_id" in seen["indexes"]["coverage_members"]
    if container.engine.dialect.name == "postgresql":
        assert seen["unanalyzed"] == []


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
    container: Container, tmp_path: Any, caplog: Any
) -> None:
    """Issue #6 (P3): ``rebuild(jobs=2)`` deals the projections out to two spawned processes, each
    replaying the store for its share and switching it; the main process reports their checkpoints,
    and handles their log records (each one's phases) as its own."""
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

    with caplog.at_level(logging.INFO, logger="projections"):
        assert runner.rebuild(progress=progress, restart=True, jobs=2) == runner.head() * len(
            runner.projections
        )
    with container.engine.connect() as conn:
        assert snapshot(conn) == before
    ran = dict(line.split() for line in notes.read_text().splitlines())
    assert len(ran) == 2 and str(os.getpid()) not in ran
    switched = {
        str(r.process): r.getMessage().split(": ")[0] for r in caplog.records if "switch in" in r.getMessage()
    }
    assert switched == {pid: f"rebuild of {names.replace(',', ', ')}" for pid, names in ran.items()}
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


# --- the switch on PostgreSQL moves the rebuilt tables (issue #6, P3) -------------------------------


def _live_shape(engine: Any, schema: str) -> dict[str, Any]:
    """What the live schema has besides the rows: each table's oid, indexes, grants and its
    sequences' grants, the extended statistics, and whether the planner has statistics of it."""
    with engine.connect() as conn:
        tables = {
            name: (oid, acl)
            for name, oid, acl in conn.execute(
                text(
                    "SELECT relname, oid, relacl::text FROM pg_class "
                    "WHERE relnamespace = CAST(:s AS regnamespace) AND relkind = 'r'"
                ),
                {"s": schema},
            )
        }
        return {
            "oids": {name: oid for name, (oid, _) in tables.items()},
            "grants": {name: acl for name, (_, acl) in tables.items()},
            "sequences": sorted(
                conn.execute(
                    text(
                        "SELECT relname, relacl::text FROM pg_class "
                        "WHERE relnamespace = CAST(:s AS regnamespace) AND relkind = 'S'"
                    ),
                    {"s": schema},
                ).all()
            ),
            "indexes": sorted(
                conn.execute(
                    text("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = :s"), {"s": schema}
                )
            ),
            "statistics": sorted(
                conn.scalars(
                    text(
                        "SELECT stxname || ' on ' || CAST(stxrelid AS regclass)::text FROM pg_statistic_ext "
                        "WHERE stxnamespace = CAST(:s AS regnamespace)"
                    ),
                    {"s": schema},
                )
            ),
            "analyzed": set(
                conn.scalars(
                    text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = :s"), {"s": schema}
                )
            ),
        }


PATIENT = 60.0
"""``RebuildArea.wait_seconds`` where a test expects the switch to move the tables: the other test
process of ``make test`` may hold a transaction on the same database for a few seconds."""

OID = "SELECT CAST('coverage_entities' AS regclass)::oid"
"""The live coverage_entities table's oid: another one after a move, the same after a copy."""


def _emptied(container: Container) -> None:
    """Every live read table emptied and its checkpoint set to 0, in one transaction, with DELETE: a
    snapshot taken before still sees the rows (TRUNCATE is not MVCC-safe)."""
    runner = container.runner
    with container.engine.begin() as conn:
        for projection in runner.projections.values():
            for table in projection.tables:
                conn.execute(delete(table))
        conn.execute(update(projection_positions).values(position=0))


@pytest.mark.postgres
def test_the_switch_moves_the_rebuilt_tables_in_with_what_the_live_ones_had(
    pg_schema: str, app_role: str
) -> None:
    """Issue #6 (P3): on PostgreSQL the rebuilt tables replace the live ones whole (new oids) instead
    of having their rows copied; the live schema keeps every index, grant (the application role's,
    ``infra.app_role``), sequence grant and extended statistics it had, the planner's statistics
    come with the tables, the rows are the incremental ones, and the area is left empty."""
    with opened(postgres_settings(pg_schema)) as container:
        assert container.runner.rebuild_area is not None
        container.runner.rebuild_area.wait_seconds = PATIENT
        load_demo(container.ledger, seed=14)
        container.runner.catch_up()
        with container.engine.connect() as conn:
            before = snapshot(conn)
        container.runner.rebuild(restart=True)  # every table analyzed, as after any rebuild
        shape = _live_shape(container.engine, pg_schema)
        _emptied(container)  # every live table differs from the rebuilt one
        container.runner.rebuild(restart=True)
        after = _live_shape(container.engine, pg_schema)
        with container.engine.connect() as conn:
            assert snapshot(conn) == before
            left = conn.execute(
                text("SELECT count(*) FROM pg_class WHERE relnamespace = CAST(:s AS regnamespace)"),
                {"s": f"{pg_schema}_rebuild"},
            ).scalar_one()
    read_tables = {t.name for p in container.runner.projections.values() for t in p.tables}
    moved = {name for name in read_tables if after["oids"][name] != shape["oids"][name]}
    assert moved == {name for name in read_tables if before[name]}  # an empty table was left as it was
    assert len(moved) >= 15
    assert after["oids"]["ledger_events"] == shape["oids"]["ledger_events"]
    for part in ("grants", "sequences", "indexes", "statistics"):
        assert after[part] == shape[part], part
    assert moved <= after["analyzed"]  # the planner's statistics came with the tables
    assert any(app_role in (acl or "") for acl in after["grants"].values())
    assert left == 0
    # the application role still reads and writes the moved tables
    settings = Settings(database_url=role_url(app_role), database_schema=pg_schema, app_role=app_role)
    as_role = build(settings)
    try:
        f.register_entity(as_role.ledger, CommandContext.new("station"), region_code="330411")
        assert as_role.runner.catch_up() > 0
    finally:
        as_role.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_transaction_older_than_the_rebuilt_rows_gets_them_copied(container: Container) -> None:
    """Issue #6 (P3): a moved table would show a snapshot older than its rows as empty, so while a
    transaction begun before the rebuilt rows were committed lasts, the switch copies the rows
    (``RebuildArea.older_transactions_end``). That reader then still sees the live rows as they
    were; once it has ended, the next rebuild moves the tables."""
    load_demo(container.ledger, seed=15)
    runner = container.runner
    runner.catch_up()
    assert runner.rebuild_area is not None
    runner.rebuild_area.wait_seconds = 0.3
    with container.engine.connect() as conn:
        first = conn.execute(text(OID)).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM coverage_entities")).scalar_one()
    reader = container.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        reader.begin()
        reader.execute(text("SELECT 1"))  # its snapshot, taken before the rebuilt rows exist
        _emptied(container)
        runner.rebuild(restart=True)
        with container.engine.connect() as conn:
            assert conn.execute(text(OID)).scalar_one() == first  # copied, not moved
            assert conn.execute(text("SELECT count(*) FROM coverage_entities")).scalar_one() == rows
        # the reader's snapshot predates the emptying and the copy: it sees the rows as they were
        assert reader.execute(text("SELECT count(*) FROM coverage_entities")).scalar_one() == rows
        assert reader.execute(select(E.c.subject_id).limit(1)).first() is not None
    finally:
        reader.close()
    _emptied(container)
    runner.rebuild_area.wait_seconds = PATIENT
    runner.rebuild(restart=True)
    with container.engine.connect() as conn:
        assert conn.execute(text(OID)).scalar_one() != first  # moved
        assert conn.execute(text("SELECT count(*) FROM coverage_entities")).scalar_one() == rows


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_switch_that_cannot_lock_a_live_table_copies_the_rows(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #6 (P3): a reader may take a live table after the switch found no older transaction and
    before it locks the table; the switch then waits ``LOCK_TIMEOUT`` at most and copies the rows
    instead of moving the tables, in the same transaction: nothing is half-moved."""
    load_demo(container.ledger, seed=16)
    runner = container.runner
    runner.catch_up()
    area = runner.rebuild_area
    assert area is not None
    with container.engine.connect() as conn:
        before = snapshot(conn)
        first = conn.execute(text(OID)).scalar_one()
    _emptied(container)
    monkeypatch.setattr(area, "older_transactions_end", lambda: True)  # the reader came just after
    with container.engine.connect() as reader:  # holds coverage_entities in its transaction
        reader.execute(text("SELECT count(*) FROM coverage_entities"))
        runner.rebuild(restart=True)
        reader.rollback()
    with container.engine.connect() as conn:
        assert snapshot(conn) == before
        assert conn.execute(text(OID)).scalar_one() == first  # copied, not moved


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_switch_waits_for_older_transactions_but_not_for_the_rebuilds_own(container: Container) -> None:
    """Issue #6 (P3): ``older_transactions_end`` answers False while a transaction begun before it and
    holding a snapshot lasts (after ``wait_seconds``), True once it has ended, and True without waiting
    for it when that transaction is one of the rebuild's own processes (``REBUILD_APPLICATION``), which never
    read another process's moved tables."""
    area = container.runner.rebuild_area
    assert area is not None
    for name, expected in (("dangjian api", False), (REBUILD_APPLICATION, True)):
        with psycopg.connect(PG_URL, application_name=name) as other:
            other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            other.execute("SELECT 1")  # its snapshot, held until it ends
            # long enough for the other test process's transactions (make test runs two) to end
            area.wait_seconds = 0.3 if not expected else PATIENT
            assert area.older_transactions_end() is expected, name
        area.wait_seconds = PATIENT
        assert area.older_transactions_end()

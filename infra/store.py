"""Wiring from settings to the event store (eventsourcing) and the read tables (SQLAlchemy).

The event store uses eventsourcing's own persistence modules: ``eventsourcing.postgres`` (psycopg 3)
in production and ``eventsourcing.sqlite`` for the embedded default; see docs/ARCHITECTURE.md.
The read tables live in the same database, written through SQLAlchemy.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from api import tokens
from domain.application import Ledger
from infra.app_role import create_lock_function, lock_through_function
from infra.bulk import install as install_bulk_store
from infra.groupcommit import TOPIC as GROUP_COMMIT_TOPIC
from infra.personal import KeyVault
from infra.settings import Settings
from projections.activities import ActivitiesProjection
from projections.answers import AnswerCache
from projections.audit import AuditProjection, AuditView
from projections.checkpoints import CheckpointWatch
from projections.coverage import CoverageProjection, CoverageView
from projections.members import MembersProjection
from projections.mobile_chain import MobileChainProjection
from projections.rebuild import REBUILD_APPLICATION, RebuildArea
from projections.runner import Projection, ProjectionRunner
from projections.stars import StarsProjection
from projections.temporal import Histories


def is_sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def ledger_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured database."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path or ":memory:",
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }
    if url.get_backend_name() == "postgresql":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.database or "postgres",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            # opened at start, grown on demand (issue #6: processes at start must not fill the server)
            "POSTGRES_POOL_SIZE": str(settings.store_pool_min),
            "POSTGRES_MAX_OVERFLOW": str(max(0, settings.store_pool_max - settings.store_pool_min)),
            "CREATE_TABLE": "y",
        }
        env["POSTGRES_SCHEMA"] = settings.database_schema or "public"
        return env
    raise ValueError(f"unsupported database URL {settings.database_url!r}: use sqlite or postgresql")


def read_engine(settings: Settings) -> Engine:
    """The SQLAlchemy engine of the read tables (same database as the events)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA secure_delete=ON")  # a deleted member key is overwritten (issue #7)
            cursor.close()

        return engine
    # psycopg prepares a statement after 5 executions, and PostgreSQL may then switch it to a generic plan
    # that ignores the region prefix and the dates: the half-year report's training section went from
    # 0.1 to 9 s per region that way (issue #6, P4). Plan every execution for its own parameters.
    # No JIT: the coverage query's estimated cost passes jit_above_cost, and compiling it took 14 of its
    # 26 ms on a scale-0.003 store (EXPLAIN ANALYZE); without JIT it is 45 -> 26 ms there, 52 -> 33 ms at
    # scale 0.01. JIT pays only for queries that run for seconds, which the read side must not have.
    options = (
        f"-csearch_path={settings.database_schema or 'public'} -cplan_cache_mode=force_custom_plan -cjit=off"
    )
    connect_args = {"options": options}
    return create_engine(
        url.set(drivername="postgresql+psycopg"),
        connect_args=connect_args,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
    )


def rebuild_area(settings: Settings, engine: Engine) -> RebuildArea:
    """Where ``dangjian rebuild`` replays: a sibling schema, or an attached SQLite file."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = f"{url.database}.rebuild"
        area_engine = read_engine(settings)

        @event.listens_for(area_engine, "connect")
        def _attach(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.execute("ATTACH DATABASE ? AS rebuild", (path,))

        return RebuildArea(
            area_engine.execution_options(schema_translate_map={None: "rebuild"}), "main", "rebuild"
        )
    live = settings.database_schema or "public"
    area = f"{live}_rebuild"
    return RebuildArea(
        engine.execution_options(schema_translate_map={None: area}),
        f'"{live}"',
        f'"{area}"',
        # not CREATE SCHEMA IF NOT EXISTS: that needs CREATE on the database even when the schema
        # exists, which the application role (``infra.app_role``) lacks; the set-up job made it
        create_schema=(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{area}') "
            f'THEN CREATE SCHEMA "{area}"; END IF; END $$'
        ),
    )


def is_app_role(settings: Settings) -> bool:
    """Whether this process connects as the append-only application role (``infra.app_role``)."""
    user = make_url(settings.database_url).username
    return settings.app_role is not None and user == settings.app_role and not is_sqlite(settings)


def protect_event_store(ledger: Ledger, engine: Engine) -> None:
    """Append-only at the database level: triggers refuse UPDATE, DELETE (and TRUNCATE) of stored
    events, whatever role the application connects as. Corrections are new events."""
    table = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for operation in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} BEFORE {operation} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, 'stored events are append-only'); END"
                )
            return
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        qualified = f'"{schema}"."{table}"'
        conn.exec_driver_sql(
            f'CREATE OR REPLACE FUNCTION "{schema}".dangjian_append_only() RETURNS trigger '
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'stored events are append-only (%%)', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE ON {qualified} "
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".dangjian_append_only()'
        )
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON {qualified} "
            f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".dangjian_append_only()'
        )
        create_lock_function(conn, str(schema), table)


@dataclass
class Container:
    """Everything an entry point needs, built once from settings (the composition root)."""

    settings: Settings
    ledger: Ledger
    engine: Engine
    runner: ProjectionRunner
    coverage: CoverageView
    audit: AuditView
    watch: CheckpointWatch | None = None

    def parts(self, *, inline: bool = True, read_wait_seconds: float = 5.0) -> Any:
        """The API's ``api.deps.Parts`` over this container; commands are serialised on SQLite. With
        projections run elsewhere (``inline=False``), a thread keeps their checkpoints in memory
        (``checkpoint_watch_seconds``), stopped by ``close``."""
        from api.deps import Parts

        interval = self.settings.checkpoint_watch_seconds
        if not inline and interval > 0 and self.watch is None:
            self.watch = CheckpointWatch(self.runner.positions, interval).start()

        return Parts(
            ledger=self.ledger,
            engine=self.engine,
            runner=self.runner,
            coverage=self.coverage,
            audit=self.audit,
            inline_projections=inline,
            read_wait_seconds=read_wait_seconds,
            serialize_commands=is_sqlite(self.settings),
            token_cache_seconds=self.settings.token_cache_seconds,
            answers=AnswerCache(self.settings.answer_cache_size),
            watch=None if inline else self.watch,
        )

    def close(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        self.ledger.close()
        self.engine.dispose()


def build(settings: Settings | None = None, *, group_commit: bool = True, setup: bool = True) -> Container:
    """``group_commit=False`` keeps eventsourcing's own recorder on PostgreSQL (P1's baseline).
    ``setup=False`` creates nothing (tables, triggers, functions): for processes started together
    after one ``build()`` did (``dangjian serve --workers N``), whose concurrent DDL could collide."""
    settings = settings or Settings()
    env = ledger_env(settings)
    if group_commit and not is_sqlite(settings):
        # concurrent commands share one transaction, one table lock and one commit (issue #6, P1)
        env["APPLICATION_RECORDER_TOPIC"] = GROUP_COMMIT_TOPIC
    restricted = is_app_role(settings)
    if restricted or not setup:
        env["CREATE_TABLE"] = "n"  # the set-up job made the event table; this role may not (issue #7)
    engine = read_engine(settings)
    with _one_setup_at_a_time(engine, settings, setup):
        return _build(settings, env, engine, setup=setup, restricted=restricted)


@contextmanager
def _one_setup_at_a_time(engine: Engine, settings: Settings, setup: bool) -> Iterator[None]:
    """On PostgreSQL, processes that set the same schema up at the same moment (compose starts the relay
    and the workers together) take turns: a session advisory lock named after the schema is held for
    the whole set-up. Concurrent ``CREATE TABLE IF NOT EXISTS`` or ``CREATE OR REPLACE`` of one object
    fail there ("already exists", "tuple concurrently updated"); one after the other they find the
    objects made and change nothing."""
    if not setup or is_sqlite(settings):
        yield
        return
    name = f"dangjian setup {settings.database_schema or 'public'}"
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
            conn.commit()


def _build(
    settings: Settings, env: dict[str, str], engine: Engine, *, setup: bool, restricted: bool
) -> Container:
    vault = KeyVault(engine)  # members' keys (issue #7), in the event store's database
    if setup:
        vault.setup()
    ledger = Ledger(env=env, vault=vault)
    if is_sqlite(settings):
        # SQLite has one writer; eventsourcing waits 5 s for it by default, which a burst of
        # concurrent commands on the embedded store can exceed. Wait as long as SQLite's lock timeout.
        ledger.recorder.datastore.pool.pool_timeout = 30.0  # type: ignore[attr-defined]
    if setup and not restricted:
        protect_event_store(ledger, engine)
    if not is_sqlite(settings):
        lock_through_function(ledger, settings.database_schema or "public")
    install_bulk_store(ledger)  # batches of commands write with COPY on PostgreSQL (issue #6, P2)
    runner = ProjectionRunner(
        ledger,
        engine,
        projections_for(ledger),
        rebuild_area=rebuild_area(settings, engine),
        # SQLite has one writer: processes replaying side by side would only wait on each other
        rebuild_apart=None if is_sqlite(settings) else functools.partial(rebuild_apart, settings),
    )
    if setup:
        runner.setup()
        tokens.metadata.create_all(engine)  # api_tokens (docs/SECURITY.md)
    return Container(settings, ledger, engine, runner, CoverageView(), AuditView())


def rebuild_apart(settings: Settings, names: Sequence[str]) -> tuple[int, list[str]]:
    """``ProjectionRunner.rebuild_in_area`` of the named projections in this process, its own
    container built from ``settings`` (``rebuild(jobs=N)`` runs it in processes of its own: issue #6,
    P3). Its connections are named ``REBUILD_APPLICATION``: the switch of another process does not
    wait for its transactions (``RebuildArea.older_transactions_end``)."""
    os.environ["PGAPPNAME"] = REBUILD_APPLICATION  # libpq's default application_name, in this process
    container = build(settings, setup=False)
    try:
        return container.runner.rebuild_in_area(names)
    finally:
        container.close()


def projections_for(ledger: Ledger) -> list[Projection]:
    """Every projection, the audit index first (it maps moments to positions for the others)."""

    def load(aggregate_id: UUID, version: int) -> list[Any]:
        return list(ledger.events.get(aggregate_id, lte=version))

    # One copy of each aggregate's history for every projection (see ``Histories``).
    history = Histories(load)

    return [
        AuditProjection(),
        CoverageProjection(history),
        MembersProjection(history),
        MobileChainProjection(history),
        StarsProjection(history),
        ActivitiesProjection(history),
    ]

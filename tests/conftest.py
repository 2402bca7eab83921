"""Shared fixtures: the application on both backends, each test in its own store.

- ``backend`` parametrises a test over SQLite (a file in a temporary folder) and PostgreSQL (a
  fresh schema in ``DANGJIAN_TEST_DATABASE_URL``, default ``postgresql://root@127.0.0.1:5432/test``,
  dropped afterwards), so the same application tests run on both.
- Without PostgreSQL, the PostgreSQL cases fail when ``CI=true`` and are skipped otherwise.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api import tokens
from api.main import create_app
from domain.application import Ledger
from domain.envelope import CommandContext
from infra.cli import app
from infra.settings import Settings
from infra.store import Container, build

PG_URL = os.environ.get("DANGJIAN_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
TODAY = date(2025, 11, 20)


def fixed_today() -> date:
    return TODAY


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as e:
        return str(e)


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if IN_CI:  # CI=true: a missing service is a failure, never a skip
        pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_URL}: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL} (CI is not set): {reason}")


@contextmanager
def new_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards (with its rebuild area)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_rebuild CASCADE")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped after the test."""
    with new_schema() as schema:
        yield schema


@pytest.fixture
def app_role(pg_schema: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway append-only role (``infra.app_role``), granted its rights by ``dangjian setup`` run as
    the owner, dropped afterwards."""
    role = f"dj_app_{uuid.uuid4().hex[:10]}"
    for key, value in {
        "DANGJIAN_DATABASE_URL": PG_URL,
        "DANGJIAN_DATABASE_SCHEMA": pg_schema,
        "DANGJIAN_APP_ROLE": role,
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["setup"])
    assert result.exit_code == 0, result.output
    assert f"role {role}" in result.output
    try:
        yield role
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{pg_schema}_rebuild" CASCADE')
            conn.execute(f'DROP OWNED BY "{role}" CASCADE')
            conn.execute(f'DROP ROLE "{role}"')


def as_owner(schema: str, *statements: str) -> None:
    """Run ``statements`` in ``schema`` as the tables' owner: the tables as an earlier version left them."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for statement in statements:
            conn.execute(statement)


def role_url(role: str) -> str:
    return make_url(PG_URL).set(username=role, password=None).render_as_string(hide_password=False)


@contextmanager
def built_as(role: str, schema: str, caplog: pytest.LogCaptureFixture) -> Iterator[Container]:
    """The application built (its set-up included) connected as ``role``, with the warnings of
    ``projections.tables`` captured, closed afterwards."""
    settings = Settings(database_url=role_url(role), database_schema=schema, app_role=role)
    with caplog.at_level(logging.WARNING, logger="projections.tables"):
        container = build(settings)
    try:
        yield container
    finally:
        container.close()


def sqlite_settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", demo_when_empty=False)


def postgres_settings(schema: str) -> Settings:
    return Settings(database_url=PG_URL, database_schema=schema, demo_when_empty=False)


def settings_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "sqlite":
        return sqlite_settings(tmp_path / "dangjian.sqlite")
    return postgres_settings(request.getfixturevalue("pg_schema"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def opened(settings: Settings) -> Iterator[Container]:
    """The application built on ``settings``, its today fixed, closed afterwards."""
    built = build(settings)
    built.ledger.today = fixed_today
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def container(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Container]:
    """Ledger, read engine and projection runner on the chosen backend."""
    with opened(settings_for(backend, tmp_path, request)) as built:
        yield built


@pytest.fixture
def second(backend: str, tmp_path: Path) -> Iterator[Container]:
    """A second, empty store on the same backend."""
    if backend == "sqlite":
        with opened(sqlite_settings(tmp_path / "second.sqlite")) as built:
            yield built
        return
    with new_schema() as schema, opened(postgres_settings(schema)) as built:
        yield built


@pytest.fixture
def ledger(container: Container) -> Ledger:
    return container.ledger


@pytest.fixture
def memory_ledger() -> Ledger:
    """The in-memory event store: only for fast unit tests of aggregates and rules."""
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=fixed_today)


@pytest.fixture
def ctx() -> CommandContext:
    return CommandContext.new(f"tester-{uuid.uuid4().hex[:6]}")


def bearer(engine: Engine, actor: str, role: str = "admin", scope: str = "*") -> dict[str, str]:
    """Headers with a new token for ``actor``: the actor of every event comes from the token (S4)."""
    _, token = tokens.issue(engine, actor, role, scope)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_actor(container: Container) -> Callable[[str], dict[str, str]]:
    """Headers that make a request act as the named actor, with an admin token."""
    return lambda actor: bearer(container.engine, actor)


@pytest.fixture
def client(container: Container, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """A test client that sends an admin token unless a request sends its own. The token's actor is
    the test module's ``ACTOR``, else ``tester``."""
    parts = container.parts()
    actor = getattr(request.module, "ACTOR", "tester")
    with TestClient(create_app(parts), headers=bearer(container.engine, actor)) as test_client:
        yield test_client

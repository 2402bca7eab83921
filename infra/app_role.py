"""Append-only by role (issue #7 point 4): the PostgreSQL role the application connects as may read
and append stored events but never UPDATE, DELETE or TRUNCATE them.

``dangjian setup``, run as the schema's owner with ``DANGJIAN_APP_ROLE`` set, creates the role if it
is missing (``LOGIN``, with ``DANGJIAN_APP_ROLE_PASSWORD`` when set; see docs/DEPLOYMENT.md) and
grants it:

- on the stored-events table: SELECT and INSERT only;
- on ``member_keys``: SELECT, INSERT and DELETE (erasure destroys a key; keys are never updated);
- on every other table of the schema (the read tables, checkpoints, tokens): SELECT, INSERT, UPDATE
  and DELETE, because the read side is disposable and rewritten by the projections;
- the sequences, and EXECUTE on ``dangjian_lock_events()``;
- the rebuild area (``<schema>_rebuild``), which it owns, so that ``dangjian rebuild`` works.

eventsourcing serialises inserts with ``LOCK TABLE … IN EXCLUSIVE MODE`` (docs/ARCHITECTURE.md,
"Ordered positions"), and PostgreSQL allows that lock mode only to a role that may UPDATE, DELETE or
TRUNCATE the table. The lock is therefore taken by ``dangjian_lock_events()``, a SECURITY DEFINER
function owned by the schema's owner; a lock lasts until the end of the caller's transaction, so the
ordering guarantee is the same. The append-only triggers of ``infra.store.protect_event_store`` stay
as a second guard, against the owner too.

The application connects as the role when ``DANGJIAN_DATABASE_URL`` names it as its user and
``DANGJIAN_APP_ROLE`` is set to the same name: it then creates no event table and no trigger (the
set-up job did).
"""

from __future__ import annotations

import re
from typing import Any

from psycopg.sql import SQL, Identifier
from sqlalchemy import Connection, Engine

from domain.application import Ledger
from infra.personal import member_keys

LOCK_FUNCTION = "dangjian_lock_events"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def create_lock_function(conn: Connection, schema: str, events_table: str) -> None:
    """The SECURITY DEFINER function that takes the insert lock on behalf of the application role."""
    conn.exec_driver_sql(
        f'CREATE OR REPLACE FUNCTION "{schema}".{LOCK_FUNCTION}() RETURNS void LANGUAGE plpgsql '
        "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
        f'LOCK TABLE "{schema}"."{events_table}" IN EXCLUSIVE MODE; END $$'
    )
    conn.exec_driver_sql(f'REVOKE ALL ON FUNCTION "{schema}".{LOCK_FUNCTION}() FROM PUBLIC')


def lock_through_function(ledger: Ledger, schema: str) -> None:
    """Make the event recorder take its insert lock through ``dangjian_lock_events()``."""
    recorder: Any = ledger.recorder
    recorder.lock_table_statements = [
        SQL("SET LOCAL lock_timeout = '{0}s'").format(recorder.datastore.lock_timeout),
        SQL("SELECT {0}.{1}()").format(Identifier(schema), Identifier(LOCK_FUNCTION)),
    ]


def grant_app_role(engine: Engine, role: str, events_table: str, password: str | None = None) -> None:
    """Create ``role`` if missing (with ``password``, if given) and grant it the rights listed in the
    module docstring."""
    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"DANGJIAN_APP_ROLE {role!r}: use lower-case letters, digits and _")
    with engine.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        if password:
            literal = conn.exec_driver_sql("SELECT quote_literal(%(p)s)", {"p": password}).scalar()
            conn.exec_driver_sql(f'ALTER ROLE "{role}" PASSWORD {literal}')
        s, r = f'"{schema}"', f'"{role}"'
        events, keys = f'{s}."{events_table}"', f'{s}."{member_keys.name}"'
        for statement in (
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            f"REVOKE ALL ON {events} FROM {r}",
            f"GRANT SELECT, INSERT ON {events} TO {r}",
            f"REVOKE ALL ON {keys} FROM {r}",
            f"GRANT SELECT, INSERT, DELETE ON {keys} TO {r}",
            f"GRANT EXECUTE ON FUNCTION {s}.{LOCK_FUNCTION}() TO {r}",
            f'CREATE SCHEMA IF NOT EXISTS "{schema}_rebuild"',
            f'ALTER SCHEMA "{schema}_rebuild" OWNER TO {r}',
        ):
            conn.exec_driver_sql(statement)

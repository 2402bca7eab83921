"""Settings: the one reader of the environment (prefix ``DANGJIAN_``)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///var/dangjian.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DANGJIAN_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_SQLITE_URL
    """Event store and read tables. ``sqlite:///path`` (embedded default) or
    ``postgresql://user:password@host:5432/dbname`` (production)."""

    database_schema: str | None = None
    """PostgreSQL schema for the event store and the read tables (default ``public``)."""

    app_role: str | None = None
    """PostgreSQL role the application connects as, which may not UPDATE, DELETE or TRUNCATE stored
    events (issue #7; ``infra.app_role``). ``dangjian setup`` run as the owner creates it and grants
    its rights; a process whose ``database_url`` user is this role creates no event table or trigger."""

    app_role_password: SecretStr | None = None
    """The password ``dangjian setup`` gives ``app_role`` (set on the set-up job only)."""

    store_pool_min: int = Field(default=2, ge=1)
    """Connections a process's event-store pool (eventsourcing's, psycopg_pool) opens at start and keeps
    (PostgreSQL). It grows on demand up to ``store_pool_max`` and closes what was idle for ten minutes
    above this. It opened ten at start in every process, so about nine processes (API workers, projection
    workers, a rebuild's, the relay) filled PostgreSQL's default 100 connections."""

    store_pool_max: int = Field(default=20, ge=1)
    """The most connections a process's event-store pool opens at once (PostgreSQL); at least
    ``store_pool_min``."""

    projections: Literal["inline", "external"] = "inline"
    """``inline``: the API process updates the read tables after each command (embedded mode).
    ``external``: separate projection workers do (PostgreSQL and Kafka deployments)."""

    host: str = "127.0.0.1"
    port: int = 8000

    workers: int = 1
    """API processes ``dangjian serve`` runs (uvicorn workers). More than one needs PostgreSQL: the
    embedded SQLite store has one writer (issue #6, P1/P5)."""

    access_log: bool = True
    """Whether ``dangjian serve`` logs every request (uvicorn's access log). Off saves the API a little
    CPU per request (issue #6, P1); errors are logged either way."""

    token_cache_seconds: float = 5.0
    """How long an API process reuses a live token's lookup (issue #6, P5). A revocation takes effect
    at once in the process that revokes, and within this time in the others; 0 looks up every request."""

    answer_cache_size: int = 1024
    """Statistics answers an API process keeps, keyed by the question and the read position (issue #6,
    P5); 0 turns the cache off."""

    checkpoint_watch_seconds: float = 0.05
    """With ``projections=external``: how often an API process reads every projection's checkpoint into
    memory, so a statistics read whose answer it keeps needs no database (issue #6, P5;
    ``projections.checkpoints``). Reads then answer at most this much behind the database's
    checkpoint; ``min_position`` still reads your writes. 0: every read asks the database."""

    rebuild_jobs: int = 2
    """Processes ``dangjian rebuild`` replays in on PostgreSQL, the projections dealt out among them
    (issue #6, P3: each Python process uses one core; the database uses the others). The embedded
    SQLite store replays in one: it has one writer."""

    demo_when_empty: bool | None = None
    """``dangjian serve`` loads the demo data set when the event store is empty. Default: on the
    embedded SQLite store only, never on PostgreSQL unless set to true."""

    kafka_bootstrap_servers: str | None = None
    """Kafka brokers, ``host:port[,host:port]``; needed by ``dangjian relay`` and ``dangjian ingest``."""

    kafka_topic: str = "dangjian.events"
    """Where ``dangjian relay`` publishes every event (docs/EVENTS.md, "Kafka")."""

    kafka_partitions: int = 6
    """Partitions of a topic the relay or the ingester creates because it does not exist yet."""

    kafka_registry_topic: str = "dangjian.registry.inbound"
    """Registrations and status changes from the business-registration system (docs/REGISTRY.md)."""

    kafka_registry_dead_letter_topic: str = "dangjian.registry.dead-letter"
    """Where ``dangjian ingest`` puts messages it cannot record, with the reason."""

    kafka_registry_group: str = "dangjian-registry"
    """The consumer group of ``dangjian ingest``; its committed offsets say what has been handled."""

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.store_pool_max < self.store_pool_min:
            least, most = self.store_pool_min, self.store_pool_max
            raise ValueError(f"store_pool_max ({most}) must be at least store_pool_min ({least})")
        return self

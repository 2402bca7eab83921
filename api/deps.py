"""FastAPI dependencies. The parts are built by an entry point and put on ``app.state``; tests
build their own. Nothing here creates an engine or a connection at import time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator
from sqlalchemy import Connection, Engine

from api.auth import principal_of
from api.schemas.common import CommandAccepted
from domain import errors
from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from projections.answers import AnswerCache
from projections.audit import AuditView, naive_utc
from projections.checkpoints import CheckpointWatch
from projections.coverage import CoverageView
from projections.runner import ProjectionRunner
from projections.temporal import ALL_KNOWN

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Parts:
    """What the API needs: the command side, the read side, and how projections run."""

    ledger: Ledger
    engine: Engine
    runner: ProjectionRunner
    coverage: CoverageView
    audit: AuditView
    inline_projections: bool
    read_wait_seconds: float = 5.0
    """How long a read with ``min_position`` waits for the projections before answering 503."""
    serialize_commands: bool = False
    """Run one command (and its inline catch-up) at a time: the embedded SQLite store has one writer,
    and queueing here is faster and fairer than SQLite's busy-waiting between two writers."""
    command_lock: threading.Lock = field(default_factory=threading.Lock)
    token_cache_seconds: float = 0.0
    """How long a live token's lookup is reused (``api.tokens.lookup``); 0: every request."""
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    """Statistics answers kept by question and read position (``projections.answers``)."""
    watch: CheckpointWatch | None = None
    """The checkpoints kept in memory when projections run elsewhere (``projections.checkpoints``)."""

    def checkpoints(self, snapshot: Snapshot, floor: int = 0) -> dict[str, int]:
        """Every projection's checkpoint: from the watch when it is fresh and each has reached
        ``floor`` (``min_position``), else read in ``snapshot``."""
        kept = self.watch.current(floor) if self.watch is not None else None
        return kept if kept is not None else self.runner.positions(snapshot.conn)


async def get_parts(request: Request) -> Parts:  # async: no I/O, so no thread hop (issue #6, P1)
    parts: Parts = request.app.state.parts
    return parts


PartsDep = Annotated[Parts, Depends(get_parts)]


async def get_context(  # async: no I/O, so no thread hop (issue #6, P1)
    request: Request,
    x_correlation_id: Annotated[UUID | None, Header()] = None,
    x_command_id: Annotated[UUID | None, Header(description="Makes the command idempotent")] = None,
) -> CommandContext:
    """Who records the events and why. The actor is the token's (docs/SECURITY.md S4), never a header
    or the body. ``X-Command-ID`` makes a command idempotent: a repeat returns the first result. The
    principal is the one ``authorize`` checked for this request (``principal_of``)."""
    return CommandContext.new(principal_of(request).actor, x_correlation_id, x_command_id)


ContextDep = Annotated[CommandContext, Depends(get_context)]


class Commands:
    """Runs one command on the ledger; in embedded mode it then brings the projections up to date.

    The command routes are ``async def`` and await ``run``: the command (and the inline catch-up) is
    the only part of the request that does I/O, so it alone goes to a worker thread, one hop per
    request instead of one for the route and one more for checking its answer (issue #6, P1)."""

    def __init__(self, parts: PartsDep) -> None:
        self.parts = parts

    async def run(self, command: Callable[[Ledger], CommandResult]) -> CommandAccepted:
        return await run_in_threadpool(self.run_here, command)

    def run_here(self, command: Callable[[Ledger], CommandResult]) -> CommandAccepted:
        """``run`` in the calling thread."""
        if self.parts.serialize_commands:
            with self.parts.command_lock:
                return self._run(command)
        return self._run(command)

    def _run(self, command: Callable[[Ledger], CommandResult]) -> CommandAccepted:
        result = command(self.parts.ledger)
        if self.parts.inline_projections:
            try:
                self.parts.runner.catch_up()
            except Exception:  # the event is stored; the projection stops and /health says so
                log.exception("projection failed after position %s", result.position)
        return CommandAccepted(id=result.id, position=result.position)


async def get_commands(request: Request) -> Commands:
    """async: no I/O, so no thread hop; the parts straight from the app, one dependency less to solve
    per command (issue #6, P1)."""
    parts: Parts = request.app.state.parts
    return Commands(parts)


CommandsDep = Annotated[Commands, Depends(get_commands)]


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot, so a checkpoint and the rows it covers agree."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


class NeedsDatabase(Exception):
    """A read tried on the event loop asked for the database (``read_in_snapshot``)."""


class Snapshot:
    """``read_snapshot``, opened when ``conn`` is first asked for, in the thread that asks: a read
    answered from memory (kept checkpoints and answer) opens none (issue #6, P5). With
    ``may_open=False`` asking raises ``NeedsDatabase`` instead."""

    def __init__(self, engine: Engine, *, may_open: bool = True) -> None:
        self._engine = engine
        self.may_open = may_open
        self._stack = ExitStack()
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            if not self.may_open:
                raise NeedsDatabase
            self._conn = self._stack.enter_context(read_snapshot(self._engine))
        return self._conn

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn = None
        self._stack.close()


async def read_in_snapshot(parts: Parts, work: Callable[[Snapshot], T]) -> T:
    """``work(snapshot)``, first on the event loop, where an answer kept in memory (checkpoints and
    answer) costs no thread hop (issue #6, P5); if it asks for the database, again from the start in
    a worker thread. ``work`` must do nothing it would regret repeating before it reads, and must let
    ``NeedsDatabase`` through (no bare ``except Exception`` around its reads)."""
    try:
        with Snapshot(parts.engine, may_open=False) as snapshot:
            return work(snapshot)
    except NeedsDatabase:
        return await run_in_threadpool(_in_snapshot, parts.engine, work)


def _in_snapshot(engine: Engine, work: Callable[[Snapshot], T]) -> T:
    with Snapshot(engine) as snapshot:
        return work(snapshot)


def get_read_connection(parts: PartsDep) -> Iterator[Connection]:
    """One read-only snapshot per request."""
    with read_snapshot(parts.engine) as conn:
        yield conn


ReadConnection = Annotated[Connection, Depends(get_read_connection)]


def _not_a_number(value: Any) -> Any:
    """A date or moment in a query is ISO 8601 text; pydantic would otherwise read a number as Unix time."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("use ISO 8601 (2025-06-30 or 2025-06-30T12:00:00Z), not a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]

AsOf = Annotated[IsoDate | None, Query(description="Business date: the state as it was that day")]
AsKnownAt = Annotated[IsoDateTime | None, Query(description="Moment: only what had been recorded by then")]


@dataclass(frozen=True)
class ReadTime:
    """Where on both time axes a read looks: a business date and an event position."""

    as_of: date
    known: int
    as_known_at: datetime | None
    floor: int = 0
    """The ``min_position`` the read waited for (0: none)."""


async def wait_for_min_position(
    parts: PartsDep,
    min_position: Annotated[
        int | None, Query(ge=0, description="Wait until the read side has applied this event position")
    ] = None,
) -> int:
    """Read-your-writes: with ``min_position`` a read waits a bounded time for the projections,
    then answers 503 with Retry-After. Without it nothing is read, so no thread hop (issue #6, P1).
    Answers the position waited for (0: none)."""
    if min_position is None:
        return 0
    await run_in_threadpool(_wait_for_min_position, parts, min_position)
    return min_position


def _wait_for_min_position(parts: Parts, min_position: int) -> None:
    if min_position > parts.runner.head():
        raise errors.RuleViolation(
            f"min_position {min_position} lies beyond the last recorded event",
            field="min_position",
            rule="R3",
        )
    if not parts.runner.wait_for(min_position, parts.read_wait_seconds):
        raise HTTPException(
            503, f"the read side has not reached position {min_position} yet", headers={"Retry-After": "1"}
        )


MinPosition = Annotated[int, Depends(wait_for_min_position)]


async def get_read_time(
    request: Request,
    as_of: Annotated[
        IsoDate | None, Query(description="Business date: the world as it was that day (default today)")
    ] = None,
    as_known_at: Annotated[
        IsoDateTime | None, Query(description="Moment (UTC if no zone): only what had been recorded by then")
    ] = None,
    min_position: Annotated[
        int | None, Query(ge=0, description="Wait until the read side has applied this event position")
    ] = None,
) -> ReadTime:
    """Where a read looks on both time axes. Only ``as_known_at`` reads (the position then, which
    later commits do not change), in a worker thread; else no thread hop and no connection (issue #6,
    P1/P5). The parts and ``min_position`` are read here, not by dependencies of their own: FastAPI
    solves every dependency node on every request, and those two nodes were a fifth of a kept read's
    CPU (issue #6, P5)."""
    parts = await get_parts(request)
    floor = await wait_for_min_position(parts, min_position)
    known = (
        ALL_KNOWN if as_known_at is None else await run_in_threadpool(_position_known_at, parts, as_known_at)
    )
    return ReadTime(as_of or parts.ledger.today(), known, as_known_at and naive_utc(as_known_at), floor)


def _position_known_at(parts: Parts, moment: datetime) -> int:
    with parts.engine.connect() as conn:
        return parts.audit.position_known_at(conn, moment)


ReadTimeDep = Annotated[ReadTime, Depends(get_read_time)]

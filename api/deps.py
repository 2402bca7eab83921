"""FastAPI dependencies. The parts are built by an entry point and put on ``app.state``; tests
build their own. Nothing here creates an engine or a connection at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request
from sqlalchemy import Connection, Engine

from api.schemas.common import CommandAccepted
from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from projections.coverage import CoverageView
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """What the API needs: the command side, the read side, and how projections run."""

    ledger: Ledger
    engine: Engine
    runner: ProjectionRunner
    coverage: CoverageView
    inline_projections: bool


def get_parts(request: Request) -> Parts:
    parts: Parts = request.app.state.parts
    return parts


PartsDep = Annotated[Parts, Depends(get_parts)]


def get_context(
    x_actor: Annotated[str, Header(min_length=1, max_length=100)] = "anonymous",
    x_correlation_id: Annotated[UUID | None, Header()] = None,
    x_command_id: Annotated[UUID | None, Header(description="Makes the command idempotent")] = None,
) -> CommandContext:
    """Who records the events and why. Until authentication (issue #7) the actor comes from
    ``X-Actor``. ``X-Command-ID`` makes a command idempotent: a repeat returns the first result."""
    return CommandContext.new(x_actor, x_correlation_id, x_command_id)


ContextDep = Annotated[CommandContext, Depends(get_context)]


class Commands:
    """Runs one command on the ledger; in embedded mode it then brings the projections up to date."""

    def __init__(self, parts: PartsDep) -> None:
        self.parts = parts

    def run(self, command: Callable[[Ledger], CommandResult]) -> CommandAccepted:
        result = command(self.parts.ledger)
        if self.parts.inline_projections:
            try:
                self.parts.runner.catch_up()
            except Exception:  # the event is stored; the projection stops and /health says so
                log.exception("projection failed after position %s", result.position)
        return CommandAccepted(id=result.id, position=result.position)


CommandsDep = Annotated[Commands, Depends()]


def get_read_connection(parts: PartsDep) -> Iterator[Connection]:
    """One read-only snapshot per request, so a checkpoint and the rows it covers agree."""
    with parts.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


ReadConnection = Annotated[Connection, Depends(get_read_connection)]

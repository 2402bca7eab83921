"""The FastAPI application. ``create_app`` takes its parts; entry points (``dangjian serve``,
tests) build them from settings, so importing this module connects to nothing."""

from __future__ import annotations

from fastapi import FastAPI

from api import problems
from api.deps import Parts
from api.routes import coverage, entities, health, members, organizations


def create_app(parts: Parts) -> FastAPI:
    app = FastAPI(
        title="dangjian",
        summary="Event-sourced ledger of party building in market supervision (市场监管 小个专 党建)",
        version="0.1.0",
    )
    app.state.parts = parts
    problems.install(app)
    for module in (entities, organizations, members, coverage, health):
        app.include_router(module.router)
    return app

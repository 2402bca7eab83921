"""The FastAPI application. ``create_app`` takes its parts; entry points (``dangjian serve``,
tests) build them from settings, so importing this module connects to nothing."""

from __future__ import annotations

from fastapi import FastAPI

from api import problems
from api.deps import Parts
from api.routes import (
    activities,
    coverage,
    entities,
    health,
    history,
    lifecycle,
    members,
    mobile,
    organizations,
    pairings,
    pioneer,
    stars,
    strongest_branch,
    transfers,
)


def create_app(parts: Parts) -> FastAPI:
    app = FastAPI(
        title="dangjian",
        summary="Event-sourced ledger of party building in market supervision (市场监管 小个专 党建)",
        version="0.1.0",
    )
    app.state.parts = parts
    problems.install(app)
    for module in (
        entities,
        organizations,
        members,
        lifecycle,
        pioneer,
        activities,
        pairings,
        transfers,
        mobile,
        strongest_branch,
        stars,
        coverage,
        history,
        health,
    ):
        app.include_router(module.router)
    return app

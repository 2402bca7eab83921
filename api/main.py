"""The FastAPI application. ``create_app`` takes its parts; entry points (``dangjian serve``,
tests) build them from settings, so importing this module connects to nothing."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api import auth, problems
from api.deps import Parts
from api.limits import BodySizeLimit
from api.routes import (
    activities,
    compliance,
    coverage,
    documents,
    entities,
    exports,
    health,
    history,
    imports,
    lifecycle,
    members,
    metrics,
    mobile,
    mobile_chain,
    organizations,
    pairings,
    pioneer,
    reports,
    roster,
    stars,
    stars_statistics,
    strongest_branch,
    transfers,
    ui,
)


def create_app(parts: Parts) -> FastAPI:
    app = FastAPI(
        title="dangjian",
        summary="Event-sourced ledger of party building in market supervision (市场监管 小个专 党建)",
        version="0.1.0",
        dependencies=[Depends(auth.authorize)],  # every route: token, role and scope (docs/SECURITY.md)
    )
    app.state.parts = parts
    app.add_middleware(BodySizeLimit)
    problems.install(app)
    auth.install(app)
    # FastAPI matches routes in the order they were included, and matching costs CPU per route passed:
    # the most read route goes first (issue #6, P5); no other module has a path under /coverage.
    for module in (
        coverage,
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
        compliance,
        roster,
        mobile_chain,
        stars_statistics,
        reports,
        exports,
        imports,
        documents,
        history,
        health,
        metrics,
    ):
        for route in module.router.routes:  # each route's one-line docstring is its OpenAPI summary
            if isinstance(route, APIRoute) and route.description and not route.summary:
                route.summary = " ".join(route.description.strip().split("\n\n")[0].split()).rstrip(".")
        app.include_router(module.router, responses=problems.RESPONSES)
    app.include_router(ui.login_router)  # the dashboard (issue #8): its login form, its pages and files
    app.include_router(ui.router)
    app.mount("/ui/static", StaticFiles(directory=ui.STATIC), name="ui-static")
    return app

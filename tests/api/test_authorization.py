"""The authorisation matrix (issue #7, "done when"): every route of the app × every role × a token in
scope and a token out of scope, plus no token at all, each with its expected answer (docs/SECURITY.md).

- "allowed": anything but 401/403 and never a 5xx (2xx, or 4xx from validation: the requests carry
  only the fields that place them, so most commands answer 422 and record nothing);
- "denied by role" (S2) and "denied by scope" (S3): 403 problems naming the rule;
- no token: 401 with ``WWW-Authenticate: Bearer`` (S1), or for a dashboard page a 303 to the login form.

The expected answers are written here, independently of ``api/auth.py``, and a route of the app without
an entry in ``EXPECTED`` fails ``test_every_route_has_a_matrix_entry``. The matrix runs on SQLite (one
store for the module); a few cases run on both backends below.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api import tokens
from api.main import create_app
from domain.application import Ledger
from domain.envelope import CommandContext
from domain.values import ActivityType, Affiliation, MarketScope, OrgKind, TransferScope
from infra.settings import Settings
from infra.store import Container, build
from tests import factories as f
from tests.conftest import bearer, fixed_today

ROLES = ("admin", "association", "station", "market", "agency", "auditor", "consumer")
EVERYONE = frozenset(ROLES)
READERS = EVERYONE - {"consumer"}

# Which roles may use each area (docs/SECURITY.md, "Permission table").
ALLOWED: dict[str, frozenset[str]] = {
    "public": EVERYONE,
    "entities": frozenset({"admin", "station", "association", "market"}),
    "organizations": frozenset({"admin", "association", "station", "market", "agency"}),
    "members": frozenset({"admin", "association", "station"}),
    "evaluations": frozenset({"admin", "association", "station"}),
    "activities": frozenset({"admin", "association", "station", "market", "agency"}),
    "pairings": frozenset({"admin", "agency"}),
    "ratings": frozenset({"admin", "agency"}),
    "stars": frozenset({"admin", "market"}),
    "imports": frozenset({"admin", "association"}),
    "erasure": frozenset({"admin"}),
    "records": READERS,
    "roster": READERS,
    "statistics": EVERYONE,
    "audit": frozenset({"admin", "auditor"}),
    "operations": frozenset({"admin", "auditor"}),
}

_MEMBER_WRITES = [
    "transfers",
    "life-organizations",
    "life-organization-departures",
    "corrections",
    "probation-completion",
    "probation-extensions",
    "suspensions",
    "resumptions",
    "absences",
    "returns",
    "disciplinary-periods",
    "disciplinary-period-ends",
    "policy-violations",
    "departures",
]


def _writes(resource: str, param: str, verbs: Iterable[str], area: str) -> dict[tuple[str, str], str]:
    return {("POST", f"/{resource}/{{{param}}}/{verb}"): area for verb in verbs}


# Every route: its area. Creations are ("POST", "/resource"), reads of one aggregate ("GET", ".../{id}").
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/health"): "public",
    ("GET", "/metrics"): "operations",
    ("POST", "/market-entities"): "entities",
    **_writes("market-entities", "entity_id", ["status", "corrections"], "entities"),
    ("GET", "/market-entities/{entity_id}"): "records",
    ("POST", "/organizations"): "organizations",
    **_writes(
        "organizations",
        "org_id",
        ["entities", "entity-removals", "guidance-officers", "guidance-officer-withdrawals", "dissolution"],
        "organizations",
    ),
    ("GET", "/organizations/{org_id}"): "records",
    ("POST", "/members"): "members",
    **_writes("members", "member_id", _MEMBER_WRITES, "members"),
    ("POST", "/members/{member_id}/erasure"): "erasure",
    ("GET", "/members/{member_id}"): "records",
    ("POST", "/pioneer-rounds"): "evaluations",
    **_writes(
        "pioneer-rounds",
        "round_id",
        ["enrolments", "steps", "results", "talks", "support-pairings", "closure"],
        "evaluations",
    ),
    ("GET", "/pioneer-rounds/{round_id}"): "records",
    ("POST", "/activities"): "activities",
    **_writes("activities", "activity_id", ["attendance-corrections", "voiding"], "activities"),
    ("GET", "/activities/{activity_id}"): "records",
    ("POST", "/pairings"): "pairings",
    **_writes("pairings", "pairing_id", ["plans", "ending"], "pairings"),
    ("GET", "/pairings/{pairing_id}"): "records",
    ("POST", "/liaison-points"): "pairings",
    ("POST", "/liaison-points/{point_id}/ending"): "pairings",
    ("GET", "/liaison-points/{point_id}"): "records",
    ("POST", "/transfer-letters"): "members",
    **_writes(
        "transfer-letters",
        "letter_id",
        ["acceptance", "refusal", "cancellation", "reissue", "receipt"],
        "members",
    ),
    ("GET", "/transfer-letters/{letter_id}"): "records",
    ("GET", "/transfer-letters/{letter_id}/letter.html"): "records",
    ("POST", "/mobile-rounds"): "evaluations",
    **_writes(
        "mobile-rounds",
        "round_id",
        ["identity-confirmation", "activity-filings", "feedback", "receipt"],
        "evaluations",
    ),
    ("GET", "/mobile-rounds/{round_id}"): "records",
    ("GET", "/mobile-rounds/{round_id}/feedback-form.html"): "records",
    ("GET", "/mobile-rounds/{round_id}/letter.html"): "records",
    ("POST", "/strongest-branch-ratings"): "ratings",
    **_writes(
        "strongest-branch-ratings",
        "rating_id",
        [
            "evaluations",
            "disqualifications",
            "applications",
            "decisions",
            "award",
            "revocation",
            "parent-changes",
        ],
        "ratings",
    ),
    ("GET", "/strongest-branch-ratings/{rating_id}"): "records",
    ("POST", "/station-stars"): "stars",
    **_writes("station-stars", "star_id", ["raise", "revocation"], "stars"),
    ("GET", "/station-stars/{star_id}"): "records",
    ("POST", "/xinhuo-demonstrations"): "stars",
    ("POST", "/xinhuo-demonstrations/{demonstration_id}/revocation"): "stars",
    ("GET", "/xinhuo-demonstrations/{demonstration_id}"): "records",
    ("POST", "/market-standardisations"): "stars",
    **_writes("market-standardisations", "standardisation_id", ["criteria", "lapses"], "stars"),
    ("GET", "/market-standardisations/{standardisation_id}"): "records",
    ("GET", "/coverage"): "statistics",
    ("GET", "/statistics/training"): "statistics",
    ("GET", "/statistics/compliance"): "statistics",
    ("GET", "/statistics/volunteers"): "statistics",
    ("GET", "/statistics/members"): "statistics",
    ("GET", "/statistics/stars"): "statistics",
    ("GET", "/statistics/mobile-chain"): "roster",
    ("GET", "/roster"): "roster",
    ("GET", "/reports/half-year"): "statistics",
    ("GET", "/reports/half-year.xlsx"): "statistics",
    ("POST", "/imports/members"): "imports",
    ("GET", "/audit"): "audit",
    ("GET", "/history/{aggregate_id}"): "audit",
    # the dashboard (api/routes/ui.py)
    ("GET", "/ui/login"): "public",
    ("POST", "/ui/login"): "public",
    ("POST", "/ui/logout"): "public",
    ("GET", "/ui"): "statistics",
    ("GET", "/ui/coverage"): "statistics",
    ("GET", "/ui/stars"): "statistics",
    ("GET", "/ui/mobile"): "roster",
    ("GET", "/ui/audit"): "audit",
}
# Routes that hold nothing divisible by place: "in scope" means a token with the scope *.
WHOLE_TREE = {("GET", "/metrics"), ("POST", "/imports/members")}
# Routes that show nothing of their own: any scope may use them (the dashboard's entry redirect).
PLACELESS = {("GET", "/ui")}

IN_SCOPE = "region:330400"  # the city of Jiaxing: the world below lies in its county 330402
OUT_OF_SCOPE = "region:330500"  # Huzhou, a neighbouring city


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves through FastAPI routes, included routers flattened."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Iterable[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.update((m, route.path) for m in route.methods or () if m != "HEAD")
            elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
                walk(c.original_route for c in route.effective_route_contexts())
            elif hasattr(route, "routes") and isinstance(getattr(route, "routes", None), list):
                walk(route.routes)

    walk(app.routes)
    return found


def seed_world(ledger: Ledger) -> dict[str, UUID]:
    """One aggregate of every kind, all in county 330402 (Jiaxing 330400): ids by path parameter name
    (``round_id`` by resource: ``/pioneer-rounds``, ``/mobile-rounds``)."""
    ctx = CommandContext.new("setup")
    day = f.DAY
    entity = f.register_entity(ledger, ctx, region_code="330402")
    agency = f.establish(ledger, ctx, kind=OrgKind.AGENCY_BRANCH, name="机关党支部")
    station = f.establish(ledger, ctx, kind=OrgKind.STATION_BRANCH, name="市场所党支部")
    branch = f.establish(ledger, ctx, kind=OrgKind.BRANCH_ASSOCIATION, name="分会党支部", parent_id=agency)
    member = f.register_member(ledger, ctx, [branch], relationship_org_id=branch).id
    mobile = f.register_member(ledger, ctx, [branch], affiliation=Affiliation.MOBILE).id
    return {
        "entity_id": entity,
        "org_id": station,
        "agency": agency,
        "branch": branch,
        "member_id": member,
        "aggregate_id": member,
        "activity_id": ledger.hold_activity(
            ctx,
            effective_on=date(2025, 6, 1),
            org_id=station,
            activity_type=ActivityType.PARTY_LECTURE,
            topic="党课",
            host="王书记",
            participant_ids=[member],
        ).id,
        "pairing_id": ledger.pair_organizations(
            ctx,
            effective_on=day,
            org_ids=[agency, station],
            agreement_reference="共建协议1号",
            agreement_signed_on=day,
            plan_year=2025,
            plan_items=["每季度共建交流"],
        ).id,
        "point_id": ledger.link_liaison_point(
            ctx, effective_on=day, leader_name="李局长", leader_title="局长", org_id=station
        ).id,
        "letter_id": ledger.issue_transfer_letter(
            ctx,
            effective_on=day,
            member_id=member,
            letter_number="1号",
            stub_ref="存根1",
            receipt_ref="回执1",
            scope=TransferScope.SAME_CITY,
            to_org_id=station,
        ).id,
        "rating_id": ledger.start_strongest_branch_rating(ctx, effective_on=day, org_id=agency, year=2025).id,
        "star_id": ledger.award_station_star(
            ctx, effective_on=day, org_id=station, level=3, awarding_body="市局"
        ).id,
        "demonstration_id": ledger.award_xinhuo_demonstration(
            ctx, effective_on=day, org_id=branch, awarding_body="市局"
        ).id,
        "standardisation_id": ledger.enroll_market_standardisation(
            ctx, effective_on=day, entity_id=entity, scope=MarketScope.COUNTY_CENTRAL_FARMERS
        ).id,
        "/pioneer-rounds": ledger.open_pioneer_round(
            ctx, effective_on=day, org_id=branch, year=2025, round_date=date(2025, 11, 1)
        ).id,
        "/mobile-rounds": ledger.register_mobile_round(
            ctx, effective_on=day, member_id=mobile, year=2025, business_org_id=branch
        ).id,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, dict[str, UUID]]]:
    """The world of ``seed_world`` on SQLite, projected."""
    path: Path = tmp_path_factory.mktemp("matrix") / "matrix.sqlite"
    container = build(Settings(database_url=f"sqlite:///{path}", demo_when_empty=False))
    container.ledger.today = fixed_today
    ids = seed_world(container.ledger)
    container.runner.catch_up()
    try:
        yield container, ids
    finally:
        container.close()


@pytest.fixture(scope="module")
def matrix_client(world: tuple[Container, dict[str, UUID]]) -> Iterator[TestClient]:
    container, _ = world
    parts = container.parts()
    with TestClient(create_app(parts), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def role_tokens(world: tuple[Container, dict[str, UUID]]) -> dict[tuple[str, str], dict[str, str]]:
    """Headers for every role with a token in scope, out of scope and over the whole tree."""
    engine = world[0].engine
    return {
        (role, scope): bearer(engine, f"{role}-{scope}", role, scope)
        for role in ROLES
        for scope in (IN_SCOPE, OUT_OF_SCOPE, "*")
    }


def request_for(method: str, path: str, ids: dict[str, UUID]) -> dict[str, Any]:
    """The request a cell sends: ids in the path, the places of a read in the query, and for a
    creation only the body field that places it."""
    resource = "/" + path.strip("/").split("/")[0]
    url = path
    for name in ("entity_id", "org_id", "member_id", "activity_id", "pairing_id", "point_id", "letter_id"):
        url = url.replace(f"{{{name}}}", str(ids[name]))
    for name in ("rating_id", "star_id", "demonstration_id", "standardisation_id", "aggregate_id"):
        url = url.replace(f"{{{name}}}", str(ids[name]))
    url = url.replace("{round_id}", str(ids.get(resource, uuid4())))
    assert "{" not in url, url
    kwargs: dict[str, Any] = {}
    if path in ("/audit", "/ui/audit"):
        kwargs["params"] = {"aggregate_id": str(ids["member_id"])}
    elif path.startswith(("/coverage", "/statistics/", "/roster", "/reports/", "/ui/")):
        kwargs["params"] = {"region": "330400"}
    if path == "/imports/members":
        kwargs["files"] = {"file": ("登记表.csv", "单位名称\n".encode(), "text/csv")}
    elif method == "POST" and path.startswith("/ui/"):
        kwargs["data"] = {"token": "dj_not-a-token"}
    elif method == "POST" and "{" not in path:
        creations: dict[str, dict[str, Any]] = {
            "/market-entities": {"region_code": "330402"},
            "/organizations": {"region_code": "330402"},
            "/members": {"relationship_org_id": str(ids["branch"])},
            "/transfer-letters": {"member_id": str(ids["member_id"])},
            "/pioneer-rounds": {"org_id": str(ids["branch"])},
            "/mobile-rounds": {"member_id": str(ids["member_id"])},
            "/activities": {"org_id": str(ids["org_id"])},
            "/pairings": {"org_ids": [str(ids["agency"]), str(ids["org_id"])]},
            "/liaison-points": {"org_id": str(ids["org_id"])},
            "/strongest-branch-ratings": {"org_id": str(ids["agency"])},
            "/station-stars": {"org_id": str(ids["org_id"])},
            "/xinhuo-demonstrations": {"org_id": str(ids["branch"])},
            "/market-standardisations": {"entity_id": str(ids["entity_id"])},
        }
        kwargs["json"] = creations[path]
    elif method == "POST":
        kwargs["json"] = {}
    return {"method": method, "url": url, **kwargs}


def assert_problem(response: Any, status: int, rule: str, where: str) -> None:
    assert response.status_code == status, f"{where}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), where
    assert any(e["rule"] == rule for e in response.json()["errors"]), f"{where}: {response.text}"


def test_every_route_has_a_matrix_entry() -> None:
    served = app_routes(create_app(None))  # type: ignore[arg-type]  # building the app connects to nothing
    assert served - EXPECTED.keys() == set(), "routes without an expected answer in the matrix"
    assert EXPECTED.keys() - served == set(), "matrix entries for routes the app no longer serves"


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
def test_authorization_matrix(
    route: tuple[str, str],
    world: tuple[Container, dict[str, UUID]],
    matrix_client: TestClient,
    role_tokens: dict[tuple[str, str], dict[str, str]],
) -> None:
    method, path = route
    area = EXPECTED[route]
    request = request_for(method, path, world[1])
    client = matrix_client
    # no token: 401 with a Bearer challenge, a dashboard page sends the browser to the login form
    anonymous = client.request(**request)
    if area == "public":
        assert anonymous.status_code not in (401, 403) and anonymous.status_code < 500, anonymous.text
    elif path.startswith("/ui"):
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login")
    else:
        assert_problem(anonymous, 401, "S1", f"{route} without a token")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
    in_scope = "*" if route in WHOLE_TREE else IN_SCOPE
    for role in ROLES:
        for scope, inside in ((in_scope, True), (OUT_OF_SCOPE, False)):
            where = f"{method} {path} as {role} {'in' if inside else 'out of'} scope"
            response = client.request(**request, headers=role_tokens[(role, scope)])
            if role not in ALLOWED[area]:
                assert_problem(response, 403, "S2", where)
            elif inside or area == "public" or route in PLACELESS:
                assert response.status_code not in (401, 403), f"{where}: {response.text[:300]}"
                assert response.status_code < 500, f"{where}: {response.text[:300]}"
            else:
                assert_problem(response, 403, "S3", where)


def test_the_docs_and_the_openapi_document_need_no_token(matrix_client: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert matrix_client.get(path).status_code == 200, path
    schemes = matrix_client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}


def test_an_organisation_scope_covers_the_organisation_and_its_descendants(
    world: tuple[Container, dict[str, UUID]], matrix_client: TestClient
) -> None:
    container, ids = world
    # the agency branch is the parent of the association branch, which holds the member's relationship
    headers = bearer(container.engine, "agency-officer", "auditor", f"org:{ids['agency']}")
    for path in (
        f"/organizations/{ids['agency']}",
        f"/organizations/{ids['branch']}",
        f"/members/{ids['member_id']}",
    ):
        assert matrix_client.get(path, headers=headers).status_code == 200, path
    outside = matrix_client.get(f"/organizations/{ids['org_id']}", headers=headers)  # the station branch
    assert_problem(outside, 403, "S3", "a sibling organisation")
    assert (
        matrix_client.get("/roster", params={"org_id": str(ids["branch"])}, headers=headers).status_code
        == 200
    )
    assert_problem(
        matrix_client.get("/roster", params={"region": "330400"}, headers=headers), 403, "S3", "a region"
    )
    assert_problem(matrix_client.get("/roster", headers=headers), 403, "S3", "no place named")


def test_a_county_scope_is_exact_and_a_province_covers_its_cities(
    world: tuple[Container, dict[str, UUID]], matrix_client: TestClient
) -> None:
    container, ids = world
    member = f"/members/{ids['member_id']}"
    for scope, status in (("330402", 200), ("330411", 403), ("330000", 200), ("320000", 403)):
        headers = bearer(container.engine, "officer", "station", scope)
        assert matrix_client.get(member, headers=headers).status_code == status, scope
    headers = bearer(container.engine, "officer", "station", "330402")
    assert matrix_client.get("/coverage", params={"region": "330402"}, headers=headers).status_code == 200
    wider = matrix_client.get("/coverage", params={"region": "330400"}, headers=headers)
    assert_problem(wider, 403, "S3", "a city from a county scope")


def test_a_write_in_scope_records_the_tokens_actor_and_ignores_x_actor(
    client: TestClient, container: Container
) -> None:
    """S4 on both backends: the actor of the event is the token's, whatever X-Actor says."""
    headers = bearer(container.engine, "station-officer-zhou", "station", "330400")
    payload = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in f.entity_fields().items()}
    accepted = client.post("/market-entities", json=payload, headers=headers | {"X-Actor": "somebody-else"})
    assert accepted.status_code == 201, accepted.text
    entries = client.get("/audit", params={"aggregate_id": accepted.json()["id"]}).json()["entries"]
    assert [e["actor"] for e in entries] == ["station-officer-zhou"]
    elsewhere = payload | {"region_code": "330502", "credit_code": f.credit_code("330502")}
    refused = client.post("/market-entities", json=elsewhere, headers=headers)
    assert_problem(refused, 403, "S3", "an entity in another city")
    assert client.get("/audit", params={"actor": "station-officer-zhou"}).json()["entries"] == entries


def test_unknown_and_revoked_tokens_are_401(client: TestClient, container: Container) -> None:
    token_id, token = tokens.issue(container.engine, "leaver", "auditor", "*")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/audit", headers=headers).status_code == 200
    assert tokens.revoke(container.engine, token_id)
    revoked = client.get("/audit", headers=headers)
    assert_problem(revoked, 401, "S1", "a revoked token")
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]
    forged = client.get("/audit", headers={"Authorization": f"Bearer {tokens.PREFIX}{uuid4().hex}"})
    assert_problem(forged, 401, "S1", "an unknown token")
    live_id, live = tokens.issue(container.engine, "officer", "auditor", "*")
    try:
        client.cookies.set("dangjian_token", token)
        assert client.get("/audit", headers={"Authorization": ""}).status_code == 401
        client.cookies.set("dangjian_token", live)
        assert (
            client.get("/audit", headers={"Authorization": ""}).status_code == 200
        )  # the dashboard's cookie
    finally:
        client.cookies.clear()
    with container.engine.connect() as conn:  # only the hash is stored
        stored = [tuple(row) for row in conn.execute(tokens.api_tokens.select())]
    assert not any(live in str(value) or token in str(value) for row in stored for value in row)
    assert live_id in {row[0] for row in stored}

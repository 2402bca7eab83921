"""Who may see and do what (issue #7): the roles, the permission table, scopes, and the one dependency
that checks every request. The rules are written down in docs/SECURITY.md and cited here:

- S1 authentication: every route but ``/health`` (and the OpenAPI document, the docs and the
  dashboard's login page) needs a live token, ``Authorization: Bearer dj_…`` or the cookie
  ``dangjian_token``. No token, an unknown one or a revoked one is 401.
- S2 role: each route belongs to an area, and ``PERMISSIONS`` says which roles may use that area.
- S3 scope: a token's scope is a node of the region tree or of the organisation tree; every write is
  checked against the place of the aggregate it touches and every read is limited to the scope.
- S4 actor: the actor of every recorded event is the token's actor, never a header or the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPBearer

from api import problems, tokens
from domain.application import Ledger
from domain.organization import PartyOrganization

COOKIE = "dangjian_token"
LOGIN_PAGE = "/ui/login"


class Role(StrEnum):
    """The users of DOMAIN.md "Who uses it", plus an administrator for set-up."""

    ADMIN = "admin"
    ASSOCIATION = "association"  # 个私协会 staff: member files, registrations, evaluations, mobile chain
    STATION = "station"  # 市场监管所 officers: capture at registration, visits, guidance officers
    MARKET = "market"  # 市场处/科: market party organisations, standardisation, stars
    AGENCY = "agency"  # 机关党委: pairings, liaison points, strongest-branch ratings
    AUDITOR = "auditor"  # reads everything in scope, the audit trail included; writes nothing
    CONSUMER = "consumer"  # provincial platforms and dashboards: statistics only


class Area(StrEnum):
    """What a route touches; ``PERMISSIONS`` maps each area to the roles that may use it (S2)."""

    PUBLIC = "public"
    ENTITIES = "entities"  # write market entities
    ORGANIZATIONS = "organizations"  # write party organisations, coverage, guidance officers
    MEMBERS = "members"  # write members, their lifecycle, transfer letters
    EVALUATIONS = "evaluations"  # write pioneer rounds and the mobile-member chain
    ACTIVITIES = "activities"  # write activities
    PAIRINGS = "pairings"  # write pairings and liaison points
    RATINGS = "ratings"  # write strongest-branch ratings
    STARS = "stars"  # write station stars, 薪火 and market standardisation
    IMPORTS = "imports"  # bulk member import
    ERASURE = "erasure"  # erase a member's personal data (issue #7 point 3)
    RECORDS = "records"  # read one aggregate (personal data included) or a printable document
    ROSTER = "roster"  # read lists of members by name
    STATISTICS = "statistics"  # read figures
    AUDIT = "audit"  # read the audit trail and histories
    OPERATIONS = "operations"  # read metrics


_READERS = frozenset(Role) - {Role.CONSUMER}
PERMISSIONS: dict[Area, frozenset[Role]] = {
    Area.PUBLIC: frozenset(Role),
    Area.ENTITIES: frozenset({Role.ADMIN, Role.STATION, Role.ASSOCIATION, Role.MARKET}),
    Area.ORGANIZATIONS: frozenset({Role.ADMIN, Role.ASSOCIATION, Role.STATION, Role.MARKET, Role.AGENCY}),
    Area.MEMBERS: frozenset({Role.ADMIN, Role.ASSOCIATION, Role.STATION}),
    Area.EVALUATIONS: frozenset({Role.ADMIN, Role.ASSOCIATION, Role.STATION}),
    Area.ACTIVITIES: frozenset({Role.ADMIN, Role.ASSOCIATION, Role.STATION, Role.MARKET, Role.AGENCY}),
    Area.PAIRINGS: frozenset({Role.ADMIN, Role.AGENCY}),
    Area.RATINGS: frozenset({Role.ADMIN, Role.AGENCY}),
    Area.STARS: frozenset({Role.ADMIN, Role.MARKET}),
    Area.IMPORTS: frozenset({Role.ADMIN, Role.ASSOCIATION}),
    Area.ERASURE: frozenset({Role.ADMIN}),
    Area.RECORDS: _READERS,
    Area.ROSTER: _READERS,
    Area.STATISTICS: frozenset(Role),
    Area.AUDIT: frozenset({Role.ADMIN, Role.AUDITOR}),
    Area.OPERATIONS: frozenset({Role.ADMIN, Role.AUDITOR}),
}


class Target(StrEnum):
    """Where a route's place in the region and organisation trees is read from (S3)."""

    NONE = "none"  # public
    PATH = "path"  # the aggregate named by the path's id
    BODY = "body"  # a new aggregate: its first anchor field in the JSON body
    QUERY = "query"  # the ``region``, ``org_id`` or ``aggregate_id`` filter of a read
    GLOBAL = "global"  # not divisible by place: needs the whole tree (scope ``*``)


@dataclass(frozen=True)
class Rule:
    area: Area
    target: Target
    params: tuple[str, ...] = ()
    """QUERY: the filters that place the read; at least one must be given, each inside the scope."""


# Commands: every POST under a resource is a write of its area; its target is the aggregate in the
# path, or for a creation the body. Reads of one aggregate (GET under a resource) are RECORDS.
WRITE_AREAS: dict[str, Area] = {
    "market-entities": Area.ENTITIES,
    "organizations": Area.ORGANIZATIONS,
    "members": Area.MEMBERS,
    "transfer-letters": Area.MEMBERS,
    "pioneer-rounds": Area.EVALUATIONS,
    "mobile-rounds": Area.EVALUATIONS,
    "activities": Area.ACTIVITIES,
    "pairings": Area.PAIRINGS,
    "liaison-points": Area.PAIRINGS,
    "strongest-branch-ratings": Area.RATINGS,
    "station-stars": Area.STARS,
    "xinhuo-demonstrations": Area.STARS,
    "market-standardisations": Area.STARS,
}
# Every other route, by method and path template.
ROUTE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): Rule(Area.PUBLIC, Target.NONE),
    ("GET", "/metrics"): Rule(Area.OPERATIONS, Target.GLOBAL),
    ("POST", "/imports/members"): Rule(Area.IMPORTS, Target.GLOBAL),
    ("POST", "/members/{member_id}/erasure"): Rule(Area.ERASURE, Target.PATH),
    ("GET", "/coverage"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/statistics/training"): Rule(Area.STATISTICS, Target.QUERY, ("region", "org_id")),
    ("GET", "/statistics/compliance"): Rule(Area.STATISTICS, Target.QUERY, ("region", "org_id")),
    ("GET", "/statistics/volunteers"): Rule(Area.STATISTICS, Target.QUERY, ("region", "org_id")),
    ("GET", "/statistics/members"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/statistics/stars"): Rule(Area.STATISTICS, Target.QUERY, ("region", "org_id")),
    ("GET", "/reports/half-year"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/reports/half-year.xlsx"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/statistics/mobile-chain"): Rule(Area.ROSTER, Target.QUERY, ("region",)),  # names members
    ("GET", "/roster"): Rule(Area.ROSTER, Target.QUERY, ("region", "org_id")),
    ("GET", "/audit"): Rule(Area.AUDIT, Target.QUERY, ("aggregate_id",)),
    ("GET", "/history/{aggregate_id}"): Rule(Area.AUDIT, Target.PATH),
    # The dashboard (api/routes/ui.py): each page as the JSON route it reads; /ui sends a token to its place.
    ("GET", "/ui"): Rule(Area.STATISTICS, Target.NONE),
    ("GET", "/ui/coverage"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/ui/stars"): Rule(Area.STATISTICS, Target.QUERY, ("region",)),
    ("GET", "/ui/mobile"): Rule(Area.ROSTER, Target.QUERY, ("region",)),
    ("GET", "/ui/audit"): Rule(Area.AUDIT, Target.QUERY, ("aggregate_id",)),
    ("POST", "/ui/logout"): Rule(Area.PUBLIC, Target.NONE),
}
# The dashboard's login form and its static files answer without a token.
PUBLIC_PREFIXES = (LOGIN_PAGE, "/ui/static/")


def rule_for(method: str, path: str) -> Rule | None:
    """The access rule of a route (its method and path template); None: no rule, nobody may use it."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in ROUTE_RULES:
        return ROUTE_RULES[(method, path)]
    if path.startswith(PUBLIC_PREFIXES):
        return Rule(Area.PUBLIC, Target.NONE)
    resource = path.strip("/").split("/")[0]
    if resource not in WRITE_AREAS:
        return None
    has_id = "{" in path
    if method == "POST":
        return Rule(WRITE_AREAS[resource], Target.PATH if has_id else Target.BODY)
    if method == "GET" and has_id:
        return Rule(Area.RECORDS, Target.PATH)
    return None


_REGION = re.compile(r"^\d{6}$")


def region_covers(scope: str, code: str) -> bool:
    """A province ``xx0000`` covers every code under ``xx``, a city ``xxyy00`` every ``xxyy**``, a
    county only itself (GB/T 2260)."""
    if scope.endswith("0000"):
        return code[:2] == scope[:2]
    if scope.endswith("00"):
        return code[:4] == scope[:4]
    return code == scope


@dataclass(frozen=True)
class Scope:
    """A node of the region tree (``region:330400``), of the organisation tree (``org:UUID``: the
    organisation and its descendants), or everything (``*``)."""

    kind: str  # "all", "region" or "org"
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> Scope:
        text = text.strip()
        if text in ("*", "all"):
            return cls("all")
        kind, _, value = text.rpartition(":")
        kind = kind or "region"
        if kind == "region" and _REGION.match(value):
            return cls("region", value)
        if kind == "org":
            return cls("org", str(UUID(value)))
        raise ValueError(f"scope {text!r}: use *, a 6-digit region code (region:330400) or org:UUID")

    def __str__(self) -> str:
        return "*" if self.kind == "all" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the actor recorded on events (S4), a role (S2) and a scope (S3)."""

    actor: str
    role: Role
    scope: Scope


class AccessDenied(Exception):
    """A request without a valid token (401) or outside the role's areas or the token's scope (403)."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.rule, self.message = status, field, rule, message


class LoginRequired(Exception):
    """A dashboard page asked for without a token: the browser goes to the login form."""


def _unauthenticated(message: str) -> AccessDenied:
    return AccessDenied(401, "Authorization", "S1", message)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    return request.cookies.get(COOKIE)


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)  # no URL built for a matched route (issue #6, P1)
    return str(path) if path is not None else request.url.path


ORG_FIELDS = ("org_id", "lead_org_id", "partner_org_id", "from_org_id", "to_org_id", "business_org_id")


def _region_in(scope: Scope, code: str) -> bool:
    return scope.kind == "all" or (scope.kind == "region" and region_covers(scope.value, code))


@dataclass
class Places:
    """Where aggregates sit in the region and organisation trees, looked up once per request."""

    ledger: Ledger
    cache: dict[UUID, Any] = field(default_factory=dict)

    def get(self, aggregate_id: UUID) -> Any:
        if aggregate_id not in self.cache:
            try:
                self.cache[aggregate_id] = self.ledger.repository.get(aggregate_id)
            except (AggregateNotFoundError, ValueError):
                self.cache[aggregate_id] = None
        return self.cache[aggregate_id]

    def anchors(self, aggregate_id: UUID, depth: int = 0) -> tuple[list[UUID], list[str]]:
        """The organisations and regions an aggregate belongs to: an organisation is itself; an entity
        is its region; a member is their relationship organisation (else their life organisations);
        anything else is the organisations it names, or the member or entity it is about."""
        aggregate = self.get(aggregate_id)
        if aggregate is None or depth > 2:
            return [], []
        if isinstance(aggregate, PartyOrganization):
            return [aggregate.id], []
        if isinstance(getattr(aggregate, "region_code", None), str):
            return [], [aggregate.region_code]
        orgs = [value for name in ORG_FIELDS if isinstance(value := getattr(aggregate, name, None), UUID)]
        relationship = getattr(aggregate, "relationship_org_id", None)
        if isinstance(relationship, UUID):
            orgs.append(relationship)
        elif not orgs:
            orgs += [o for o in getattr(aggregate, "life_org_ids", None) or () if isinstance(o, UUID)]
        regions: list[str] = []
        if not orgs:
            for name in ("member_id", "entity_id"):
                if isinstance(ref := getattr(aggregate, name, None), UUID):
                    more_orgs, more_regions = self.anchors(ref, depth + 1)
                    orgs += more_orgs
                    regions += more_regions
        return orgs, regions

    def org_in(self, scope: Scope, org_id: UUID) -> bool:
        if scope.kind == "region":
            org = self.get(org_id)
            return isinstance(org, PartyOrganization) and region_covers(scope.value, org.region_code)
        seen: set[UUID] = set()
        current: UUID | None = org_id
        while current is not None and current not in seen:  # up the organisation tree
            if str(current) == scope.value:
                return True
            seen.add(current)
            org = self.get(current)
            current = org.parent_id if isinstance(org, PartyOrganization) else None
        return False

    def covers(self, scope: Scope, orgs: list[UUID], regions: list[str]) -> bool:
        """Whether any of the anchors lies in the scope."""
        if scope.kind == "all":
            return True
        if any(_region_in(scope, r) for r in regions):
            return True
        return any(self.org_in(scope, o) for o in orgs)


# A new aggregate's place: the first of these fields its body carries (S3).
BODY_ANCHORS = (
    "region_code",
    "org_id",
    "relationship_org_id",
    "org_ids",
    "business_org_id",
    "member_id",
    "entity_id",
    "life_org_ids",
)


_NOT_JSON = object()


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _check_scope(request: Request, principal: Principal, rule: Rule, ledger: Ledger, body: Any) -> None:
    """S3, in a worker thread (it reads aggregates from the store). ``body``: the parsed JSON body of a
    creation, or ``_NOT_JSON``."""
    scope = principal.scope
    if scope.kind == "all" or rule.target == Target.NONE:
        return
    places = Places(ledger)

    def deny(field: str, what: str) -> AccessDenied:
        return AccessDenied(403, field, "S3", f"{what} lies outside the token's scope {scope}")

    if rule.target == Target.GLOBAL:
        raise AccessDenied(403, "scope", "S3", f"this route needs the scope *, the token's is {scope}")
    if rule.target == Target.PATH:
        name, value = next(iter(request.path_params.items()))
        aggregate_id = _uuid(value)
        if aggregate_id is None:
            return  # not an id: the route answers 422 and touches nothing
        if not places.covers(scope, *places.anchors(aggregate_id)):
            raise deny(name, f"{name} {aggregate_id}")
        return
    if rule.target == Target.QUERY:
        named = False
        for name in rule.params:
            value = request.query_params.get(name)
            if value is None:
                continue
            named = True
            if name == "region":
                if _REGION.match(value) and not _region_in(scope, value):
                    raise deny(name, f"region {value}")
                continue
            if (ref := _uuid(value)) is not None and not places.covers(scope, *places.anchors(ref)):
                raise deny(name, f"{name} {ref}")
        if not named:
            wanted = " or ".join(rule.params)
            raise AccessDenied(403, rule.params[0], "S3", f"name a {wanted} inside the token's scope {scope}")
        return
    if body is _NOT_JSON:  # Target.BODY
        return  # not JSON: the route answers 422 and records nothing
    anchor = next((n for n in BODY_ANCHORS if isinstance(body, dict) and body.get(n)), None)
    if anchor is None:
        raise AccessDenied(403, BODY_ANCHORS[0], "S3", f"the body names no place inside the scope {scope}")
    value = body[anchor]
    values = value if isinstance(value, list) else [value]
    if anchor == "region_code":
        if isinstance(value, str) and _REGION.match(value) and not _region_in(scope, value):
            raise deny(anchor, f"region_code {value}")
        return  # a malformed code is refused by the schema (422)
    ids = [i for i in map(_uuid, values) if i is not None]
    if len(ids) != len(values):
        return  # a malformed id is refused by the schema (422)
    orgs: list[UUID] = []
    regions: list[str] = []
    for ref in ids:
        if anchor in ("member_id", "entity_id"):
            more_orgs, more_regions = places.anchors(ref)
            orgs += more_orgs
            regions += more_regions
        else:
            orgs.append(ref)
    if not places.covers(scope, orgs, regions):
        raise deny(anchor, f"{anchor} {value}")


# How a token is sent, for the OpenAPI document (and /docs, and schemathesis): ``install`` writes them
# into it. They are not dependencies: FastAPI would solve both on every request only for the document
# (issue #6, P5: with them, the four nodes of the token check were a third of a kept read's CPU).
SECURITY_SCHEMES = {
    "HTTPBearer": HTTPBearer(description="An API token from `dangjian token issue` (dj_…)"),
    "APIKeyCookie": APIKeyCookie(name=COOKIE, description="The dashboard's login cookie"),
}


async def current_principal(request: Request) -> Principal | None:
    """The principal of the request's token (S1); None without a live one. A token found in this
    process's cache is answered on the event loop; only a miss queries the database, in a worker
    thread (issue #6, P1: one thread hop less per request)."""
    token = _bearer(request)
    if not token or not tokens.well_formed(token):
        return None
    parts = request.app.state.parts
    found = tokens.cached(parts.engine, token, parts.token_cache_seconds)
    if found is None:
        found = await run_in_threadpool(tokens.lookup, parts.engine, token, parts.token_cache_seconds)
    if found is None:
        return None
    actor, role, scope = found
    return Principal(actor=actor, role=Role(role), scope=Scope.parse(scope))


PRINCIPAL_KEY = "dangjian.principal"
"""Where ``authorize`` leaves the principal in the request's ASGI scope (``principal_of``)."""


async def authorize(
    request: Request, principal: Annotated[Principal | None, Depends(current_principal)]
) -> Principal:
    """The one check of every route: a live token (S1), a role allowed in the route's area (S2) and,
    for what the route touches, the token's scope (S3). Answers the principal the route acts as."""
    acting = await _authorize(request, principal)
    request.scope[PRINCIPAL_KEY] = acting
    return acting


def principal_of(request: Request) -> Principal:
    """The principal ``authorize``, the first dependency of every route (``api.main``), answered for
    this request: what ``PrincipalDep`` gives, without solving that dependency again (each dependency
    FastAPI solves costs CPU on every request, issue #6, P1)."""
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("authorize has not run for this request")
    return principal


async def _authorize(request: Request, principal: Principal | None) -> Principal:
    path = _route_path(request)
    rule = rule_for(request.method, path)
    if rule is not None and rule.area == Area.PUBLIC:
        return principal or Principal("anonymous", Role.CONSUMER, Scope("all"))
    if principal is None:
        if path.startswith("/ui"):
            raise LoginRequired()
        if _bearer(request):
            raise _unauthenticated("the token is unknown or revoked")
        raise _unauthenticated("send a token: Authorization: Bearer dj_…")
    if rule is None:
        raise AccessDenied(403, "path", "S2", f"{request.method} {path} has no access rule")
    if principal.role not in PERMISSIONS[rule.area]:
        raise AccessDenied(
            403, "role", "S2", f"the role {principal.role} may not use {rule.area} ({request.method} {path})"
        )
    body: Any = None
    if rule.target == Target.BODY and principal.scope.kind != "all":
        try:
            body = await request.json()
        except ValueError:
            body = _NOT_JSON
    if principal.scope.kind != "all" and rule.target != Target.NONE:  # else nothing to read: no thread hop
        await run_in_threadpool(_check_scope, request, principal, rule, request.app.state.parts.ledger, body)
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


def install(app: FastAPI) -> None:
    """Answer access errors as RFC 9457 problems; send dashboard pages to the login form; say in the
    OpenAPI document which operations need no token (S1)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {})["securitySchemes"] = {
                name: jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
                for name, scheme in SECURITY_SCHEMES.items()
            }
            either: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    rule = rule_for(method.upper(), path)
                    public = rule is not None and rule.area == Area.PUBLIC
                    operation["security"] = [] if public else either
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> JSONResponse:
        headers = None
        if exc.status == 401:
            invalid = ', error="invalid_token"' if _bearer(request) else ""
            headers = {"WWW-Authenticate": f'Bearer realm="dangjian"{invalid}'}
        title = "Unauthorized" if exc.status == 401 else "Forbidden"
        errors = [{"field": exc.field, "rule": exc.rule, "message": exc.message}]
        code = "unauthenticated" if exc.status == 401 else "forbidden"
        return problems.problem(exc.status, title, exc.message, request, errors, code=code, headers=headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{LOGIN_PAGE}?{urlencode({'next': target}, safe='/')}", status_code=303)

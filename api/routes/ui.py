"""The dashboard (issue #8 point 4): server-rendered pages in Chinese under ``/ui``.

Each page reads one read model through the same view and the same read-time dependency
(``ReadTimeDep``: ``as_of``, ``as_known_at``, ``min_position``) as the JSON API, and shows tables and
charts. The pages are left out of the OpenAPI schema. ``/ui/login`` keeps an officer's token in an
HttpOnly cookie; checking it is the authentication dependency's job (issue #7), so ``login_router``
is the way in and ``router`` holds the pages it protects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api import auth, ui
from api.deps import PartsDep, ReadConnection, ReadTime, ReadTimeDep
from api.printing import cndate
from domain.values import MobileStep
from projections.audit import AuditFilter
from projections.coverage import CoverageFigures
from projections.mobile_chain import MAX_PAGE_SIZE, ChainRound, MobileChainView
from projections.stars import StarsProjection, StarsReport, StarsView

STATIC = Path(__file__).parent.parent / "static"
TEMPLATES = Path(__file__).parent.parent / "templates" / "ui"
YEARS_SHOWN = 5
AUDIT_PAGE = 50
TIME_PARAMS = ("as_of", "as_known_at")

router = APIRouter(prefix="/ui", include_in_schema=False)
login_router = APIRouter(prefix="/ui", include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters |= {"cndate": cndate, "percent": ui.percent, "region_name": ui.region_name}
templates = Jinja2Templates(env=_env)

Region = Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit region code")]


@dataclass
class Card:
    """A chart with the table of its figures beneath."""

    title: str
    chart: dict[str, Any]
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _render(request: Request, template: str, at: ReadTime, position: int, **context: Any) -> HTMLResponse:
    kept = {k: v for k in TIME_PARAMS if (v := request.query_params.get(k))}

    def url(path: str, **params: Any) -> str:
        """A link that keeps the page's time (as_of, as_known_at)."""
        query = {**kept, **{k: str(v) for k, v in params.items() if v is not None}}
        return f"{path}?{urlencode(query)}" if query else path

    return templates.TemplateResponse(
        request,
        template,
        {
            "at": at,
            "known_local": ui.beijing(at.as_known_at),
            "position": position,
            "path": request.url.path,
            "url": url,
            **context,
        },
    )


# --- the way in -------------------------------------------------------------------------------------


@login_router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str | None, Query(max_length=1000)] = None) -> HTMLResponse:
    """The page where an officer pastes their token."""
    rejected = next is not None and auth.COOKIE in request.cookies  # sent back here with a token
    return templates.TemplateResponse(request, "login.html", {"next": _next(next), "rejected": rejected})


@login_router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(min_length=1, max_length=4096)],
    next: Annotated[str | None, Form(max_length=1000)] = None,
) -> RedirectResponse:
    """Keep the token in an HttpOnly, SameSite=Strict cookie and go back to the dashboard."""
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        auth.COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _next(path: str | None) -> str:
    """Where to go after the login: a dashboard page, never another site."""
    if (
        path
        and path.startswith("/ui")
        and not path.startswith("/ui/login")
        and "//" not in path
        and "\\" not in path
    ):
        return path
    return "/ui"


@login_router.post("/logout")
def logout() -> RedirectResponse:
    """Forget the token."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- the pages ----------------------------------------------------------------------------------------


@router.get("")
def home(principal: auth.PrincipalDep) -> RedirectResponse:
    """The dashboard opens on coverage, in the token's region when its scope is one (S3)."""
    if principal.scope.kind == "region":
        return RedirectResponse(f"/ui/coverage?region={principal.scope.value}", status_code=303)
    return RedirectResponse("/ui/coverage", status_code=303)


@router.get("/coverage", response_class=HTMLResponse)
def coverage_page(
    request: Request,
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    region: Region = None,
    station: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Organisation and work coverage by region (R13.1), one level at a time: province → city →
    county → station → entity kinds."""
    level = ui.coverage_level(region, station)
    report = parts.coverage.report(
        conn, as_of=at.as_of, known=at.known, region=region, station=station, group_by=level.group_by
    )
    groups = report.groups
    if region is None and not station:  # the view groups by county: add them up by province
        groups = {}
        for code, figures in report.groups.items():
            _add(groups.setdefault(ui.province_of(code), CoverageFigures()), figures)
    rows = [
        (key, *_coverage_row(level.group_by, key, region), figures) for key, figures in sorted(groups.items())
    ]
    buckets = list(ui.COVERAGE_BUCKETS.items())
    chart = ui.chart(
        "bar",
        [label for _, label, _, _ in rows],
        [ui.dataset(name, (getattr(f, key) for *_, f in rows), n) for n, (key, name) in enumerate(buckets)],
        title=f"各{level.name}在营市场主体覆盖情况（R13.1）",
        stacked=True,
    )
    members = None
    if not station:
        members = {
            "total": report.members,
            "by_category": [
                (label, report.members_by_category.get(k, 0)) for k, label in ui.MEMBER_CATEGORIES.items()
            ],
            "by_affiliation": [
                (label, report.members_by_affiliation.get(k, 0)) for k, label in ui.AFFILIATIONS.items()
            ],
        }
    return _render(
        request,
        "coverage.html",
        at,
        min(parts.runner.position("coverage", conn), at.known),
        page="coverage",
        level=level,
        region=region,
        station=station,
        trail=ui.breadcrumbs(region, station),
        rows=rows,
        total=report.total,
        members=members,
        chart=chart,
    )


def _add(into: CoverageFigures, figures: CoverageFigures) -> None:
    for name in ("operating", "standalone", "joint", "work_only", "uncovered"):
        setattr(into, name, getattr(into, name) + getattr(figures, name))


def _coverage_row(group_by: str, key: str, region: str | None) -> tuple[str, dict[str, str] | None]:
    """A row's label and the query of the level below it (None at the bottom)."""
    if group_by == "region":
        return ui.region_name(key), {"region": key}
    if group_by == "station":
        return (key, {"region": region or "", "station": key}) if key else ("（未填市场监管所）", None)
    return ui.ENTITY_KINDS.get(key, key), None


@router.get("/stars", response_class=HTMLResponse)
def stars_page(
    request: Request, parts: PartsDep, conn: ReadConnection, at: ReadTimeDep, region: Region = None
) -> HTMLResponse:
    """Star stations (R9.1), 薪火 (R9.2), standardised markets (R4), strongest-branch share (R11.2)
    and the pioneer index (R5) against their targets, year by year up to ``as_of``."""
    years = list(range(at.as_of.year - YEARS_SHOWN + 1, at.as_of.year + 1))
    view = StarsView()
    reports = [
        view.report(conn, year=y, as_of=min(at.as_of, date(y, 12, 31)), known=at.known, region=region)
        for y in years
    ]
    return _render(
        request,
        "stars.html",
        at,
        min(parts.runner.position(StarsProjection.name, conn), at.known),
        page="stars",
        region=region,
        cards=_star_cards([str(y) for y in years], reports),
    )


def _star_cards(years: list[str], reports: list[StarsReport]) -> list[Card]:
    stations = [r.station_stars for r in reports]
    station_card = Card(
        "星级市场所（R9.1）",
        ui.chart(
            "bar",
            years,
            [
                *(
                    ui.dataset(f"{level}星", (s.by_level[level] for s in stations), n)
                    for n, level in enumerate((5, 4, 3))
                ),
                ui.dataset(
                    "五星目标", (s.five_star_target for s in stations), 3, type="line", stack="target"
                ),
            ],
            title="星级市场所：按星级（五星目标 25 个，三年内全覆盖）",
            stacked=True,
        ),
        ["年度", "市场所", "五星", "四星", "三星", "未评星", "三星以上占比", "五星目标"],
        [
            [
                y,
                s.stations,
                s.by_level[5],
                s.by_level[4],
                s.by_level[3],
                s.unstarred,
                ui.percent(s.three_plus_share),
                s.five_star_target,
            ]
            for y, s in zip(years, stations, strict=True)
        ],
    )
    xinhuo = [r.xinhuo for r in reports]
    categories = list(ui.XINHUO_CATEGORIES.items())
    xinhuo_card = Card(
        "薪火示范（R9.2 百千万）",
        ui.chart(
            "bar",
            years,
            [
                ui.dataset(label, (x.by_category[key].count for x in xinhuo), n)
                for n, (key, label) in enumerate(categories)
            ],
            title="薪火示范党组织和示范户（表中：已命名 / 目标）",
        ),
        ["年度", *(label for _, label in categories), "合计"],
        [
            [y, *(f"{x.by_category[k].count} / {x.by_category[k].target}" for k, _ in categories), x.total]
            for y, x in zip(years, xinhuo, strict=True)
        ],
    )
    markets = [r.markets.total for r in reports]
    market_card = Card(
        "六化市场（R4）",
        ui.chart(
            "bar",
            years,
            [
                ui.dataset("参与创建", (m.enrolled for m in markets), 2),
                ui.dataset("达到六化标准", (m.standardised for m in markets), 4),
            ],
            title="党建标准化（六化）市场",
        ),
        ["年度", "参与创建", "达到六化标准", "达标率"],
        [
            [y, m.enrolled, m.standardised, ui.percent(m.standardised_share)]
            for y, m in zip(years, markets, strict=True)
        ],
    )
    branches = [r.strongest_branch for r in reports]
    branch_card = Card(
        "最强党支部（R11.2）",
        ui.chart(
            "line",
            years,
            [
                ui.dataset("最强党支部占比", ui.share_points(b.share for b in branches), 0),
                ui.dataset(
                    "目标占比", ui.share_points(b.target_share for b in branches), 3, borderDash=[6, 4]
                ),
            ],
            title="最强党支部占支部数的比例与年度目标（%）",
            percent=True,
        ),
        ["年度", "支部数", "最强党支部", "占比", "目标", "是否达标"],
        [
            [
                y,
                b.branches,
                b.awarded,
                ui.percent(b.share),
                ui.percent(b.target_share),
                {True: "达标", False: "未达标", None: "—"}[b.meets_target],
            ]
            for y, b in zip(years, branches, strict=True)
        ],
    )
    pioneers = [r.pioneer for r in reports]
    pioneer_card = Card(
        "先锋指数（R5）",
        ui.chart(
            "bar",
            years,
            [
                ui.dataset(f"{stars}星", (p.by_stars[stars] for p in pioneers), n)
                for n, stars in enumerate((5, 4, 3, 2, 1))
            ],
            title="先锋指数评议结果分布（人）",
            stacked=True,
        ),
        [
            "年度",
            "评议轮次",
            "参评",
            "符合条件",
            "不参评（R5.2）",
            "一票否决（R5.3）",
            "已评星",
            "优秀",
            "待跟进",
        ],
        [
            [
                y,
                p.rounds,
                p.enrolled,
                p.eligible,
                p.excluded,
                p.vetoed,
                p.rated,
                p.excellent,
                p.follow_ups_pending,
            ]
            for y, p in zip(years, pioneers, strict=True)
        ],
    )
    return [station_card, xinhuo_card, market_card, branch_card, pioneer_card]


@router.get("/mobile", response_class=HTMLResponse)
def mobile_page(
    request: Request,
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="The rounds' year")] = None,
    region: Region = None,
    after: Annotated[UUID | None, Query(description="The previous page's last round")] = None,
) -> HTMLResponse:
    """The mobile-member chain (R6) as a board: one column per step, overdue rounds marked (R6.3)."""
    chosen, year = year, year or at.as_of.year
    report = MobileChainView().report(
        conn, year=year, as_of=at.as_of, known=at.known, region=region, after=after, limit=MAX_PAGE_SIZE
    )
    columns: dict[str, list[ChainRound]] = {step.value: [] for step in MobileStep}
    for round_ in sorted(report.rounds, key=lambda r: (not r.overdue, r.member_name)):
        columns[round_.step].append(round_)
    steps = list(ui.MOBILE_STEPS.items())
    chart = ui.chart(
        "bar",
        [label for _, label in steps],
        [ui.dataset("人数", (report.totals.by_step[step] for step, _ in steps), 2)],
        title=f"{year}年流动党员双向反馈：各环节人数（R6.2）",
    )
    return _render(
        request,
        "mobile.html",
        at,
        min(parts.runner.position("mobile_chain", conn), at.known),
        page="mobile",
        year=year,
        chosen_year=chosen,
        region=region,
        report=report,
        steps=steps,
        columns=columns,
        chart=chart,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    parts: PartsDep,
    conn: ReadConnection,
    at: ReadTimeDep,
    aggregate_type: Annotated[str | None, Query(max_length=64)] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    aggregate_id: UUID | None = None,
    correlation_id: UUID | None = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = AUDIT_PAGE,
) -> HTMLResponse:
    """Who recorded what and when, filtered, a page at a time: the events in effect by ``as_of``
    that had been recorded by ``as_known_at``."""
    where = AuditFilter(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        event_type=event_type,
        actor=actor,
        correlation_id=correlation_id,
        recorded_to=at.as_known_at,
        effective_from=effective_from,
        effective_to=min(effective_to, at.as_of) if effective_to else at.as_of,
    )
    entries = parts.audit.page(conn, where, after=cursor, limit=limit)
    filters = {
        "aggregate_type": aggregate_type,
        "event_type": event_type,
        "actor": actor,
        "aggregate_id": aggregate_id,
        "correlation_id": correlation_id,
        "effective_from": effective_from,
        "effective_to": effective_to,
    }
    return _render(
        request,
        "audit.html",
        at,
        min(parts.runner.position("audit", conn), at.known),
        page="audit",
        filters={k: "" if v is None else str(v) for k, v in filters.items()},
        query={k: v for k, v in filters.items() if v is not None},
        aggregate_types=ui.AGGREGATE_TYPES,
        entries=entries,
        cursor=cursor,
        next_cursor=entries[-1].position if len(entries) == limit else None,
        beijing=ui.beijing,
        changes=_changes,
    )


def _changes(facts: dict[str, Any], width: int = 160) -> tuple[str, str | None]:
    """The event's facts on one line, cut to ``width``, and in full when the line was cut."""
    line = json.dumps(facts, ensure_ascii=False, separators=(", ", ": "))
    if len(line) <= width:
        return line, None
    return line[:width] + "…", json.dumps(facts, ensure_ascii=False, indent=2)

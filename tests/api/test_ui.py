"""The dashboard's routes (issue #8 point 4) without a browser, on SQLite and PostgreSQL: each page
reads the same views at the same read time as the JSON API, bad parameters are RFC 9457 problems,
the login cookie is HttpOnly and SameSite=Strict, nothing loads from another site, and the pages are
not in the OpenAPI schema. The browser tests are in ``tests/ui``."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.envelope import CommandContext
from domain.values import Formation
from infra.store import Container
from tests import factories as f
from tests.conftest import bearer

API = Path(__file__).parents[2] / "api"


def spec(html: str, spec_id: str) -> dict[str, Any]:
    """The Chart.js configuration a page carries for one chart."""
    found = re.search(rf'<script type="application/json" id="{spec_id}">(.*?)</script>', html, re.S)
    assert found, f"no chart {spec_id}"
    result: dict[str, Any] = json.loads(found.group(1))
    return result


@pytest.fixture
def market(container: Container, ctx: CommandContext) -> None:
    """One farmers' market in 南湖区 with its own organisation (R13.1) and a local member (属地, R2.1),
    and one uncovered business."""
    ledger = container.ledger
    entity = f.register_entity(ledger, ctx)
    org = f.establish(ledger, ctx, [entity], formation=Formation.STANDALONE)
    f.register_member(ledger, ctx, [org])
    f.register_entity(ledger, ctx, name="南湖区某某经营部", kind="individual_business", industry="日用百货")
    container.runner.catch_up()


@pytest.mark.usefixtures("market")
def test_R13_1_coverage_page_shows_the_figures_of_the_json_api(client: TestClient) -> None:
    params = {"region": "330400", "as_of": "2025-06-30"}
    page = client.get("/ui/coverage", params=params)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "组织覆盖" in page.text and "南湖区" in page.text
    figures = client.get("/coverage", params={**params, "group_by": "region"}).json()
    chart = spec(page.text, "coverage-spec")
    assert chart["data"]["labels"] == ["南湖区"]
    by_bucket = {d["label"]: d["data"] for d in chart["data"]["datasets"]}
    assert by_bucket == {"单独建立党组织": [1], "联合建立党组织": [0], "仅工作覆盖": [0], "未覆盖": [1]}
    assert figures["groups"]["330402"]["operating"] == 2
    assert re.search(r'id="total-operating">2<', page.text)
    assert figures["members"]["by_affiliation"] == {"local": 1}
    affiliation = re.search(r'id="by-affiliation"><span>(.*?)（R2.1）</span>\s*<b>(.*?)</b>', page.text)
    assert affiliation and affiliation.groups() == ("隶属 / 属地 / 流动", "0 / 1 / 0")

    before = client.get("/ui/coverage", params={"region": "330400", "as_of": "2025-02-28"})  # R3
    assert re.search(r'id="total-operating">0<', before.text)
    assert spec(before.text, "coverage-spec")["data"]["labels"] == []


PAGES = {
    "/ui/stars": "星级创建与示范",
    "/ui/mobile?year=2025": "流动党员双向反馈",
    "/ui/audit": "审计记录",
    "/ui/coverage?region=330402": "按市场监管所",
    "/ui/coverage?region=330402&station=南湖区城西市场监管所": "按主体类型",
}
BAD = {
    "/ui/coverage?region=3304": "region",
    "/ui/coverage?as_of=2025-13-01": "as_of",
    "/ui/stars?as_known_at=yesterday": "as_known_at",
    "/ui/mobile?year=1999": "year",
    "/ui/audit?aggregate_id=not-a-uuid": "aggregate_id",
    "/ui/audit?cursor=-1": "cursor",
}


@pytest.mark.usefixtures("market")
def test_every_page_renders(client: TestClient) -> None:
    for path, heading in PAGES.items():
        page = client.get(path)
        assert page.status_code == 200, page.text
        assert heading in page.text and 'lang="zh-CN"' in page.text


def test_bad_parameters_are_422_problems_naming_the_field(client: TestClient) -> None:
    for path, field in BAD.items():
        response = client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_login_keeps_the_token_in_an_httponly_strict_cookie(client: TestClient) -> None:
    form = client.get("/ui/login", headers={"Authorization": ""})
    assert form.status_code == 200 and 'name="token"' in form.text
    response = client.post("/ui/login", data={"token": "dj_abc", "next": "/ui/stars"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/stars"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("dangjian_token=dj_abc;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    for elsewhere in ("//evil.example/ui", "https://evil.example", "/ui/login", "/docs", "/ui\\evil.example"):
        sent = client.post("/ui/login", data={"token": "x", "next": elsewhere}, follow_redirects=False)
        assert sent.headers["location"] == "/ui"  # never to another site
    empty = client.post("/ui/login", data={"token": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "token"
    out = client.post("/ui/logout", follow_redirects=False)
    assert out.headers["location"] == "/ui/login" and 'dangjian_token=""' in out.headers["set-cookie"]


def test_without_a_token_a_page_sends_to_the_login_form(client: TestClient) -> None:
    response = client.get("/ui/audit", headers={"Authorization": ""}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login?next=/ui/audit"


def test_after_the_login_the_officer_lands_on_the_page_asked_for_with_its_query(client: TestClient) -> None:
    asked = "/ui/coverage?region=330402&as_of=2025-06-30"
    sent = client.get(asked, headers={"Authorization": ""}, follow_redirects=False)
    assert sent.status_code == 303
    form = client.get(sent.headers["location"], headers={"Authorization": ""})
    assert form.status_code == 200 and "as_of=2025-06-30" in form.text  # the form carries it along
    back = client.post("/ui/login", data={"token": "dj_abc", "next": asked}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == asked


def test_a_region_token_opens_the_dashboard_on_its_region(client: TestClient, container: Container) -> None:
    county = bearer(container.engine, "南湖区-张某", "station", "region:330402")
    home = client.get("/ui", headers=county, follow_redirects=False)
    assert home.headers["location"] == "/ui/coverage?region=330402"
    assert client.get("/ui/coverage?region=330402", headers=county).status_code == 200
    outside = client.get("/ui/coverage?region=330411", headers=county)
    assert outside.status_code == 403 and outside.json()["errors"][0]["rule"] == "S3"


def test_the_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_chart_js_is_served_from_the_package_and_nothing_loads_from_elsewhere(client: TestClient) -> None:
    script = client.get("/ui/static/chart.umd.min.js")
    assert script.status_code == 200 and "Chart.js v4" in script.text[:200]
    assert "javascript" in script.headers["content-type"]
    assert (API / "static" / "chart.js.LICENSE.md").read_text().startswith("The MIT License")
    page = client.get("/ui/stars").text
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for template in (API / "templates" / "ui").glob("*.html"):
        assert not re.search(r"(src|href)=\"(https?:)?//", template.read_text()), template.name


def test_R3_the_read_time_is_the_json_apis(
    client: TestClient, container: Container, ctx: CommandContext
) -> None:
    """A late entry shows only as known after it was recorded, on the page as in the API."""
    f.register_entity(container.ledger, ctx, effective_on=date(2025, 1, 2))
    container.runner.catch_up()
    moment = "2000-01-01T00:00:00Z"
    page = client.get("/ui/coverage", params={"region": "330400", "as_known_at": moment})
    assert re.search(r'id="total-operating">0<', page.text)
    assert "只计" in page.text
    now = client.get("/ui/coverage", params={"region": "330400"})
    assert re.search(r'id="total-operating">1<', now.text)

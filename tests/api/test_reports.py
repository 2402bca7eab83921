"""The half-year report (R3): every section for a region and its children, JSON and CSV, and the
July report reproduced exactly in November."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from domain.envelope import CommandContext
from infra.store import Container
from tests import factories as f


def history(container: Container) -> datetime:
    """A small city; returns the moment the July report is filed."""
    ledger, ctx = container.ledger, CommandContext.new("report")
    nanhu = f.establish(ledger, ctx, [], name="南湖分会", effective_on=date(2025, 1, 2))
    xiuzhou = f.establish(
        ledger, ctx, [], name="秀洲分会", region_code="330411", effective_on=date(2025, 1, 2)
    )
    market = f.register_entity(ledger, ctx, effective_on=date(2024, 5, 1))
    f.establish(ledger, ctx, [market], name="市场支部", effective_on=date(2025, 2, 1))
    f.register_entity(ledger, ctx, region_code="330411", effective_on=date(2024, 5, 1))
    f.register_member(ledger, ctx, [nanhu], effective_on=date(2025, 3, 1))
    f.register_member(ledger, ctx, [xiuzhou], effective_on=date(2025, 3, 1))
    container.runner.catch_up()
    filed = datetime.now(UTC)
    # entered late in July, effective in May
    f.register_member(ledger, ctx, [xiuzhou], effective_on=date(2025, 5, 20), name="补录")
    f.register_entity(ledger, ctx, region_code="330411", effective_on=date(2025, 4, 1))
    container.runner.catch_up()
    return filed


def test_R3_report_for_a_region_and_its_children(client: TestClient, container: Container) -> None:
    history(container)
    response = client.get("/reports/half-year", params={"region": "330400", "as_of": "2025-06-30"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["official_cut_off"] is True
    areas = {area["region"]: area for area in report["areas"]}
    assert list(areas) == ["330400", "330402", "330411"]
    city = areas["330400"]["coverage"]
    assert city["entities"]["operating"] == 3 and city["entities"]["standalone"] == 1
    assert city["members"]["total"] == 3
    assert areas["330411"]["coverage"]["members"]["total"] == 2
    assert areas["330402"]["coverage"]["entities"]["organization_coverage_rate"] == 1.0
    sections = {"coverage", "members", "stars", "mobile_chain", "training", "compliance", "volunteers"}
    assert sections <= set(areas["330400"])
    assert areas["330400"]["members"]["total"] == city["members"]["total"] == 3
    assert areas["330411"]["members"]["by_category"] == {"full": 2}
    statistics = client.get("/statistics/members", params={"region": "330411", "as_of": "2025-06-30"}).json()
    assert statistics["total"] == areas["330411"]["members"]["total"]
    assert areas["330400"]["mobile_chain"]["totals"]["rounds"] == 0
    assert areas["330400"]["stars"]["year"] == 2025


def test_R3_the_july_report_is_reproduced_in_november(client: TestClient, container: Container) -> None:
    filed = history(container)
    params: dict[str, Any] = {"region": "330400", "as_of": "2025-06-30", "as_known_at": filed.isoformat()}
    july = client.get("/reports/half-year", params=params).json()
    now = client.get("/reports/half-year", params={"region": "330400", "as_of": "2025-06-30"}).json()
    city_july = july["areas"][0]["coverage"]
    assert city_july["members"]["total"] == 2 and city_july["entities"]["operating"] == 2
    assert now["areas"][0]["coverage"]["members"]["total"] == 3
    # November: corrections and more late entries; the July report is unchanged
    ctx = CommandContext.new("november")
    f.register_member(
        container.ledger, ctx, [f.establish(container.ledger, ctx, [])], effective_on=date(2025, 4, 4)
    )
    container.runner.catch_up()
    assert client.get("/reports/half-year", params=params).json()["areas"] == july["areas"]


def test_R3_report_as_csv(client: TestClient, container: Container) -> None:
    history(container)
    response = client.get(
        "/reports/half-year", params={"region": "330400", "as_of": "2025-12-31", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    figures = {(r["region"], r["section"], r["figure"]): r["value"] for r in rows}
    assert figures[("330400", "coverage", "entities.operating")] == "3"
    assert figures[("330411", "coverage", "members.total")] == "2"


def test_R3_the_report_counts_organisations_and_lists_them_when_asked(
    client: TestClient, container: Container
) -> None:
    """R3 asks for statistics: by default the members, compliance and volunteers sections count
    organisations; ``organizations=true`` adds a line per organisation (issue #6, P4)."""
    history(container)
    params = {"region": "330400", "as_of": "2025-12-31"}
    counted = client.get("/reports/half-year", params=params).json()["areas"][0]
    listed = client.get("/reports/half-year", params=params | {"organizations": "true"}).json()["areas"][0]
    assert "by_home_organization" not in counted["members"]
    assert {o["name"] for o in listed["members"]["by_home_organization"]} == {"南湖分会", "秀洲分会"}
    themed = listed["compliance"]["themed_days"]
    assert counted["compliance"]["themed_days"]["total"] == len(themed) == 3
    assert counted["compliance"]["themed_days"]["compliant"] == 0  # no themed party day was held
    assert counted["volunteers"]["organizations"] == len(listed["volunteers"]["organizations"]) == 3
    assert counted["volunteers"]["meeting_share"]["total"] == 2  # the market branch has no member
    assert counted["coverage"] == listed["coverage"] and counted["training"] == listed["training"]
    csv_text = client.get("/reports/half-year", params=params | {"format": "csv"}).text
    assert "330400,compliance,themed_days.total,3" in csv_text.splitlines()


def test_report_parameters_are_validated(client: TestClient) -> None:
    for params in (
        {"region": "33"},
        {"region": "330400", "as_of": "June"},
        {"region": "330400", "format": "xls"},
        {"region": "330400", "organizations": "maybe"},
    ):
        response = client.get("/reports/half-year", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

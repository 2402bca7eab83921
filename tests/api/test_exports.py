"""GET /reports/half-year.xlsx and ``dangjian report --format xlsx``: the official tables as a workbook,
whose figures agree with the JSON report (R3), as of a cut-off and as known at a moment."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from typer.testing import CliRunner

from domain.envelope import CommandContext
from domain.values import Distribution, EntityKind, MarketScope
from infra.cli import app
from infra.store import Container
from projections.exports import (
    HEADER_ROW,
    MARKET_COUNT_SHEET,
    MARKET_KINDS,
    MARKET_PARTY_SHEET,
    MEMBERS_SHEET,
    SUMMARY_SHEET,
)
from tests import factories as f
from tests.api.test_reports import history

PARAMS = {"region": "330400", "as_of": "2025-06-30"}


def markets(container: Container) -> None:
    """A commodity market with its own branch in 330411, and a farmers' market enrolled in 六化 (R4)."""
    ledger, ctx = container.ledger, CommandContext.new("markets")
    market = f.register_entity(
        ledger, ctx, region_code="330411", kind=EntityKind.COMMODITY_MARKET, effective_on=date(2024, 1, 1)
    )
    f.establish(
        ledger, ctx, [market], name="秀洲商城党支部", region_code="330411", effective_on=date(2025, 2, 1)
    )
    farmers = f.register_entity(ledger, ctx, name="城东农贸市场", effective_on=date(2024, 1, 1))
    ledger.enroll_market_standardisation(
        ctx,
        effective_on=date(2025, 4, 1),
        entity_id=farmers,
        scope=MarketScope.CITY_DISTRICT_FARMERS_FOUR_STAR,
    )
    container.runner.catch_up()


def workbook(client: TestClient, **params: str) -> Workbook:
    response = client.get("/reports/half-year.xlsx", params=PARAMS | params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "dangjian-330400-2025-06-30.xlsx" in response.headers["content-disposition"]
    return load_workbook(io.BytesIO(response.content))


def table(book: Workbook, sheet: str) -> list[dict[str, Any]]:
    """The rows of a sheet's table, keyed by its column headers."""
    rows = list(book[sheet].iter_rows(min_row=HEADER_ROW, values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def check_against_json(book: Workbook, report: dict[str, Any]) -> None:
    areas = {area["region"]: area for area in report["areas"]}
    assert book.sheetnames == [SUMMARY_SHEET, MEMBERS_SHEET, MARKET_PARTY_SHEET, MARKET_COUNT_SHEET]

    summary = {row["地区代码"]: row for row in table(book, SUMMARY_SHEET)}
    assert list(summary) == list(areas)
    for code, area in areas.items():
        entities, members = area["coverage"]["entities"], area["members"]
        row = summary[code]
        assert (row["在营市场主体"], row["单独建立党组织"], row["联合建立党组织"]) == (
            entities["operating"],
            entities["standalone"],
            entities["joint"],
        )
        assert (row["仅工作覆盖"], row["未覆盖"]) == (entities["work_only"], entities["uncovered"])
        assert row["组织覆盖率"] == pytest.approx(entities["organization_coverage_rate"])
        assert row["党员总数"] == members["total"]
        assert row["正式党员"] == members["by_category"].get("full", 0)
        assert row["预备党员"] == members["by_category"].get("probationary", 0)
        assert row["隶属党员"] == members["by_affiliation"].get("subordinate", 0)
        assert row["属地党员"] == members["by_affiliation"].get("local", 0)
        assert row["市场内个体户党员"] == members["by_distribution"].get("market_individual_business", 0)
        assert row["流动党员反馈（轮）"] == area["mobile_chain"]["totals"]["rounds"]

    # one line per present member of the region
    member_rows = table(book, MEMBERS_SHEET)
    assert len(member_rows) == areas["330400"]["members"]["total"]
    assert [row["序号"] for row in member_rows] == list(range(1, len(member_rows) + 1))

    party = {row["地区代码"]: row for row in table(book, MARKET_PARTY_SHEET)}
    counts = {row["地区代码"]: row for row in table(book, MARKET_COUNT_SHEET)}
    for code, area in areas.items():
        by_kind = area["coverage"]["by_kind"]
        operating = sum(by_kind.get(k.value, {}).get("operating", 0) for k in MARKET_KINDS)
        standalone = sum(by_kind.get(k.value, {}).get("standalone", 0) for k in MARKET_KINDS)
        assert party[code]["在营市场数"] == operating == counts[code]["合计"]
        assert party[code]["其中：单独建立"] == standalone
        assert party[code]["市场内个体户党员数"] == area["members"]["by_distribution"].get(
            Distribution.MARKET_INDIVIDUAL_BUSINESS.value, 0
        )
        assert party[code]["纳入规范化建设市场数"] == area["stars"]["markets"]["total"]["enrolled"]
        assert party[code]["已规范化市场数"] == area["stars"]["markets"]["total"]["standardised"]
        assert counts[code]["农贸市场"] == by_kind.get("farmers_market", {}).get("operating", 0)
        assert counts[code]["商品交易市场"] == by_kind.get("commodity_market", {}).get("operating", 0)


def test_R3_workbook_agrees_with_the_json_report(client: TestClient, container: Container) -> None:
    history(container)
    markets(container)
    book = workbook(client)
    report = client.get("/reports/half-year", params=PARAMS).json()
    check_against_json(book, report)

    # concrete figures, so agreement is not agreement on nothing
    party = {row["地区代码"]: row for row in table(book, MARKET_PARTY_SHEET)}
    assert (party["330400"]["在营市场数"], party["330400"]["其中：单独建立"]) == (
        5,
        2,
    )  # the factory's are farmers' markets
    assert party["330400"]["市场党组织数"] == 2 and party["330402"]["纳入规范化建设市场数"] == 1
    counts = {row["地区代码"]: row for row in table(book, MARKET_COUNT_SHEET)}
    assert counts["330400"]["规范化：城区四星级以上农贸市场"] == 1
    assert counts["330411"]["商品交易市场"] == 1
    members = table(book, MEMBERS_SHEET)
    assert sorted(row["姓名"] for row in members) == ["张三", "张三", "补录"]
    assert {row["辖区党组织"] for row in members} == {"南湖分会", "秀洲分会"}
    assert book[SUMMARY_SHEET]["A2"].value.startswith("地区：330400　截止日期：2025-06-30　法定截止日：是")


def test_R3_workbook_as_known_at_reproduces_the_july_report(client: TestClient, container: Container) -> None:
    filed = history(container)
    moment = filed.isoformat()
    book = workbook(client, as_known_at=moment)
    report = client.get("/reports/half-year", params=PARAMS | {"as_known_at": moment}).json()
    check_against_json(book, report)
    summary = {row["地区代码"]: row for row in table(book, SUMMARY_SHEET)}
    assert summary["330400"]["党员总数"] == 2  # the late entry was not yet known
    assert "补录" not in {row["姓名"] for row in table(book, MEMBERS_SHEET)}


def test_cli_report_xlsx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGJIAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    output = tmp_path / "report.xlsx"
    cli = CliRunner()
    result = cli.invoke(app, ["report", "--as-of", "2025-06-30", "--format", "xlsx", "--output", str(output)])
    assert result.exit_code == 0, result.output
    book = load_workbook(output)
    assert book.sheetnames[0] == SUMMARY_SHEET and len(book.sheetnames) == 4
    assert cli.invoke(app, ["report", "--as-of", "2025-06-30", "--format", "xlsx"]).exit_code == 2

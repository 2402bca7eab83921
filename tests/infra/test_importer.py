"""The spreadsheet import of 《个体工商户党建信息登记表》 (R1.1): good and bad rows, a row-by-row report,
nothing half-written, and a re-import that records nothing twice; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.envelope import CommandContext
from domain.values import OrgKind
from infra.cli import app
from infra.importer import ImportReport, UnreadableFile, canonical_column, import_members
from infra.store import Container
from projections.members import MembersView
from tests import factories as f
from tests import sheets


def setting(container: Container) -> dict[str, str]:
    """Organisations the sheet names: an association branch, a market branch and two namesakes."""
    ledger, ctx = container.ledger, CommandContext.new("setup")
    nanhu = f.establish(ledger, ctx, [], name="南湖分会")
    market = f.establish(ledger, ctx, [f.register_entity(ledger, ctx)], name="市场支部")
    f.establish(ledger, ctx, [], name="重名支部")
    f.establish(ledger, ctx, [], name="重名支部", kind=OrgKind.STREET_BLOCK)
    container.runner.catch_up()
    return {"nanhu": str(nanhu), "market": str(market)}


def rows() -> list[dict[str, object]]:
    """Sheet rows 3 to 13 (row 1 is the title, row 2 the header)."""
    good = sheets.form_row(姓名="张三", 手机号码=13805730001)
    return [
        good,  # 3
        sheets.form_row(  # 4: probationary, outside relationship, two life organisations, a date cell
            姓名="王五",
            类别="预备",
            入党日期=datetime(2025, 1, 10),
            组织关系所在地党组织="南湖区某街道党工委",
            **{"隶属/属地/流动": "属地", "辖区党组织": "南湖分会、市场支部"},
        ),
        sheets.form_row(姓名="赵六", 手机号码="12345"),  # 5: domain rule R1.1
        sheets.form_row(姓名="钱七", 类别="党员"),  # 6: not 正式/预备
        sheets.form_row(姓名="孙八", 辖区党组织="不存在支部"),  # 7: unknown organisation
        sheets.form_row(姓名="周九", 类别="预备"),  # 8: R13.5 admission date missing
        sheets.form_row(
            姓名="吴十", 组织关系所在地党组织="外地某党委"
        ),  # 9: R2.1 隶属 outside an association
        good,  # 10: the same as row 3
        sheets.form_row(姓名="郑一", 辖区党组织="重名支部"),  # 11: ambiguous name
        {k: "" for k in sheets.form_row()},  # 12: blank, skipped
        sheets.form_row(姓名="冯二", 是否业主="也许", 填表日期="2025-13-01"),  # 13: two problems
    ]


def run(container: Container, data: bytes, filename: str = "登记表.xlsx") -> ImportReport:
    report = import_members(container.ledger, container.engine, data, filename, actor="importer")
    container.runner.catch_up()
    return report


def roster_names(container: Container) -> list[str]:
    with container.engine.connect() as conn:
        return sorted(e.name for e in MembersView().page(conn, present=True).entries)


def test_R1_1_import_reports_row_by_row_and_records_only_good_rows(container: Container) -> None:
    setting(container)
    head = container.runner.head()
    report = run(container, sheets.xlsx(rows()))

    # two rows recorded, one duplicate, seven rejected; the blank row is skipped
    assert (report.recorded, report.duplicates, report.rejected) == (2, 1, 7)
    assert [r.row for r in report.rows] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    assert report.header_row == 2 and report.ignored_columns == []
    found = {(i.row, i.column, i.rule) for i in report.issues}
    assert found == {
        (5, "手机号码", "R1.1"),
        (6, "类别（正式/预备）", "R1.1"),
        (7, "辖区党组织（党支部）", "R2.2"),
        (8, "入党日期", "R13.5"),
        (9, "组织关系所在地党组织", "R2.1"),
        (11, "辖区党组织（党支部）", "R2.2"),
        (13, "是否业主", "R1.1"),
        (13, "填表日期", "R1.1"),
    }
    assert all(i.file == "登记表.xlsx" and i.message for i in report.issues)
    outside = next(r for r in report.rows if r.row == 4)
    assert outside.notes and "outside this system" in outside.notes[0]
    duplicate = next(r for r in report.rows if r.row == 10)
    assert duplicate.member_id == report.rows[0].member_id and duplicate.notes == ["same as row 3"]

    # the store holds the two members and nothing of the rejected rows (a registration and its receipt each)
    assert roster_names(container) == ["张三", "王五"]
    assert container.runner.head() == head + 4
    member = container.ledger.get_member(report.rows[1].member_id)  # type: ignore[arg-type]
    assert (member.category, member.affiliation, len(member.life_org_ids)) == ("probationary", "local", 2)
    assert member.admitted_on is not None and member.admitted_on.isoformat() == "2025-01-10"

    # the CSV report: one line per problem and one per accepted row
    lines = list(csv.DictReader(io.StringIO(report.to_csv().lstrip("\ufeff"))))
    assert len(lines) == len(report.issues) + 3
    assert {"file", "row", "status", "column", "rule", "message", "member_id"} == set(lines[0])
    assert any(line["row"] == "13" and line["column"] == "填表日期" for line in lines)


def test_reimport_records_nothing_twice_and_a_corrected_row_once(container: Container) -> None:
    setting(container)
    data = sheets.xlsx(rows())
    first = run(container, data)
    head = container.runner.head()

    again = run(container, data)
    assert (again.recorded, again.already_recorded, again.duplicates) == (0, 2, 1)
    assert [r.member_id for r in again.rows if r.member_id] == [
        r.member_id for r in first.rows if r.member_id
    ]
    assert container.runner.head() == head
    assert roster_names(container) == ["张三", "王五"]

    # the officer corrects row 5 and imports the file again: only that row is new
    corrected = rows()
    corrected[2] = sheets.form_row(姓名="赵六", 手机号码="13805730005")
    third = run(container, sheets.xlsx(corrected))
    assert (third.recorded, third.already_recorded, third.rejected) == (1, 2, 6)
    assert roster_names(container) == ["张三", "王五", "赵六"]


def test_csv_with_english_headers_in_gb18030(container: Container) -> None:
    ids = setting(container)
    header = "unit_name,name,mobile,is_business_owner,household_district,life_org_ids,relationship_org_id,"
    header += "category,affiliation,distribution,form_date,filled_by_name,filled_by_phone,note"
    line = f"个体户甲,陈一,13805730009,否,秀洲区,{ids['market']},{ids['nanhu']},"
    line += "full,subordinate,individual_business,2025/3/2,李四,0573-1,备注"
    data = (header + "\n" + line + "\n").encode("gb18030")
    report = run(container, data, "members.csv")
    assert report.recorded == 1, report.issues
    assert report.ignored_columns == ["note"]
    member = container.ledger.get_member(report.rows[0].member_id)  # type: ignore[arg-type]
    assert str(member.relationship_org_id) == ids["nanhu"] and member.is_business_owner is False
    assert member.form_date.isoformat() == "2025-03-02"


def test_missing_columns_and_unreadable_files(container: Container) -> None:
    head = container.runner.head()
    report = run(container, "姓名,手机号码,单位名称\n张三,13805730001,某店\n".encode(), "short.csv")
    assert report.rows == [] and report.header_row == 1
    assert {i.column for i in report.issues} >= {"是否业主", "辖区党组织", "类别", "填表日期"}
    assert container.runner.head() == head
    with pytest.raises(UnreadableFile):
        import_members(container.ledger, container.engine, b"PK\x03\x04 broken", "x.xlsx", actor="t")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("类别（正式/预备）", "category"),
        ("*辖区党组织(党支部)", "life_orgs"),
        ("组织关系所在地党组织", "relationship_org"),
        ("填表人联系电话", "filled_by_phone"),
        ("mobile", "mobile"),
        ("籍贯", None),
    ],
)
def test_headers(header: str, field: str | None) -> None:
    assert canonical_column(header) == field


def test_cli_import_members_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGJIAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    import infra.cli

    settled: list[str] = []  # before the rows are read (issue #6, P2); not in pytest's own process
    monkeypatch.setattr(infra.cli, "settle_heap", lambda: settled.append("settled"))
    cli = CliRunner()
    org = {
        "effective_on": "2025-03-01",
        "name": "南湖分会",
        "kind": "branch_association",
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    assert cli.invoke(app, ["call", "POST", "/organizations", "--data", json.dumps(org)]).exit_code == 0
    sheet = tmp_path / "登记表.xlsx"
    sheet.write_bytes(sheets.xlsx([sheets.form_row(), sheets.form_row(姓名="赵六", 手机号码="123")]))
    report_path = tmp_path / "report.csv"

    result = cli.invoke(app, ["import", "members", str(sheet), "--report", str(report_path)])
    assert result.exit_code == 1, result.output  # one row rejected
    assert "1 recorded" in result.output and "1 rejected" in result.output
    assert "手机号码" in report_path.read_text(encoding="utf-8")

    again = cli.invoke(app, ["import", "members", str(sheet)])
    assert "0 recorded, 1 already recorded" in again.output, again.output
    assert settled == ["settled", "settled"]
    members = cli.invoke(app, ["call", "GET", "/statistics/members?region=330400"])
    assert json.loads(members.output)["total"] == 1

"""POST /imports/members: a registration-form spreadsheet through the API, with its row-by-row report
as JSON (and inline CSV) or as a CSV download; a second upload records nothing twice."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient

from domain.envelope import CommandContext
from infra.store import Container
from tests import factories as f
from tests import sheets

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client: TestClient, data: bytes, **params: str) -> object:
    return client.post(
        "/imports/members",
        files={"file": ("登记表.xlsx", data, XLSX)},
        params=params,
        headers={"X-Actor": "association-staff-chen"},
    )


def test_R1_1_upload_a_sheet_twice(
    client: TestClient, container: Container, as_actor: Callable[[str], dict[str, str]]
) -> None:
    client.headers.update(as_actor("association-staff-chen"))  # the actor comes from the token (S4)
    f.establish(container.ledger, CommandContext.new("setup"), [], name="南湖分会")
    container.runner.catch_up()
    data = sheets.xlsx(
        [
            sheets.form_row(姓名="张三"),
            sheets.form_row(姓名="李五", 手机号码="13805730002", 分布="个体户"),
            sheets.form_row(姓名="赵六", 手机号码="123"),
            sheets.form_row(姓名="钱七", 辖区党组织="无此支部"),
        ]
    )

    response = upload(client, data)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    report = response.json()  # type: ignore[attr-defined]
    assert (report["rows_total"], report["recorded"], report["rejected"]) == (4, 2, 2)
    assert [(i["row"], i["column"], i["rule"]) for i in report["issues"]] == [
        (5, "手机号码", "R1.1"),
        (6, "辖区党组织（党支部）", "R2.2"),
    ]
    assert report["csv"].lstrip("\ufeff").startswith("file,row,status,column,rule,message,member_id")
    member_id = report["rows"][0]["member_id"]
    member = client.get(f"/members/{member_id}").json()
    assert member["name"] == "张三"
    audit = client.get("/audit", params={"correlation_id": report["correlation_id"]}).json()
    assert len(audit["entries"]) == 4 and {e["actor"] for e in audit["entries"]} == {"association-staff-chen"}
    statistics = client.get("/statistics/members", params={"region": "330400"}).json()
    assert statistics["total"] == 2 and statistics["by_distribution"]["individual_business"] == 1

    # the same file again: nothing doubled, the same members answered
    again = upload(client, data).json()  # type: ignore[attr-defined]
    assert (again["recorded"], again["already_recorded"], again["rejected"]) == (0, 2, 2)
    assert again["rows"][0]["member_id"] == member_id
    assert client.get("/statistics/members", params={"region": "330400"}).json()["total"] == 2

    # the report as a CSV download
    download = upload(client, data, format="csv")
    assert download.status_code == 200  # type: ignore[attr-defined]
    assert download.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    assert "attachment" in download.headers["content-disposition"]  # type: ignore[attr-defined]
    lines = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))  # type: ignore[attr-defined]
    assert [(line["row"], line["status"]) for line in lines] == [
        ("3", "already_recorded"),
        ("4", "already_recorded"),
        ("5", "rejected"),
        ("6", "rejected"),
    ]


def test_an_unreadable_upload_is_a_problem(client: TestClient) -> None:
    response = client.post("/imports/members", files={"file": ("x.xlsx", b"PK\x03\x04 not a workbook", XLSX)})
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "file" and problem["errors"][0]["rule"] == "R1.1"
    missing = client.post("/imports/members")
    assert missing.status_code == 422

"""Registration-form spreadsheets (《个体工商户党建信息登记表》) for the import tests, built with openpyxl."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

HEADER = [
    "序号",
    "单位名称",
    "姓名",
    "手机号码",
    "是否业主",
    "户籍所在区",
    "辖区党组织（党支部）",
    "组织关系所在地党组织",
    "类别（正式/预备）",
    "隶属/属地/流动",
    "分布（个体户/市场内个体户）",
    "入党日期",
    "填表日期",
    "填表人",
    "填表人联系电话",
]


def form_row(**overrides: Any) -> dict[str, Any]:
    """One filled-in form, keyed by the header (without its notes in brackets)."""
    row: dict[str, Any] = {
        "单位名称": "南湖区某某农贸市场",
        "姓名": "张三",
        "手机号码": "13805730001",
        "是否业主": "是",
        "户籍所在区": "南湖区",
        "辖区党组织": "南湖分会",
        "组织关系所在地党组织": "南湖分会",
        "类别": "正式",
        "隶属/属地/流动": "隶属",
        "分布": "市场内个体户",
        "入党日期": "",
        "填表日期": "2025-03-01",
        "填表人": "李四",
        "填表人联系电话": "0573-82000000",
    }
    row.update(overrides)
    return row


def _cells(number: int, row: dict[str, Any]) -> list[Any]:
    return [number] + [row[h.split("（")[0]] for h in HEADER[1:]]


def xlsx(rows: list[dict[str, Any]], title: bool = True) -> bytes:
    """A workbook with the form's title row, its header and one line per row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title:
        sheet.append(["个体工商户党建信息登记表"])
    sheet.append(HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.append(_cells(number, row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for number, row in enumerate(rows, start=1):
        writer.writerow(_cells(number, row))
    return out.getvalue().encode(encoding)

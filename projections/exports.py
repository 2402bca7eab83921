"""The half-year report (R3) as an XLSX workbook, one sheet per official table, built from the read side.

Sheets, for a region and each of its children (the same areas as ``GET /reports/half-year``), as of a
cut-off date and as known at a moment (the same two coordinates throughout, so the workbook filed in
July is reproduced exactly in November):

- 汇总 (summary): coverage of operating entities (R13.1), members by category, affiliation and
  distribution, and the mobile-member chain (R6) per area; the figures of ``half_year_report``.
- 个体工商户党员信息 (member information of individual businesses): one line per present member of the
  region from the roster (``MembersView.page``): the registration form's fields that the read side
  keeps (R1.1). The phone number, household district and form date are not on the read side (the
  roster leaves personal details to the member's own record, ``GET /members/{id}``), so the table
  leaves them out.
- 商品交易市场（含农贸市场）党建情况统计表: markets in operation and how they are covered (standalone or
  joint organisation, work coverage only, uncovered), the market party organisations, the members
  doing business in markets, and the markets enrolled in and through standardisation (R4 六化).
- 商品交易市场数量统计表: markets in operation by kind, and markets enrolled in standardisation by R4
  scope.

Assumption: "商品交易市场（含农贸市场）" counts commodity-trading markets, farmers' markets and
professional markets (专业市场, a commodity-trading market specialised in one trade).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from uuid import UUID

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Connection, and_, func, select

from domain.values import (
    Affiliation,
    Distribution,
    EntityKind,
    MarketScope,
    MemberCategory,
    OrgKind,
    region_prefix,
)
from projections.members import MAX_PAGE_SIZE, MembersView, RosterEntry
from projections.report import half_year_report, is_cut_off
from projections.tables import coverage_organizations as O
from projections.temporal import visible

MARKET_KINDS = (EntityKind.COMMODITY_MARKET, EntityKind.FARMERS_MARKET, EntityKind.PROFESSIONAL_MARKET)
KIND_LABELS = {
    EntityKind.COMMODITY_MARKET: "商品交易市场",
    EntityKind.FARMERS_MARKET: "农贸市场",
    EntityKind.PROFESSIONAL_MARKET: "专业市场",
}
SCOPE_LABELS = {
    MarketScope.PROVINCIAL_KEY: "省级重点市场",
    MarketScope.REGIONAL_KEY: "区域性重点市场",
    MarketScope.FIVE_STAR: "五星级市场",
    MarketScope.CITY_DISTRICT_FARMERS_FOUR_STAR: "城区四星级以上农贸市场",
    MarketScope.COUNTY_CENTRAL_FARMERS: "县城中心农贸市场",
}
CATEGORY_LABELS = {MemberCategory.FULL: "正式", MemberCategory.PROBATIONARY: "预备"}
AFFILIATION_LABELS = {Affiliation.SUBORDINATE: "隶属", Affiliation.LOCAL: "属地", Affiliation.MOBILE: "流动"}
DISTRIBUTION_LABELS = {
    Distribution.INDIVIDUAL_BUSINESS: "个体户",
    Distribution.MARKET_INDIVIDUAL_BUSINESS: "市场内个体户",
}

SUMMARY_SHEET = "汇总"
MEMBERS_SHEET = "个体工商户党员信息"
MARKET_PARTY_SHEET = "商品交易市场（含农贸市场）党建情况统计表"
MARKET_COUNT_SHEET = "商品交易市场数量统计表"
SHEET_TITLE_LIMIT = 31  # Excel's limit on a sheet name

SUMMARY_COLUMNS = (
    "地区代码",
    "在营市场主体",
    "单独建立党组织",
    "联合建立党组织",
    "仅工作覆盖",
    "未覆盖",
    "组织覆盖率",
    "工作覆盖占比",
    "党员总数",
    "正式党员",
    "预备党员",
    "隶属党员",
    "属地党员",
    "流动党员",
    "个体户党员",
    "市场内个体户党员",
    "流动党员反馈（轮）",
    "反馈已完成",
    "反馈完成率",
)
MEMBER_COLUMNS = (
    "序号",
    "姓名",
    "单位名称",
    "类别（正式/预备）",
    "隶属/属地/流动",
    "分布（个体户/市场内个体户）",
    "是否业主",
    "组织关系所在地党组织",
    "辖区党组织",
    "计入党组织",
    "地区代码",
    "停歇业",
    "外出经营起始日",
    "处分期",
)
MARKET_PARTY_COLUMNS = (
    "地区代码",
    "在营市场数",
    "已建党组织市场数",
    "其中：单独建立",
    "其中：联合建立",
    "仅工作覆盖",
    "未覆盖",
    "组织覆盖率",
    "市场党组织数",
    "市场内个体户党员数",
    "纳入规范化建设市场数",
    "已规范化市场数",
)
MARKET_COUNT_COLUMNS = (
    "地区代码",
    *(KIND_LABELS[k] for k in MARKET_KINDS),
    "合计",
    *(f"规范化：{label}" for label in SCOPE_LABELS.values()),
)
RATE_HEADERS = frozenset({"组织覆盖率", "工作覆盖占比", "反馈完成率"})

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def market_figures(area: dict[str, Any]) -> dict[str, Any]:
    """The market figures of one area of ``half_year_report``: coverage summed over the market kinds."""
    by_kind = area["coverage"]["by_kind"]
    keys = ("operating", "standalone", "joint", "work_only", "uncovered")
    totals = {k: sum(by_kind.get(kind.value, {}).get(k, 0) for kind in MARKET_KINDS) for k in keys}
    covered = totals["standalone"] + totals["joint"]
    markets = area["stars"]["markets"]
    return {
        **totals,
        "covered": covered,
        "organization_coverage_rate": covered / totals["operating"] if totals["operating"] else None,
        "by_kind": {kind.value: by_kind.get(kind.value, {}).get("operating", 0) for kind in MARKET_KINDS},
        "members_in_markets": area["members"]["by_distribution"].get(
            Distribution.MARKET_INDIVIDUAL_BUSINESS.value, 0
        ),
        "enrolled": markets["total"]["enrolled"],
        "standardised": markets["total"]["standardised"],
        "enrolled_by_scope": {
            scope.value: markets["by_scope"].get(scope.value, {}).get("enrolled", 0) for scope in MarketScope
        },
    }


def market_organizations(conn: Connection, region: str, as_of: date, known: int) -> int:
    """Market party organisations (市场党组织) of a region that were in being on ``as_of``."""
    query = select(func.count()).where(
        and_(
            visible(O, as_of, known),
            O.c.kind == OrgKind.MARKET.value,
            O.c.dissolved.is_(False),
            O.c.region_code.startswith(region_prefix(region)),
        )
    )
    return int(conn.scalar(query) or 0)


def roster(conn: Connection, region: str, as_of: date, known: int) -> Iterator[RosterEntry]:
    """Every present member of the region on ``as_of``, as known at ``known``, page by page."""
    after: UUID | None = None
    while True:
        page = MembersView().page(
            conn, as_of=as_of, known=known, region=region, present=True, after=after, limit=MAX_PAGE_SIZE
        )
        yield from page.entries
        if page.next_cursor is None:
            return
        after = page.next_cursor


def organization_names(conn: Connection, as_of: date, known: int) -> dict[UUID, str]:
    return {
        row.subject_id: row.name
        for row in conn.execute(select(O.c.subject_id, O.c.name).where(visible(O, as_of, known)))
    }


def half_year_workbook(
    conn: Connection,
    region: str,
    as_of: date,
    known: int,
    as_known_at: datetime | None = None,
    areas: list[dict[str, Any]] | None = None,
) -> Workbook:
    """The workbook of the half-year report of ``region`` as of ``as_of`` as known at ``known``."""
    areas = half_year_report(conn, region, as_of, known) if areas is None else areas
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None  # a new workbook always has its first sheet
    summary.title = SUMMARY_SHEET
    meta = _meta(region, as_of, as_known_at)

    _title(summary, "半年度党建统计汇总表", meta, len(SUMMARY_COLUMNS))
    _table(summary, SUMMARY_COLUMNS, [_summary_row(area) for area in areas])

    members = workbook.create_sheet(MEMBERS_SHEET)
    _title(members, "个体工商户党员信息表", meta, len(MEMBER_COLUMNS))
    names = organization_names(conn, as_of, known)
    member_rows = [
        _member_row(number, entry, names)
        for number, entry in enumerate(roster(conn, region, as_of, known), start=1)
    ]
    _table(members, MEMBER_COLUMNS, member_rows)

    market_party = workbook.create_sheet(MARKET_PARTY_SHEET[:SHEET_TITLE_LIMIT])
    _title(market_party, MARKET_PARTY_SHEET, meta, len(MARKET_PARTY_COLUMNS))
    rows = []
    for area in areas:
        m = market_figures(area)
        rows.append(
            [
                area["region"],
                m["operating"],
                m["covered"],
                m["standalone"],
                m["joint"],
                m["work_only"],
                m["uncovered"],
                m["organization_coverage_rate"],
                market_organizations(conn, area["region"], as_of, known),
                m["members_in_markets"],
                m["enrolled"],
                m["standardised"],
            ]
        )
    _table(market_party, MARKET_PARTY_COLUMNS, rows)

    market_count = workbook.create_sheet(MARKET_COUNT_SHEET)
    _title(market_count, MARKET_COUNT_SHEET, meta, len(MARKET_COUNT_COLUMNS))
    rows = []
    for area in areas:
        m = market_figures(area)
        by_kind = [m["by_kind"][kind.value] for kind in MARKET_KINDS]
        rows.append([area["region"], *by_kind, sum(by_kind), *m["enrolled_by_scope"].values()])
    _table(market_count, MARKET_COUNT_COLUMNS, rows)
    return workbook


def to_xlsx(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- layout -------------------------------------------------------------------------------------


def _meta(region: str, as_of: date, as_known_at: datetime | None) -> str:
    known = f"{as_known_at.isoformat(timespec='seconds')} (UTC)" if as_known_at else "当前（全部已录入数据）"
    cut_off = "是" if is_cut_off(as_of) else "否（实时数据）"
    return (
        f"地区：{region}　截止日期：{as_of.isoformat()}　法定截止日：{cut_off}　数据截至（录入时点）：{known}"
    )


def _title(sheet: Worksheet, title: str, meta: str, width: int) -> None:
    sheet.append([title])
    sheet.append([meta])
    sheet.cell(1, 1).font = _TITLE
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")


HEADER_ROW = 3
"""The row of every table's column headers; data rows follow it."""


def _table(sheet: Worksheet, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    sheet.append(list(columns))
    for cell in sheet[HEADER_ROW]:
        cell.font, cell.fill, cell.border = _BOLD, _HEAD_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(row)
    for index, header in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, min(36, 2 * len(header) + 4))
        for cell in sheet[letter][HEADER_ROW:]:
            cell.border = _BORDER
            if header in RATE_HEADERS:
                cell.number_format = "0.0%"
    sheet.freeze_panes = f"B{HEADER_ROW + 1}"


def _summary_row(area: dict[str, Any]) -> list[Any]:
    entities = area["coverage"]["entities"]
    members = area["members"]
    chain = area["mobile_chain"]["totals"]
    return [
        area["region"],
        entities["operating"],
        entities["standalone"],
        entities["joint"],
        entities["work_only"],
        entities["uncovered"],
        entities["organization_coverage_rate"],
        entities["work_coverage_share"],
        members["total"],
        *(members["by_category"].get(c.value, 0) for c in MemberCategory),
        *(members["by_affiliation"].get(a.value, 0) for a in Affiliation),
        *(members["by_distribution"].get(d.value, 0) for d in Distribution),
        chain["rounds"],
        chain["completed"],
        chain["completion_rate"],
    ]


def _member_row(number: int, entry: RosterEntry, names: dict[UUID, str]) -> list[Any]:
    relationship = (
        names.get(entry.relationship_org_id, str(entry.relationship_org_id))
        if entry.relationship_org_id
        else entry.relationship_org_name
    )
    return [
        number,
        entry.name,
        entry.unit_name,
        CATEGORY_LABELS.get(MemberCategory(entry.category), entry.category),
        AFFILIATION_LABELS.get(Affiliation(entry.affiliation), entry.affiliation),
        DISTRIBUTION_LABELS.get(Distribution(entry.distribution), entry.distribution),
        "是" if entry.is_business_owner else "否",
        relationship,
        "、".join(names.get(org_id, str(org_id)) for org_id in entry.life_org_ids),
        entry.home_org_name or "",
        entry.home_region_code or "",
        "是" if entry.business_suspended else "否",
        entry.away_since.isoformat() if entry.away_since else "",
        "是" if entry.in_disciplinary_period else "否",
    ]

"""What the dashboard (``/ui``, issue #8 point 4) shows beside the JSON API: Chinese labels, region
names, the drill-down levels of coverage, and Chart.js chart specifications built from the read
models' figures.

The routes are in ``api/routes/ui.py``, the pages in ``api/templates/ui/``, and Chart.js (MIT,
vendored, so nothing loads from the internet) with ``ui.js`` and ``ui.css`` in ``api/static/``. A chart
is a JSON spec in the page; ``ui.js`` hands it to Chart.js unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.commands.base import BUSINESS_TZ
from domain.values import (
    EntityKind,
    MobileStep,
    XinhuoCategory,
    region_prefix,
)

# GB/T 2260 names of the regions the demo and the sources use; any other code is shown as its code.
REGION_NAMES: dict[str, str] = {
    "110000": "北京市", "120000": "天津市", "130000": "河北省", "140000": "山西省", "150000": "内蒙古自治区",
    "210000": "辽宁省", "220000": "吉林省", "230000": "黑龙江省", "310000": "上海市", "320000": "江苏省",
    "330000": "浙江省", "340000": "安徽省", "350000": "福建省", "360000": "江西省", "370000": "山东省",
    "410000": "河南省", "420000": "湖北省", "430000": "湖南省", "440000": "广东省",
    "450000": "广西壮族自治区", "460000": "海南省", "500000": "重庆市", "510000": "四川省",
    "520000": "贵州省", "530000": "云南省", "540000": "西藏自治区", "610000": "陕西省", "620000": "甘肃省",
    "630000": "青海省", "640000": "宁夏回族自治区", "650000": "新疆维吾尔自治区",
    "330100": "杭州市", "330200": "宁波市", "330300": "温州市", "330400": "嘉兴市", "330500": "湖州市",
    "330600": "绍兴市", "330700": "金华市", "330800": "衢州市", "330900": "舟山市", "331000": "台州市",
    "331100": "丽水市",
    "330402": "南湖区", "330411": "秀洲区", "330421": "嘉善县", "330424": "海盐县", "330481": "海宁市",
    "330482": "平湖市", "330483": "桐乡市",
}  # fmt: skip

ENTITY_KINDS: dict[str, str] = {
    EntityKind.MICRO_ENTERPRISE: "小微企业",
    EntityKind.INDIVIDUAL_BUSINESS: "个体工商户",
    EntityKind.PROFESSIONAL_MARKET: "专业市场",
    EntityKind.COMMODITY_MARKET: "商品交易市场",
    EntityKind.FARMERS_MARKET: "农贸市场",
    EntityKind.INTERNET_ENTERPRISE: "互联网企业",
}
COVERAGE_BUCKETS: dict[str, str] = {  # R13.1
    "standalone": "单独建立党组织",
    "joint": "联合建立党组织",
    "work_only": "仅工作覆盖",
    "uncovered": "未覆盖",
}
MOBILE_STEPS: dict[str, str] = {  # R6.2, in their order
    MobileStep.REGISTERED: "登记",
    MobileStep.IDENTITY_CONFIRMED: "身份确认",
    MobileStep.ACTIVITIES_FILED: "活动",
    MobileStep.FEEDBACK_ISSUED: "反馈",
    MobileStep.RECEIPT_RETURNED: "回执",
}
XINHUO_CATEGORIES: dict[str, str] = {  # R9.2 百千万
    XinhuoCategory.ORGANIZATION: "薪火示范党组织",
    XinhuoCategory.HOUSEHOLD_MICRO_INTERNET: "示范户（小微、互联网）",
    XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL: "示范户（市场、个体）",
}
AGGREGATE_TYPES: dict[str, str] = {
    "MarketEntity": "市场主体",
    "PartyOrganization": "党组织",
    "Member": "党员",
    "Activity": "组织活动",
    "Pairing": "结对共建",
    "LiaisonPoint": "联系点",
    "TransferLetter": "组织关系介绍信",
    "MobileRound": "流动党员双向反馈",
    "PioneerRound": "先锋指数评议",
    "StrongestBranchRating": "最强党支部",
    "StationStar": "星级市场所",
    "XinhuoDemonstration": "薪火示范",
    "MarketStandardisation": "市场六化",
    "CommandReceipt": "命令回执",
}
MEMBER_CATEGORIES: dict[str, str] = {"full": "正式党员", "probationary": "预备党员"}
AFFILIATIONS: dict[str, str] = {"subordinate": "隶属", "local": "属地", "mobile": "流动"}  # R2.1

PALETTE = ("#c0392b", "#e67e22", "#2e86c1", "#95a5a6", "#27ae60", "#8e44ad", "#f1c40f")


def region_name(code: str) -> str:
    return REGION_NAMES.get(code, code)


@dataclass(frozen=True)
class Level:
    """One step of the coverage drill-down: province → city → county → station → entity kinds."""

    name: str
    """What a row of this level is: 省, 市, 县（市、区）, 市场监管所, 主体类型."""
    group_by: str
    """The coverage view's grouping that lists the rows."""


def coverage_level(region: str | None, station: str | None) -> Level:
    """The level a region code (and station) selects: no region lists provinces, 330000 its cities,
    330400 its counties, 330402 its stations, and a station its entities by kind."""
    if station:
        return Level("主体类型", "kind")
    if region is None:
        return Level("省", "region")
    depth = len(region_prefix(region))
    if depth == 2:
        return Level("市", "region")
    if depth == 4:
        return Level("县（市、区）", "region")
    return Level("市场监管所", "station")


def breadcrumbs(region: str | None, station: str | None) -> list[tuple[str, dict[str, str]]]:
    """The way back up: (label, query) from 全部 to the level shown."""
    trail: list[tuple[str, dict[str, str]]] = [("全部地区", {})]
    if region:
        for code in dict.fromkeys((region[:2] + "0000", region[:4] + "00", region)):
            trail.append((region_name(code), {"region": code}))
    if station and region:
        trail.append((station, {"region": region, "station": station}))
    return trail


def province_of(code: str) -> str:
    return code[:2] + "0000"


def beijing(moment: datetime | None) -> str:
    """A stored UTC moment as Beijing time, for a datetime-local input (empty: now)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BUSINESS_TZ).replace(tzinfo=None).isoformat(timespec="seconds")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def dataset(label: str, data: Iterable[float | int | None], n: int, **extra: Any) -> dict[str, Any]:
    colour = PALETTE[n % len(PALETTE)]
    return {"label": label, "data": list(data), "backgroundColor": colour, "borderColor": colour, **extra}


def chart(
    kind: str,
    labels: Sequence[str],
    datasets: list[dict[str, Any]],
    *,
    title: str,
    stacked: bool = False,
    percent: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    """A Chart.js configuration; ``ui.js`` passes it to ``new Chart`` as it is."""
    value_axis: dict[str, Any] = {"stacked": stacked, "beginAtZero": True}
    if percent:
        value_axis |= {"max": 100, "title": {"display": True, "text": "%"}}
    category_axis = {"stacked": stacked}
    scales = {"x": value_axis, "y": category_axis} if horizontal else {"x": category_axis, "y": value_axis}
    return {
        "type": kind,
        "data": {"labels": list(labels), "datasets": datasets},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"title": {"display": True, "text": title}, "legend": {"position": "bottom"}},
            "scales": scales,
        },
    }


def share_points(values: Iterable[float | None]) -> list[float | None]:
    """Shares as percentages with one decimal, for a chart on a 0-100 axis."""
    return [None if v is None else round(v * 100, 1) for v in values]

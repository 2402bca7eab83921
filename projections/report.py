"""The half-year report (R3): every figure of the read side for a region and each of its children,
as of a cut-off date and as known at a moment, in JSON or CSV.

R3 asks for statistics, so the members, compliance and volunteers sections give counts of
organisations (how many met each rule) by default, not a line per organisation: the province's lists
were 11 MB of JSON at scale 0.1 (issue #6, P4). ``organizations=True`` (``?organizations=true``) adds
the lists as before; each is also the answer of its own query (``/statistics/members``,
``/statistics/compliance``, ``/statistics/volunteers``) for one region.

R3 sets the cut-off dates at 30 June and 31 December; real-time figures are allowed when entry is
timely, so any date is accepted and the report says whether it is an official cut-off. A report
filed in July is reproduced exactly in November by asking for the same ``as_of`` and
``as_known_at``: every section reads the bitemporal tables through the same two coordinates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Connection, Date, Integer, String, bindparam, func, select

from domain.mobile_round import deadline
from domain.values import region_prefix
from projections import coverage_counts
from projections.activities import ActivitiesView, ComplianceTallies, VolunteerTallies
from projections.coverage import Areas, CoverageReport, CoverageView
from projections.members import MemberStatistics, MembersView
from projections.mobile_chain import ChainTotals, MobileChainView
from projections.stars import StarsView
from projections.tables import coverage_organizations as O
from projections.temporal import visible

Section = Callable[[Connection, str, date, int, bool], Any]
"""A report section: (connection, region code, as_of, known position, with the lists of
organisations) → figures."""


def is_cut_off(day: date) -> bool:
    """R3: the half-year statistics are cut off on 30 June and 31 December."""
    return (day.month, day.day) in ((6, 30), (12, 31))


def _child_codes() -> Any:
    """The first code of each child region under ``prefix`` (below ``upper``) with an organisation on
    ``as_of`` as known at ``known``: a recursive query skipping from each child's first code to the
    next child's, one probe of ``ix_coverage_organizations_region`` per child region. Built once, with
    its parameters bound at each call."""
    as_of, known = bindparam("as_of", type_=Date), bindparam("known", type_=BigInteger)
    upper, width = bindparam("upper", type_=String), bindparam("width", type_=Integer)

    def first_code(low: Any) -> Any:
        return (
            select(func.min(O.c.region_code))
            .where(O.c.region_code >= low, O.c.region_code < upper, visible(O, as_of, known))
            .scalar_subquery()
        )

    found = select(first_code(bindparam("prefix", type_=String)).label("code")).cte("found", recursive=True)
    after_child = func.substr(found.c.code, 1, width, type_=String).concat("z")
    found = found.union_all(select(first_code(after_child)).where(found.c.code.is_not(None)))
    return select(found.c.code).where(found.c.code.is_not(None))


_CHILD_CODES = _child_codes()


def child_regions(conn: Connection, region: str, as_of: date, known: int) -> list[str]:
    """The regions one level below ``region`` that hold an organisation on that date (``_CHILD_CODES``:
    a probe per child region, not a read of every organisation of the province; issue #6, P4)."""
    prefix = region_prefix(region)
    if len(prefix) >= 6:
        return []
    width = len(prefix) + 2
    asked = {"as_of": as_of, "known": known, "prefix": prefix, "upper": prefix + "z", "width": width}
    # "z": above every (digit) code under the prefix
    children = {code[:width].ljust(6, "0") for code in conn.scalars(_CHILD_CODES, asked)}
    children.discard(region)
    return sorted(children)


def _coverage(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> dict[str, Any]:
    # One query for the total and the kinds: the total is the sum of the groups (issue #6, P4).
    return _coverage_figures(
        CoverageView().report(conn, as_of=as_of, known=known, region=region, group_by="kind")
    )


def _coverage_figures(report: CoverageReport) -> dict[str, Any]:
    # the fields, then the rates (``_plain``: worked out once per type, not ``asdict``'s deep copy of
    # each of the report's figures; issue #6, P4)
    return {
        "entities": _plain(report.total),
        "by_kind": {k: _plain(v) for k, v in sorted(report.groups.items())},
        "members": {
            "total": report.members,
            "by_category": report.members_by_category,
            "by_affiliation": report.members_by_affiliation,
        },
    }


def _members(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    stats = MembersView().statistics(
        conn, as_of=as_of, known=known, region=region, organizations=organizations
    )
    return stats if organizations else _members_summary(stats)


def _members_summary(stats: MemberStatistics) -> dict[str, Any]:
    """Every count without the one per home organisation (R3: statistics)."""
    figures: dict[str, Any] = _plain(stats)
    del figures["by_home_organization"]
    return figures


def _stars(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    return StarsView().report(conn, year=as_of.year, as_of=as_of, known=known, region=region)


def _mobile_chain(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    report = MobileChainView().report(conn, year=as_of.year, as_of=as_of, known=known, region=region, limit=1)
    return {"year": report.year, "deadline": report.deadline, "totals": report.totals}


def _mobile_chain_totals(year: int, totals: ChainTotals) -> Any:
    return {"year": year, "deadline": deadline(year), "totals": totals}


def _training(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    return ActivitiesView().training(conn, year=as_of.year, as_of=as_of, known=known, region=region)


def _compliance(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    report = ActivitiesView().compliance(conn, year=as_of.year, as_of=as_of, known=known, region=region)
    return report if organizations else ComplianceTallies.of(report)


def _volunteers(conn: Connection, region: str, as_of: date, known: int, organizations: bool) -> Any:
    report = ActivitiesView().volunteers(conn, year=as_of.year, as_of=as_of, known=known, region=region)
    return report if organizations else VolunteerTallies.of(report)


SECTIONS: dict[str, Section] = {
    "coverage": _coverage,
    "members": _members,
    "stars": _stars,
    "mobile_chain": _mobile_chain,
    "training": _training,
    "compliance": _compliance,
    "volunteers": _volunteers,
}
"""Every section of the report for one area, in order; year-based figures are for the year of
``as_of``. The report itself computes each section for all its areas at once (``AREA_SECTIONS``);
these are the single-region answers it must equal (tests/projections/test_report.py)."""

AreaSection = Callable[[Connection, Areas, date, int, bool], list[Any]]
"""A report section for several areas at once: (connection, areas, as_of, known, with the lists of
organisations) → figures per area."""


def _members_by_area(
    conn: Connection, areas: Areas, as_of: date, known: int, organizations: bool
) -> list[Any]:
    stats = MembersView().statistics_by_area(
        conn, areas, as_of=as_of, known=known, organizations=organizations
    )
    return stats if organizations else [_members_summary(s) for s in stats]


def _listed_or_counted(listed: Callable[..., list[Any]], counted: Callable[..., list[Any]]) -> AreaSection:
    """An ``ActivitiesView`` section for all areas: its lists of organisations when asked for them,
    else its tallies, counted without making the lists (R3: statistics; issue #6, P4)."""

    def section(conn: Connection, areas: Areas, as_of: date, known: int, organizations: bool) -> list[Any]:
        by_area = listed if organizations else counted
        return by_area(ActivitiesView(), conn, areas, year=as_of.year, as_of=as_of, known=known)

    return section


AREA_SECTIONS: dict[str, AreaSection] = {
    "coverage": lambda conn, areas, as_of, known, _: [
        _coverage_figures(r) for r in CoverageView().report_by_area(conn, areas, as_of=as_of, known=known)
    ],
    "members": _members_by_area,
    "stars": lambda conn, areas, as_of, known, _: StarsView().report_by_area(
        conn, areas, year=as_of.year, as_of=as_of, known=known
    ),
    "mobile_chain": lambda conn, areas, as_of, known, _: [
        _mobile_chain_totals(as_of.year, totals)
        for totals in MobileChainView().totals_by_area(conn, areas, year=as_of.year, as_of=as_of, known=known)
    ],
    "training": lambda conn, areas, as_of, known, _: ActivitiesView().training_by_area(
        conn, areas, year=as_of.year, as_of=as_of, known=known
    ),
    "compliance": _listed_or_counted(
        ActivitiesView.compliance_by_area, ActivitiesView.compliance_tallies_by_area
    ),
    "volunteers": _listed_or_counted(
        ActivitiesView.volunteers_by_area, ActivitiesView.volunteer_tallies_by_area
    ),
}
"""``SECTIONS`` for all the areas of a report at once (issue #6, P4): one grouped query per figure
whatever the number of child regions, instead of about 27 queries per area."""


def half_year_report(
    conn: Connection, region: str, as_of: date, known: int, *, organizations: bool = False
) -> list[dict[str, Any]]:
    """One entry per area (the region, then each child region), each with every section (R3);
    ``organizations``: with the lists of organisations of the members, compliance and volunteers
    sections."""
    codes = [region, *child_regions(conn, region, as_of, known)]
    if not all(code.isdigit() for code in codes):
        # The grouped sections match region codes by prefix in Python, the single-region ones with
        # LIKE: equal for digits only (the API takes 6-digit codes). Anything else: area by area.
        return [
            {
                "region": code,
                **{
                    name: _plain(section(conn, code, as_of, known, organizations))
                    for name, section in SECTIONS.items()
                },
            }
            for code in codes
        ]
    areas = Areas(codes)
    # each section the counts answer asks whether they do, and reads its families: once for all
    with coverage_counts.settled_once(), coverage_counts.sums_once():
        figures = {
            name: section(conn, areas, as_of, known, organizations) for name, section in AREA_SECTIONS.items()
        }
    return [
        {"region": code, **{name: _plain(figures[name][i]) for name in AREA_SECTIONS}}
        for i, code in enumerate(codes)
    ]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _attribute_names(cls: type) -> tuple[str, ...]:
    """A figures class's fields, then its public properties (computed figures) in name order."""
    properties = [n for n in dir(cls) if not n.startswith("_") and isinstance(getattr(cls, n), property)]
    return (*(f.name for f in fields(cls)), *properties)


def _plain(value: Any) -> Any:
    """JSON-ready values; a figures object keeps its computed figures (rates, targets met).

    Issue #6, P4: a report holds thousands of figures objects, so how to convert a value is worked
    out once per type (``_converter``), and a scalar inside a figures object, dict or list is kept
    as it is without a call."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    convert = _CONVERTERS.get(cls)
    if convert is None:
        convert = _CONVERTERS[cls] = _converter(cls)
    return convert(value)


def _converter(cls: type) -> Callable[[Any], Any]:
    """How ``_plain`` makes a value of type ``cls`` JSON-ready, in the order it always asked: figures
    objects (dataclasses), dicts, lists and tuples, dates and UUIDs as text, anything else as it is."""
    scalars = _SCALARS
    if is_dataclass(cls):
        names = _attribute_names(cls)

        def figures(value: Any) -> dict[str, Any]:
            out = {}
            for name in names:
                inner = getattr(value, name)
                out[name] = inner if type(inner) in scalars else _plain(inner)
            return out

        return figures
    if issubclass(cls, dict):
        return lambda value: {str(k): v if type(v) in scalars else _plain(v) for k, v in value.items()}
    if issubclass(cls, list | tuple):
        return lambda value: [v if type(v) in scalars else _plain(v) for v in value]
    if issubclass(cls, date | UUID):
        return str
    return lambda value: value


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _flatten(f"{prefix}[{i}]", inner)
    else:
        yield prefix, value


def to_csv(areas: list[dict[str, Any]]) -> str:
    """One row per figure: region, section, figure (a dotted path), value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["region", "section", "figure", "value"])
    for area in areas:
        for section, figures in area.items():
            if section == "region":
                continue
            for figure, value in _flatten("", figures):
                writer.writerow([area["region"], section, figure, "" if value is None else value])
    return out.getvalue()

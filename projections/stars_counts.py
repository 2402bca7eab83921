"""Pre-aggregated stars counts (issue #6, P4): the strongest-branch figures (R11.2) and the station
stars (R9.1) as of any date, as the ledger believes now, read from a few rows per key instead of every
organisation and rating of a province.

``stars_counts`` has the shape of ``coverage_counts`` (see that module: a signed change per day, kept
at its day, month and year, rolled up from the county to its city and province) and one family, ``B``
(branches), of organisations counted in the region of their row on each day, for the year of that
day, ``a`` the statistic and ``b`` its value, as ``StarsView`` counts them from the rows:

- ``branches``: in the strongest-branch denominator: a branch (``BRANCH_KINDS``) not dissolved, or
  rated for the year, or holding an award counted for the year (its rating year is the year or
  earlier, its term runs to the year or later);
- ``awarded``: holding an award counted for the year;
- ``rated`` (``b`` the stage) and ``disqualified``: each rating of the year, and those disqualified;
- ``station`` (``b`` the star level in force, or "" for none): a station branch not dissolved.

An organisation's spans come from its own rows (``stars_organizations``) and those of its ratings
and its station star (``stars_strongest_ratings``, ``stars_station_stars``, by ``org_id``): the
stars handler, after writing a batch's rows, recounts the organisations whose rows, or whose
ratings' or star's rows, the batch changed, before and after it, as the coverage handler does
(``coverage_counts.apply``), under its own advisory lock; a rebuild's replay counts once at its end
(``refill``). The counts answer a report whose year is the year of its date, as known now
(``settled`` on the stars tables they are counted from); any other question reads the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, select, text

from domain.values import OrgKind
from projections import coverage_counts as counts
from projections.coverage_counts import Believed, Key, Span
from projections.tables import stars_counts as SC
from projections.tables import stars_organizations as O
from projections.tables import stars_station_stars as ST
from projections.tables import stars_strongest_ratings as SB

BRANCHES = "B"
COUNTED_FROM = (O, SB, ST)
"""The stars tables the counts are counted from: ``settled`` asks about these."""
LOCK = 0x64616E676A696172  # the advisory lock of the stars handler's transactions
BRANCH_KINDS = (OrgKind.AGENCY_BRANCH.value, OrgKind.STATION_BRANCH.value)
"""The branches in the strongest-branch denominator even when not rated (``projections.stars``)."""
STATION = OrgKind.STATION_BRANCH.value


def lock(conn: Connection) -> None:
    """Serialise the stars handlers' recounts (PostgreSQL): an organisation and its rating may be
    applied by two workers at once (``coverage_counts.lock``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})


def apply(
    conn: Connection, first: dict[UUID, int], orgs: set[UUID], ratings: set[UUID], stars: set[UUID]
) -> None:
    """Write the counts' changes of a batch whose rows are written: ``first`` is each subject's first
    position in the batch; ``orgs``, ``ratings`` and ``stars`` the batch's organisations, strongest-branch
    ratings and station stars."""
    if not (orgs or ratings or stars):
        return
    lock(conn)
    before, touched = counts.believed_before(first), counts.touched_since(min(first.values()))
    every = set(orgs)
    for table, subjects in ((SB, ratings), (ST, stars)):
        if subjects:
            every |= counts.scalars_of(
                conn, select(table.c.org_id).where(touched(table)), table.c.subject_id, subjects
            )
    o_rows = counts.rows_of(conn, O, O.c.subject_id, every, touched(O))
    sb_rows = counts.rows_of(conn, SB, SB.c.org_id, every, touched(SB))
    st_rows = counts.rows_of(conn, ST, ST.c.org_id, every, touched(ST))
    changed = {row.subject_id for row in o_rows if before(row) != counts.believed_now(row)}
    changed |= {row.org_id for row in (*sb_rows, *st_rows) if before(row) != counts.believed_now(row)}
    if not changed:
        return  # e.g. an organisation's event that changes none of its stars rows
    o_rows = [row for row in o_rows if row.subject_id in changed]
    sb_rows = [row for row in sb_rows if row.org_id in changed]
    st_rows = [row for row in st_rows if row.org_id in changed]
    changes: Counter[tuple[str, Key, date]] = Counter()
    counts.count_spans(changes, BRANCHES, _branch_spans(o_rows, sb_rows, st_rows, before), -1)
    counts.count_spans(changes, BRANCHES, _branch_spans(o_rows, sb_rows, st_rows, counts.believed_now), +1)
    counts.write(conn, changes, SC)


def fill(conn: Connection) -> bool:
    """Count every believed row into an empty ``stars_counts`` (a store that predates it); False when
    there was nothing to do."""
    if conn.execute(select(SC.c.delta).limit(1)).first() is not None:
        return False
    if conn.execute(select(O.c.row_id).limit(1)).first() is None:
        return False
    lock(conn)
    _fill(conn)
    return True


def refill(conn: Connection) -> None:
    """Count every believed row again, into an emptied ``stars_counts``: the end of a rebuild's replay."""
    lock(conn)
    conn.execute(delete(SC))
    _fill(conn)


def _fill(conn: Connection) -> None:
    """Count the believed rows organisation by organisation, ``coverage_counts.FILL_CHUNK`` at a time."""
    for ids in counts.believed_subjects(conn, O):
        o_rows = counts.believed_rows(conn, O, O.c.subject_id, ids)
        sb_rows = counts.believed_rows(conn, SB, SB.c.org_id, ids)
        st_rows = counts.believed_rows(conn, ST, ST.c.org_id, ids)
        changes: Counter[tuple[str, Key, date]] = Counter()
        counts.count_spans(
            changes, BRANCHES, _branch_spans(o_rows, sb_rows, st_rows, counts.believed_now), +1
        )
        counts.write(conn, changes, SC)


def _branch_spans(
    o_rows: Iterable[Any], sb_rows: Iterable[Any], st_rows: Iterable[Any], believed: Believed
) -> Iterator[Span]:
    """Family ``B``: each organisation's days in its row's region, cut where a rating or star row
    starts or ends and on 1 January of each year a rating's standing for the year changes (its rating
    year, the year after, the year after its term), with what it counts for on those days."""
    ratings = counts.believed_by(sb_rows, "org_id", believed)
    stars = counts.believed_by(st_rows, "org_id", believed)
    for org in o_rows:
        if not believed(org):
            continue
        own_ratings, own_stars = ratings.get(org.subject_id, []), stars.get(org.subject_id, [])
        start, end = org.valid_from, org.valid_to or date.max
        cuts = {start, end}
        for row in (*own_ratings, *own_stars):
            cuts.update((row.valid_from, row.valid_to or date.max))
        for row in own_ratings:
            years = [row.year, row.year + 1]
            if row.awarded and row.term_end_year is not None:
                years.append(row.term_end_year + 1)
            cuts.update(date(y, 1, 1) for y in years if date.min.year <= y <= date.max.year)
        for day, stop in pairwise(sorted(c for c in cuts if start <= c <= end)):
            for key in _counted(org, own_ratings, own_stars, day):
                yield key, day, None if stop == date.max else stop


def _counted(org: Any, ratings: list[Any], stars: list[Any], day: date) -> Iterator[Key]:
    """What organisation row ``org`` counts for on ``day`` (see the module's docstring), given the
    believed rows of its ratings and station star."""
    region, year = org.region_code, day.year
    in_force = [
        row for row in ratings if row.valid_from <= day and (row.valid_to is None or row.valid_to > day)
    ]
    rated = [row for row in in_force if row.year == year]
    awarded = any(
        row.awarded and row.year <= year and row.term_end_year is not None and row.term_end_year >= year
        for row in in_force
    )
    standing = not org.dissolved
    if (org.kind in BRANCH_KINDS and standing) or rated or awarded:
        yield region, "branches", ""
    if awarded:
        yield region, "awarded", ""
    for row in rated:
        yield region, "rated", row.stage
        if row.disqualified:
            yield region, "disqualified", ""
    if org.kind == STATION and standing:
        levels = [
            str(row.level)
            for row in stars
            if row.valid_from <= day and (row.valid_to is None or row.valid_to > day)
        ]
        for level in levels or [""]:  # as the rows' outer join: one per star row in force, or none
            yield region, "station", level

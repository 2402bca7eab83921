"""Pre-aggregated stars counts (issue #6, P4): the five figures of the half-year report's stars
section (R5, R11.2, R9.1, R9.2/R9.3, R4) as of any date, as the ledger believes now, read from a few
rows per key instead of every organisation, entity and record of a province.

``stars_counts`` and ``stars_entity_counts`` have the shape of ``coverage_counts`` (see that module: a
signed change per day, kept at its day, month and year, rolled up from the county to its city and
province). Three families:

- ``B`` (branches, in ``stars_counts``): organisations counted in the region of their row on each day,
  for the year of that day, ``a`` the statistic and ``b`` its value, as ``StarsView`` counts them
  from the rows:

  - ``branches``: in the strongest-branch denominator: a branch (``BRANCH_KINDS``) not dissolved, or
    rated for the year, or holding an award counted for the year (its rating year is the year or
    earlier, its term runs to the year or later);
  - ``awarded``: holding an award counted for the year;
  - ``rated`` (``b`` the stage) and ``disqualified``: each rating of the year, and those disqualified;
  - ``station`` (``b`` the star level in force, or "" for none): a station branch not dissolved.

- ``O`` (organisations' other figures, in ``stars_counts``), each row of the organisation's records in
  force counted in the region of the organisation's row, ``a`` the value and ``b`` the statistic (the
  values are longer than ``b`` holds):

  - ``round`` (``a`` "closed" or "open"): its pioneer round of the day's year (R5.4);
  - ``enrolment`` (``a`` "standing|stars|excellent|follow-up done"): each member enrolled in it
    (R5.1-R5.5);
  - ``xinhuo`` (``a`` the category) and ``xinhuo_industry`` (``a`` the focus industry, when there
    is one): its 薪火 demonstration in force (R9.2, R9.3).

- ``E`` (entities, in ``stars_entity_counts``), counted in the region of the entity's row, ``a`` the
  value and ``b`` the statistic: ``xinhuo`` and ``xinhuo_industry`` of a member household's
  demonstration in the entity (whatever the entity's status, as the rows count it); and, while the
  entity is not deregistered, ``kind`` and ``scope`` of its standardisation record (``kind_std`` and
  ``scope_std`` when all six criteria are met, R4) and ``criterion`` for each criterion met.

An organisation's spans come from its own rows (``stars_organizations``) and those of its ratings,
station star, pioneer rounds and enrolments and 薪火 demonstration (by ``org_id``); an entity's from
its rows (``stars_entities``) and those of its households' demonstrations and standardisation record
(by ``entity_id``). The stars handler, after writing a batch's rows, recounts the organisations and
entities whose rows, or whose records' rows, the batch changed, before and after it, as the coverage
handler does (``coverage_counts.apply``), under its own advisory lock; an entity without a household
demonstration or a standardisation record has no span and is not read. A rebuild's replay counts once
at its end (``refill``). The counts answer a report whose year is the year of its date, as known now
(``settled`` on the stars tables they are counted from); any other question reads the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, delete, select

from domain.values import EntityStatus, OrgKind
from projections import coverage_counts as counts
from projections.coverage_counts import Believed, Key, Span
from projections.tables import stars_counts as SC
from projections.tables import stars_entities as E
from projections.tables import stars_entity_counts as SEC
from projections.tables import stars_market_criteria as MC
from projections.tables import stars_markets as MK
from projections.tables import stars_organizations as O
from projections.tables import stars_pioneer_enrolments as PE
from projections.tables import stars_pioneer_rounds as PR
from projections.tables import stars_station_stars as ST
from projections.tables import stars_strongest_ratings as SB
from projections.tables import stars_xinhuo as X

BRANCHES, ORGANIZATIONS, ENTITIES = "B", "O", "E"
COUNTED_FROM = (O, SB, ST, PR, PE, X, E, MK, MC)
"""The stars tables the counts are counted from: ``settled`` asks about these."""
DEREGISTERED = EntityStatus.DEREGISTERED.value
counts.FAMILIES.update({SC.name: (BRANCHES, ORGANIZATIONS), SEC.name: (ENTITIES,)})  # read together
LOCK = 2  # the stars handler's advisory lock, within its schema's (``coverage_counts.lock``)
BRANCH_KINDS = (OrgKind.AGENCY_BRANCH.value, OrgKind.STATION_BRANCH.value)
"""The branches in the strongest-branch denominator even when not rated (``projections.stars``)."""
STATION = OrgKind.STATION_BRANCH.value


def lock(conn: Connection) -> None:
    """Serialise the stars handlers' recounts (PostgreSQL): an organisation and its rating may be
    applied by two workers at once (``coverage_counts.lock``)."""
    counts.lock(conn, LOCK)


def apply(conn: Connection, first: dict[UUID, int], subjects: dict[str, set[UUID]]) -> None:
    """Write the counts' changes of a batch whose rows are written: ``first`` is each subject's first
    position in the batch; ``subjects`` the batch's subjects by aggregate class name (those of
    ``StarsProjection.counted``)."""
    if not any(subjects.values()):
        return
    lock(conn)
    before, touched = counts.believed_before(first), counts.touched_since(min(first.values()))

    def owners(table: Any, column: str, ids: set[UUID], by: Any = None) -> set[Any]:
        if not ids:
            return set()
        owner = table.c[column]
        found = counts.scalars_of(
            conn, select(owner).where(touched(table)), by if by is not None else table.c.subject_id, ids
        )
        return found - {None}

    orgs = set(subjects["PartyOrganization"])
    for table, aggregate in (
        (SB, "StrongestBranchRating"),
        (ST, "StationStar"),
        (PR, "PioneerRound"),
        (X, "XinhuoDemonstration"),
    ):
        orgs |= owners(table, "org_id", subjects[aggregate])
    if orgs:
        _recount(conn, before, _organization_rows(conn, orgs, touched))
    # an entity has spans only with a household demonstration or a standardisation record
    entities = owners(X, "entity_id", subjects["XinhuoDemonstration"])
    entities |= owners(MK, "entity_id", subjects["MarketStandardisation"])
    registered = subjects["MarketEntity"]
    entities |= owners(X, "entity_id", registered, X.c.entity_id) | owners(
        MK, "entity_id", registered, MK.c.entity_id
    )
    if entities:
        _recount(conn, before, _entity_rows(conn, entities, touched))


Rows = dict[Any, list[Any]]


def _organization_rows(conn: Connection, ids: Collection[UUID], condition: Callable[[Table], Any]) -> Rows:
    """The rows an organisation's spans come from: its own and those of its records, by ``org_id``."""
    return {
        O: counts.rows_of(conn, O, O.c.subject_id, ids, condition(O)),
        **{t: counts.rows_of(conn, t, t.c.org_id, ids, condition(t)) for t in (SB, ST, PR, PE, X)},
    }


def _entity_rows(conn: Connection, ids: Collection[UUID], condition: Callable[[Table], Any]) -> Rows:
    """The rows an entity's spans come from: its own and those of its records, by ``entity_id``."""
    return {
        E: counts.rows_of(conn, E, E.c.subject_id, ids, condition(E)),
        **{t: counts.rows_of(conn, t, t.c.entity_id, ids, condition(t)) for t in (X, MK, MC)},
    }


def _recount(conn: Connection, before: Believed, rows: Rows) -> None:
    """Count the spans of the owners (organisations or entities) whose rows ``before`` and now differ:
    out as they were before the batch, in as they are now."""
    key = "org_id" if O in rows else "entity_id"

    def _owner(table: Table, row: Any) -> Any:
        return row.subject_id if table is O or table is E else getattr(row, key)

    changed = {
        _owner(t, row)
        for t, table_rows in rows.items()
        for row in table_rows
        if before(row) != counts.believed_now(row)
    }
    if not changed:
        return  # e.g. an organisation's event that changes none of its stars rows
    kept = {t: [row for row in table_rows if _owner(t, row) in changed] for t, table_rows in rows.items()}
    changes: Counter[tuple[str, Key, date]] = Counter()
    for believed, sign in ((before, -1), (counts.believed_now, +1)):
        _count(changes, kept, believed, sign)
    _write(conn, changes)


def _count(changes: Counter[tuple[str, Key, date]], rows: Rows, believed: Believed, sign: int) -> None:
    if O in rows:
        counts.count_spans(changes, BRANCHES, _branch_spans(rows[O], rows[SB], rows[ST], believed), sign)
        counts.count_spans(changes, ORGANIZATIONS, _organization_spans(rows, believed), sign)
    else:
        counts.count_spans(changes, ENTITIES, _entity_spans(rows, believed), sign)


def _write(conn: Connection, changes: Counter[tuple[str, Key, date]]) -> None:
    counts.write(conn, Counter({k: n for k, n in changes.items() if k[0] != ENTITIES}), SC)
    counts.write(conn, Counter({k: n for k, n in changes.items() if k[0] == ENTITIES}), SEC)


def fill(conn: Connection) -> bool:
    """Count every believed row again into ``stars_counts`` and ``stars_entity_counts`` when they need
    it (``coverage_counts.needs_fill``: a store that predates them, or counts written before the
    balance rows); False when there was nothing to do."""
    if not counts.needs_fill(conn, (SC, SEC), (O,)):
        return False
    refill(conn)
    return True


def refill(conn: Connection) -> None:
    """Count every believed row again, into emptied counts tables: the end of a rebuild's replay."""
    lock(conn)
    conn.execute(delete(SC))
    conn.execute(delete(SEC))
    with counts.summed(conn):
        _fill(conn)


def _fill(conn: Connection) -> None:
    """Count the believed rows organisation by organisation, then entity by entity (those with a
    household demonstration or a standardisation record), ``coverage_counts.FILL_CHUNK`` at a time."""

    def believed(table: Table) -> Any:
        return table.c.known_to.is_(None)

    for ids in counts.believed_subjects(conn, O):
        _fill_rows(conn, _organization_rows(conn, ids, believed))
    owners = (
        select(MK.c.entity_id)
        .where(believed(MK))
        .union(select(X.c.entity_id).where(believed(X), X.c.entity_id.is_not(None)))
    )
    entities = sorted(conn.scalars(owners))
    for i in range(0, len(entities), counts.FILL_CHUNK):
        _fill_rows(conn, _entity_rows(conn, entities[i : i + counts.FILL_CHUNK], believed))


def _fill_rows(conn: Connection, rows: Rows) -> None:
    changes: Counter[tuple[str, Key, date]] = Counter()
    _count(changes, rows, counts.believed_now, +1)
    _write(conn, changes)


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
        years: list[int] = []
        for row in own_ratings:
            years += [row.year, row.year + 1]
            if row.awarded and row.term_end_year is not None:
                years.append(row.term_end_year + 1)
        for day, stop in _cut(org, (*own_ratings, *own_stars), years):
            for key in _counted(org, own_ratings, own_stars, day):
                yield key, day, None if stop == date.max else stop


def _counted(org: Any, ratings: list[Any], stars: list[Any], day: date) -> Iterator[Key]:
    """What organisation row ``org`` counts for on ``day`` (see the module's docstring), given the
    believed rows of its ratings and station star."""
    region, year = org.region_code, day.year
    in_force = _in_force(ratings, day)
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
        levels = [str(row.level) for row in _in_force(stars, day)]
        for level in levels or [""]:  # as the rows' outer join: one per star row in force, or none
            yield region, "station", level


def _in_force(rows: Iterable[Any], day: date) -> list[Any]:
    return [row for row in rows if row.valid_from <= day and (row.valid_to is None or row.valid_to > day)]


def _cut(owner: Any, records: Iterable[Any], years: Iterable[int] = ()) -> Iterator[tuple[date, date]]:
    """The days of ``owner``'s row cut where one of its records' rows starts or ends, and on 1 January
    of ``years``: (first day, stop), the stop ``date.max`` when open."""
    start, end = owner.valid_from, owner.valid_to or date.max
    cuts = {start, end}
    for row in records:
        cuts.update((row.valid_from, row.valid_to or date.max))
    cuts.update(date(y, 1, 1) for y in years if date.min.year <= y <= date.max.year)
    yield from pairwise(sorted(c for c in cuts if start <= c <= end))


def _xinhuo_keys(region: str, rows: Iterable[Any]) -> Iterator[Key]:
    for row in rows:
        yield region, row.category, "xinhuo"
        if row.focus_industry is not None:
            yield region, row.focus_industry, "xinhuo_industry"


def _organization_spans(rows: Rows, believed: Believed) -> Iterator[Span]:
    """Family ``O``: each organisation's days in its row's region, cut where a round, enrolment or
    demonstration row starts or ends and on 1 January of a round's year and the year after."""
    records = {t: counts.believed_by(rows[t], "org_id", believed) for t in (PR, PE, X)}
    for org in rows[O]:
        if not believed(org):
            continue
        rounds, enrolments, xinhuo = (records[t].get(org.subject_id, []) for t in (PR, PE, X))
        years = {y for row in (*rounds, *enrolments) for y in (row.year, row.year + 1)}
        for day, stop in _cut(org, (*rounds, *enrolments, *xinhuo), years):
            region, year, keys = org.region_code, day.year, []
            for row in _in_force(rounds, day):
                if row.year == year:
                    keys.append((region, "closed" if row.closed else "open", "round"))
            for row in _in_force(enrolments, day):
                if row.year == year:
                    keys.append((region, enrolment_value(row), "enrolment"))
            keys.extend(_xinhuo_keys(region, _in_force(xinhuo, day)))
            for key in keys:
                yield key, day, None if stop == date.max else stop


def enrolment_value(row: Any) -> str:
    """Family ``O``'s ``a`` of an enrolment: "standing|stars|excellent|follow-up done" ("" for none)."""
    stars = "" if row.stars is None else str(row.stars)
    return f"{row.standing}|{stars}|{'1' if row.excellent else ''}|{'1' if row.follow_up_done else ''}"


def enrolment_fields(value: str) -> tuple[str, int | None, bool, bool]:
    """``enrolment_value`` read back: (standing, stars or None, excellent, follow-up done)."""
    standing, stars, excellent, follow_up_done = value.split("|")
    return standing, int(stars) if stars else None, bool(excellent), bool(follow_up_done)


def _entity_spans(rows: Rows, believed: Believed) -> Iterator[Span]:
    """Family ``E``: each entity's days in its row's region, cut where a household demonstration,
    standardisation or criterion row starts or ends."""
    records = {t: counts.believed_by(rows[t], "entity_id", believed) for t in (X, MK, MC)}
    for entity in rows[E]:
        if not believed(entity):
            continue
        xinhuo, markets, criteria = (records[t].get(entity.subject_id, []) for t in (X, MK, MC))
        for day, stop in _cut(entity, (*xinhuo, *markets, *criteria)):
            region = entity.region_code
            keys = list(_xinhuo_keys(region, _in_force(xinhuo, day)))
            if entity.status != DEREGISTERED:
                for row in _in_force(markets, day):
                    suffix = "_std" if row.standardised else ""
                    keys += [(region, entity.kind, "kind" + suffix), (region, row.scope, "scope" + suffix)]
                keys += [(region, row.criterion, "criterion") for row in _in_force(criteria, day)]
            for key in keys:
                yield key, day, None if stop == date.max else stop

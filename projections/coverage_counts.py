"""Pre-aggregated coverage counts (issue #6, P4): the coverage figures as of any date, as the ledger
believes now, read from a few rows per key instead of every entity and member.

``coverage_counts`` holds, per key, the signed change on each day of how many entities (family
``E``: region code, kind, R13.1 bucket) or members (family ``M``: the home organisation's region
code, category, affiliation; R13.6) are counted: +1 on the day a counted span starts, -1 on the day
it ends (``valid_to``, exclusive). Family ``S`` keeps what the members statistics (R3, the half-year
report's members section) count besides category and affiliation, for the same members in the same
region: ``a`` the value and ``b`` the statistic: ``distribution``, ``flag`` (the business owners and the
members whose business is suspended, who are away or in a disciplinary period, R5.2, R5.3) and
``left`` (the leavers by reason, R13.6). Family ``T`` counts the members present who have taken part in
at least one training (R7) since 1 January of the day (``a`` the affiliation, ``b`` ``sessions>=1``, and
``sessions>=k`` where an affiliation asks for k sessions each), from the training participants the
coverage projection keeps for it (``coverage_training``); such a span ends on 1 January of the next
year at the latest. Families ``V`` (R11.3, the volunteers section) and ``R`` (R10's monthly themed party
day) count organisations, ``a`` the statistic: ``V`` those not dissolved, those with members present,
those whose volunteers since 1 January are at least 80% of them and those that held two volunteer services
since 1 January; ``R`` those that have run since 1 January and those that missed a month of the year so far,
worked out for each region prefix (``PER_DEPTH``). Family ``C`` counts the mobile members' rounds (R6, the
half-year report's mobile chain) on the days their business-place organisation has a row, in that row's
region: ``a`` the year and step ("2025:feedback_issued"), ``b`` "by_deadline" when the receipt came back by
30 November of the year (R6.3), from the rounds the coverage projection keeps for it (``coverage_rounds``).
Each change is stored on its day (``D``), its
month (``M``, the first of the month) and its year (``Y``, 1 January), and added to the balance (``P``) on
each 1 January after it up to ``BALANCES_UNTIL``, so a figure as of a date is the balance on 1 January of
its year, the months before it in its year and the days up to it in its month: at most 1 + 11 + 30 rows
per key whatever the length of the history, 7 on 30 June and 1 on 31 December (R3's cut-offs: a month or
year ending on the date is read as its one row). Before the balances a figure summed every year before
it: 16 rows per key where entities were registered since 2010, most of what a city's figures read
(issue #6, P4: the report's time per area). Each change is also rolled up from
the county's code to its city's and province's prefixes (``depth`` 6, 4, 2: ``region_prefix``), so a
province's figure reads the province's keys only, not those of its ninety counties.

The spans are those the scan of the believed coverage rows counts (``CoverageView``):

- an entity is counted on the days its believed row says it is operating, in the bucket of its
  formation; without an organisation of its own, "work coverage only" on the days a believed
  guidance row (``coverage_work``, another aggregate's) names it, "uncovered" on the others;
- a member is counted on the days its believed row is present and its home organisation has a
  believed row, in that organisation's region (another aggregate's); in family ``T`` from the day of
  its first (k-th) training of a year, a participants' row of an activity (another aggregate's);
- a round is counted on the days its believed row holds and its business-place organisation has a
  believed row, in that organisation's region (another aggregate's);
- an organisation is counted from its own rows, its members' rows (by home organisation, other
  aggregates'), their volunteer participations and the activities it held (activities' rows), as
  ``ActivitiesView`` counts them on each day (``_volunteer_spans``, ``_themed_day_spans``).

So the coverage handler, after writing a batch's rows (``apply``), works out the counted spans of every
entity, member and organisation the batch can have changed (the participants of its activities, the
organisations that held them and their volunteers' home organisations among them), before and after the
batch, and writes the difference. Before and after are told apart by the rows' positions: a subject's
events are applied in position order (one Kafka partition per aggregate, or the runner's order), so a
row of a subject whose first event in the batch is at position ``p`` was believed before the batch when
``known_from < p`` and it was not closed before ``p``; rows of other subjects are unchanged.

The counts answer "as known now" only. A query may use them when the coverage tables hold no row
recorded or closed after the position it asks about (``settled``): then the rows visible at that
position are exactly the believed ones. Projection workers apply Kafka partitions independently, so
this, not the checkpoint, decides. Two workers applying an entity and the organisation that guides it
at once would each miss the other's change (write skew), so the recount takes a transaction-level
advisory lock on PostgreSQL (SQLite has one writer). It is taken after the rows are written, not
before: the recount's reads (READ COMMITTED) come after it, so they see the rows of every transaction
that recounted before, and what another worker wrote but has not recounted yet it will recount
itself, on top of these counts. The lock is then held to the commit, for as short as possible.

Rows whose sum comes back to zero are deleted, so the table is a function of the believed rows: a
rebuild gives the same rows as incremental updates. A rebuild's replay therefore writes no counts batch
by batch; it counts every believed row once at its end (``refill``).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Integer,
    Row,
    String,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from domain.targets import TRAINING_TARGETS, VOLUNTEER_MIN_ACTIVITIES_PER_YEAR, VOLUNTEER_MIN_SHARE
from domain.values import ActivityType, EntityStatus, Formation
from projections.tables import coverage_activities as CA
from projections.tables import coverage_counts as C
from projections.tables import coverage_entities as E
from projections.tables import coverage_members as M
from projections.tables import coverage_organizations as O
from projections.tables import coverage_rounds as CR
from projections.tables import coverage_training as T
from projections.tables import coverage_volunteers as V
from projections.tables import coverage_work as W
from projections.temporal import ALL_KNOWN, among_chunks, copy_rows, qualified

ENTITIES, MEMBERS, STATISTICS, TRAINING, VOLUNTEERS, THEMED_DAYS, ROUNDS = "E", "M", "S", "T", "V", "R", "C"
ORGANIZED = (Formation.STANDALONE.value, Formation.JOINT.value)
LOCK = 1
"""The coverage handler's advisory lock, within its schema's (``lock``)."""
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(current_schema()), :key)"
"""A transaction-level lock named by the schema and a key: the stores of several schemas in one database
(the tests' processes, the bench's stores) do not wait for each other."""

Key = tuple[str, str, str]
"""region code, kind or category, bucket or affiliation"""
Span = tuple[Key, date, date | None]
Believed = Callable[[Any], bool]
"""Whether a row (with ``subject_id``, ``known_from``, ``known_to``) is counted in a state."""


def lock(conn: Connection, key: int = LOCK) -> None:
    """Serialise the coverage handlers' transactions in this schema (PostgreSQL): see the module's
    docstring."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(LOCK_SQL), {"key": key})


def apply(
    conn: Connection,
    first: dict[UUID, int],
    entities: set[UUID],
    orgs: set[UUID],
    members: set[UUID],
    activities: Collection[UUID] = (),
    rounds: Collection[UUID] = (),
) -> None:
    """Write the counts' changes of a batch whose rows are written: ``first`` is each subject's first
    position in the batch; ``entities``, ``orgs``, ``members``, ``activities`` and ``rounds`` the
    batch's subjects by aggregate."""
    if not first:
        return
    lock(conn)  # from here on this transaction's reads see every recount committed before it
    low = min(first.values())
    before, touched = believed_before(first), touched_since(low)

    def changed(table: Table) -> ColumnElement[bool]:
        """The rows this batch (or an earlier one of this worker) recorded or closed."""
        return or_(table.c.known_from >= low, table.c.known_to >= low)

    entities = set(entities)
    members = set(members)
    rounds = set(rounds)
    if orgs:
        # the entities whose guidance rows an organisation's events changed (not every entity it
        # guides: a station's unrelated event would recount thousands), and the members at home in
        # an organisation whose own rows changed
        entities.update(scalars_of(conn, select(W.c.entity_id).where(changed(W)), W.c.subject_id, orgs))
        moved = scalars_of(conn, select(O.c.subject_id).where(changed(O)), O.c.subject_id, orgs)
        if moved:
            members.update(scalars_of(conn, select(M.c.subject_id).where(touched(M)), M.c.home_org_id, moved))
            rounds |= scalars_of(
                conn, select(CR.c.subject_id).where(touched(CR)), CR.c.business_org_id, moved
            )
    trainees: set[UUID] = set()  # the participants of its trainings, before and after (R7)
    # the organisations whose volunteer (R11.3) and themed-day (R10) spans the batch can change
    recount = {VOLUNTEERS: set(orgs), THEMED_DAYS: set(orgs)}
    if activities:
        trainees = scalars_of(conn, select(T.c.member_id).where(touched(T)), T.c.subject_id, activities)
        trainees -= members
        # the organisations that held them, and the home organisations of their volunteers
        for row in rows_of(conn, CA, CA.c.subject_id, activities, touched(CA)):
            recount[THEMED_DAYS if row.activity_type == _THEMED else VOLUNTEERS].add(row.org_id)
        volunteers = scalars_of(conn, select(V.c.member_id).where(touched(V)), V.c.subject_id, activities)
        if volunteers:
            home = select(M.c.home_org_id).where(touched(M))
            recount[VOLUNTEERS] |= scalars_of(conn, home, M.c.subject_id, volunteers - members)
    changes: Counter[tuple[str, Key, date]] = Counter()
    if entities:
        e_rows = rows_of(conn, E, E.c.subject_id, entities, touched(E))
        w_rows = rows_of(conn, W, W.c.entity_id, entities, touched(W))
        count_spans(changes, ENTITIES, _entity_spans(e_rows, w_rows, before), -1)
        count_spans(changes, ENTITIES, _entity_spans(e_rows, w_rows, believed_now), +1)
    if members or trainees:
        everyone = members | trainees
        m_rows = rows_of(conn, M, M.c.subject_id, everyone, touched(M))
        homes = {row.home_org_id for row in m_rows}
        o_rows = rows_of(conn, O, O.c.subject_id, homes, touched(O)) if homes else []
        t_rows = rows_of(conn, T, T.c.member_id, everyone, touched(T))
        own = [row for row in m_rows if row.subject_id in members] if trainees else m_rows
        for family, spans in MEMBER_FAMILIES:
            rows = m_rows if family == TRAINING else own  # only a trainee's training spans change
            count_spans(changes, family, spans(rows, o_rows, t_rows, before), -1)
            count_spans(changes, family, spans(rows, o_rows, t_rows, believed_now), +1)
        recount[VOLUNTEERS].update(row.home_org_id for row in own)
    if recount[VOLUNTEERS] or recount[THEMED_DAYS]:
        _recount_organizations(conn, changes, recount, touched, before)
    if rounds:
        r_rows = rows_of(conn, CR, CR.c.subject_id, rounds, touched(CR))
        places = {row.business_org_id for row in r_rows}
        o_rows = rows_of(conn, O, O.c.subject_id, places, touched(O)) if places else []
        count_spans(changes, ROUNDS, _round_spans(r_rows, o_rows, before), -1)
        count_spans(changes, ROUNDS, _round_spans(r_rows, o_rows, believed_now), +1)
    write(conn, changes)


def believed_before(first: dict[UUID, int]) -> Believed:
    """Whether a row was believed before a batch whose subjects' first positions are ``first`` (see
    the module's docstring)."""

    def before(row: Any) -> bool:
        p = first.get(row.subject_id)
        if p is None:
            return row.known_to is None
        return bool(row.known_from < p and (row.known_to is None or row.known_to >= p))

    return before


def batch_subjects(
    batch: Iterable[tuple[Any, int]], aggregates: Iterable[type]
) -> tuple[dict[UUID, int], dict[str, set[UUID]]]:
    """A batch's subjects of the given aggregates: each one's first position in the batch, and the
    subjects by aggregate class name (what ``apply`` is given)."""
    first: dict[UUID, int] = {}
    by_kind: dict[str, set[UUID]] = {a.__name__: set() for a in aggregates}
    for event, position in batch:
        subjects = by_kind.get(type(event).__qualname__.split(".")[0])
        if subjects is not None:
            subjects.add(event.originator_id)
            first[event.originator_id] = min(position, first.get(event.originator_id, position))
    return first, by_kind


def believed_by(rows: Iterable[Any], key: str, believed: Believed) -> defaultdict[UUID, list[Any]]:
    """The rows ``believed`` holds, by the value of their column ``key``."""
    grouped: defaultdict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        if believed(row):
            grouped[getattr(row, key)].append(row)
    return grouped


def touched_since(low: int) -> Callable[[Table], ColumnElement[bool]]:
    """The rows of a table believed now or closed by a batch starting at ``low`` (or a later one):
    every row ``believed_before`` or ``believed_now`` can hold."""
    return lambda table: or_(table.c.known_to.is_(None), table.c.known_to >= low)


def _recount_organizations(
    conn: Connection,
    changes: Counter[tuple[str, Key, date]],
    recount: dict[str, set[UUID]],
    touched: Callable[[Table], ColumnElement[bool]],
    before: Believed,
) -> None:
    """The changes of families ``V`` and ``R`` of the organisations in ``recount`` (by family) whose
    rows, or their members', volunteers' or activities' rows, the batch changed: an organisation none
    of whose rows was believed before and not after, or after and not before, keeps its spans (a
    member's event that changes none of its rows recounts nothing; issue #6, P3)."""
    every = recount[VOLUNTEERS] | recount[THEMED_DAYS]
    o_rows = rows_of(conn, O, O.c.subject_id, every, touched(O))
    a_rows = rows_of(conn, CA, CA.c.org_id, every, touched(CA))
    m_rows = rows_of(conn, M, M.c.home_org_id, recount[VOLUNTEERS], touched(M)) if recount[VOLUNTEERS] else []
    v_rows = rows_of(conn, V, V.c.member_id, {row.subject_id for row in m_rows}, touched(V)) if m_rows else []

    def changed(row: Any) -> bool:
        return before(row) != believed_now(row)

    own_rows = {row.subject_id for row in o_rows if changed(row)}
    held = {(row.org_id, row.activity_type) for row in a_rows if changed(row)}
    volunteered = {row.member_id for row in v_rows if changed(row)}
    changed_orgs = {
        THEMED_DAYS: own_rows | {org for org, kind in held if kind == _THEMED},
        VOLUNTEERS: own_rows
        | {org for org, kind in held if kind == _VOLUNTEER}
        | {row.home_org_id for row in m_rows if changed(row) or row.subject_id in volunteered},
    }
    for family, org_spans in ORGANIZATION_FAMILIES:
        chosen = recount[family] & changed_orgs[family]
        if not chosen:
            continue
        own_o = [row for row in o_rows if row.subject_id in chosen]
        own_m = [row for row in m_rows if row.home_org_id in chosen] if family == VOLUNTEERS else []
        own_a = [row for row in a_rows if row.org_id in chosen]
        count_spans(changes, family, org_spans(own_o, own_m, v_rows, own_a, before), -1)
        count_spans(changes, family, org_spans(own_o, own_m, v_rows, own_a, believed_now), +1)


def fill(conn: Connection) -> bool:
    """Count every believed row again into ``coverage_counts`` when it needs it (``needs_fill``); False
    when there was nothing to do."""
    if not needs_fill(conn, (C,), (E, M, O)):
        return False
    refill(conn)
    return True


def needs_fill(conn: Connection, tables: Sequence[Table], sources: Sequence[Table]) -> bool:
    """Whether counts ``tables`` must be counted again from their ``sources`` at set-up: the first of
    them is empty while a source has rows (a store that predates them), or one of them was written
    before the balance rows (``lacks_balances``)."""
    if conn.execute(select(tables[0].c.delta).limit(1)).first() is not None:
        return any(lacks_balances(conn, table) for table in tables)
    return any(conn.execute(select(t.c.row_id).limit(1)).first() is not None for t in sources)


def refill(conn: Connection) -> None:
    """Count every believed row again, into an emptied ``coverage_counts``: the end of a rebuild's
    replay, which leaves the counts to this (``CoverageProjection.finish_replay``): one pass over the
    rows instead of a recount of every subject in each batch it appears in, before and after (issue #6,
    P3)."""
    lock(conn)
    conn.execute(delete(C))
    with summed(conn):
        _fill(conn)


FILL_CHUNK = 5000
"""Subjects counted at a time by ``fill``: the rows of a province's subjects are never all in memory
at once (issue #6, P7)."""
ORGANIZATION_SHARE = 5
"""Organisations are counted ``FILL_CHUNK // ORGANIZATION_SHARE`` at a time: each brings its members'
rows and their volunteer participations (at scale 0.1, 5,000 organisations at a time took the rebuild's
peak memory from 276 to 484 MB)."""


def _fill(conn: Connection) -> None:
    """Count the believed rows subject by subject, a chunk of subjects at a time: entities (with their
    guidance rows), members (with their home organisations' rows and trainings), organisations (with
    their members, their volunteers' participations and the activities they held)."""
    for ids in believed_subjects(conn, E):
        changes: Counter[tuple[str, Key, date]] = Counter()
        e_rows = believed_rows(conn, E, E.c.subject_id, ids)
        w_rows = believed_rows(conn, W, W.c.entity_id, ids)
        count_spans(changes, ENTITIES, _entity_spans(e_rows, w_rows, believed_now), +1)
        write(conn, changes)
    for ids in believed_subjects(conn, M):
        changes = Counter()
        m_rows = believed_rows(conn, M, M.c.subject_id, ids)
        homes = {row.home_org_id for row in m_rows}
        o_rows = believed_rows(conn, O, O.c.subject_id, homes) if homes else []
        t_rows = believed_rows(conn, T, T.c.member_id, ids)
        for family, spans in MEMBER_FAMILIES:
            count_spans(changes, family, spans(m_rows, o_rows, t_rows, believed_now), +1)
        write(conn, changes)
    for ids in believed_subjects(conn, CR):
        r_rows = believed_rows(conn, CR, CR.c.subject_id, ids)
        places = {row.business_org_id for row in r_rows}
        o_rows = believed_rows(conn, O, O.c.subject_id, places) if places else []
        changes = Counter()
        count_spans(changes, ROUNDS, _round_spans(r_rows, o_rows, believed_now), +1)
        write(conn, changes)
    for ids in believed_subjects(conn, O, ORGANIZATION_SHARE):
        changes = Counter()
        o_rows = believed_rows(conn, O, O.c.subject_id, ids)
        m_rows = believed_rows(conn, M, M.c.home_org_id, ids)
        members = {row.subject_id for row in m_rows}
        v_rows = believed_rows(conn, V, V.c.member_id, members) if members else []
        a_rows = believed_rows(conn, CA, CA.c.org_id, ids)
        for family, org_spans in ORGANIZATION_FAMILIES:
            count_spans(changes, family, org_spans(o_rows, m_rows, v_rows, a_rows, believed_now), +1)
        write(conn, changes)


def lacks_balances(conn: Connection, table: Table) -> bool:
    """Whether a counts table was written before the balance rows (``P``) up to ``BALANCES_UNTIL``: it
    has a year row before that year and no balance row on its 1 January (none at all before the balance
    rows; none that late once the constant is moved on). (A table whose every count went back to zero
    by then has no such row either, and is counted again at each set-up.)"""
    year_row = exists().where(table.c.level == "Y", table.c.period < _BALANCES_FROM)
    balance_row = exists().where(table.c.level == "P", table.c.period == _BALANCES_FROM)
    return bool(conn.execute(select(and_(year_row, ~balance_row))).scalar())


def believed_rows(conn: Connection, table: Table, column: Any, ids: Collection[UUID]) -> list[Row[Any]]:
    """The believed rows of ``table`` whose ``column`` is among ``ids``."""
    return rows_of(conn, table, column, ids, table.c.known_to.is_(None))


def believed_subjects(conn: Connection, table: Table, share: int = 1) -> Iterator[list[UUID]]:
    """The subjects of ``table`` with a believed row, ``FILL_CHUNK // share`` at a time, in id order."""
    column, last = table.c.subject_id, None
    chunk = max(1, FILL_CHUNK // share)
    query = select(column).where(table.c.known_to.is_(None)).distinct().order_by(column).limit(chunk)
    while ids := list(conn.scalars(query if last is None else query.where(column > last))):
        yield ids
        last = ids[-1]


_SETTLED: ContextVar[dict[tuple[str, int], bool] | None] = ContextVar("coverage_counts_settled", default=None)


@contextmanager
def settled_once() -> Iterator[None]:
    """Within it, ``settled`` asks the database once per position: the half-year report asks it for
    each section read from the counts (five, about 1 ms each at scale 0.1; issue #6, P4), and the
    answer holds for the report's snapshot (the API reads in one REPEATABLE READ transaction)."""
    token = _SETTLED.set({})
    try:
        yield
    finally:
        _SETTLED.reset(token)


COUNTED_FROM = (E, W, M, O, T, V, CA, CR)
"""The coverage tables the counts are counted from."""


def settled(conn: Connection, known: int, tables: Sequence[Table] = COUNTED_FROM) -> bool:
    """Whether the rows visible as known at ``known`` are the believed ones: no row of ``tables`` (by
    default the coverage rows, training and volunteer participants and activities held included) was
    recorded or closed after it (two probes of ``ix_<table>_known`` per table, in one statement; once
    per position and set of tables within ``settled_once``)."""
    if known >= ALL_KNOWN:
        return True
    cache, key = _SETTLED.get(), (tables[0].name, known)
    if cache is not None and key in cache:
        return cache[key]
    answer = _settled(conn, known, tables)
    if cache is not None:
        cache[key] = answer
    return answer


def _settled(conn: Connection, known: int, tables: Sequence[Table]) -> bool:
    """``settled``, asked of the database."""
    return not conn.execute(_settled_query(tuple(tables)), {"known": known}).scalar()


@functools.cache
def _settled_query(tables: tuple[Table, ...]) -> Any:
    """``_settled``'s statement, built once per set of tables: an EXISTS per table and condition, as
    separate index probes (an OR inside one plans slower)."""
    known = bindparam("known", type_=BigInteger)
    later = [
        exists().where(condition)
        for table in tables
        for condition in (
            table.c.known_to > known,  # closed after it
            and_(table.c.known_to.is_(None), table.c.known_from > known),  # recorded after it, believed
        )
    ]
    return select(or_(*later))


DEPTHS = (2, 4, 6)
"""The region prefixes' lengths the counts are kept at (province, city, county)."""

BALANCES_UNTIL = 2030
"""The last year whose 1 January has a balance row (``P``): a figure as of a later date reads the
years from this one on as ``Y`` rows, as before the balances (correct, only slower: move it on then)."""
_BALANCES_FROM = date(BALANCES_UNTIL, 1, 1)


def sums(
    conn: Connection,
    family: str,
    as_of: date,
    depth: int,
    prefix: str | None = None,
    a: str | None = None,
    codes: Sequence[str] | None = None,
    table: Table = C,
) -> list[tuple[str, str, str, int]]:
    """(region prefix, a, b, count) of a family as of a date, believed now, for the region prefixes of
    length ``depth`` (under ``prefix``, or among ``codes``); only non-zero counts. ``table``: the
    counts table (``coverage_counts``, or ``stars_counts``)."""
    asked: dict[str, Any] = {"family": family, "depth": depth, **_periods(as_of)}
    if prefix:
        asked["prefix"] = prefix
    if codes is not None:
        asked["codes"] = list(codes)
    if a is not None:
        asked["a"] = a
    query = _sums_query(table, bool(prefix), a is not None, codes is not None, False, _levels(asked))
    return [(r, x, y, int(n)) for r, x, y, n in conn.execute(query, asked).all()]


def _periods(as_of: date) -> dict[str, date]:
    """The bound dates of ``_sums_query``: the balance of the whole years up to ``as_of`` (one ``P`` row,
    plus the ``Y`` rows of the years from ``BALANCES_UNTIL`` on), then the whole months up to it in its
    year, then its days in its month. They are worked out from the day after ``as_of``, so a month (or
    year) that ends on ``as_of`` is read as its one ``M`` row (or balance) instead of a row per day."""
    after = as_of + timedelta(days=1) if as_of < date.max else as_of
    year = date(after.year, 1, 1)
    return {"balance": min(year, _BALANCES_FROM), "year": year, "month": after.replace(day=1), "as_of": as_of}


def _levels(periods: dict[str, Any]) -> tuple[str, ...]:
    """The levels ``_periods`` asks rows of: the balance, and the years from ``BALANCES_UNTIL``, the
    whole months and the days only where there are any (on 30 June: the balance and six months)."""
    return (
        "P",
        *(("Y",) if periods["year"] > _BALANCES_FROM else ()),
        *(("M",) if periods["month"] > periods["year"] else ()),
        *(("D",) if periods["month"] <= periods["as_of"] else ()),
    )


@functools.cache
def _sums_query(
    table: Table, prefix: bool, a: bool, codes: bool, families: bool, levels: tuple[str, ...]
) -> Any:
    """``sums``' statement, built once per table and filter (it is asked about a dozen times per
    half-year report; building it was most of a small question's time: issue #6, P4); ``families``:
    for several families at once, each row led by its family (``sums_once``); ``levels``: those with
    rows to read (``_levels``).

    Each level's rows are read by a branch of their own (``UNION ALL``) from the covering index
    ``ix_<table>_read``: an index-only scan each on PostgreSQL. One condition with an ``OR`` of the
    levels was a bitmap scan that read every row's heap page (427 pages for 462 rows for a city's
    counties at scale 0.1). A level with nothing to read has no branch: the read engine plans each
    statement anew (``infra.store.read_engine``), and four branches took 2 ms to plan."""
    year, month = bindparam("year", type_=Date), bindparam("month", type_=Date)
    family = (
        table.c.family.in_(bindparam("families", expanding=True))
        if families
        else table.c.family == bindparam("family", type_=String)
    )
    common: list[ColumnElement[bool]] = [family, table.c.depth == bindparam("depth", type_=Integer)]
    if prefix:
        common.append(table.c.region_code.startswith(bindparam("prefix", type_=String)))
    if codes:
        common.append(table.c.region_code.in_(bindparam("codes", expanding=True)))
    if a:
        common.append(table.c.a == bindparam("a", type_=String))
    within: dict[str, ColumnElement[bool]] = {
        "P": table.c.period == bindparam("balance", type_=Date),
        "Y": and_(table.c.period >= _BALANCES_FROM, table.c.period < year),
        "M": and_(table.c.period >= year, table.c.period < month),
        "D": and_(table.c.period >= month, table.c.period <= bindparam("as_of", type_=Date)),
    }
    read = (table.c.family, table.c.region_code, table.c.a, table.c.b, table.c.delta)
    rows = union_all(
        *(select(*read).where(*common, table.c.level == level, within[level]) for level in levels)
    ).subquery("counted")
    total = func.sum(rows.c.delta)
    keys = (rows.c.family, rows.c.region_code, rows.c.a, rows.c.b)[0 if families else 1 :]
    return select(*keys, cast(total, BigInteger)).group_by(*keys).having(total != 0)


def region_prefixes(
    conn: Connection, areas: Sequence[str | None], known: int, tables: Sequence[Table] = COUNTED_FROM
) -> list[str] | None:
    """The areas' region prefixes (``Areas.prefixes``) when the counts answer them as known at
    ``known``: each a province's, city's or county's prefix (not None, "every province": the rows count
    members without an organisation there), and the position settled (for the rows of ``tables``);
    else None: read the rows."""
    prefixes = [p for p in areas if p is not None and len(p) in DEPTHS]
    if len(prefixes) < len(areas) or not settled(conn, known, tables):
        return None
    return prefixes


def sums_by_area(
    conn: Connection, family: str, as_of: date, prefixes: Sequence[str], table: Table = C
) -> Iterator[tuple[list[int], str, str, int]]:
    """(the indices of the areas it counts in, a, b, count) of a family as of a date, believed now, for
    areas given by their region prefixes (each of a length in ``DEPTHS``, or "": every province), each
    read at its own prefix exactly: one query per depth whatever the number of areas (issue #6, P4);
    within ``sums_once``, one query per depth for every family of the table (``FAMILIES``)."""
    at: dict[str, list[int]] = {}
    for i, prefix in enumerate(prefixes):
        at.setdefault(prefix, []).append(i)
    for depth in sorted({len(p) or 2 for p in prefixes}):
        codes = None if "" in at and depth == 2 else [p for p in at if len(p) == depth]
        unfiltered = at.get("", []) if depth == 2 else []  # every province's figure counts there
        for code, a, b, n in _sums_at(conn, family, as_of, depth, codes, table):
            yield at.get(code, []) + unfiltered, a, b, n


FAMILIES: dict[str, tuple[str, ...]] = {
    C.name: (ENTITIES, MEMBERS, STATISTICS, TRAINING, VOLUNTEERS, THEMED_DAYS, ROUNDS)
}
"""The families of each counts table, read together within ``sums_once`` (``projections.stars_counts``
adds its tables')."""
_SUMS: ContextVar[dict[tuple[Any, ...], dict[str, list[tuple[str, str, str, int]]]] | None] = ContextVar(
    "coverage_counts_sums", default=None
)


@contextmanager
def sums_once() -> Iterator[None]:
    """Within it, ``sums_by_area`` reads every family of a counts table at a depth in one statement and
    answers the other families from it: the half-year report reads about twenty families and depths,
    one statement each costing more than the rows they return (issue #6, P4). The answers hold for the
    report's snapshot (the API reads in one REPEATABLE READ transaction)."""
    token = _SUMS.set({})
    try:
        yield
    finally:
        _SUMS.reset(token)


def _sums_at(
    conn: Connection, family: str, as_of: date, depth: int, codes: Sequence[str] | None, table: Table
) -> list[tuple[str, str, str, int]]:
    """``sums`` at a depth among ``codes``; within ``sums_once``, from one read of all the table's
    families at that depth."""
    cache = _SUMS.get()
    families = FAMILIES.get(table.name, (family,))
    if cache is None or family not in families:
        return sums(conn, family, as_of, depth, codes=codes, table=table)
    key = (table.name, as_of, depth, None if codes is None else tuple(codes))
    if key not in cache:
        by_family: dict[str, list[tuple[str, str, str, int]]] = {}
        asked = {**_periods(as_of), "families": list(families), "depth": depth}
        if codes is not None:
            asked["codes"] = list(codes)
        query = _sums_query(table, False, False, codes is not None, True, _levels(asked))
        for f, r, x, y, n in conn.execute(query, asked).all():
            by_family.setdefault(f, []).append((r, x, y, int(n)))
        cache[key] = by_family
    return cache[key].get(family, [])


def believed_now(row: Any) -> bool:
    """Believed now: the state after a batch, and every row ``fill`` reads."""
    return row.known_to is None


def scalars_of(conn: Connection, query: Any, column: Any, ids: Collection[UUID]) -> set[Any]:
    found: set[Any] = set()
    for chunk in among_chunks(conn, column, ids):
        found.update(conn.scalars(query.where(chunk)))
    return found


def rows_of(
    conn: Connection, table: Table, column: Any, ids: Collection[UUID], condition: Any
) -> list[Row[Any]]:
    rows: list[Row[Any]] = []
    for chunk in among_chunks(conn, column, ids):
        rows.extend(conn.execute(select(table).where(chunk, condition)))
    return rows


def _entity_spans(e_rows: Iterable[Any], w_rows: Iterable[Any], believed: Believed) -> Iterator[Span]:
    """R13.1: each entity's operating days, in its bucket (see ``CoverageView``'s ``_bucket``)."""
    reach: defaultdict[UUID, list[tuple[date, date]]] = defaultdict(list)
    for row in w_rows:
        if believed(row):
            reach[row.entity_id].append((row.valid_from, row.valid_to or date.max))
    for row in e_rows:
        if row.status != EntityStatus.OPERATING.value or not believed(row):
            continue
        if row.formation in ORGANIZED:
            yield (row.region_code, row.kind, row.formation), row.valid_from, row.valid_to
            continue
        end = row.valid_to or date.max
        for start, stop, reached in _split(row.valid_from, end, reach.get(row.subject_id, ())):
            bucket = "work_only" if reached else "uncovered"
            yield (row.region_code, row.kind, bucket), start, None if stop == date.max else stop


def _days_in_region(
    rows: Iterable[Any], o_rows: Iterable[Any], org: str, believed: Believed
) -> Iterator[tuple[Any, str, date, date | None]]:
    """Each row's days on which the organisation it names in column ``org`` has a row, with that row's
    region code: (row, region code, start, stop)."""
    orgs = believed_by(o_rows, "subject_id", believed)
    for row in rows:
        if not believed(row):
            continue
        for place in orgs.get(getattr(row, org), ()):
            start = max(row.valid_from, place.valid_from)
            stop = min(row.valid_to or date.max, place.valid_to or date.max)
            if start < stop:
                yield row, place.region_code, start, None if stop == date.max else stop


def _member_days(
    m_rows: Iterable[Any], o_rows: Iterable[Any], believed: Believed
) -> Iterator[tuple[Any, str, date, date | None]]:
    """R13.6: each member row's days on which its home organisation has a row, in that row's region,
    present members and leavers alike."""
    return _days_in_region(m_rows, o_rows, "home_org_id", believed)


def _round_spans(r_rows: Iterable[Any], o_rows: Iterable[Any], believed: Believed) -> Iterator[Span]:
    """R6: each mobile member's round on the days its business-place organisation has a row, in that
    row's region, by year and step (``a``: "year:step") and, in ``b``, whether its receipt came back by
    the deadline (R6.3: "by_deadline", else "")."""
    for row, region, start, stop in _days_in_region(r_rows, o_rows, "business_org_id", believed):
        yield (region, f"{row.year}:{row.step}", BY_DEADLINE if row.by_deadline else ""), start, stop


BY_DEADLINE = "by_deadline"
"""Family ``C``'s column ``b`` for a round whose receipt came back by 30 November of its year (R6.3)."""


def _member_spans(
    m_rows: Iterable[Any], o_rows: Iterable[Any], t_rows: Iterable[Any], believed: Believed
) -> Iterator[Span]:
    """R13.6: each present member's days, by category and affiliation, in its home organisation's
    region on each day."""
    for row, region, start, stop in _member_days(m_rows, o_rows, believed):
        if row.present:
            yield (region, row.category, row.affiliation), start, stop


FLAGS = ("is_business_owner", "business_suspended", "in_disciplinary_period", "away")
"""The members statistics' flags (R5.2, R5.3), counted among the present members where true."""
DISTRIBUTION, FLAG, LEFT = "distribution", "flag", "left"
"""The statistics of family ``S``, in column ``b``; the value (or flag's name) is in ``a``."""


def _statistic_spans(
    m_rows: Iterable[Any], o_rows: Iterable[Any], t_rows: Iterable[Any], believed: Believed
) -> Iterator[Span]:
    """What the members statistics count besides category and affiliation (family ``M`` has those):
    each present member's days by distribution and by each flag that is true, each leaver's days by
    reason (R13.6), in the home organisation's region on each day."""
    for row, region, start, stop in _member_days(m_rows, o_rows, believed):
        if not row.present:
            yield (region, row.left_reason or "", LEFT), start, stop
            continue
        yield (region, row.distribution, DISTRIBUTION), start, stop
        for flag in FLAGS:
            if getattr(row, flag):
                yield (region, flag, FLAG), start, stop


def sessions_key(k: int) -> str:
    """Family ``T``'s column ``b``: at least ``k`` training sessions in the year so far."""
    return f"sessions>={k}"


def _training_spans(
    m_rows: Iterable[Any], o_rows: Iterable[Any], t_rows: Iterable[Any], believed: Believed
) -> Iterator[Span]:
    """R7: each present member's days on which they have taken part in at least one training (and,
    where their affiliation asks for more, in at least that many) since 1 January of that day's
    year, by affiliation, in the home organisation's region on each day: the training figures as of
    a date count the sessions held from 1 January up to it."""
    held: defaultdict[UUID, defaultdict[int, list[date]]] = defaultdict(lambda: defaultdict(list))
    for row in t_rows:
        if believed(row):
            held[row.member_id][row.held_on.year].append(row.held_on)
    for by_year in held.values():
        for days in by_year.values():
            days.sort()
    for row, region, start, stop in _member_days(m_rows, o_rows, believed):
        years = held.get(row.subject_id)
        if not row.present or not years:
            continue
        needed = sorted({1, TRAINING_TARGETS.get(row.affiliation, (0.0, None))[1] or 1})
        for year, days in years.items():
            for k in needed:
                if len(days) < k:
                    break
                begin, end = max(start, days[k - 1]), min(stop or date.max, date(year + 1, 1, 1))
                if begin < end:
                    yield (region, row.affiliation, sessions_key(k)), begin, end


MEMBER_FAMILIES = (
    (MEMBERS, _member_spans),
    (STATISTICS, _statistic_spans),
    (TRAINING, _training_spans),
)


# --- the organisations' families: volunteers (R11.3) and themed party days (R10) ----------------

ORGANIZATIONS, WITH_MEMBERS, MEETING_SHARE, MEETING_ACTIVITIES = (
    "organizations",
    "with_members",
    "meeting_share",
    "meeting_activities",
)
"""Family ``V``'s statistics (column ``a``): the organisations not dissolved, those with members, those
whose volunteers are at least 80% of their members, those that held enough volunteer services."""
COUNTED, MISSED, MISSING_FROM_JANUARY = "counted", "missed", "missing_from_january"
"""Family ``R``'s statistics (column ``a``): the organisations due a themed party day in the year so
far, those that missed a month, and those that hold none from a year on (see ``_themed_day_spans``)."""
PER_DEPTH = frozenset({THEMED_DAYS})
"""Families whose spans are worked out for each depth's prefix, not rolled up from the county's: an
organisation counts once in an area for all its runs there (R10's months are due per run)."""

_DAY = timedelta(days=1)
_VOLUNTEER, _THEMED = ActivityType.VOLUNTEER_SERVICE.value, ActivityType.THEMED_PARTY_DAY.value
_SHARE_NUM, _SHARE_DEN = Fraction(str(VOLUNTEER_MIN_SHARE)).as_integer_ratio()  # 4/5, in integers


def _within_year(row: Any) -> tuple[date, date] | None:
    """The days an activity's row (or a participant's) counts in its year's figures: from the day it
    was held (or recorded as valid, if later) to 1 January of the next year. Activity rows hold from
    their day on, open (``AsLastRecorded``)."""
    on = max(row.held_on, row.valid_from)
    stop = date(row.held_on.year + 1, 1, 1)
    return (on, stop) if on < stop else None


def _organization_runs(o_rows: Iterable[Any], believed: Believed) -> defaultdict[UUID, list[Any]]:
    """Each organisation's believed rows while not dissolved."""
    runs: defaultdict[UUID, list[Any]] = defaultdict(list)
    for row in o_rows:
        if believed(row) and not row.dissolved:
            runs[row.subject_id].append(row)
    return runs


def _volunteer_spans(
    o_rows: Iterable[Any],
    m_rows: Iterable[Any],
    v_rows: Iterable[Any],
    a_rows: Iterable[Any],
    believed: Believed,
) -> Iterator[Span]:
    """R11.3, as ``ActivitiesView.volunteers`` counts on each day: each organisation's days not
    dissolved, in its region on that day, and among them those with members present (home organisation,
    R13.6), those on which the members who took part in a volunteer service since 1 January are at
    least 80% of them, and those on which it has held at least two since 1 January."""
    first_day: dict[UUID, dict[int, date]] = {}  # member: year: the first day they count as a volunteer
    for row in v_rows:
        if believed(row) and (days := _within_year(row)):
            years, year = first_day.setdefault(row.member_id, {}), row.held_on.year
            if year not in years or days[0] < years[year]:
                years[year] = days[0]
    steps: defaultdict[UUID, list[tuple[date, int, int]]] = defaultdict(list)  # day, counter, +-1
    for row in m_rows:
        if not row.present or not believed(row):
            continue
        org_steps, stop = steps[row.home_org_id], row.valid_to or date.max
        org_steps += ((row.valid_from, _MEMBERS, 1), (stop, _MEMBERS, -1))
        for year, on in first_day.get(row.subject_id, {}).items():  # a volunteer until 1 January
            start, end = max(on, row.valid_from), min(date(year + 1, 1, 1), stop)
            if start < end:
                org_steps += ((start, _VOLUNTEERS, 1), (end, _VOLUNTEERS, -1))
    for row in a_rows:
        if row.activity_type == _VOLUNTEER and believed(row) and (days := _within_year(row)):
            steps[row.org_id] += ((days[0], _HELD, 1), (days[1], _HELD, -1))
    for org, runs in _organization_runs(o_rows, believed).items():
        yield from _organization_volunteer_spans(runs, steps.get(org, []))


_MEMBERS, _VOLUNTEERS, _HELD, _RUN_STARTS, _RUN_ENDS = range(5)
"""The kinds of an organisation's day steps in ``_volunteer_spans``: its three counters (members present,
volunteers among them, volunteer services held since 1 January), then one of its rows starting or
ending."""


def _organization_volunteer_spans(runs: list[Any], steps: list[tuple[date, int, int]]) -> Iterator[Span]:
    """One organisation's ``_volunteer_spans``: its counters (members, volunteers, volunteer services
    held) changed day by day, each day's statistics compared with the day before."""
    at: defaultdict[date, list[tuple[int, Any]]] = defaultdict(list)
    for day, counter, n in steps:
        at[day].append((counter, n))
    for row in runs:
        at[row.valid_from].append((_RUN_STARTS, row.region_code))
        if row.valid_to is not None:
            at[row.valid_to].append((_RUN_ENDS, row.region_code))
    counters, regions = [0, 0, 0], Counter[str]()
    state: tuple[str, ...] = ()
    since = date.min
    for day in sorted(at):
        if day == date.max:
            break
        for kind, value in at[day]:
            if kind < _RUN_STARTS:
                counters[kind] += value
            else:
                regions[value] += 1 if kind == _RUN_STARTS else -1
        region = next((r for r, n in regions.items() if n > 0), None)
        members, volunteers, held = counters
        now: tuple[str, ...] = ()
        if region is not None:
            now = (
                region,
                ORGANIZATIONS,
                *((WITH_MEMBERS,) if members > 0 else ()),
                *(
                    (MEETING_SHARE,)
                    if members > 0 and volunteers * _SHARE_DEN >= members * _SHARE_NUM
                    else ()
                ),
                *((MEETING_ACTIVITIES,) if held >= VOLUNTEER_MIN_ACTIVITIES_PER_YEAR else ()),
            )
        if now != state:
            if state:
                yield from (((state[0], a, ""), since, day) for a in state[1:])
            state, since = now, day
    if state:
        yield from (((state[0], a, ""), since, None) for a in state[1:])


def _themed_day_spans(
    o_rows: Iterable[Any],
    m_rows: Iterable[Any],
    v_rows: Iterable[Any],
    a_rows: Iterable[Any],
    believed: Believed,
) -> Iterator[Span]:
    """R10's monthly themed party day, as ``ActivitiesView.compliance_tallies_by_area`` counts on each
    day: each organisation's days on which it has run (not dissolved) since 1 January in an area, and
    among them those on which a month of the year was missed there (``period_compliance``), for each
    area prefix of its runs (``PER_DEPTH``)."""
    first_held: defaultdict[UUID, dict[tuple[int, int], date]] = defaultdict(dict)
    for row in a_rows:
        if row.activity_type == _THEMED and believed(row) and (days := _within_year(row)):
            held, month = first_held[row.org_id], (row.held_on.year, row.held_on.month)
            if month not in held or days[0] < held[month]:
                held[month] = days[0]
    for org, rows in _organization_runs(o_rows, believed).items():
        held = first_held.get(org, {})
        # equal runs at two depths (an organisation in one county has the same runs at every depth)
        # are worked out once
        worked: dict[tuple[tuple[date, date | None], ...], list[tuple[str, date, date | None]]] = {}
        for depth in DEPTHS:
            by_prefix: defaultdict[str, list[tuple[date, date | None]]] = defaultdict(list)
            for row in rows:
                by_prefix[row.region_code[:depth]].append((row.valid_from, row.valid_to))
            for prefix, runs in by_prefix.items():
                key = tuple(sorted(runs))
                if key not in worked:
                    worked[key] = list(_runs_themed_day_spans(key, held))
                yield from (((prefix, a, ""), start, stop) for a, start, stop in worked[key])


def _runs_themed_day_spans(
    runs: tuple[tuple[date, date | None], ...], held: dict[tuple[int, int], date]
) -> Iterator[tuple[str, date, date | None]]:
    """The ``COUNTED`` and ``MISSED`` days of an organisation with these runs ([from, to) intervals,
    sorted) and the first day each month of a year counts as held (``held``).

    Counted: from a run's first day to 1 January after its last (a report for a year counts the
    organisations that ran on one of its days up to the period end). Missed: a month is due from the
    first day a run covers in it, and missed from the day on which every run that began in it so far
    has ended in it (its last day at the latest) until the next run begins in it or a themed party day
    of the month counts; ``period_compliance`` is that, asked for one day. The months of an open run
    are worked out up to the last year with a held day or a run's change; from the next year on every
    year is alike, January missed from its last day on, kept as one open span (``MISSING_FROM_JANUARY``)
    instead of a span a year for ever."""
    counted = [(start, None if to is None else date((to - _DAY).year + 1, 1, 1)) for start, to in runs]
    for start, stop in _union(counted):
        yield COUNTED, start, stop
    open_run = any(to is None for _, to in runs)
    first_year = runs[0][0].year
    last_year = max(start.year if to is None else (to - _DAY).year for start, to in runs)
    if open_run and held:
        last_year = max(last_year, max(year for year, _ in held))
    missed: list[tuple[date, date | None]] = []
    for year in range(first_year, last_year + 1):
        new_year = date(year + 1, 1, 1)
        for month in range(1, 13):
            month_start = date(year, month, 1)
            month_last = (date(year, month + 1, 1) if month < 12 else new_year) - _DAY
            pieces = sorted(
                (max(start, month_start), min(month_last, month_last if to is None else to - _DAY))
                for start, to in runs
            )
            pieces = [(first, until) for first, until in pieces if first <= until]
            if not pieces:
                continue
            held_from = held.get((year, month), new_year)
            for k, (_, until) in enumerate(pieces):  # an organisation's runs never overlap
                stop = min(pieces[k + 1][0] if k + 1 < len(pieces) else new_year, held_from)
                if until < stop:
                    missed.append((until, stop))
    for start, stop in _union(missed):
        yield MISSED, start, stop
    if open_run:
        yield MISSING_FROM_JANUARY, date(last_year + 1, 1, 1), None


def _union(spans: Iterable[tuple[date, date | None]]) -> Iterator[tuple[date, date | None]]:
    """The days of any of ``spans`` ([start, stop) intervals, None: open), as disjoint intervals."""
    current: tuple[date, date] | None = None
    for start, stop in sorted((start, stop or date.max) for start, stop in spans):
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], stop))
            continue
        if current is not None:
            yield current[0], None if current[1] == date.max else current[1]
        current = (start, stop)
    if current is not None:
        yield current[0], None if current[1] == date.max else current[1]


ORGANIZATION_FAMILIES = (
    (VOLUNTEERS, _volunteer_spans),
    (THEMED_DAYS, _themed_day_spans),
)
"""The families recounted per organisation: from its rows, its members' (by home organisation), their
volunteer participations and the activities it held."""


def _split(start: date, end: date, covers: Iterable[tuple[date, date]]) -> Iterator[tuple[date, date, bool]]:
    """[start, end) cut into the pieces inside any of ``covers`` (True) and outside them (False)."""
    cursor = start
    for cover_start, cover_end in sorted(covers):
        cover_start, cover_end = max(cover_start, cursor), min(cover_end, end)
        if cover_end <= cover_start:
            continue
        if cover_start > cursor:
            yield cursor, cover_start, False
        yield cover_start, cover_end, True
        cursor = cover_end
    if cursor < end:
        yield cursor, end, False


def count_spans(
    changes: Counter[tuple[str, Key, date]], family: str, spans: Iterable[Span], sign: int
) -> None:
    for key, start, stop in spans:
        if stop is not None and stop <= start:
            continue
        changes[family, key, start] += sign
        if stop is not None:
            changes[family, key, stop] -= sign


def write(conn: Connection, changes: Counter[tuple[str, Key, date]], table: Table = C) -> None:
    """Add the day changes to their day, month and year rows of ``table``, and to the balance rows (``P``)
    of the 1 Januaries after them up to ``BALANCES_UNTIL``; delete the rows that come to zero. Within
    ``summed`` the day changes themselves are staged, and rolled up to those rows once at its end."""
    stages = _STAGES.get()
    if stages is not None:
        changed = [
            (family, region, a, b, day, n) for (family, (region, a, b), day), n in changes.items() if n
        ]
        if changed:
            _stage(conn, stages, table, changed)
        return
    levels: Counter[tuple[str, int, str, date, str, str, str]] = Counter()
    by_year: defaultdict[tuple[str, int, str, str, str], Counter[int]] = defaultdict(Counter)
    for (family, (region, a, b), day), n in changes.items():
        if n:
            depths = (len(region),) if family in PER_DEPTH else DEPTHS
            for level, period in (("Y", date(day.year, 1, 1)), ("M", day.replace(day=1)), ("D", day)):
                for depth in depths:
                    levels[family, depth, level, period, region[:depth], a, b] += n
            if day.year < BALANCES_UNTIL:
                for depth in depths:
                    by_year[family, depth, region[:depth], a, b][day.year] += n
    for (family, depth, region, a, b), years in by_year.items():
        balance = 0  # what this batch adds to the balance on 1 January of ``year``: the years before it
        for year in range(min(years) + 1, BALANCES_UNTIL + 1):
            balance += years.get(year - 1, 0)
            if balance:
                levels[family, depth, "P", date(year, 1, 1), region, a, b] += balance
    rows = [(*key, n) for key, n in sorted(levels.items()) if n]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _write_postgres(conn, rows, table)
        return
    insert = sqlite.insert(table)
    keys = [table.c[name] for name in KEY]
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=keys, set_={"delta": table.c.delta + insert.excluded.delta}
        ),
        [dict(zip((*KEY, "delta"), row, strict=True)) for row in rows],
    )
    conn.execute(
        delete(table).where(*(table.c[name] == bindparam(f"k_{name}") for name in KEY), table.c.delta == 0),
        [{f"k_{name}": value for name, value in zip(KEY, row, strict=False)} for row in rows],
    )


KEY = ("family", "depth", "level", "period", "region_code", "a", "b")
_TYPES = ("text", "int4", "text", "date", "text", "text", "text", "int8")
"""The key's columns' and ``delta``'s types, by names both PostgreSQL's SQL and psycopg's binary ``COPY``
(``copy_rows``) take."""

_STAGES: ContextVar[dict[Table, str] | None] = ContextVar("counts_stages", default=None)
"""Within ``summed``: the temporary table staging the day changes written to each counts table."""
_STAGED = ("family", "region", "a", "b", "period", "delta")
_STAGED_TYPES = ("text", "text", "text", "text", "date", "int8")
"""A staged day change: its family, county (or, for ``PER_DEPTH``, prefix), statistic, day and change."""


@contextmanager
def summed(conn: Connection) -> Iterator[None]:
    """Within it, ``write`` on PostgreSQL appends its day changes with COPY to a temporary table per
    counts table instead of upserting their rows, and at the end they are rolled up in one statement
    (``_rolled_up``) to the rows ``write`` would have written, and each key's sum is added to its
    counts table once (zeros deleted, as ``write`` does). A refill writes chunk after chunk of
    subjects, and each chunk writes the province's and the cities' keys again: as upserts into the
    growing table they were half of a refill at scale 0.1, 45 of 95 s waiting on PostgreSQL (issue #6,
    P3); and the rows of every depth, level and balance, made in Python and staged, were a fifth of what
    was left. Into an empty table (a refill's) the rows are inserted without the upsert's checks (about
    5% of a refill). Elsewhere (SQLite) ``write`` upserts as before."""
    if conn.dialect.name != "postgresql":
        yield
        return
    stages: dict[Table, str] = {}
    token = _STAGES.set(stages)
    try:
        yield
    finally:
        _STAGES.reset(token)
    for table, stage in stages.items():
        empty = conn.exec_driver_sql(f"SELECT 1 FROM {qualified(conn, table)} LIMIT 1").first() is None
        _upsert(conn, table, _rolled_up(stage), empty=empty)  # empty, as a refill's is: a plain INSERT
        conn.exec_driver_sql(f"DROP TABLE {stage}")


def _stage(conn: Connection, stages: dict[Table, str], table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Append the day changes ``rows`` (``_STAGED``) to ``table``'s staging table (``summed``) with COPY,
    the table made on first use (dropped at the commit if ``summed`` did not get to drop it)."""
    stage = stages.get(table)
    if stage is None:
        stage = stages[table] = f"stage_{table.name}"
        columns = ", ".join(f"{name} {kind}" for name, kind in zip(_STAGED, _STAGED_TYPES, strict=True))
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} ({columns}) ON COMMIT DROP")
    copy_rows(conn, stage, rows, _STAGED_TYPES)


def _rolled_up(stage: str) -> str:
    """The rows (``KEY`` and ``delta``) ``write`` makes of the day changes staged in ``stage``, summed
    over them all and without zeros: each change on its day (``D``), month (``M``) and year (``Y``) at
    each depth's prefix (its own prefix only for ``PER_DEPTH``), and on the balance (``P``) of each
    1 January after it up to ``BALANCES_UNTIL``, in SQL instead of Python (issue #6, P3)."""
    per_depth = ", ".join(f"'{family}'" for family in sorted(PER_DEPTH))
    depths = ", ".join(map(str, DEPTHS))
    keys = "family, depth, region_code, a, b"
    return (
        f"WITH days AS (SELECT family, depth, substr(region, 1, depth) AS region_code, a, b, period, "
        f"sum(delta) AS delta FROM {stage} CROSS JOIN LATERAL unnest(CASE WHEN family IN ({per_depth}) "
        f"THEN ARRAY[length(region)] ELSE ARRAY[{depths}] END) AS depth GROUP BY {keys}, period), "
        f"years AS (SELECT {keys}, CAST(extract(year FROM period) AS int) AS year, sum(delta) AS delta "
        f"FROM days GROUP BY {keys}, year) "
        f"SELECT family, depth, 'D', period, region_code, a, b, delta FROM days WHERE delta <> 0 "
        f"UNION ALL SELECT family, depth, 'M', CAST(date_trunc('month', period) AS date) AS month, "
        f"region_code, a, b, sum(delta) FROM days GROUP BY {keys}, month HAVING sum(delta) <> 0 "
        f"UNION ALL SELECT family, depth, 'Y', make_date(year, 1, 1), region_code, a, b, delta "
        f"FROM years WHERE delta <> 0 "
        f"UNION ALL SELECT family, depth, 'P', make_date(later, 1, 1), region_code, a, b, sum(delta) "
        f"FROM years CROSS JOIN LATERAL generate_series(year + 1, {BALANCES_UNTIL}) AS later "
        f"GROUP BY {keys}, later HAVING sum(delta) <> 0"
    )


def _write_postgres(conn: Connection, rows: list[tuple[Any, ...]], table: Table) -> None:
    """One upsert of every row from arrays (``unnest``), returning the keys that came to zero, and one
    delete of those: a rebuild batch writes tens of thousands of rows, and as one statement per row
    (``executemany``) they were most of the counts' cost (issue #6, P3: 4.6 of 5.7 s at scale 0.01)."""
    arrays = ", ".join(f"%s::{t}[]" for t in _TYPES)
    _upsert(conn, table, f"SELECT * FROM unnest({arrays})", tuple(list(c) for c in zip(*rows, strict=True)))


def _upsert(
    conn: Connection, table: Table, source: str, params: tuple[Any, ...] = (), *, empty: bool = False
) -> None:
    """Add the rows of ``source`` (the key's columns and ``delta``) to ``table``, then delete the keys
    that came to zero. Into an ``empty`` table they are inserted as they are: no key to add to or to
    bring to zero."""
    name = qualified(conn, table)
    columns = ", ".join(KEY)
    if empty:
        conn.exec_driver_sql(f"INSERT INTO {name} ({columns}, delta) {source}", params)
        return
    matched = " AND ".join(f"t.{name} = z.{name}" for name in KEY)
    gone = conn.exec_driver_sql(
        f"WITH up AS (INSERT INTO {name} AS t ({columns}, delta) {source} "
        f"ON CONFLICT ({columns}) DO UPDATE SET delta = t.delta + EXCLUDED.delta "
        f"RETURNING {columns}, delta) SELECT {columns} FROM up WHERE delta = 0",
        params,
    ).all()
    if gone:
        keys = ", ".join(f"%s::{t}[]" for t in _TYPES[:-1])
        conn.exec_driver_sql(
            f"DELETE FROM {name} AS t USING unnest({keys}) AS z({columns}) WHERE {matched}",
            tuple(list(column) for column in zip(*gone, strict=True)),
        )

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
year at the latest. Each change is stored three times, on its day (``D``), its month
(``M``, the first of the month) and its year (``Y``, 1 January), so a figure as of a date is the sum
of the years before it, the months before it in its year and the days up to it in its month: at
most 5 + 11 + 31 rows per key whatever the length of the history. Each change is also rolled up from
the county's code to its city's and province's prefixes (``depth`` 6, 4, 2: ``region_prefix``), so a
province's figure reads the province's keys only, not those of its ninety counties.

The spans are those the scan of the believed coverage rows counts (``CoverageView``):

- an entity is counted on the days its believed row says it is operating, in the bucket of its
  formation; without an organisation of its own, "work coverage only" on the days a believed
  guidance row (``coverage_work``, another aggregate's) names it, "uncovered" on the others;
- a member is counted on the days its believed row is present and its home organisation has a
  believed row, in that organisation's region (another aggregate's); in family ``T`` from the day of
  its first (k-th) training of a year, a participants' row of an activity (another aggregate's).

So the coverage handler, after writing a batch's rows (``apply``), works out the counted spans of
every entity and member the batch can have changed (the participants of its activities, before and
after, among them), before and after the batch, and writes the
difference. Before and after are told apart by the rows' positions: a subject's events are applied
in position order (one Kafka partition per aggregate, or the runner's order), so a row of a subject
whose first event in the batch is at position ``p`` was believed before the batch when
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
rebuild gives the same rows as incremental updates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, Table, and_, bindparam, delete, exists, func, or_, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from domain.targets import TRAINING_TARGETS
from domain.values import EntityStatus, Formation
from projections.tables import coverage_counts as C
from projections.tables import coverage_entities as E
from projections.tables import coverage_members as M
from projections.tables import coverage_organizations as O
from projections.tables import coverage_training as T
from projections.tables import coverage_work as W
from projections.temporal import ALL_KNOWN, among_chunks, qualified

ENTITIES, MEMBERS, STATISTICS, TRAINING = "E", "M", "S", "T"
ORGANIZED = (Formation.STANDALONE.value, Formation.JOINT.value)
LOCK = 0x64616E676A69616E  # "dangjian": the advisory lock of the coverage handler's transactions

Key = tuple[str, str, str]
"""region code, kind or category, bucket or affiliation"""
Span = tuple[Key, date, date | None]
Believed = Callable[[Any], bool]
"""Whether a row (with ``subject_id``, ``known_from``, ``known_to``) is counted in a state."""


def lock(conn: Connection) -> None:
    """Serialise the coverage handlers' transactions (PostgreSQL): see the module's docstring."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})


def apply(
    conn: Connection,
    first: dict[UUID, int],
    entities: set[UUID],
    orgs: set[UUID],
    members: set[UUID],
    activities: Collection[UUID] = (),
) -> None:
    """Write the counts' changes of a batch whose rows are written: ``first`` is each subject's first
    position in the batch; ``entities``, ``orgs``, ``members`` and ``activities`` the batch's subjects
    by aggregate."""
    if not first:
        return
    lock(conn)  # from here on this transaction's reads see every recount committed before it
    low = min(first.values())

    def before(row: Any) -> bool:
        p = first.get(row.subject_id)
        if p is None:
            return row.known_to is None
        return bool(row.known_from < p and (row.known_to is None or row.known_to >= p))

    def touched(table: Table) -> ColumnElement[bool]:
        """The rows believed now or closed by this batch (or a later one)."""
        return or_(table.c.known_to.is_(None), table.c.known_to >= low)

    def changed(table: Table) -> ColumnElement[bool]:
        """The rows this batch (or an earlier one of this worker) recorded or closed."""
        return or_(table.c.known_from >= low, table.c.known_to >= low)

    entities = set(entities)
    members = set(members)
    if orgs:
        # the entities whose guidance rows an organisation's events changed (not every entity it
        # guides: a station's unrelated event would recount thousands), and the members at home in
        # an organisation whose own rows changed
        entities.update(_scalars(conn, select(W.c.entity_id).where(changed(W)), W.c.subject_id, orgs))
        moved = _scalars(conn, select(O.c.subject_id).where(changed(O)), O.c.subject_id, orgs)
        if moved:
            members.update(_scalars(conn, select(M.c.subject_id).where(touched(M)), M.c.home_org_id, moved))
    trainees: set[UUID] = set()  # the participants of its trainings, before and after (R7)
    if activities:
        trainees = _scalars(conn, select(T.c.member_id).where(touched(T)), T.c.subject_id, activities)
        trainees -= members
    changes: Counter[tuple[str, Key, date]] = Counter()
    if entities:
        e_rows = _rows(conn, E, E.c.subject_id, entities, touched(E))
        w_rows = _rows(conn, W, W.c.entity_id, entities, touched(W))
        _count(changes, ENTITIES, _entity_spans(e_rows, w_rows, before), -1)
        _count(changes, ENTITIES, _entity_spans(e_rows, w_rows, _now), +1)
    if members or trainees:
        everyone = members | trainees
        m_rows = _rows(conn, M, M.c.subject_id, everyone, touched(M))
        homes = {row.home_org_id for row in m_rows}
        o_rows = _rows(conn, O, O.c.subject_id, homes, touched(O)) if homes else []
        t_rows = _rows(conn, T, T.c.member_id, everyone, touched(T))
        own = [row for row in m_rows if row.subject_id in members] if trainees else m_rows
        for family, spans in MEMBER_FAMILIES:
            rows = m_rows if family == TRAINING else own  # only a trainee's training spans change
            _count(changes, family, spans(rows, o_rows, t_rows, before), -1)
            _count(changes, family, spans(rows, o_rows, t_rows, _now), +1)
    _write(conn, changes)


def fill(conn: Connection) -> bool:
    """Count every believed row into an empty ``coverage_counts`` (a store that predates it); False
    when there was nothing to do."""
    if conn.execute(select(C.c.delta).limit(1)).first() is not None:
        return False
    if conn.execute(select(E.c.row_id).limit(1)).first() is None and (
        conn.execute(select(M.c.row_id).limit(1)).first() is None
    ):
        return False
    lock(conn)

    changes: Counter[tuple[str, Key, date]] = Counter()

    def believed(table: Table) -> Any:
        return select(table).where(table.c.known_to.is_(None))

    e_rows, w_rows = list(conn.execute(believed(E))), list(conn.execute(believed(W)))
    _count(changes, ENTITIES, _entity_spans(e_rows, w_rows, _now), +1)
    m_rows, o_rows, t_rows = (list(conn.execute(believed(table))) for table in (M, O, T))
    for family, spans in MEMBER_FAMILIES:
        _count(changes, family, spans(m_rows, o_rows, t_rows, _now), +1)
    _write(conn, changes)
    return True


def settled(conn: Connection, known: int) -> bool:
    """Whether the rows visible as known at ``known`` are the believed ones: no coverage row (training
    participants included) was recorded or closed after it (two probes of ``ix_<table>_known`` per
    table, in one statement)."""
    if known >= ALL_KNOWN:
        return True
    later = [
        exists().where(condition)
        for table in (E, W, M, O, T)
        for condition in (
            table.c.known_to > known,  # closed after it
            and_(table.c.known_to.is_(None), table.c.known_from > known),  # recorded after it, believed
        )
    ]  # one statement: an EXISTS each, as separate index probes (an OR inside one plans slower)
    return not conn.execute(select(or_(*later))).scalar()


DEPTHS = (2, 4, 6)
"""The region prefixes' lengths the counts are kept at (province, city, county)."""


def sums(
    conn: Connection,
    family: str,
    as_of: date,
    depth: int,
    prefix: str | None = None,
    a: str | None = None,
    codes: Sequence[str] | None = None,
) -> list[tuple[str, str, str, int]]:
    """(region prefix, a, b, count) of a family as of a date, believed now, for the region prefixes of
    length ``depth`` (under ``prefix``, or among ``codes``); only non-zero counts."""
    year, month = date(as_of.year, 1, 1), as_of.replace(day=1)
    conditions: list[ColumnElement[bool]] = [
        C.c.family == family,
        C.c.depth == depth,
        or_(
            and_(C.c.level == "Y", C.c.period < year),
            and_(C.c.level == "M", C.c.period >= year, C.c.period < month),
            and_(C.c.level == "D", C.c.period >= month, C.c.period <= as_of),
        ),
    ]
    if prefix:
        conditions.append(C.c.region_code.startswith(prefix))
    if codes is not None:
        conditions.append(C.c.region_code.in_(list(codes)))
    if a is not None:
        conditions.append(C.c.a == a)
    total = func.sum(C.c.delta)
    query = (
        select(C.c.region_code, C.c.a, C.c.b, total)
        .where(*conditions)
        .group_by(C.c.region_code, C.c.a, C.c.b)
        .having(total != 0)
    )
    return [(r, x, y, int(n)) for r, x, y, n in conn.execute(query)]


def region_prefixes(conn: Connection, areas: Sequence[str | None], known: int) -> list[str] | None:
    """The areas' region prefixes (``Areas.prefixes``) when the counts answer them as known at
    ``known``: each a province's, city's or county's prefix (not None, "every province": the rows count
    members without an organisation there), and the position settled; else None: read the rows."""
    prefixes = [p for p in areas if p is not None and len(p) in DEPTHS]
    if len(prefixes) < len(areas) or not settled(conn, known):
        return None
    return prefixes


def sums_by_area(
    conn: Connection, family: str, as_of: date, prefixes: Sequence[str]
) -> Iterator[tuple[list[int], str, str, int]]:
    """(the indices of the areas it counts in, a, b, count) of a family as of a date, believed now, for
    areas given by their region prefixes (each of a length in ``DEPTHS``, or "": every province), each
    read at its own prefix exactly: one query per depth whatever the number of areas (issue #6, P4)."""
    at: dict[str, list[int]] = {}
    for i, prefix in enumerate(prefixes):
        at.setdefault(prefix, []).append(i)
    for depth in sorted({len(p) or 2 for p in prefixes}):
        codes = None if "" in at and depth == 2 else [p for p in at if len(p) == depth]
        unfiltered = at.get("", []) if depth == 2 else []  # every province's figure counts there
        for code, a, b, n in sums(conn, family, as_of, depth, codes=codes):
            yield at.get(code, []) + unfiltered, a, b, n


def _now(row: Any) -> bool:
    """Believed now: the state after a batch, and every row ``fill`` reads."""
    return row.known_to is None


def _scalars(conn: Connection, query: Any, column: Any, ids: Collection[UUID]) -> set[Any]:
    found: set[Any] = set()
    for chunk in among_chunks(conn, column, ids):
        found.update(conn.scalars(query.where(chunk)))
    return found


def _rows(
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


def _member_days(
    m_rows: Iterable[Any], o_rows: Iterable[Any], believed: Believed
) -> Iterator[tuple[Any, str, date, date | None]]:
    """R13.6: each member row's days on which its home organisation has a row, with that row's region
    code: (member row, region code, start, stop), present members and leavers alike."""
    homes: defaultdict[UUID, list[Any]] = defaultdict(list)
    for row in o_rows:
        if believed(row):
            homes[row.subject_id].append(row)
    for row in m_rows:
        if not believed(row):
            continue
        for org in homes.get(row.home_org_id, ()):
            start = max(row.valid_from, org.valid_from)
            stop = min(row.valid_to or date.max, org.valid_to or date.max)
            if start < stop:
                yield row, org.region_code, start, None if stop == date.max else stop


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


def _count(changes: Counter[tuple[str, Key, date]], family: str, spans: Iterable[Span], sign: int) -> None:
    for key, start, stop in spans:
        if stop is not None and stop <= start:
            continue
        changes[family, key, start] += sign
        if stop is not None:
            changes[family, key, stop] -= sign


def _write(conn: Connection, changes: Counter[tuple[str, Key, date]]) -> None:
    """Add the day changes to their day, month and year rows; delete the rows that come to zero."""
    levels: Counter[tuple[str, int, str, date, str, str, str]] = Counter()
    for (family, (region, a, b), day), n in changes.items():
        if n:
            for level, period in (("Y", date(day.year, 1, 1)), ("M", day.replace(day=1)), ("D", day)):
                for depth in DEPTHS:
                    levels[family, depth, level, period, region[:depth], a, b] += n
    rows = [(*key, n) for key, n in sorted(levels.items()) if n]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _write_postgres(conn, rows)
        return
    insert = sqlite.insert(C)
    keys = [C.c[name] for name in KEY]
    conn.execute(
        insert.on_conflict_do_update(index_elements=keys, set_={"delta": C.c.delta + insert.excluded.delta}),
        [dict(zip((*KEY, "delta"), row, strict=True)) for row in rows],
    )
    conn.execute(
        delete(C).where(*(C.c[name] == bindparam(f"k_{name}") for name in KEY), C.c.delta == 0),
        [{f"k_{name}": value for name, value in zip(KEY, row, strict=False)} for row in rows],
    )


KEY = ("family", "depth", "level", "period", "region_code", "a", "b")
_TYPES = ("text", "int", "text", "date", "text", "text", "text", "bigint")


def _write_postgres(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """One upsert of every row from arrays (``unnest``), returning the keys that came to zero, and one
    delete of those: a rebuild batch writes tens of thousands of rows, and as one statement per row
    (``executemany``) they were most of the counts' cost (issue #6, P3: 4.6 of 5.7 s at scale 0.01)."""
    table = qualified(conn, C)
    columns = ", ".join(KEY)
    arrays = ", ".join(f"%s::{t}[]" for t in _TYPES)
    matched = " AND ".join(f"t.{name} = z.{name}" for name in KEY)
    gone = conn.exec_driver_sql(
        f"WITH up AS (INSERT INTO {table} AS t ({columns}, delta) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({columns}) DO UPDATE SET delta = t.delta + EXCLUDED.delta "
        f"RETURNING {columns}, delta) SELECT {columns} FROM up WHERE delta = 0",
        tuple(list(column) for column in zip(*rows, strict=True)),
    ).all()
    if gone:
        keys = ", ".join(f"%s::{t}[]" for t in _TYPES[:-1])
        conn.exec_driver_sql(
            f"DELETE FROM {table} AS t USING unnest({keys}) AS z({columns}) WHERE {matched}",
            tuple(list(column) for column in zip(*gone, strict=True)),
        )

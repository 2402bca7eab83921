"""Read tables of every projection, on one SQLAlchemy MetaData.

Read tables are disposable: every row is derived from the event store and a projection can be
rebuilt at any time (``dangjian rebuild``). ``projection_positions`` holds each projection's
checkpoint, written in the same transaction as its rows. Statistics tables are bitemporal
(``projections.temporal``): each row says when it held (effective dates) and from which event to
which event the ledger believed it (positions).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    inspect,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.expression import Executable

from projections.temporal import temporal_table

log = logging.getLogger(__name__)
metadata = MetaData()

VALIDITY = ("valid_from", "valid_to", "known_from", "known_to")
"""Carried in the indexes the report's period scans use (``postgresql_include``): with the id they
join on, the scan reads the index alone (an index-only scan), not one heap page per row of a
half-year's activities scattered over the whole table (issue #6, P4)."""

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# --- coverage (两个覆盖) ---------------------------------------------------------------------------

coverage_entities = temporal_table(
    "coverage_entities",
    metadata,
    Column("credit_code", String(18), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("industry", String(100), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("station", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("organization_id", Uuid, nullable=True),
    Column("formation", String(16), nullable=True),
)

coverage_organizations = temporal_table(
    "coverage_organizations",
    metadata,
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("formation", String(16), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("dissolved", Boolean, nullable=False),
)

Index(  # the half-year report's child regions: one probe per child region (issue #6, P4)
    "ix_coverage_organizations_region",
    coverage_organizations.c.region_code,
    postgresql_include=list(VALIDITY),
)

coverage_work = temporal_table(
    "coverage_work",
    metadata,
    Column("officer", String(100), nullable=False),
    Column("entity_id", Uuid, nullable=False, index=True),
)

coverage_members = temporal_table(
    "coverage_members",
    metadata,
    Column("home_org_id", Uuid, nullable=False, index=True),
    Column("category", String(16), nullable=False),
    Column("affiliation", String(16), nullable=False),
    Column("distribution", String(32), nullable=False),
    Column("is_business_owner", Boolean, nullable=False),
    Column("present", Boolean, nullable=False),
    # what the members statistics count besides (R5.2, R5.3, R13.6), since issue #6's eleventh round
    Column("left_reason", String(32), nullable=True),
    Column("business_suspended", Boolean, nullable=False),
    Column("away", Boolean, nullable=False),
    Column("in_disciplinary_period", Boolean, nullable=False),
)

coverage_training = temporal_table(
    "coverage_training",
    metadata,
    Column("member_id", Uuid, nullable=False, index=True),
    Column("held_on", Date, nullable=False),
)
"""The participants of training activities (R7) as the coverage projection sees them (one row per
participant, as ``activities_participants`` has for every type): what its training counts
(``coverage_counts`` family ``T``) are recounted from, beside the members' rows."""

coverage_volunteers = temporal_table(
    "coverage_volunteers",
    metadata,
    Column("member_id", Uuid, nullable=False, index=True),
    Column("held_on", Date, nullable=False),
)
"""The participants of volunteer-service activities (R11.3) as the coverage projection sees them:
what its volunteer counts (``coverage_counts`` family ``V``) are recounted from."""

coverage_activities = temporal_table(
    "coverage_activities",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("activity_type", String(32), nullable=False),
    Column("held_on", Date, nullable=False),
)
"""The volunteer-service activities (R11.3) and themed party days (R10's monthly meeting) each
organisation held, as the coverage projection sees them: what its volunteer and themed-day counts
(``coverage_counts`` families ``V`` and ``R``) are recounted from."""


coverage_rounds = temporal_table(
    "coverage_rounds",
    metadata,
    Column("business_org_id", Uuid, nullable=False, index=True),
    Column("year", BigInteger, nullable=False),
    Column("step", String(32), nullable=False),
    Column("by_deadline", Boolean, nullable=False),
)
"""The mobile members' rounds (R6) as the coverage projection sees them: the year, the step reached and
whether the receipt came back by the deadline (R6.3), and the business-place organisation whose region
they count in: what its mobile-chain counts (``coverage_counts`` family ``C``) are recounted from."""


ONLY_ON = "only_on"
"""The key of an index's ``info`` naming the one dialect it is built on (with ``Index.ddl_if``, which
``metadata.create_all`` follows but a ``CreateIndex`` run by hand does not: ``indexes_on``)."""


def built_on(index: Index, dialect: str) -> bool:
    """Whether ``index`` is built on ``dialect``'s databases: it is not made for another (``ONLY_ON``)."""
    return bool(index.info.get(ONLY_ON, dialect) == dialect)


def indexes_on(table: Table, dialect: str) -> list[Index]:
    """The indexes of ``table`` built on ``dialect``'s databases (``built_on``), in name order."""
    return sorted((i for i in table.indexes if built_on(i, dialect)), key=lambda index: str(index.name))


def counts_table(name: str) -> Table:
    """A table of pre-aggregated counts (``projections.coverage_counts``): per family, region prefix and
    key (``a``, ``b``), the signed change on a day, stored at the day, its month and its year, and added
    to the balance on each 1 January after it."""
    return Table(
        name,
        metadata,
        Column("family", String(1), primary_key=True),
        Column("depth", Integer, primary_key=True),  # 2 province, 4 city, 6 county: region_code's length
        Column("level", String(1), primary_key=True),  # "Y" year, "M" month, "D" day, "P" balance
        Column("period", Date, primary_key=True),  # the first day of the year or month, or the day
        Column("region_code", String(6), primary_key=True),  # the region's prefix (region_prefix)
        Column("a", String(32), primary_key=True),  # entity kind, member category, a statistic's value
        Column("b", String(16), primary_key=True),  # R13.1 bucket, member affiliation, statistic, ...
        Column("delta", BigInteger, nullable=False),
        # the key and the change: a figure's read (``coverage_counts._sums_query``) is an index-only
        # scan on PostgreSQL instead of a heap page read for nearly every row it sums (issue #6, P4).
        # SQLite has no INCLUDE: there it would be a copy of the primary key, so it is PostgreSQL's only
        Index(
            f"ix_{name}_read",
            "family",
            "depth",
            "level",
            "period",
            "region_code",
            "a",
            "b",
            postgresql_include=["delta"],
            info={ONLY_ON: "postgresql"},
        ).ddl_if(dialect="postgresql"),
    )


coverage_counts = counts_table("coverage_counts")
"""Pre-aggregated coverage counts (``projections.coverage_counts``): the signed change, on each day,
of the number of entities (members, organisations) counted under a key, as the ledger believes now,
for each county and rolled up to its city and province. Families: "E" entities (R13.1), "M" members
(R13.6), "S" the members statistics (R3), "T" training (R7), "V" volunteers (R11.3), "R" the monthly
themed party day (R10), "C" the mobile members' rounds (R6)."""

# --- audit trail ----------------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("aggregate_id", Uuid, nullable=False, index=True),
    Column("aggregate_type", String(64), nullable=False, index=True),
    Column("aggregate_version", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False, index=True),
    Column("actor", String(100), nullable=False, index=True),
    Column("correlation_id", Uuid, nullable=False, index=True),
    Column("causation_id", Uuid, nullable=False),
    Column("effective_on", Date, nullable=False, index=True),
    Column("recorded_at", DateTime, nullable=False, index=True),
    Column("changes", Text, nullable=False),
)
Index("ix_audit_events_type_event", audit_events.c.aggregate_type, audit_events.c.event_type)

# --- member roster and counts (issue #4 item 1) --------------------------------------------------

roster_members = temporal_table(
    "roster_members",
    metadata,
    Column("name", String(200), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("category", String(16), nullable=False),
    Column("affiliation", String(16), nullable=False),
    Column("distribution", String(32), nullable=False),
    Column("is_business_owner", Boolean, nullable=False),
    Column("home_org_id", Uuid, nullable=True, index=True),
    Column("relationship_org_id", Uuid, nullable=True),
    Column("relationship_org_name", String(200), nullable=False),
    Column("present", Boolean, nullable=False),
    Column("left_on", Date, nullable=True),
    Column("left_reason", String(32), nullable=True),
    Column("business_suspended", Boolean, nullable=False),
    Column("away_since", Date, nullable=True),
    Column("in_disciplinary_period", Boolean, nullable=False),
)

GROUPING_STATISTICS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "roster_members_groups": (
        roster_members,
        ("present", "left_reason", "category", "affiliation", "distribution"),
    ),
}
"""Extended statistics (PostgreSQL ``CREATE STATISTICS … (ndistinct)``) on columns a report groups by
together (issue #6, P4). The planner multiplies the distinct values of each column and takes 200 for
a column it knows nothing of (``left_reason`` while nobody has left): it expected 81,600 groups of
the members statistics where there were 173, sorted 92,422 rows on disk instead of hashing them, and
the half-year report's members section took 89 ms at scale 0.1 instead of 27."""

roster_life_orgs = temporal_table(
    "roster_life_orgs",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
)

# --- mobile-member chain (R6, issue #4 item 2) ----------------------------------------------------

mobile_chain_rounds = temporal_table(
    "mobile_chain_rounds",
    metadata,
    Column("member_id", Uuid, nullable=False, index=True),
    Column("member_name", String(200), nullable=False),
    Column("year", BigInteger, nullable=False),
    Column("business_org_id", Uuid, nullable=False, index=True),
    Column("business_org_name", String(200), nullable=False),
    Column("relationship_org_id", Uuid, nullable=True),
    Column("relationship_org_name", String(200), nullable=False),
    Column("step", String(32), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("identity_confirmed_on", Date, nullable=True),
    Column("activities_filed_on", Date, nullable=True),
    Column("activities_filed", BigInteger, nullable=False),
    Column("feedback_issued_on", Date, nullable=True),
    Column("receipt_returned_on", Date, nullable=True),
)
Index(  # the half-year report's totals read a year's rounds from the index alone (issue #6, P4)
    "ix_mobile_chain_rounds_period",
    mobile_chain_rounds.c.year,
    postgresql_include=["business_org_id", "step", "receipt_returned_on", *VALIDITY],
)

# --- stars: pioneer index, strongest branch, station stars, 薪火, standardised markets (issue #4 item 1)

stars_organizations = temporal_table(
    "stars_organizations",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("parent_id", Uuid, nullable=True, index=True),
    Column("region_code", String(6), nullable=False),
    Column("dissolved", Boolean, nullable=False),
)

stars_entities = temporal_table(
    "stars_entities",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("status", String(16), nullable=False),
    Column("organization_id", Uuid, nullable=True, index=True),
)

stars_pioneer_rounds = temporal_table(
    "stars_pioneer_rounds",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("year", BigInteger, nullable=False, index=True),
    Column("closed", Boolean, nullable=False),
)

stars_pioneer_enrolments = temporal_table(
    "stars_pioneer_enrolments",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("year", BigInteger, nullable=False, index=True),
    Column("member_id", Uuid, nullable=False),
    Column("standing", String(16), nullable=False),
    Column("stars", BigInteger, nullable=True),
    Column("excellent", Boolean, nullable=False),
    Column("follow_up_done", Boolean, nullable=False),
)

stars_strongest_ratings = temporal_table(
    "stars_strongest_ratings",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("year", BigInteger, nullable=False, index=True),
    Column("parent_id", Uuid, nullable=True, index=True),
    Column("stage", String(16), nullable=False),
    Column("disqualified", Boolean, nullable=False),
    Column("awarded", Boolean, nullable=False),
    Column("term_start_year", BigInteger, nullable=True),
    Column("term_end_year", BigInteger, nullable=True),
)

stars_station_stars = temporal_table(
    "stars_station_stars",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("level", BigInteger, nullable=False),
)

stars_counts = counts_table("stars_counts")
"""Pre-aggregated stars counts (``projections.stars_counts``): family "B", the strongest-branch
figures (R11.2) and the station stars (R9.1), and family "O", the pioneer rounds and enrolments (R5)
and the 薪火 organisations (R9.2, R9.3), of the organisations counted under a key on each day, as the
ledger believes now, for each county and rolled up to its city and province."""

stars_entity_counts = counts_table("stars_entity_counts")
"""Pre-aggregated stars counts of market entities (``projections.stars_counts``): family "E", the 薪火
member households (R9.2, R9.3) and the markets in standardisation with their criteria (R4), counted in
the region of the entity's row on each day."""

stars_xinhuo = temporal_table(
    "stars_xinhuo",
    metadata,
    Column("subject", String(16), nullable=False),
    Column("org_id", Uuid, nullable=True, index=True),
    Column("member_id", Uuid, nullable=True),
    Column("entity_id", Uuid, nullable=True, index=True),
    Column("category", String(32), nullable=False),
    Column("focus_industry", String(32), nullable=True),
)

stars_markets = temporal_table(
    "stars_markets",
    metadata,
    Column("entity_id", Uuid, nullable=False, index=True),
    Column("scope", String(40), nullable=False),
    Column("met_count", BigInteger, nullable=False),
    Column("standardised", Boolean, nullable=False),
)

stars_market_criteria = temporal_table(
    "stars_market_criteria",
    metadata,
    Column("entity_id", Uuid, nullable=False, index=True),
    Column("criterion", String(32), nullable=False),
)

# --- activities and pairings (R7 training, R10 meetings and visits, R11.3 volunteers) -------------

activities_held = temporal_table(
    "activities_held",
    metadata,
    Column("org_id", Uuid, nullable=False, index=True),
    Column("activity_type", String(32), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("pairing_id", Uuid, nullable=True, index=True),
    Column("visited_org_id", Uuid, nullable=True),
)
Index(
    "ix_activities_held_period",
    activities_held.c.activity_type,
    activities_held.c.held_on,
    postgresql_include=["org_id", *VALIDITY],
)

activities_participants = temporal_table(
    "activities_participants",
    metadata,
    Column("member_id", Uuid, nullable=False, index=True),
    Column("role", String(8), nullable=False),
    Column("org_id", Uuid, nullable=False),
    Column("activity_type", String(32), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("pairing_id", Uuid, nullable=True),
    Column("visited_org_id", Uuid, nullable=True),
)
Index(
    "ix_activities_participants_period",
    activities_participants.c.activity_type,
    activities_participants.c.held_on,
    postgresql_include=["member_id", *VALIDITY],
)

activities_pairings = temporal_table(
    "activities_pairings",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("lead_org_id", Uuid, nullable=False, index=True),
    Column("partner_org_id", Uuid, nullable=False, index=True),
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date, nullable=True),
)

# --- Kafka projection workers (issue #5, infra/worker.py) -----------------------------------------

worker_offsets = Table(
    "worker_offsets",
    metadata,
    Column("group", String(200), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("offset", BigInteger, nullable=False),  # the next offset to apply, written with the rows
    Column("position", BigInteger, nullable=False),  # the last position applied from the partition
)


RETIRED_INDEXES = (
    "ix_activities_held_type_day",
    "ix_activities_participants_type_day",
    "ix_mobile_chain_rounds_year",
)
"""Indexes an earlier version declared and a newer one replaced (by the ``_period`` ones, on the same
leading columns, that carry their rows' columns): dropped on set-up, so every row written does not
keep them up to date."""


def index_names(conn: Connection) -> set[str]:
    """The names of the indexes in the tables' schema (PostgreSQL) or database (SQLite)."""
    if conn.dialect.name == "postgresql":
        listed = text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    else:
        listed = text("SELECT name FROM sqlite_master WHERE type = 'index'")
    return set(conn.scalars(listed))


def missing_columns(conn: Connection, table: Table, schema: str | None = None) -> list[str]:
    """The columns ``metadata`` declares for ``table`` that its existing table (in ``schema``, else
    the connection's own) lacks; none when the table does not exist."""
    inspector = inspect(conn)
    if not inspector.has_table(table.name, schema=schema):
        return []
    present = {column["name"] for column in inspector.get_columns(table.name, schema=schema)}
    return [column.name for column in table.columns if column.name not in present]


def remake_reshaped(
    conn: Connection, name: str, tables: Sequence[Table], existed: Collection[str] | None = None
) -> None:
    """Read tables are disposable (docs/ARCHITECTURE.md, "Read-table schema changes"): when one of a
    projection's existing tables lacks a column the code declares, or a table of it is new beside
    others that existed (``existed``: the tables there before set-up created the missing ones), an
    upgrade changed its shape. Then drop and create all of the projection's tables and move its
    checkpoint back to 0, in one transaction, so its next catch-up replays it from the first event
    (``dangjian rebuild NAME`` where Kafka workers feed it: they refuse to start until then). Only
    the tables' owner may: a process connected as another role leaves them to the set-up job
    (``dangjian setup``) and logs it."""
    changes = [
        f"{t.name} lacks {', '.join(columns)}" for t in tables if (columns := missing_columns(conn, t))
    ]
    if existed is not None:
        new = [t.name for t in tables if t.name not in existed]
        if new and len(new) < len(tables):
            changes += [f"{table} is new" for table in new]
    if not changes:
        return
    reshaped = "; ".join(changes)
    try:
        with conn.begin_nested():
            metadata.drop_all(conn, tables=list(tables))
            metadata.create_all(conn, tables=list(tables))
            conn.execute(
                update(projection_positions).where(projection_positions.c.name == name).values(position=0)
            )
    except DBAPIError as error:
        log.warning(
            "projection %s (%s): not made again (%s): the set-up job does it", name, reshaped, error.orig
        )
        return
    log.warning("projection %s (%s): its tables made again; it replays from the first event", name, reshaped)


def create_indexes(conn: Connection) -> None:
    """Bring the indexes of existing tables up to date with ``metadata``: create those declared since
    a table was made (``metadata.create_all`` creates missing tables with their indexes, and nothing
    on a table that exists) and drop the ``RETIRED_INDEXES`` and those an earlier version built where
    they are not made for (``ONLY_ON``). Only the tables' owner may: a process
    connected as another role leaves them to the set-up job (``dangjian setup``) and logs it."""
    present = index_names(conn)
    dialect = conn.dialect.name
    changes: list[tuple[str, Executable]] = [
        (str(index.name), CreateIndex(index, if_not_exists=True))  # two processes may start at once
        for table in metadata.sorted_tables
        for index in indexes_on(table, dialect)
        if index.name not in present
    ]
    # the retired, and those an earlier version also built where they are not made for (``ONLY_ON``)
    elsewhere = [
        str(index.name)
        for table in metadata.sorted_tables
        for index in table.indexes
        if not built_on(index, dialect)
    ]
    dropped = [name for name in (*RETIRED_INDEXES, *elsewhere) if name in present]
    changes += [(name, text(f'DROP INDEX IF EXISTS "{name}"')) for name in dropped]
    for name, change in changes:
        try:
            with conn.begin_nested():
                conn.execute(change)
        except DBAPIError as error:
            log.warning("index %s not brought up to date (%s): the set-up job does it", name, error.orig)


def create_statistics_sql(name: str, schema: str | None = None) -> str:
    """The statement creating the ``GROUPING_STATISTICS`` entry ``name``, in ``schema`` (an SQL
    qualifier: the rebuild area's) or the current one."""
    table, columns = GROUPING_STATISTICS[name]
    qualifier = f"{schema}." if schema else ""
    return (
        f'CREATE STATISTICS IF NOT EXISTS {qualifier}"{name}" (ndistinct) '
        f'ON {", ".join(columns)} FROM {qualifier}"{table.name}"'
    )


def create_statistics(conn: Connection) -> None:
    """Create the ``GROUPING_STATISTICS`` missing from the tables' schema (PostgreSQL; ANALYZE fills
    them). Only the tables' owner may: a process connected as another role leaves them to the set-up
    job (``dangjian setup``) and logs it."""
    if conn.dialect.name != "postgresql":
        return
    present = set(
        conn.scalars(
            text("SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = current_schema()::regnamespace")
        )
    )
    for name in GROUPING_STATISTICS:
        if name in present:
            continue
        try:
            with conn.begin_nested():
                conn.execute(text(create_statistics_sql(name)))
        except DBAPIError as error:
            log.warning("statistics %s not created (%s): the set-up job creates them", name, error.orig)

"""Read tables of every projection, on one SQLAlchemy MetaData.

Read tables are disposable: every row is derived from the event store and a projection can be
rebuilt at any time (``dangjian rebuild``). ``projection_positions`` holds each projection's
checkpoint, written in the same transaction as its rows. Statistics tables are bitemporal
(``projections.temporal``): each row says when it held (effective dates) and from which event to
which event the ledger believed it (positions).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, MetaData, String, Table, Text, Uuid

from projections.temporal import temporal_table

metadata = MetaData()

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
)

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

"""Read tables of every projection, on one SQLAlchemy MetaData.

Read tables are disposable: every row is derived from the event store and a projection can be
rebuilt at any time (``dangjian rebuild``). ``projection_positions`` holds each projection's
checkpoint, written in the same transaction as its rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    Uuid,
)

metadata = MetaData()

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

coverage_entities = Table(
    "coverage_entities",
    metadata,
    Column("entity_id", Uuid, primary_key=True),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, index=True),
    Column("industry", String(100), nullable=False, index=True),
    Column("region_code", String(6), nullable=False, index=True),
    Column("station", String(100), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("organization_id", Uuid, nullable=True),
    Column("formation", String(16), nullable=True),
)

coverage_organizations = Table(
    "coverage_organizations",
    metadata,
    Column("org_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("formation", String(16), nullable=False),
    Column("region_code", String(6), nullable=False, index=True),
    Column("dissolved", Boolean, nullable=False),
)

coverage_work = Table(
    "coverage_work",
    metadata,
    Column("org_id", Uuid, primary_key=True),
    Column("officer", String(100), primary_key=True),
    Column("entity_id", Uuid, primary_key=True, index=True),
)

coverage_members = Table(
    "coverage_members",
    metadata,
    Column("member_id", Uuid, primary_key=True),
    Column("relationship_org_id", Uuid, nullable=True),
    Column("home_org_id", Uuid, nullable=False, index=True),
    Column("category", String(16), nullable=False),
    Column("affiliation", String(16), nullable=False),
    Column("distribution", String(32), nullable=False),
    Column("is_business_owner", Boolean, nullable=False),
    Column("present", Boolean, nullable=False),
)

coverage_member_life = Table(
    "coverage_member_life",
    metadata,
    Column("member_id", Uuid, primary_key=True),
    Column("org_id", Uuid, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

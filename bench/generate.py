"""A deterministic, seedable synthetic province for benchmarks (issue #6, item 1).

One parameter sets the size: ``--scale``. At 1.0 the province has 1,000,000 market entities and
more than 10 million events; 0.001 is a county-sized data set of about 1,000 entities. For the same
``--scale`` and ``--seed`` the commands, their arguments and the aggregate ids are the same on every
run (only the recorded moments differ).

What it records, per county, in roughly chronological order of business date:

- regions: a province (330000), its cities and counties, two market-supervision stations
  (市场监管所) per county; a provincial association organisation, one per city, a branch association
  per county, an agency branch per city, a station branch per station;
- market entities of every kind (individual businesses, micro and internet enterprises, farmers',
  commodity and professional markets), registered 2010-2020;
- organisations set up standalone (markets and enterprises) and jointly (2-5 individual
  businesses), street-block branches and station branches that reach entities by a guidance officer
  (work coverage), all in 2021;
- members of every affiliation (隶属, 属地, 流动) and category (full, probationary), with probation
  completed a year later;
- several years (2022 to mid-2026) of activities with attendance, a few attendance corrections;
- relationship transfers (letter issued and accepted), mobile-member rounds through all five steps
  (2022-2025), strongest-branch ratings with the four evaluations, application, decision and award;
- pioneer-index rounds (2022-2025) with enrolments, the four steps, results and follow-ups, star
  stations awarded, raised and revoked, 薪火 demonstrations of organisations and member households,
  markets enrolled in standardisation with the six criteria met or lapsed (a random stream of their
  own per county, so the rest of the province is what it was before they were added);
- pairings (R10 "(1+1)+N", from 2022, a random stream of their own per county): each station branch
  with its city's agency branch and three standalone organisations, with an exchange in most quarters
  and a station visit to each paired organisation in most months;
- entity status changes (suspended, deregistered), corrections of entities and members, and late
  entries (members and activities recorded last with business dates years earlier).

Two ways of recording, the same commands either way:

- ``commands`` (default below scale 0.005): the plain ``Ledger``: every command loads its
  aggregates from PostgreSQL, checks every rule and saves in its own transaction. This is the
  correctness path: exactly what the API does.
- ``bulk`` (default from 0.005 up): ``BulkLedger`` runs the very same command methods (every rule of
  the aggregates and of the commands) against a write-behind cache of the aggregates it has
  touched, and saves up to 1,000 touched aggregates per transaction with ``Ledger.save``. It is
  only meant for an empty store written by one process: a rejected command stops the load (the
  aggregates it touched may already be changed in memory), and an aggregate's optimistic
  concurrency check happens at the flush. The generator never issues a command that breaks a rule.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from psycopg.sql import SQL, Identifier

from domain import errors
from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from domain.personal import subjects_of
from domain.values import (
    FARMERS_MARKET_SCOPES,
    ActivityType,
    Affiliation,
    Distribution,
    EntityKind,
    EntityStatus,
    EvaluationKind,
    FocusIndustry,
    Formation,
    MarketScope,
    MemberCategory,
    OrgKind,
    OrgRating,
    PioneerStanding,
    PioneerStep,
    RatingLevel,
    SocialResult,
    StandardisationCriterion,
    TransferScope,
    credit_code_check_char,
)

PROVINCE = "330000"
CITIES = ("3301", "3302", "3303", "3304", "3305", "3306", "3307", "3308", "3309", "3310", "3311")
ENTITIES_AT_SCALE_1 = 1_000_000
BULK_FROM_SCALE = 0.005
AS_OF = date(2026, 6, 30)
"""The half-year cut-off the benchmarks query (R3)."""

_NS = UUID("0b9f6c1e-3d2a-4e8f-9a7b-5c4d3e2f1a0b")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉兵建国志红霞峰"
_INDUSTRIES = ("食品销售", "农副产品", "服装鞋帽", "五金建材", "餐饮服务", "日用百货", "电子商务", "美容美发")
_KINDS = (
    (EntityKind.INDIVIDUAL_BUSINESS, 0.72),
    (EntityKind.MICRO_ENTERPRISE, 0.18),
    (EntityKind.INTERNET_ENTERPRISE, 0.02),
    (EntityKind.FARMERS_MARKET, 0.03),
    (EntityKind.COMMODITY_MARKET, 0.03),
    (EntityKind.PROFESSIONAL_MARKET, 0.02),
)
_MARKETS = {EntityKind.FARMERS_MARKET, EntityKind.COMMODITY_MARKET, EntityKind.PROFESSIONAL_MARKET}
_NON_FARMERS_SCOPES = [s for s in MarketScope if s not in FARMERS_MARKET_SCOPES]
_ACTIVITY_TYPES = (
    ActivityType.THEMED_PARTY_DAY,
    ActivityType.BRANCH_GENERAL_MEETING,
    ActivityType.PARTY_LECTURE,
    ActivityType.BRANCH_COMMITTEE_MEETING,
    ActivityType.PARTY_GROUP_MEETING,
    ActivityType.TRAINING,
    ActivityType.VOLUNTEER_SERVICE,
    ActivityType.HEART_TO_HEART_TALK,
)
ACTIVITY_YEARS = (2022, 2023, 2024, 2025, 2026)
PAIRED_PER_STATION = 3
"""R10's N: the 小个专 organisations each station branch pairs with."""
ROUND_YEARS = (2022, 2023, 2024, 2025)


@dataclass(frozen=True)
class Shape:
    """The sizes that follow from one scale."""

    scale: float
    entities: int
    counties: int
    cities: int

    @classmethod
    def of(cls, scale: float, regions_of: float | None = None) -> Shape:
        """The province of ``scale``; ``regions_of``: with the cities and counties of the province of
        that scale instead of its own (a history of ``scale``'s length in a larger province's regions:
        the P4 twin, so that a report asks about as many areas at both scales; issue #6)."""
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale}")
        if regions_of is not None and regions_of <= 0:
            raise ValueError(f"regions_of must be positive, not {regions_of}")
        entities = max(20, round(ENTITIES_AT_SCALE_1 * scale))
        counties = cls._counties(max(20, round(ENTITIES_AT_SCALE_1 * (regions_of or scale))))
        return cls(scale, entities, counties, min(len(CITIES), math.ceil(counties / 8)))

    @staticmethod
    def _counties(entities: int) -> int:
        return max(2, min(90, round(math.sqrt(entities) / 11)))

    def county_codes(self) -> list[tuple[str, str]]:
        """(city code, county code) for every county, spread over the cities."""
        out = []
        for i in range(self.counties):
            city = CITIES[i % self.cities]
            out.append((city + "00", f"{city}{i // self.cities + 1:02d}"))
        return out


@dataclass
class Summary:
    scale: float
    seed: int
    mode: str
    entities: int = 0
    organizations: int = 0
    members: int = 0
    commands: int = 0
    events: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    """The city codes, first the largest: the regions a benchmark queries."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class _CachedRepository:
    """The repository as ``BulkLedger`` sees it: the aggregates it touched, else the store."""

    cache = None  # no eventsourcing repository cache: ``Application._record`` skips it
    fastforward = False

    def __init__(self, inner: Any, touched: dict[UUID, Any]) -> None:
        self.inner = inner
        self.touched = touched

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        if not kwargs and aggregate_id in self.touched:
            return self.touched[aggregate_id]
        aggregate = self.inner.get(aggregate_id, **kwargs)
        if not kwargs:
            self.touched[aggregate_id] = aggregate
        return aggregate

    def __contains__(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.touched:
            return True
        try:
            self.inner.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True


ANALYZE_FROM = 20_000
"""Events saved before ``BulkLedger`` first gathers the event table's statistics (then at each doubling)."""


class BulkLedger(Ledger):
    """The ledger's commands, saved in batches: see the module docstring (``bulk``)."""

    name = "Ledger"  # the same event table as the ``Ledger``

    def __init__(
        self,
        env: dict[str, str],
        batch: int = 1000,
        keep: int = 200_000,
        vault: Any = None,
        analyze_from: int = ANALYZE_FROM,
    ) -> None:
        super().__init__(env, vault=vault)
        self.batch_size = batch
        self.keep = keep
        self._touched: dict[UUID, Any] = {}
        self._dirty: dict[UUID, Any] = {}
        self._bulk_repository = _CachedRepository(super().repository, self._touched)
        self.saved_events = 0
        self.transactions = 0
        self.analyzed_at = analyze_from // 2
        """``saved_events`` when the event table's statistics were last gathered (``_analyze``)."""

    @property
    def repository(self) -> Any:
        return self._bulk_repository

    def _commit(
        self, subject: UUID, *aggregates: Any, on_conflict: errors.DomainError | None = None
    ) -> CommandResult:
        for aggregate in aggregates:
            self._touched[aggregate.id] = aggregate
            self._dirty[aggregate.id] = aggregate
        if len(self._dirty) >= self.batch_size:
            self.flush()
        return CommandResult(subject, 0)

    def flush(self) -> None:
        """Save every touched aggregate with new events in one transaction, the members' keys made or
        read beforehand with one query each (``KeyVault.prepare_keys``) instead of a transaction per
        new member while the events are encrypted (issue #6: a quarter of the generator's time)."""
        if self._dirty:
            prepare = getattr(self.vault, "prepare_keys", None)
            if prepare is not None:
                members = subjects_of(e for a in self._dirty.values() for e in a.pending_events)
                if members:
                    prepare(members)
            recordings = self.save(*self._dirty.values())
            self.saved_events += len(recordings)
            self.transactions += 1
            self._dirty.clear()
            if self.saved_events >= 2 * self.analyzed_at:
                self._analyze()
        if len(self._touched) > self.keep:  # bounded memory: reload from the store when needed
            self._touched.clear()

    def _analyze(self) -> None:
        """Gather the event table's statistics each time it has doubled, as autovacuum would (it is
        off on some servers, this machine's among them). Without them PostgreSQL planned the load of
        an aggregate the cache no longer held (``SELECT … WHERE originator_id = $1``, a prepared
        generic plan) for 68,000 rows: a parallel bitmap scan with JIT, each time. The scale-1.0
        generation fell from 3,000 to 200 events/s by 2.4 million events (2026-12-03); after an
        ``ANALYZE`` by hand, 3,270/s again."""
        datastore = getattr(self.recorder, "datastore", None)
        if datastore is not None and hasattr(datastore, "schema"):  # PostgreSQL
            table = Identifier(datastore.schema, self.recorder.events_table_name)
            with datastore.transaction(commit=True) as cursor:
                cursor.execute(SQL("ANALYZE {}").format(table))
        self.analyzed_at = self.saved_events


def event_count(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


class _Generator:
    def __init__(self, ledger: Ledger, shape: Shape, seed: int, progress: Callable[[str], None] | None):
        self.ledger = ledger
        self.shape = shape
        self.seed = seed
        self.rng = random.Random(seed)
        self.ctx = CommandContext.new("bench")
        self.late_ctx = CommandContext.new("bench-late-entry")
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.serial = 0
        self.codes: set[str] = set()

    # --- helpers ---------------------------------------------------------------------------------

    def id(self, *parts: object) -> UUID:
        return uuid5(_NS, "/".join(map(str, (self.seed, *parts))))

    def run_command(self, label: str, fn: Callable[..., CommandResult], /, *args: Any, **kwargs: Any) -> UUID:
        result = fn(*args, **kwargs)
        self.counts[label] = self.counts.get(label, 0) + 1
        return result.id

    def day(self, start: date, end: date, rng: random.Random | None = None) -> date:
        return start + timedelta(days=(rng or self.rng).randrange(0, max(1, (end - start).days)))

    def person(self, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))

    def mobile(self) -> str:
        rng = self.rng
        return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))

    def credit_code(self, county: str, individual: bool) -> str:
        while True:
            head = ("92" if individual else "91") + county
            body = "".join(self.rng.choice(_ALPHABET) for _ in range(9))
            code = head + body + credit_code_check_char(head + body)
            if code not in self.codes:
                self.codes.add(code)
                return code

    def kind(self) -> EntityKind:
        roll, acc = self.rng.random(), 0.0
        for kind, share in _KINDS:
            acc += share
            if roll < acc:
                return kind
        return EntityKind.INDIVIDUAL_BUSINESS

    # --- the province ----------------------------------------------------------------------------

    def run(self) -> Summary:
        L, ctx = self.ledger, self.ctx
        founded = date(2020, 3, 1)
        province = self.run_command(
            "establish_organization",
            L.establish_organization,
            ctx,
            effective_on=founded,
            name="浙江省个私协会党委",
            kind=OrgKind.ASSOCIATION,
            formation=Formation.REGIONAL,
            region_code=PROVINCE,
            entity_ids=[],
            id=self.id("org", "province"),
        )
        cities: dict[str, UUID] = {}
        for city, _ in self.shape.county_codes():
            if city in cities:
                continue
            cities[city] = self.run_command(
                "establish_organization",
                L.establish_organization,
                ctx,
                effective_on=founded + timedelta(days=30),
                name=f"{city}市个私协会党委",
                kind=OrgKind.ASSOCIATION,
                formation=Formation.REGIONAL,
                region_code=city,
                entity_ids=[],
                parent_id=province,
                id=self.id("org", city, "association"),
            )
            self.run_command(
                "establish_organization",
                L.establish_organization,
                ctx,
                effective_on=founded + timedelta(days=30),
                name=f"{city}市市场监管局机关党支部",
                kind=OrgKind.AGENCY_BRANCH,
                formation=Formation.REGIONAL,
                region_code=city,
                entity_ids=[],
                id=self.id("org", city, "agency"),
            )
        counties = self.shape.county_codes()
        per_county = self.shape.entities // len(counties)
        extra = self.shape.entities - per_county * len(counties)
        for i, (city, county) in enumerate(counties):
            self.county(city, county, cities[city], per_county + (1 if i < extra else 0))
            if self.progress:
                self.progress(f"county {i + 1}/{len(counties)} ({county})")
        if isinstance(L, BulkLedger):
            L.flush()
        summary = Summary(self.shape.scale, self.seed, "bulk" if isinstance(L, BulkLedger) else "commands")
        summary.counts = dict(sorted(self.counts.items()))
        summary.commands = sum(self.counts.values())
        summary.entities = self.counts.get("register_entity", 0)
        summary.organizations = self.counts.get("establish_organization", 0)
        summary.members = self.counts.get("register_member", 0)
        summary.regions = list(dict.fromkeys(c for c, _ in counties))
        return summary

    def county(self, city: str, county: str, city_org: UUID, n: int) -> None:
        L, ctx, rng = self.ledger, self.ctx, self.rng
        cmd = self.run_command
        setup = date(2021, 1, 10)
        branch = cmd(
            "establish_organization",
            L.establish_organization,
            ctx,
            effective_on=setup,
            name=f"{county}个私协会分会党支部",
            kind=OrgKind.BRANCH_ASSOCIATION,
            formation=Formation.REGIONAL,
            region_code=county,
            entity_ids=[],
            parent_id=city_org,
            id=self.id("org", county, "branch"),
        )
        stations = [f"{county}第{k + 1}市场监管所" for k in range(2)]
        station_orgs = [
            cmd(
                "establish_organization",
                L.establish_organization,
                ctx,
                effective_on=setup,
                name=f"{s}党支部",
                kind=OrgKind.STATION_BRANCH,
                formation=Formation.REGIONAL,
                region_code=county,
                entity_ids=[],
                id=self.id("org", s),
            )
            for s in stations
        ]

        # Market entities, registered 2010-2020.
        entities: list[tuple[UUID, EntityKind]] = []
        industries: dict[UUID, str] = {}
        for k in range(n):
            kind = self.kind()
            industry = "商品交易市场" if kind in _MARKETS else rng.choice(_INDUSTRIES)
            entity = cmd(
                "register_entity",
                L.register_entity,
                ctx,
                effective_on=self.day(date(2010, 1, 1), date(2020, 12, 31)),
                credit_code=self.credit_code(county, kind == EntityKind.INDIVIDUAL_BUSINESS),
                name=f"{county}{industry}{k + 1:06d}",
                kind=kind,
                industry=industry,
                region_code=county,
                station=stations[k % 2],
            )
            entities.append((entity, kind))
            industries[entity] = industry

        # Organisations in 2021: standalone, joint, street blocks; work coverage by guidance officers.
        orgs: list[UUID] = []
        standalone: list[UUID] = []
        org_entities: dict[UUID, list[UUID]] = {}
        covered: set[UUID] = set()
        singles = []
        for entity, kind in entities:
            share = 0.6 if kind in _MARKETS else 0.3 if kind == EntityKind.INTERNET_ENTERPRISE else 0.15
            if kind != EntityKind.INDIVIDUAL_BUSINESS and rng.random() < share:
                org_kind = OrgKind.MARKET if kind in _MARKETS else OrgKind.ENTERPRISE
                org = cmd(
                    "establish_organization",
                    L.establish_organization,
                    ctx,
                    effective_on=self.day(date(2021, 1, 15), date(2021, 6, 30)),
                    name=f"{county}党支部{len(orgs) + 1:05d}",
                    kind=org_kind,
                    formation=Formation.STANDALONE,
                    region_code=county,
                    entity_ids=[entity],
                    parent_id=branch,
                    id=self.id("org", county, "standalone", len(orgs)),
                )
                orgs.append(org)
                standalone.append(org)
                org_entities[org] = [entity]
                covered.add(entity)
            elif kind == EntityKind.INDIVIDUAL_BUSINESS:
                singles.append(entity)
        joint_pool = [e for e in singles if rng.random() < 0.04]
        while len(joint_pool) >= 2:
            size = min(len(joint_pool), rng.randint(2, 5))
            if len(joint_pool) - size == 1:
                size += 1 if size < 5 else -1
            group, joint_pool = joint_pool[:size], joint_pool[size:]
            org = cmd(
                "establish_organization",
                L.establish_organization,
                ctx,
                effective_on=self.day(date(2021, 1, 15), date(2021, 6, 30)),
                name=f"{county}联合党支部{len(orgs) + 1:05d}",
                kind=OrgKind.MARKET,
                formation=Formation.JOINT,
                region_code=county,
                entity_ids=group,
                parent_id=branch,
                id=self.id("org", county, "joint", len(orgs)),
            )
            orgs.append(org)
            org_entities[org] = group
            covered.update(group)
        uncovered = [e for e, _ in entities if e not in covered]
        rng.shuffle(uncovered)
        blocks = max(1, n // 400)
        for b in range(blocks):
            block = cmd(
                "establish_organization",
                L.establish_organization,
                ctx,
                effective_on=date(2021, 7, 1),
                name=f"{county}街区党支部{b + 1:03d}",
                kind=OrgKind.STREET_BLOCK,
                formation=Formation.REGIONAL,
                region_code=county,
                entity_ids=[],
                parent_id=branch,
                id=self.id("org", county, "block", b),
            )
            orgs.append(block)
            reached, uncovered = uncovered[:100], uncovered[100:]
            if reached:
                cmd(
                    "assign_guidance_officer",
                    L.assign_guidance_officer,
                    ctx,
                    block,
                    effective_on=date(2021, 8, 1),
                    officer=f"街区指导员{self.person()}",
                    entity_ids=reached,
                )
        for s, station_org in enumerate(station_orgs):
            reached, uncovered = uncovered[: max(1, n // 40)], uncovered[max(1, n // 40) :]
            if reached:
                cmd(
                    "assign_guidance_officer",
                    L.assign_guidance_officer,
                    ctx,
                    station_org,
                    effective_on=date(2021, 9, 1),
                    officer=f"所指导员{s + 1}{self.person()}",
                    entity_ids=reached,
                )

        # Members, registered in the second half of 2021; one organisational-life organisation each.
        members_of: dict[UUID, list[UUID]] = {o: [] for o in orgs}
        mobile: list[tuple[UUID, UUID]] = []  # (member, business-place organisation)
        locals_: list[UUID] = []
        for o_index, org in enumerate(orgs):
            for m in range(rng.randint(4, 16)):
                member, affiliation, probation = self.member(county, org, branch, o_index, m)
                members_of[org].append(member)
                if affiliation == Affiliation.MOBILE:
                    mobile.append((member, org))
                elif affiliation == Affiliation.LOCAL:
                    locals_.append(member)
                if probation is not None and rng.random() < 0.9:
                    cmd("complete_probation", L.complete_probation, ctx, member, effective_on=probation)

        # Activities: 2022 to June 2026, about ten a year per organisation, with attendance.
        activities: list[tuple[UUID, list[UUID], UUID]] = []
        for org in orgs:
            present = members_of[org]
            if not present:
                continue
            for year in ACTIVITY_YEARS:
                months = range(1, 7) if year == AS_OF.year else range(1, 13)
                for month in months:
                    if rng.random() < 0.05:
                        continue
                    held = date(year, month, rng.randint(1, 28))
                    participants = rng.sample(present, min(len(present), rng.randint(2, 8)))
                    activity = cmd(
                        "hold_activity",
                        L.hold_activity,
                        ctx,
                        effective_on=held,
                        org_id=org,
                        activity_type=_ACTIVITY_TYPES[month % len(_ACTIVITY_TYPES)],
                        topic=f"{year}年{month}月组织生活",
                        host=self.person(),
                        participant_ids=participants,
                        id=self.id("activity", org, year, month),
                    )
                    if rng.random() < 0.02:
                        activities.append((activity, participants, org))
        for activity, participants, org in activities:  # attendance corrections (R1.3)
            corrected = list(dict.fromkeys([*participants[:-1], *members_of[org][:1]]))
            if corrected != list(dict.fromkeys(participants)):
                cmd(
                    "correct_activity_attendance",
                    L.correct_activity_attendance,
                    ctx,
                    activity,
                    effective_on=date(2026, 7, 15),
                    participant_ids=corrected,
                    reason="补录签到",
                )

        # Relationship transfers: a local member's relationship moves to the branch association.
        for t, member in enumerate(locals_):
            if rng.random() >= 0.06:
                continue
            issued = self.day(date(2023, 1, 1), date(2025, 12, 1))
            letter = cmd(
                "issue_transfer_letter",
                L.issue_transfer_letter,
                ctx,
                effective_on=issued,
                member_id=member,
                letter_number=f"浙{county}转{t:06d}",
                stub_ref=f"存根{t:06d}",
                receipt_ref=f"回执{t:06d}",
                scope=TransferScope.SAME_CITY,
                to_org_id=branch,
                id=self.id("letter", member),
            )
            cmd(
                "accept_transfer_letter",
                L.accept_transfer_letter,
                ctx,
                letter,
                effective_on=issued + timedelta(days=rng.randint(1, 9)),
                affiliation=Affiliation.SUBORDINATE,
            )

        # Mobile-member rounds (R6), all five steps, 2022-2025.
        for member, org in mobile:
            for year in ROUND_YEARS:
                rid = cmd(
                    "register_mobile_round",
                    L.register_mobile_round,
                    ctx,
                    effective_on=date(year, 3, rng.randint(1, 28)),
                    member_id=member,
                    year=year,
                    business_org_id=org,
                )
                cmd(
                    "confirm_mobile_identity",
                    L.confirm_mobile_identity,
                    ctx,
                    rid,
                    effective_on=date(year, 4, rng.randint(1, 28)),
                    certificate_ref=f"证明{year}-{rid.hex[:8]}",
                )
                cmd(
                    "file_mobile_activities",
                    L.file_mobile_activities,
                    ctx,
                    rid,
                    effective_on=date(year, 7, 1),
                    activities=[{"on": date(year, 5, 20), "description": "主题党日"}],
                )
                cmd(
                    "issue_mobile_feedback",
                    L.issue_mobile_feedback,
                    ctx,
                    rid,
                    effective_on=date(year, 10, rng.randint(1, 28)),
                    assessment="表现良好",
                    secretary_name=self.person(),
                    feedback_form_ref=f"反馈{year}-{rid.hex[:8]}",
                    letter_ref=f"函{year}-{rid.hex[:8]}",
                )
                if rng.random() < 0.9:
                    cmd(
                        "return_mobile_receipt",
                        L.return_mobile_receipt,
                        ctx,
                        rid,
                        effective_on=date(year, 11, rng.randint(1, 28)),
                        archive_ref=f"档{year}-{rid.hex[:8]}",
                    )

        # Strongest-branch ratings (R11): the four evaluations, application, decision, award.
        for org in standalone:
            for year in ROUND_YEARS:
                if rng.random() >= 0.3:
                    continue
                rating = cmd(
                    "start_strongest_branch_rating",
                    L.start_strongest_branch_rating,
                    ctx,
                    effective_on=date(year, 2, rng.randint(1, 28)),
                    org_id=org,
                    year=year,
                )
                evaluate = date(year, 10, rng.randint(1, 20))
                excellent = rng.choice((8, 9, 10))  # R11.4: 90% qualifies
                for kind, values in (
                    (EvaluationKind.ORGANIZATION, {"rating": OrgRating.EXCELLENT}),
                    (EvaluationKind.MEMBERS, {"participants": 10, "excellent": excellent}),
                    (EvaluationKind.MASS, {"respondents": 50, "dissatisfied": 1, "verified": True}),
                    (EvaluationKind.SOCIAL, {"result": SocialResult.CLEAN}),
                ):
                    cmd(
                        "record_strongest_branch_evaluation",
                        L.record_strongest_branch_evaluation,
                        ctx,
                        rating,
                        effective_on=evaluate,
                        kind=kind,
                        **values,
                    )
                if excellent < 9 or rng.random() < 0.2:
                    continue  # not qualifying, or never applied
                cmd(
                    "apply_strongest_branch",
                    L.apply_strongest_branch,
                    ctx,
                    rating,
                    effective_on=date(year, 11, 1),
                    level=RatingLevel.AGENCY_COMMITTEE,
                    to_body=f"{city}机关党委",
                )
                cmd(
                    "decide_strongest_branch",
                    L.decide_strongest_branch,
                    ctx,
                    rating,
                    effective_on=date(year, 11, 20),
                    level=RatingLevel.AGENCY_COMMITTEE,
                    passed=True,
                )
                cmd(
                    "award_strongest_branch",
                    L.award_strongest_branch,
                    ctx,
                    rating,
                    effective_on=date(year, 12, 10),
                    start_year=year,
                    end_year=year + 2,
                )

        self.evaluations(county, station_orgs, standalone, org_entities, members_of, entities)
        self.pairings(city, county, station_orgs, standalone)

        # Corrections of entities (R1.3).
        for entity, _ in entities:
            if rng.random() < 0.03:
                cmd(
                    "correct_entity",
                    L.correct_entity,
                    ctx,
                    entity,
                    effective_on=self.day(date(2021, 1, 1), date(2026, 6, 1)),
                    changes={"industry": rng.choice([i for i in _INDUSTRIES if i != industries[entity]])},
                    reason="登记信息更正",
                )
        # Status changes, after the corrections (uncovered entities only).
        for entity in uncovered:
            roll = rng.random()
            if roll < 0.04:
                cmd(
                    "change_entity_status",
                    L.change_entity_status,
                    ctx,
                    entity,
                    effective_on=self.day(date(2022, 1, 1), date(2026, 6, 1)),
                    status=EntityStatus.SUSPENDED,
                    reason="停歇业",
                )
            elif roll < 0.05:
                cmd(
                    "change_entity_status",
                    L.change_entity_status,
                    ctx,
                    entity,
                    effective_on=self.day(date(2022, 1, 1), date(2026, 6, 1)),
                    status=EntityStatus.DEREGISTERED,
                    reason="注销",
                )
        for org_members in members_of.values():
            for member in org_members:
                if rng.random() < 0.03:
                    cmd(
                        "correct_member",
                        L.correct_member,
                        ctx,
                        member,
                        effective_on=date(2026, 7, 1),
                        changes={"mobile": self.mobile()},
                        reason="手机号更正",
                    )

        # Late entries: members and activities recorded last, dated years back (R1.3).
        for o_index, org in enumerate(orgs):
            if rng.random() < 0.1:
                member, _, _ = self.member(county, org, branch, o_index, 100, late=True)
                members_of[org].append(member)
            if rng.random() < 0.1 and members_of[org]:
                cmd(
                    "hold_activity",
                    L.hold_activity,
                    self.late_ctx,
                    effective_on=date(2022, 12, 30),
                    org_id=org,
                    activity_type=ActivityType.ORGANIZATIONAL_LIFE_MEETING,
                    topic="2022年度组织生活会(补录)",
                    host=self.person(),
                    participant_ids=members_of[org][:5],
                    id=self.id("activity", org, "late"),
                )

    def pairings(self, city: str, county: str, station_orgs: list[UUID], standalone: list[UUID]) -> None:
        """R10 "(1+1)+N", from a random stream of its own (the rest of the county is drawn as before
        they were added): each station branch paired in 2022 with its city's agency branch and with up
        to ``PAIRED_PER_STATION`` standalone organisations of the county; each pairing's lead holds a
        pairing exchange in most quarters, and each station branch visits each of its paired
        organisations in most months, up to the cut-off (``AS_OF``)."""
        L, ctx, cmd = self.ledger, self.ctx, self.run_command
        rng = random.Random(f"{self.seed}/{county}/pairings")
        agency = self.id("org", city, "agency")
        partners = rng.sample(standalone, min(len(standalone), PAIRED_PER_STATION * len(station_orgs)))
        for s, station in enumerate(station_orgs):
            paired = partners[s * PAIRED_PER_STATION : (s + 1) * PAIRED_PER_STATION]
            for lead, partner in [(agency, station), *((station, org) for org in paired)]:
                signed = date(2022, 1, rng.randint(4, 20))
                pairing = cmd(
                    "pair_organizations",
                    L.pair_organizations,
                    ctx,
                    effective_on=signed,
                    org_ids=[lead, partner],
                    agreement_reference=f"结对协议{county}-{s + 1}-{rng.randrange(10_000):04d}",
                    agreement_signed_on=signed,
                    plan_year=2022,
                    plan_items=["联学联建", "走访服务"],
                )
                for year in ACTIVITY_YEARS:
                    for quarter in range(1, 3 if year == AS_OF.year else 5):
                        if rng.random() < 0.08:
                            continue  # a missed quarter (R10: at least once a quarter)
                        month = 3 * quarter - rng.randint(0, 2)
                        self._contact(
                            rng,
                            lead,
                            max(signed, date(year, month, rng.randint(1, 28))),
                            ActivityType.PAIRING_EXCHANGE,
                            f"{year}年第{quarter}季度结对交流",
                            self.id("exchange", pairing, year, quarter),
                            pairing_id=pairing,
                        )
            for org in paired:
                for year in ACTIVITY_YEARS:
                    for month in range(1, 7 if year == AS_OF.year else 13):
                        if rng.random() < 0.1:
                            continue  # a missed month (R10: a visit at least once a month)
                        self._contact(
                            rng,
                            station,
                            date(year, month, rng.randint(1, 28)),
                            ActivityType.STATION_VISIT,
                            f"{year}年{month}月走访",
                            self.id("visit", station, org, year, month),
                            visited_org_id=org,
                        )

    def _contact(
        self,
        rng: random.Random,
        org: UUID,
        day: date,
        activity_type: ActivityType,
        topic: str,
        activity_id: UUID,
        **details: UUID,
    ) -> None:
        """A pairing exchange or a station visit (R10): held by ``org``, no participants recorded."""
        self.run_command(
            "hold_activity",
            self.ledger.hold_activity,
            self.ctx,
            effective_on=day,
            org_id=org,
            activity_type=activity_type,
            topic=topic,
            host=self.person(rng),
            participant_ids=[],
            id=activity_id,
            **details,
        )

    def evaluations(
        self,
        county: str,
        station_orgs: list[UUID],
        standalone: list[UUID],
        org_entities: dict[UUID, list[UUID]],
        members_of: dict[UUID, list[UUID]],
        entities: list[tuple[UUID, EntityKind]],
    ) -> None:
        """Pioneer-index rounds (R5), star stations (R9.1), 薪火 demonstrations (R9.2, R9.3) and market
        standardisation (R4), from a random stream of their own (the rest of the county is drawn as
        before they were added)."""
        L, ctx, cmd = self.ledger, self.ctx, self.run_command
        rng = random.Random(f"{self.seed}/{county}/evaluations")

        # Pioneer-index rounds (R5): a round in about one standalone organisation in ten a year, up
        # to three members enrolled with their standing on the round's date; the eligible go through
        # the four steps in order, most are rated, and the 1- and 2-star get a talk and a support
        # pairing before the round closes (R5.4, R5.5).
        for year in ROUND_YEARS:
            if isinstance(L, BulkLedger):
                L.flush()  # an enrolment reads its members' stored events (R5.1)
            for org in standalone:
                if rng.random() >= 0.1 or not members_of[org]:
                    continue
                round_date = date(year, 10, rng.randint(1, 15))
                rid = cmd(
                    "open_pioneer_round",
                    L.open_pioneer_round,
                    ctx,
                    effective_on=date(year, 9, rng.randint(1, 28)),
                    org_id=org,
                    year=year,
                    round_date=round_date,
                )
                enrolled = members_of[org][:3]
                for member in enrolled:
                    cmd(
                        "enrol_pioneer_member",
                        L.enrol_pioneer_member,
                        ctx,
                        rid,
                        effective_on=round_date,
                        member_id=member,
                    )
                round_ = L.get_pioneer_round(rid)
                closable = rng.random() < 0.8
                for member in enrolled:
                    if round_.enrolments[member].standing != PioneerStanding.ELIGIBLE.value:
                        continue  # excluded or vetoed: listed with the reasons, no steps (R5.2, R5.3)
                    for k, step in enumerate(PioneerStep):
                        cmd(
                            "record_pioneer_step",
                            L.record_pioneer_step,
                            ctx,
                            rid,
                            effective_on=round_date + timedelta(days=k + 1),
                            member_id=member,
                            step=step,
                        )
                    if not closable and rng.random() < 0.5:
                        continue  # awaiting its result
                    stars = rng.choice((1, 2, 3, 3, 4, 4, 4, 5, 5))
                    rated_on = round_date + timedelta(days=10)
                    cmd(
                        "rate_pioneer_member",
                        L.rate_pioneer_member,
                        ctx,
                        rid,
                        effective_on=rated_on,
                        member_id=member,
                        stars=stars,
                        excellent=stars >= 4 and rng.random() < 0.3,
                    )
                    if stars <= 2 and (closable or rng.random() < 0.5):
                        follow_up = rated_on + timedelta(days=5)
                        cmd(
                            "record_pioneer_talk",
                            L.record_pioneer_talk,
                            ctx,
                            rid,
                            effective_on=follow_up,
                            member_id=member,
                            talked_by=self.person(rng),
                        )
                        cmd(
                            "record_pioneer_support_pairing",
                            L.record_pioneer_support_pairing,
                            ctx,
                            rid,
                            effective_on=follow_up,
                            member_id=member,
                            partner=self.person(rng),
                        )
                if closable:
                    cmd(
                        "close_pioneer_round", L.close_pioneer_round, ctx, rid, effective_on=date(year, 12, 1)
                    )

        # Star stations (R9.1): most station branches starred in 2022, some raised, a few revoked.
        for station in station_orgs:
            if rng.random() >= 0.7:
                continue
            level = rng.choice((3, 3, 4))
            star = cmd(
                "award_station_star",
                L.award_station_star,
                ctx,
                effective_on=date(2022, 6, rng.randint(1, 28)),
                org_id=station,
                level=level,
                awarding_body=f"{county}市场监管局",
            )
            roll = rng.random()
            if roll < 0.3:
                cmd(
                    "raise_station_star",
                    L.raise_station_star,
                    ctx,
                    star,
                    effective_on=date(2024, 6, rng.randint(1, 28)),
                    level=5,
                    awarding_body=f"{county}市场监管局",
                )
            elif roll < 0.4:
                cmd(
                    "revoke_station_star",
                    L.revoke_station_star,
                    ctx,
                    star,
                    effective_on=date(2025, 3, rng.randint(1, 28)),
                    reason="复核未达标",
                )

        # 薪火 demonstrations (R9.2, R9.3): organisations, and member households in their entities.
        industries = [None, *FocusIndustry]
        for org in standalone:
            if rng.random() >= 0.05:
                continue
            demonstration = cmd(
                "award_xinhuo_demonstration",
                L.award_xinhuo_demonstration,
                ctx,
                effective_on=self.day(date(2022, 3, 1), date(2025, 12, 31), rng),
                awarding_body=f"{county}市场监管局",
                org_id=org,
                focus_industry=rng.choice(industries),
            )
            if rng.random() < 0.1:
                cmd(
                    "revoke_xinhuo_demonstration",
                    L.revoke_xinhuo_demonstration,
                    ctx,
                    demonstration,
                    effective_on=date(2026, 3, 1),
                    reason="复核撤销",
                )
        for org, group in org_entities.items():
            if rng.random() >= 0.05 or not members_of[org]:
                continue
            cmd(
                "award_xinhuo_demonstration",
                L.award_xinhuo_demonstration,
                ctx,
                effective_on=self.day(date(2022, 3, 1), date(2025, 12, 31), rng),
                awarding_body=f"{county}市场监管局",
                member_id=members_of[org][0],
                entity_id=rng.choice(group),
                focus_industry=rng.choice(industries),
            )

        # Market standardisation (六化, R4): half the markets enrolled in a scope of their kind, most of
        # the six criteria met with their evidence, a few lapsed.
        for entity, kind in entities:
            if kind not in _MARKETS or rng.random() >= 0.5:
                continue
            scopes = list(MarketScope) if kind == EntityKind.FARMERS_MARKET else _NON_FARMERS_SCOPES
            enrolled_on = date(2022, rng.randint(1, 12), rng.randint(1, 28))
            record = cmd(
                "enroll_market_standardisation",
                L.enroll_market_standardisation,
                ctx,
                effective_on=enrolled_on,
                entity_id=entity,
                scope=rng.choice(scopes),
            )
            for criterion in StandardisationCriterion:
                if rng.random() >= 0.8:
                    continue
                evidence_on = date(rng.choice((2023, 2024, 2025)), rng.randint(3, 12), rng.randint(1, 28))
                education = criterion == StandardisationCriterion.EDUCATION
                guarantees = criterion == StandardisationCriterion.GUARANTEES
                cmd(
                    "record_market_criterion_met",
                    L.record_market_criterion_met,
                    ctx,
                    record,
                    effective_on=evidence_on,
                    criterion=criterion,
                    evidence=f"{criterion.value}台账",
                    evidence_on=evidence_on,
                    training_dates=[date(evidence_on.year, 1, 10), evidence_on] if education else None,
                    party_affairs_workers=rng.randint(1, 2) if guarantees else None,
                )
                if rng.random() < 0.05:
                    cmd(
                        "record_market_criterion_lapsed",
                        L.record_market_criterion_lapsed,
                        ctx,
                        record,
                        effective_on=date(2026, 4, 1),
                        criterion=criterion,
                        reason="年度复核未达标",
                    )

    def member(
        self, county: str, org: UUID, branch: UUID, o_index: int, m: int, late: bool = False
    ) -> tuple[UUID, Affiliation, date | None]:
        """Register one member; return (id, affiliation, the earliest 转正 date if probationary)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            affiliation, rel, rel_name = Affiliation.SUBORDINATE, branch, ""
        elif roll < 0.85:
            affiliation, rel, rel_name = Affiliation.LOCAL, None, f"{county}某街道党工委"
        else:
            affiliation, rel, rel_name = (
                Affiliation.MOBILE,
                None,
                rng.choice(("温州市某镇党委", "阜阳市某村党支部")),
            )
        form_date = self.day(date(2021, 9, 1), date(2021, 12, 31))
        probationary = not late and rng.random() < 0.08
        admitted = form_date - timedelta(
            days=rng.randrange(30, 300) if probationary else rng.randrange(400, 9000)
        )
        member = self.run_command(
            "register_member",
            self.ledger.register_member,
            self.late_ctx if late else self.ctx,
            effective_on=form_date,
            unit_name=f"{county}单位{o_index:05d}",
            name=self.person(),
            mobile=self.mobile(),
            is_business_owner=rng.random() < 0.7,
            household_district=rng.choice(("杭州市", "温州市", "安徽省阜阳市", "江西省上饶市")),
            life_org_ids=[org],
            category=MemberCategory.PROBATIONARY if probationary else MemberCategory.FULL,
            admitted_on=admitted,
            affiliation=affiliation,
            distribution=Distribution.MARKET_INDIVIDUAL_BUSINESS,
            form_date=form_date,
            filled_by_name=self.person(),
            filled_by_phone="0571-8" + str(rng.randrange(1000000, 9999999)),
            relationship_org_id=rel,
            relationship_org_name=rel_name,
            id=self.id("member", org, m, "late" if late else ""),
        )
        probation_ends = admitted + timedelta(days=400) if probationary else None
        return member, affiliation, probation_ends


def generate(
    ledger: Ledger,
    scale: float,
    seed: int = 2018,
    progress: Callable[[str], None] | None = None,
    regions_of: float | None = None,
) -> Summary:
    """Record the synthetic province of ``scale`` through ``ledger`` (a ``Ledger`` or a ``BulkLedger``);
    ``regions_of``: in the regions of the province of that scale (``Shape.of``)."""
    before = event_count(ledger)
    started = time.perf_counter()
    summary = _Generator(ledger, Shape.of(scale, regions_of), seed, progress).run()
    summary.seconds = time.perf_counter() - started
    summary.events = event_count(ledger) - before
    return summary


def default_mode(scale: float) -> str:
    return "bulk" if scale >= BULK_FROM_SCALE else "commands"


def iter_counts(summary: Summary) -> Iterator[str]:
    yield (
        f"scale {summary.scale} seed {summary.seed} ({summary.mode}): {summary.entities} entities, "
        f"{summary.organizations} organisations, {summary.members} members, {summary.commands} commands, "
        f"{summary.events} events in {summary.seconds:.1f} s ({summary.events_per_second:,.0f} events/s)"
    )
    for name, n in summary.counts.items():
        yield f"  {name}: {n}"


def main(argv: list[str] | None = None) -> int:
    from infra.settings import Settings
    from infra.store import build, ledger_env

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.001, help="1.0: 1M entities, >10M events")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--regions-of", type=float, help="the cities and counties of this scale's province")
    parser.add_argument("--mode", choices=("auto", "commands", "bulk"), default="auto")
    parser.add_argument("--database-url", help="default: DANGJIAN_DATABASE_URL")
    parser.add_argument("--schema", help="default: DANGJIAN_DATABASE_SCHEMA (must exist)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"demo_when_empty": False}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.schema:
        overrides["database_schema"] = args.schema
    settings = Settings(**overrides)
    container = build(settings)
    mode = default_mode(args.scale) if args.mode == "auto" else args.mode
    ledger: Ledger = (
        BulkLedger(ledger_env(settings), vault=container.ledger.vault) if mode == "bulk" else container.ledger
    )
    try:
        summary = generate(
            ledger, args.scale, args.seed, lambda s: print(s, file=sys.stderr), regions_of=args.regions_of
        )
        for line in iter_counts(summary):
            print(line)
    finally:
        if ledger is not container.ledger:
            ledger.close()
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

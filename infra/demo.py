"""A realistic demo data set for a city like Jiaxing (嘉兴), built from the figures of source 001.

- 42 market party organisations, 39 set up alone and 3 jointly (covering 7 markets), with 501
  members between them (R4 figures seen in 001);
- a street-block branch (街区党支部) of 10 members among 210 shops, reached by its guidance
  officer (work coverage);
- the city association organisation with a branch association per county, an agency branch and
  station branches; small and micro enterprises with and without organisations, a few suspended.

Everything goes through the ledger's commands, so every rule applies. The generator is
deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID, uuid5

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.values import (
    ActivityType,
    Affiliation,
    Distribution,
    EntityKind,
    EntityStatus,
    Formation,
    MarketScope,
    MemberCategory,
    OrgKind,
    StandardisationCriterion,
    credit_code_check_char,
)

CITY = "330400"
COUNTIES = {
    "330402": "南湖区",
    "330411": "秀洲区",
    "330421": "嘉善县",
    "330424": "海盐县",
    "330481": "海宁市",
    "330482": "平湖市",
    "330483": "桐乡市",
}
MARKET_ORGS_STANDALONE = 39
JOINT_ORG_SIZES = (3, 2, 2)
MARKET_MEMBERS = 501
STREET_BLOCK_SHOPS = 210
STREET_BLOCK_MEMBERS = 10
UNCOVERED_MARKETS = 8
WORK_COVERED_MARKETS = 5
ENTERPRISES_WITH_ORG = 6
UNCOVERED_BUSINESSES = 60
SUSPENDED_BUSINESSES = 4
STANDARDISED_MARKETS = 13  # source 001: 13 markets standardised
DEMO_YEAR = 2025

_ORG_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_NS = UUID("6f1d3c2a-4b5e-4d7f-8a9b-0c1d2e3f4a5b")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉兵建国志红霞峰"
MARKET_WORDS = (
    "农贸市场",
    "小商品市场",
    "水产市场",
    "服装市场",
    "五金市场",
    "果蔬批发市场",
    "建材市场",
)
INDUSTRIES = ("食品销售", "农副产品", "服装鞋帽", "五金建材", "餐饮服务", "日用百货", "电子商务")


@dataclass
class DemoSummary:
    entities: int = 0
    organizations: int = 0
    market_organizations: int = 0
    members: int = 0
    market_members: int = 0
    standalone_covered: int = 0
    joint_covered: int = 0
    work_covered: int = 0
    suspended: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Demo:
    def __init__(self, ledger: Ledger, seed: int, progress: Callable[[int], None] | None) -> None:
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.ctx = CommandContext.new("demo")
        self.summary = DemoSummary()
        self.progress = progress
        self.serial = 0
        self.start = date(2024, 1, 8)

    def _tick(self) -> None:
        self.serial += 1
        if self.progress:
            self.progress(self.serial)

    def day(self, lo: int = 0, hi: int = 500) -> date:
        """A business date ``lo`` to ``hi`` days after the demo's start."""
        return self.start + timedelta(days=self.rng.randrange(lo, hi))

    def id(self, *parts: object) -> UUID:
        return uuid5(_NS, "/".join(map(str, parts)))

    def credit_code(self, region: str, individual: bool) -> str:
        head = ("92" if individual else "91") + region
        body = "".join(self.rng.choice(_ORG_CODE_ALPHABET) for _ in range(9))
        return head + body + credit_code_check_char(head + body)

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2))
        )

    def mobile(self) -> str:
        return "1" + self.rng.choice("3456789") + "".join(self.rng.choice("0123456789") for _ in range(9))

    def entity(self, name: str, kind: EntityKind, region: str, industry: str) -> UUID:
        individual = kind == EntityKind.INDIVIDUAL_BUSINESS
        result = self.ledger.register_entity(
            self.ctx,
            effective_on=self.start - timedelta(days=self.rng.randrange(0, 2000)),
            credit_code=self.credit_code(region, individual),
            name=name,
            kind=kind,
            industry=industry,
            region_code=region,
            station=self.station(region),
        )
        self.summary.entities += 1
        self._tick()
        return result.id

    def station(self, region: str) -> str:
        return f"{COUNTIES[region]}{'城东' if int(region) % 2 else '城西'}市场监管所"

    def org(
        self,
        name: str,
        kind: OrgKind,
        formation: Formation,
        region: str,
        entity_ids: list[UUID],
        parent: UUID | None,
    ) -> UUID:
        result = self.ledger.establish_organization(
            self.ctx,
            effective_on=self.day(0, 150),
            name=name,
            kind=kind,
            formation=formation,
            region_code=region,
            entity_ids=entity_ids,
            parent_id=parent,
            id=self.id("org", name),
        )
        self.summary.organizations += 1
        self._tick()
        return result.id

    def member(
        self,
        unit: str,
        life_org: UUID,
        affiliation: Affiliation,
        relationship: UUID | None,
        relationship_name: str,
        distribution: Distribution,
        entity_id: UUID | None,
    ) -> UUID:
        form_date = self.day(180, 500)
        probationary = self.rng.random() < 0.08
        admitted = form_date - timedelta(
            days=self.rng.randrange(30, 300) if probationary else self.rng.randrange(400, 9000)
        )
        result = self.ledger.register_member(
            self.ctx,
            effective_on=form_date,
            unit_name=unit,
            name=self.person(),
            mobile=self.mobile(),
            is_business_owner=self.rng.random() < 0.7,
            household_district=self.rng.choice([*COUNTIES.values(), "温州市", "安徽省阜阳市"]),
            life_org_ids=[life_org],
            category=MemberCategory.PROBATIONARY if probationary else MemberCategory.FULL,
            admitted_on=admitted,
            affiliation=affiliation,
            distribution=distribution,
            form_date=form_date,
            filled_by_name=self.person(),
            filled_by_phone="0573-8" + str(self.rng.randrange(1000000, 9999999)),
            relationship_org_id=relationship,
            relationship_org_name=relationship_name,
            entity_id=entity_id,
        )
        self.summary.members += 1
        self._tick()
        return result.id

    def run(self) -> DemoSummary:
        rng = self.rng
        counties = list(COUNTIES)
        association = self.org("嘉兴市个私协会党委", OrgKind.ASSOCIATION, Formation.REGIONAL, CITY, [], None)
        branches = {
            c: self.org(
                f"{COUNTIES[c]}个私协会分会党支部",
                OrgKind.BRANCH_ASSOCIATION,
                Formation.REGIONAL,
                c,
                [],
                association,
            )
            for c in counties
        }
        self.org("嘉兴市市场监管局机关党支部", OrgKind.AGENCY_BRANCH, Formation.REGIONAL, CITY, [], None)
        stations = {
            c: self.org(f"{self.station(c)}党支部", OrgKind.STATION_BRANCH, Formation.REGIONAL, c, [], None)
            for c in counties
        }

        # 42 market organisations: 39 standalone, 3 joint (source 001).
        market_orgs: list[tuple[UUID, str, UUID, str]] = []  # (org, unit name, entity, county)
        for i in range(MARKET_ORGS_STANDALONE):
            county = counties[i % len(counties)]
            name = f"{COUNTIES[county]}{rng.choice(MARKET_WORDS)}{i + 1:02d}"
            kind = EntityKind.FARMERS_MARKET if "农贸" in name else EntityKind.COMMODITY_MARKET
            entity = self.entity(name, kind, county, "商品交易市场")
            org = self.org(
                f"{name}党支部",
                OrgKind.MARKET,
                Formation.STANDALONE,
                county,
                [entity],
                branches[county],
            )
            market_orgs.append((org, name, entity, county))
            self.summary.standalone_covered += 1
        for j, size in enumerate(JOINT_ORG_SIZES):
            county = counties[j]
            names = [f"{COUNTIES[county]}联建市场{j + 1}-{k + 1}" for k in range(size)]
            entities = [self.entity(n, EntityKind.PROFESSIONAL_MARKET, county, "商品交易市场") for n in names]
            org = self.org(
                f"{COUNTIES[county]}市场联合党支部{j + 1}",
                OrgKind.MARKET,
                Formation.JOINT,
                county,
                entities,
                branches[county],
            )
            market_orgs.append((org, names[0], entities[0], county))
            self.summary.joint_covered += size
        self.summary.market_organizations = len(market_orgs)

        members_of: dict[UUID, list[UUID]] = {}
        mobile: list[tuple[UUID, UUID, str]] = []  # (member, business-place organisation, relationship)

        # 501 members among the market organisations: 隶属, 属地 and 流动 (R2.1, R2.2).
        for n in range(MARKET_MEMBERS):
            org, unit, entity, county = market_orgs[n % len(market_orgs)]
            roll = rng.random()
            if roll < 0.5:
                affiliation, rel, rel_name = Affiliation.SUBORDINATE, branches[county], ""
            elif roll < 0.85:
                affiliation, rel, rel_name = (
                    Affiliation.LOCAL,
                    None,
                    f"{COUNTIES[county]}某街道党工委",
                )
            else:
                affiliation, rel, rel_name = (
                    Affiliation.MOBILE,
                    None,
                    rng.choice(["温州市某镇党委", "阜阳市某村党支部", "金华市某社区党委"]),
                )
            member = self.member(
                unit, org, affiliation, rel, rel_name, Distribution.MARKET_INDIVIDUAL_BUSINESS, entity
            )
            members_of.setdefault(org, []).append(member)
            if affiliation == Affiliation.MOBILE:
                mobile.append((member, org, rel_name))
            self.summary.market_members += 1

        # Markets with no organisation: some reached by the station's guidance officer.
        for i in range(UNCOVERED_MARKETS + WORK_COVERED_MARKETS):
            county = counties[i % len(counties)]
            entity = self.entity(
                f"{COUNTIES[county]}待建市场{i + 1:02d}",
                EntityKind.FARMERS_MARKET,
                county,
                "商品交易市场",
            )
            if i < WORK_COVERED_MARKETS:
                self.ledger.assign_guidance_officer(
                    self.ctx,
                    stations[county],
                    effective_on=self.day(150, 500),
                    officer=f"指导员{self.person()}",
                    entity_ids=[entity],
                )
                self.summary.work_covered += 1
                self._tick()

        # A street-block branch of 10 members among 210 shops (work coverage).
        county = counties[0]
        shops = [
            self.entity(
                f"{COUNTIES[county]}月河街区{self.person()}个体店{i + 1:03d}",
                EntityKind.INDIVIDUAL_BUSINESS,
                county,
                rng.choice(INDUSTRIES),
            )
            for i in range(STREET_BLOCK_SHOPS)
        ]
        block = self.org(
            "月河街区党支部", OrgKind.STREET_BLOCK, Formation.REGIONAL, county, [], branches[county]
        )
        self.ledger.assign_guidance_officer(
            self.ctx,
            block,
            effective_on=self.day(150, 500),
            officer="街区党建指导员",
            entity_ids=shops,
        )
        self.summary.work_covered += STREET_BLOCK_SHOPS
        self._tick()
        for i in range(STREET_BLOCK_MEMBERS):
            self.member(
                f"月河街区个体店{i + 1:03d}",
                block,
                Affiliation.LOCAL,
                None,
                f"{COUNTIES[county]}月河社区党委",
                Distribution.INDIVIDUAL_BUSINESS,
                shops[i],
            )

        # Small and micro enterprises: some with their own organisation, many without.
        for i in range(ENTERPRISES_WITH_ORG):
            county = counties[i % len(counties)]
            name = f"嘉兴{rng.choice(INDUSTRIES)}有限公司{i + 1:02d}"
            entity = self.entity(name, EntityKind.MICRO_ENTERPRISE, county, rng.choice(INDUSTRIES))
            self.org(
                f"{name}党支部",
                OrgKind.ENTERPRISE,
                Formation.STANDALONE,
                county,
                [entity],
                branches[county],
            )
            self.summary.standalone_covered += 1
        for i in range(UNCOVERED_BUSINESSES):
            county = counties[i % len(counties)]
            kind = EntityKind.INTERNET_ENTERPRISE if i % 10 == 0 else EntityKind.INDIVIDUAL_BUSINESS
            entity = self.entity(
                f"{COUNTIES[county]}{self.person()}经营部{i + 1:02d}",
                kind,
                county,
                rng.choice(INDUSTRIES),
            )
            if i < SUSPENDED_BUSINESSES:
                self.ledger.change_entity_status(
                    self.ctx,
                    entity,
                    effective_on=self.day(200, 600),
                    status=EntityStatus.SUSPENDED,
                    reason="停歇业",
                )
                self.summary.suspended += 1
                self._tick()
        self.year_of_work(market_orgs, members_of, mobile, list(stations.values()))
        return self.summary

    def year_of_work(
        self,
        market_orgs: list[tuple[UUID, str, UUID, str]],
        members_of: dict[UUID, list[UUID]],
        mobile: list[tuple[UUID, UUID, str]],
        stations: list[UUID],
    ) -> None:
        """2025 so far: themed party days and trainings (R7, R10), the mobile-member chain (R6), star
        stations (R9.1) and the 13 standardised markets of source 001 (R4)."""
        rng, ctx, year = self.rng, self.ctx, DEMO_YEAR
        for n, (org, _, _, _) in enumerate(market_orgs):
            attendees = members_of.get(org, [])
            months = range(1, 10) if n % 2 == 0 else sorted(rng.sample(range(1, 10), 5))
            for month in months:
                self.ledger.hold_activity(
                    ctx, effective_on=date(year, month, rng.randint(1, 28)), org_id=org,
                    activity_type=ActivityType.THEMED_PARTY_DAY, topic=f"{month}月主题党日", host="支部书记",
                    participant_ids=[m for m in attendees if rng.random() < 0.8],
                )  # fmt: skip
                self._tick()
            for month in (3, 9):
                self.ledger.hold_activity(
                    ctx, effective_on=date(year, month, rng.randint(1, 28)), org_id=org,
                    activity_type=ActivityType.TRAINING, topic="党员集中培训", host="个私协会",
                    participant_ids=[m for m in attendees if rng.random() < 0.9],
                )  # fmt: skip
                self._tick()
        for n, (member, org, relationship) in enumerate(mobile):
            registered = self.ledger.register_mobile_round(
                ctx, effective_on=date(year, 2, 10), member_id=member, year=year, business_org_id=org
            ).id
            self._tick()
            if n % 5 == 4:
                continue  # still waiting for the relationship organisation
            self.ledger.confirm_mobile_identity(
                ctx, registered, effective_on=date(year, 3, 5), certificate_ref=f"证明{year}-{n:03d}",
                confirming_org_name=relationship,
            )  # fmt: skip
            self.ledger.file_mobile_activities(
                ctx, registered, effective_on=date(year, 9, 30),
                activities=[{"on": date(year, 6, 15), "description": "参加主题党日"}],
            )  # fmt: skip
            self._tick()
            if n % 5 < 2:
                self.ledger.issue_mobile_feedback(
                    ctx, registered, effective_on=date(year, 10, 20), assessment="表现良好",
                    secretary_name="支部书记", feedback_form_ref=f"反馈表{n:03d}", letter_ref=f"函{n:03d}",
                )  # fmt: skip
                if n % 5 == 0:
                    self.ledger.return_mobile_receipt(
                        ctx, registered, effective_on=date(year, 11, 10), archive_ref=f"回执{n:03d}"
                    )
                self._tick()
        for station, level in zip(stations, (5, 5, 4, 4, 3, 3), strict=False):
            self.ledger.award_station_star(
                ctx,
                effective_on=date(year - 1, 12, 20),
                org_id=station,
                level=level,
                awarding_body="嘉兴市市场监管局",
            )
            self._tick()
        for n, (_, _, entity, _) in enumerate(market_orgs[: STANDARDISED_MARKETS + 3]):
            farmers = self.ledger.get_entity(entity).kind == EntityKind.FARMERS_MARKET
            scope = MarketScope.COUNTY_CENTRAL_FARMERS if farmers else MarketScope.REGIONAL_KEY
            enrolled = self.ledger.enroll_market_standardisation(
                ctx, effective_on=date(year, 1, 15), entity_id=entity, scope=scope
            ).id
            criteria = list(StandardisationCriterion)
            for criterion in criteria if n < STANDARDISED_MARKETS else criteria[:4]:
                self.ledger.record_market_criterion_met(
                    ctx, enrolled, effective_on=date(year, 10, 10), criterion=criterion,
                    evidence="现场核查", evidence_on=date(year, 10, 9),
                    training_dates=[date(year, 3, 20), date(year, 9, 18)]
                    if criterion == StandardisationCriterion.EDUCATION else None,
                    party_affairs_workers=2 if criterion == StandardisationCriterion.GUARANTEES else None,
                )  # fmt: skip
            self._tick()


def load_demo(ledger: Ledger, seed: int = 2018, progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Record the demo data set through the ledger's commands."""
    return _Demo(ledger, seed, progress).run()


def demo_event_estimate() -> int:
    """Roughly how many commands the demo runs (for a progress bar)."""
    markets = MARKET_ORGS_STANDALONE + sum(JOINT_ORG_SIZES) + UNCOVERED_MARKETS + WORK_COVERED_MARKETS
    return (
        markets
        + STREET_BLOCK_SHOPS
        + ENTERPRISES_WITH_ORG
        + UNCOVERED_BUSINESSES
        + 20
        + MARKET_ORGS_STANDALONE
        + len(JOINT_ORG_SIZES)
        + MARKET_MEMBERS
        + STREET_BLOCK_MEMBERS
        + WORK_COVERED_MARKETS
        + ENTERPRISES_WITH_ORG
        + SUSPENDED_BUSINESSES
    )

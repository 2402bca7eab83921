"""Property: whatever commands run, the stored events rebuild exactly the state the commands left,
and the coverage invariants (R13.1, R13.2) and membership invariants (R2.1, R2.2) hold.

Random sequences of commands run against a fresh in-memory ledger (the ``memory_ledger`` setup,
built per example because hypothesis runs many examples in one test call). Commands that break a
rule raise ``DomainError`` and must record nothing; any other exception fails the test. The
aggregates each command saved (the live objects) are captured by wrapping ``Ledger.save``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.errors import DomainError
from domain.market_entity import MarketEntity
from domain.member import Member
from domain.organization import JOINT_MAX, JOINT_MIN, PartyOrganization
from domain.values import (
    ASSOCIATION_KINDS,
    Affiliation,
    EntityKind,
    EntityStatus,
    Formation,
    OrgKind,
)
from tests.conftest import TODAY
from tests.domain.helpers import new_memory_ledger, position, replay, state
from tests.factories import DAY, credit_code, entity_fields, member_fields

_rng = random.Random(20251120)
CODES = [credit_code(rng=_rng) for _ in range(24)]
CODES.append(CODES[0][:17] + ("0" if CODES[0][17] != "0" else "1"))  # check digit fails
OFFICERS = ["王五", "赵六", "钱七", " "]
MOBILES = ["13805730000", "139 0573 0001", "138-0573-0002", "12805730000"]
NAMES = ["南湖区某某农贸市场", "南湖区新市场", " "]
REGIONS = ["330402", "330411", "3304"]

# mostly valid dates; one in 40 lies too far ahead (R1.3)
days = st.integers(min_value=0, max_value=39).map(
    lambda n: TODAY + timedelta(days=2) if n == 39 else DAY + timedelta(days=n)
)
ix = st.integers(min_value=0, max_value=30)
ixs = st.lists(ix, max_size=6)

register = st.tuples(st.just("register"), ix, days)
# mostly the number of entities the formation allows (R13.2), sometimes one too many
_sizes = {Formation.STANDALONE: (1, 2), Formation.JOINT: (2, 6), Formation.REGIONAL: (0, 1)}
establish = st.sampled_from(list(Formation)).flatmap(
    lambda formation: st.tuples(
        st.just("establish"),
        st.just(formation),
        st.sampled_from(list(OrgKind)),
        st.lists(ix, min_size=_sizes[formation][0], max_size=_sizes[formation][1]),
        st.none() | ix,
        days,
    )
)
add = st.tuples(st.just("add"), ix, ix, days)
remove = st.tuples(st.just("remove"), ix, ix, days)
assign = st.tuples(st.just("assign"), ix, ix, ixs, days)
withdraw = st.tuples(st.just("withdraw"), ix, ix, days)
dissolve = st.tuples(st.just("dissolve"), ix, days)
status = st.tuples(st.just("status"), ix, st.sampled_from(list(EntityStatus)), days)
correct_entity = st.tuples(
    st.just("correct_entity"), ix, st.sampled_from(["name", "kind", "region_code", "credit_code"]), ix, days
)
register_member = st.tuples(
    st.just("register_member"),
    st.lists(ix, min_size=1, max_size=3),
    st.none() | ix,
    st.sampled_from(list(Affiliation)),
    ix,
    days,
)
transfer = st.tuples(
    st.just("transfer"), ix, st.none() | ix, st.none() | st.sampled_from(list(Affiliation)), days
)
join = st.tuples(st.just("join"), ix, ix, days)
leave = st.tuples(st.just("leave"), ix, ix, days)
correct_member = st.tuples(
    st.just("correct_member"), ix, st.sampled_from(["mobile", "name", "is_business_owner"]), ix, days
)
any_command = st.lists(
    st.one_of(
        register,
        register,
        establish,
        establish,
        add,
        remove,
        assign,
        withdraw,
        dissolve,
        status,
        correct_entity,
        register_member,
        transfer,
        join,
        leave,
        correct_member,
    ),
    min_size=10,
    max_size=60,
)
# a few entities and organisations first, so that later commands have something to aim at
commands = st.builds(
    lambda entities, orgs, members, rest: entities + orgs + members + rest,
    st.lists(register, min_size=3, max_size=10),
    st.lists(establish, min_size=1, max_size=5),
    st.lists(register_member, max_size=3),
    any_command,
)


def pick(ids: list[UUID], i: int | None) -> UUID | None:
    if i is None or not ids:
        return None
    return ids[i % len(ids)]


class Run:
    """A fresh in-memory ledger, the ids it knows and the live aggregates each command saved."""

    def __init__(self) -> None:
        self.ledger: Ledger = new_memory_ledger()
        self.live: dict[UUID, Any] = {}
        self.entities: list[UUID] = []
        self.orgs: list[UUID] = []
        self.members: list[UUID] = []
        self.officers: list[tuple[UUID, str]] = []  # (organisation, officer) assigned so far
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        save = self.ledger.save

        def capture(*aggregates: Any, **kwargs: Any) -> Any:
            recordings = save(*aggregates, **kwargs)
            for aggregate in aggregates:
                self.live[aggregate.id] = aggregate
            return recordings

        self.ledger.save = capture  # type: ignore[method-assign]

    def run(self, op: tuple[Any, ...]) -> None:
        name, *args = op
        ctx = CommandContext.new(f"prop-{name}")
        command = self._command(name, ctx, *args)
        if command is None:  # nothing to aim at yet
            return
        before = position(self.ledger)
        try:
            result = command()
        except DomainError as e:
            assert position(self.ledger) == before, f"rejected {op} recorded events"
            self.rejected[name] += 1
            self.errors[f"{name}: {e.code}"] += 1
            return
        self.accepted[name] += 1
        assert result.position == position(self.ledger) > before
        if name == "assign":
            self.officers.append((result.id, OFFICERS[args[1] % len(OFFICERS)].strip()))
        ids = {"register": self.entities, "establish": self.orgs, "register_member": self.members}
        if name in ids and result.id not in ids[name]:
            ids[name].append(result.id)

    def _command(self, name: str, ctx: CommandContext, *a: Any) -> Callable[[], Any] | None:
        ledger, ents, orgs, mems = self.ledger, self.entities, self.orgs, self.members
        if name == "register":
            code_i, day = a
            fields = entity_fields(effective_on=day)
            fields["credit_code"] = CODES[code_i % len(CODES)]
            return lambda: ledger.register_entity(ctx, **fields)
        if name == "establish":
            formation, kind, entity_is, parent_i, day = a
            pool = list(ents)  # distinct entities: the unit tests cover one listed twice
            entity_ids = [pool.pop(i % len(pool)) for i in entity_is if pool]
            return lambda: ledger.establish_organization(
                ctx,
                effective_on=day,
                name="某党支部",
                kind=kind,
                formation=formation,
                region_code="330402",
                entity_ids=entity_ids,
                parent_id=pick(orgs, parent_i),
            )
        if name == "register_member":
            life_is, rel_i, affiliation, mobile_i, day = a
            life = [pick(orgs, i) for i in life_is] if orgs else []
            fields = member_fields(
                life,
                effective_on=day,
                affiliation=affiliation,
                mobile=MOBILES[mobile_i % len(MOBILES)],
                relationship_org_id=pick(orgs, rel_i),
            )
            return lambda: ledger.register_member(ctx, **fields)
        if name in ("add", "remove"):
            org_i, ent_i, day = a
            org_id, entity_id = pick(orgs, org_i), pick(ents, ent_i)
            if org_id is None or entity_id is None:
                return None
            if name == "add":
                return lambda: ledger.add_organization_entity(
                    ctx, org_id, effective_on=day, entity_id=entity_id
                )
            return lambda: ledger.remove_organization_entity(
                ctx, org_id, effective_on=day, entity_id=entity_id, reason="迁出"
            )
        if name in ("assign", "withdraw"):
            org_id = pick(orgs, a[0])
            if org_id is None:
                return None
            officer = OFFICERS[a[1] % len(OFFICERS)]
            if name == "assign":
                entity_ids = [pick(ents, i) for i in a[2]] if ents else []
                return lambda: ledger.assign_guidance_officer(
                    ctx, org_id, effective_on=a[3], officer=officer, entity_ids=entity_ids
                )
            if self.officers and a[1] % 2:  # half the time one that was assigned
                org_id, officer = self.officers[a[1] % len(self.officers)]
            return lambda: ledger.withdraw_guidance_officer(
                ctx, org_id, effective_on=a[2], officer=officer, reason="调岗"
            )
        if name == "dissolve":
            org_id = pick(orgs, a[0])
            if org_id is None:
                return None
            return lambda: ledger.dissolve_organization(ctx, org_id, effective_on=a[1], reason="撤销")
        if name in ("status", "correct_entity"):
            entity_id = pick(ents, a[0])
            if entity_id is None:
                return None
            if name == "status":
                return lambda: ledger.change_entity_status(
                    ctx, entity_id, effective_on=a[2], status=a[1], reason="核查"
                )
            field, value_i, day = a[1:]
            values = {
                "name": NAMES,
                "kind": list(EntityKind),
                "region_code": REGIONS,
                "credit_code": CODES,
            }[field]
            changes = {field: values[value_i % len(values)]}
            return lambda: ledger.correct_entity(
                ctx, entity_id, effective_on=day, changes=changes, reason="核对"
            )
        member_id = pick(mems, a[0])
        if member_id is None:
            return None
        if name == "transfer":
            to_i, affiliation, day = a[1:]
            target = pick(orgs, to_i)
            where: dict[str, Any] = {"to_org_id": target} if target else {"to_org_name": "外省某镇党委"}
            return lambda: ledger.transfer_member_relationship(
                ctx, member_id, effective_on=day, affiliation=affiliation, **where
            )
        if name in ("join", "leave"):
            org_id = pick(orgs, a[1])
            if org_id is None:
                return None
            method = ledger.join_life_organization if name == "join" else ledger.leave_life_organization
            return lambda: method(ctx, member_id, effective_on=a[2], org_id=org_id)
        assert name == "correct_member"
        field, value_i, day = a[1:]
        values = {"mobile": MOBILES, "name": NAMES, "is_business_owner": [True, False]}[field]
        changes = {field: values[value_i % len(values)]}
        return lambda: ledger.correct_member(ctx, member_id, effective_on=day, changes=changes, reason="核对")


def check_replay(run: Run) -> dict[UUID, Any]:
    """Every aggregate rebuilt from its stored events equals the live object the commands saved."""
    ledger = run.ledger
    stored_ids = {n.originator_id for n in ledger.recorder.select_notifications(start=1, limit=10**6)}
    assert stored_ids == set(run.live)
    rebuilt: dict[UUID, Any] = {}
    for aggregate_id, live in run.live.items():
        from_repository = ledger.repository.get(aggregate_id)
        folded = replay(ledger, aggregate_id)
        assert type(from_repository) is type(folded) is type(live)
        assert state(from_repository) == state(live)
        assert state(folded) == state(live)
        assert live.version == len(list(ledger.events.get(aggregate_id)))
        rebuilt[aggregate_id] = folded
    assert sum(a.version for a in rebuilt.values()) == position(ledger)
    return rebuilt


def check_invariants(aggregates: dict[UUID, Any]) -> None:
    entities = {k: v for k, v in aggregates.items() if isinstance(v, MarketEntity)}
    orgs = {k: v for k, v in aggregates.items() if isinstance(v, PartyOrganization)}
    members = {k: v for k, v in aggregates.items() if isinstance(v, Member)}
    assert len(entities) + len(orgs) + len(members) == len(aggregates)

    covering: dict[UUID, list[UUID]] = {e: [] for e in entities}
    for org_id, org in orgs.items():
        assert len(set(org.entity_ids)) == len(org.entity_ids)
        if org.dissolved:
            assert org.entity_ids == [] and org.guidance == {}
            continue
        count = len(org.entity_ids)
        if org.formation == Formation.STANDALONE:
            assert count == 1
        elif org.formation == Formation.JOINT:
            assert JOINT_MIN <= count <= JOINT_MAX
        else:
            assert org.formation == Formation.REGIONAL and count == 0
        for entity_id in org.entity_ids:
            covering[entity_id].append(org_id)
        for officer, reached in org.guidance.items():
            assert officer.strip() == officer != ""
            assert reached and len(set(reached)) == len(reached)
            assert all(e in entities for e in reached)
        if org.parent_id is not None:
            assert org.parent_id in orgs and org.parent_id != org_id

    for entity_id, entity in entities.items():
        assert entity.status in set(EntityStatus)
        owners = covering[entity_id]
        if entity.organization_id is None:
            assert owners == [] and entity.formation is None
        else:
            assert owners == [entity.organization_id]
            assert entity.formation == orgs[entity.organization_id].formation

    for m in members.values():
        assert m.life_org_ids and len(set(m.life_org_ids)) == len(m.life_org_ids)
        assert all(o in orgs for o in m.life_org_ids)
        assert m.relationship_org_id is not None or m.relationship_org_name.strip()
        if m.relationship_org_id is not None:
            assert m.relationship_org_id in orgs
        if m.affiliation == Affiliation.SUBORDINATE:
            assert m.relationship_org_id is not None
            assert orgs[m.relationship_org_id].kind in ASSOCIATION_KINDS


SCENARIO = [
    ("register", 0, DAY),
    ("register", 1, DAY),
    ("register", 2, DAY),
    ("register", 0, DAY),  # duplicate credit code
    ("register", 24, DAY),  # check digit fails
    # entity indices pick without replacement: [0, 0] is the first two entities
    ("establish", Formation.JOINT, OrgKind.MARKET, [0, 0], None, DAY),
    ("establish", Formation.STANDALONE, OrgKind.ENTERPRISE, [0], None, DAY),  # covered
    ("establish", Formation.REGIONAL, OrgKind.BRANCH_ASSOCIATION, [], 0, DAY),
    ("add", 0, 2, DAY),
    ("assign", 1, 0, [0, 2], DAY),
    ("assign", 1, 1, [1], DAY),
    ("withdraw", 1, 1, DAY),  # the second officer assigned
    ("withdraw", 1, 1, DAY),  # no longer assigned
    ("register_member", [0, 1], 1, Affiliation.SUBORDINATE, 0, DAY),
    ("transfer", 0, None, Affiliation.MOBILE, DAY + timedelta(days=3)),
    ("transfer", 0, 1, Affiliation.SUBORDINATE, DAY + timedelta(days=1)),  # before
    ("status", 2, EntityStatus.SUSPENDED, DAY),
    ("dissolve", 0, DAY + timedelta(days=5)),
    ("establish", Formation.STANDALONE, OrgKind.ENTERPRISE, [1], 1, DAY),
    ("establish", Formation.JOINT, OrgKind.MARKET, [0, 1], None, DAY),  # the third is suspended
    ("status", 2, EntityStatus.OPERATING, DAY),
    ("establish", Formation.JOINT, OrgKind.MARKET, [0, 1], None, DAY),
    ("join", 0, 2, DAY),
    ("leave", 0, 0, DAY),
    ("leave", 0, 2, DAY),
    ("leave", 0, 1, DAY),  # the last one
    ("correct_entity", 0, "name", 1, DAY),
    ("correct_member", 0, "mobile", 1, DAY),
]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(commands)
@example(SCENARIO)
def test_replay_rebuilds_the_live_state_and_the_invariants_hold(
    ops: list[tuple[Any, ...]],
) -> None:
    run = Run()
    for op in ops:
        run.run(op)
    rebuilt = check_replay(run)
    check_invariants(rebuilt)
    check_invariants(run.live)


def test_replay_scenario_accepts_and_rejects_what_the_rules_say() -> None:
    """The hand-written example above really exercises both paths of the rules."""
    run = Run()
    for op in SCENARIO:
        run.run(op)
    assert run.accepted == Counter(
        register=3,
        establish=4,
        add=1,
        assign=2,
        withdraw=1,
        register_member=1,
        transfer=1,
        status=2,
        dissolve=1,
        join=1,
        leave=2,
        correct_entity=1,
        correct_member=1,
    )
    assert run.rejected == Counter(register=2, establish=2, withdraw=1, transfer=1, leave=1)
    assert run.errors == Counter(
        {
            "register: EntityAlreadyRegistered": 1,
            "register: InvalidCreditCode": 1,
            "establish: EntityAlreadyCovered": 1,
            "establish: EntityNotOperating": 1,
            "withdraw: GuidanceOfficerNotAssigned": 1,
            "transfer: TransferBeforeCurrentRelationship": 1,
            "leave: LifeOrganizationRequired": 1,
        }
    )
    rebuilt = check_replay(run)
    check_invariants(rebuilt)
    e0, e1, e2 = run.entities
    first, _, _, fourth = run.orgs
    assert rebuilt[first].dissolved
    assert rebuilt[e0].organization_id == rebuilt[e2].organization_id == fourth
    assert rebuilt[e1].formation == "standalone"


def test_replay_of_an_empty_store_is_empty() -> None:
    run = Run()
    assert check_replay(run) == {}
    assert position(run.ledger) == 0

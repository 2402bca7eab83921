"""The synthetic province (issue #6, item 1): deterministic for a seed, the same events whichever way it
is recorded, and holding every kind of record the half-year report counts, the evaluations included
(pioneer rounds R5, star stations R9.1, 薪火 R9.2/R9.3, market standardisation R4)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import psycopg
import pytest
from sqlalchemy import event, text

from bench.generate import PAIRED_PER_STATION, BulkLedger, Shape, generate
from domain.activity import Activity
from domain.application import Ledger
from domain.personal import ERASED
from domain.values import ActivityType
from infra.store import Container, ledger_env
from tests.conftest import PG_URL, opened, postgres_settings, require_postgres

SCALE, SEED = 0.0002, 20  # a few counties: every evaluation below occurs at least once
EVALUATIONS = (
    "open_pioneer_round",
    "enrol_pioneer_member",
    "record_pioneer_step",
    "rate_pioneer_member",
    "record_pioneer_talk",
    "record_pioneer_support_pairing",
    "close_pioneer_round",
    "award_station_star",
    "raise_station_star",
    "revoke_station_star",
    "award_xinhuo_demonstration",
    "enroll_market_standardisation",
    "record_market_criterion_met",
    "record_market_criterion_lapsed",
)


def _today() -> date:
    return date(2026, 12, 31)  # the province runs to mid-2026, with corrections in July


def _memory_ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=_today)


def _events(ledger: Ledger) -> Counter[tuple[object, int, str]]:
    """Every stored event as (aggregate id, version, topic), whatever the order it was saved in."""
    notifications = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    return Counter((n.originator_id, n.originator_version, n.topic) for n in notifications)


def test_issue6_the_province_holds_every_evaluation_and_repeats_for_its_seed() -> None:
    first, second = _memory_ledger(), _memory_ledger()
    summary = generate(first, SCALE, seed=SEED)
    assert all(summary.counts.get(name, 0) > 0 for name in EVALUATIONS), summary.counts
    assert generate(second, SCALE, seed=SEED).counts == summary.counts
    assert _events(second) == _events(first)
    other = _memory_ledger()
    generate(other, SCALE, seed=SEED + 1)
    assert _events(other) != _events(first)  # another seed, another province


def test_issue6_bulk_records_the_events_the_commands_record(container: Container) -> None:
    """The bulk path (a write-behind cache saved 1,000 aggregates a transaction) runs the same commands
    as the API does, the pioneer enrolments' reading of their members' stored events included (R5.1)."""
    reference = _memory_ledger()
    expected = generate(reference, SCALE, seed=SEED)
    bulk = BulkLedger(ledger_env(container.settings), vault=container.ledger.vault)
    bulk.today = _today
    try:
        summary = generate(bulk, SCALE, seed=SEED)
    finally:
        bulk.close()
    assert summary.counts == expected.counts and summary.events == expected.events
    assert _events(container.ledger) == _events(reference)


def test_issue6_bulk_makes_the_members_keys_a_flush_at_a_time(container: Container) -> None:
    """The bulk path makes the new members' keys with one statement per flush (``prepare_keys``), not
    with a transaction per member while their events are encrypted (issue #7's keys; issue #6: a
    quarter of the generator's time at scale 1.0). Every member's events still read back decrypted."""
    vault = container.ledger.vault
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "member_keys" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    event.listen(vault.engine, "before_cursor_execute", count)
    bulk = BulkLedger(ledger_env(container.settings), vault=vault)
    bulk.today = _today
    try:
        summary = generate(bulk, SCALE, seed=SEED)
    finally:
        bulk.close()
        event.remove(vault.engine, "before_cursor_execute", count)
    members = summary.counts["register_member"]
    assert members > 100
    assert 0 < len(statements) <= bulk.transactions + members // 200  # 200 rows an insert
    with vault.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM member_keys")) == members
    notifications = container.ledger.recorder.select_notifications(start=1, limit=1_000_000)
    ids = {n.originator_id for n in notifications if n.topic.endswith("Member.Registered")}
    names = [container.ledger.repository.get(i).name for i in ids]
    assert len(names) == members and all(name and name != ERASED for name in names)


def test_issue6_bulk_gathers_the_event_tables_statistics_as_it_doubles(pg_schema: str) -> None:
    """With autovacuum off, a bulk load left the event table without statistics, and PostgreSQL planned
    each load of an aggregate for tens of thousands of rows (a parallel scan with JIT): the scale-1.0
    generation slowed fifteenfold by 2.4 million events. ``BulkLedger`` analyses the table each time
    it has doubled, from ``analyze_from`` events on."""
    require_postgres()
    with opened(postgres_settings(pg_schema)) as container:
        bulk = BulkLedger(ledger_env(container.settings), vault=container.ledger.vault, analyze_from=400)
        bulk.today = _today
        try:
            generate(bulk, SCALE, seed=SEED)
        finally:
            bulk.close()
        assert bulk.saved_events > 800 and 400 <= bulk.analyzed_at <= bulk.saved_events
        with psycopg.connect(PG_URL) as conn:
            analyzed, tuples = conn.execute(
                "SELECT s.last_analyze, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c"
                " ON c.oid = s.relid WHERE s.schemaname = %s AND s.relname = 'ledger_events'",
                (pg_schema,),
            ).fetchone()
        assert analyzed is not None and tuples >= bulk.analyzed_at * 0.9


def test_issue6_a_shorter_history_can_be_recorded_in_a_larger_provinces_regions() -> None:
    # P4's twin: a report of the province asks about as many areas at both scales
    larger = Shape.of(0.1)
    shorter = Shape.of(0.001, regions_of=0.1)
    assert (shorter.counties, shorter.cities) == (larger.counties, larger.cities) == (29, 4)
    assert shorter.entities == Shape.of(0.001).entities == 1_000
    assert Shape.of(0.001).counties < shorter.counties
    own = generate(_memory_ledger(), 0.00002, seed=SEED)
    assert own.entities == 20 and own.regions == ["330100"]  # its own province: one city
    wider = generate(_memory_ledger(), 0.00002, seed=SEED, regions_of=0.01)
    assert wider.entities == 20 and wider.regions == ["330100", "330200"]  # the 0.01 province's two


def test_issue6_a_shape_refuses_a_scale_or_regions_that_are_not_positive_naming_which() -> None:
    with pytest.raises(ValueError, match=r"^scale must be positive, not 0$"):
        Shape.of(0)
    with pytest.raises(ValueError, match=r"^regions_of must be positive, not -1\.0$"):
        Shape.of(0.001, regions_of=-1.0)


def test_issue6_each_station_branch_is_paired_and_meets_and_visits_R10() -> None:
    """R10 "(1+1)+N": each station branch paired with its city's agency branch and with N 小个专
    organisations, an exchange in most quarters for each pairing and a visit in most months to each
    paired organisation, so the report's compliance section counts pairings as a province has them."""
    ledger = _memory_ledger()
    summary = generate(ledger, SCALE, seed=SEED)
    stations = 2 * Shape.of(SCALE).counties
    pairings = summary.counts["pair_organizations"]
    assert pairings == stations * (1 + PAIRED_PER_STATION)
    notifications = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    held = Counter(
        str(event.activity_type)
        for event in map(ledger.mapper.to_domain_event, notifications)
        if isinstance(event, Activity.Held)
    )
    quarters, months = 4 * 4 + 2, 12 * 4 + 6  # 2022 to the cut-off, 30 June 2026
    assert 0.8 * pairings * quarters < held[ActivityType.PAIRING_EXCHANGE] < pairings * quarters
    visits_due = stations * PAIRED_PER_STATION * months
    assert 0.8 * visits_due < held[ActivityType.STATION_VISIT] < visits_due

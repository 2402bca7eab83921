"""An aggregate as of a business date, as known at a moment (domain.timetravel), R1.3 and R3."""

from __future__ import annotations

from datetime import date

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.timetravel import state_as_of, timeline
from tests import factories as f


def test_R1_3_a_late_entry_takes_effect_on_its_own_date(memory_ledger: Ledger, ctx: CommandContext) -> None:
    entity = f.register_entity(memory_ledger, ctx, effective_on=date(2025, 1, 1))
    memory_ledger.change_entity_status(ctx, entity, effective_on=date(2025, 8, 1), status="suspended")
    # entered after the August suspension, effective in March: the March move is history before it
    memory_ledger.correct_entity(
        ctx, entity, effective_on=date(2025, 3, 1), changes={"region_code": "330411"}, reason="补录"
    )
    events = list(memory_ledger.events.get(entity))
    assert state_as_of(events, date(2024, 12, 31)) is None
    january = state_as_of(events, date(2025, 1, 1))
    assert (january.region_code, january.status) == ("330402", "operating")
    april = state_as_of(events, date(2025, 4, 1))
    assert (april.region_code, april.status) == ("330411", "operating")
    september = state_as_of(events, date(2025, 9, 1))
    assert (september.region_code, september.status) == ("330411", "suspended")
    starts = [(day, aggregate.status, aggregate.region_code) for day, aggregate in timeline(events)]
    assert starts == [
        (date(2025, 1, 1), "operating", "330402"),
        (date(2025, 3, 1), "operating", "330411"),
        (date(2025, 8, 1), "suspended", "330411"),
    ]


def test_R3_as_known_at_leaves_out_what_was_recorded_later(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity = f.register_entity(memory_ledger, ctx, effective_on=date(2025, 1, 1))
    memory_ledger.change_entity_status(ctx, entity, effective_on=date(2025, 2, 1), status="suspended")
    first, second = memory_ledger.events.get(entity)
    assert state_as_of([first, second], date(2025, 6, 30), known_at=first.timestamp).status == "operating"
    assert state_as_of([first, second], date(2025, 6, 30), known_at=second.timestamp).status == "suspended"


def test_an_event_dated_before_the_creation_takes_effect_at_the_creation(
    memory_ledger: Ledger, ctx: CommandContext
) -> None:
    entity = f.register_entity(memory_ledger, ctx, effective_on=date(2025, 5, 1))
    memory_ledger.change_entity_status(ctx, entity, effective_on=date(2025, 4, 1), status="suspended")
    events = list(memory_ledger.events.get(entity))
    assert state_as_of(events, date(2025, 4, 15)) is None
    assert state_as_of(events, date(2025, 5, 1)).status == "suspended"
    assert [day for day, _ in timeline(events)] == [date(2025, 5, 1)]

"""Rating a member (R5.5) races with a lifecycle change to the same member (R5.3) on both stores:
the rating records ``Member.PioneerRated`` in the same transaction as the round's result, so the two
commands collide on the member's version and exactly one of them wins; the loser writes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain import errors
from domain.application import CommandResult, ConcurrentChange, Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.pioneer_round import PioneerRound
from domain.values import PioneerStep
from tests import factories as f

ROUND_DATE = date(2025, 11, 15)
STEP_DAYS = [date(2025, 10, 10), date(2025, 10, 20), date(2025, 11, 1), date(2025, 11, 10)]


def ready_member(ledger: Ledger) -> tuple[UUID, UUID]:
    """A member enrolled in their organisation's round and through all four steps."""
    ctx = CommandContext.new("clerk")
    org_id = f.establish(ledger, ctx, [])
    member_id = f.register_member(ledger, ctx, [org_id]).id
    round_id = ledger.open_pioneer_round(
        ctx, effective_on=date(2025, 10, 1), org_id=org_id, year=2025, round_date=ROUND_DATE
    ).id
    ledger.enrol_pioneer_member(ctx, round_id, effective_on=date(2025, 10, 1), member_id=member_id)
    for step, day in zip(PioneerStep, STEP_DAYS, strict=True):
        ledger.record_pioneer_step(ctx, round_id, effective_on=day, member_id=member_id, step=step)
    return member_id, round_id


def saves_together(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, first: str | None) -> None:
    """Every command loads and checks on its own, then waits for the other before saving, so both
    start from the same versions. ``first`` names the thread that saves first (None: a free race)."""
    barrier = threading.Barrier(2, timeout=30)
    first_done = threading.Event()
    commit = ledger._commit

    def commit_together(*args: Any, **kwargs: Any) -> CommandResult:
        barrier.wait()
        me = threading.current_thread().name
        if first is not None and me != first:
            first_done.wait(timeout=30)
        try:
            return commit(*args, **kwargs)
        finally:
            if me == first:
                first_done.set()

    monkeypatch.setattr(ledger, "_commit", commit_together)


@pytest.mark.parametrize("first", ["rate", "discipline", None])
def test_R5_3_rating_and_disciplinary_period_race_one_wins(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, first: str | None
) -> None:
    member_id, round_id = ready_member(ledger)
    version = ledger.get_member(member_id).version
    saves_together(ledger, monkeypatch, first)
    outcomes: dict[str, object] = {}

    def run(name: str, command: Callable[[], CommandResult]) -> None:
        try:
            outcomes[name] = command()
        except errors.DomainError as e:
            outcomes[name] = e

    def rate() -> CommandResult:
        return ledger.rate_pioneer_member(
            CommandContext.new("secretary"),
            round_id,
            effective_on=date(2025, 11, 16),
            member_id=member_id,
            stars=5,
            excellent=True,
        )

    def discipline() -> CommandResult:
        return ledger.start_disciplinary_period(
            CommandContext.new("committee"), member_id, effective_on=date(2025, 11, 1), reason="警告处分"
        )

    threads = [
        threading.Thread(target=run, args=(name, command), name=name)
        for name, command in (("rate", rate), ("discipline", discipline))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    wins = {k for k, v in outcomes.items() if isinstance(v, CommandResult)}
    losses = {k: v for k, v in outcomes.items() if isinstance(v, Exception)}
    assert len(wins) == 1 and len(losses) == 1, outcomes
    if first is not None:
        assert wins == {first}
    (loss,) = losses.values()
    assert isinstance(loss, ConcurrentChange) and loss.status == 409

    # one event more on the member, from the winner only; the round agrees with the member
    monkeypatch.undo()
    member = ledger.get_member(member_id)
    round_ = ledger.get_pioneer_round(round_id)
    assert member.version == version + 1
    enrolment = round_.enrolments[member_id]
    if wins == {"rate"}:
        assert (member.pioneer_ratings, member.in_disciplinary_period) == ({2025: 5}, False)
        assert enrolment.stars == 5
    else:
        assert (member.pioneer_ratings, member.in_disciplinary_period) == ({}, True)
        assert enrolment.stars is None  # the rating's round event was not saved either
        # a retry of the rating now sees the veto on the round's date
        with pytest.raises(errors.MemberVetoed):
            rate()
    topics = [n.topic for n in ledger.recorder.select_notifications(start=1, limit=10_000)]
    rated_on_round = sum(t.endswith(f"{PioneerRound.__qualname__}.MemberRated") for t in topics)
    rated_on_member = sum(t.endswith(f"{Member.__qualname__}.PioneerRated") for t in topics)
    assert rated_on_round == rated_on_member == (1 if wins == {"rate"} else 0)

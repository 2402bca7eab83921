"""One open transfer letter per member (R13.4) holds under a race, on SQLite and PostgreSQL: two
letters issued at once for one member end in one success and one Conflict, because both commands
record an event on the same member and save it in the same transaction as their letter."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain import errors
from domain.application import CommandResult, Ledger
from domain.envelope import CommandContext
from domain.member import Member
from domain.transfer_letter import TransferLetter
from domain.values import TransferScope
from tests import factories as f


def race(ledger: Ledger) -> tuple[UUID, list[CommandResult], list[Exception]]:
    """Two threads issue a letter for the same member at the same moment."""
    ctx = CommandContext.new("clerk")
    sender = f.establish(ledger, ctx, [], name="发出党支部")
    receivers = [f.establish(ledger, ctx, [], name=f"接收党支部{i}") for i in range(2)]
    member = f.register_member(ledger, ctx, [sender], relationship_org_id=sender, relationship_org_name="").id
    barrier = threading.Barrier(2)
    results: list[CommandResult] = []
    failures: list[Exception] = []

    def issue(receiver: UUID, number: str) -> None:
        barrier.wait()
        try:
            results.append(
                ledger.issue_transfer_letter(
                    CommandContext.new("clerk"),
                    effective_on=date(2025, 11, 10),
                    member_id=member,
                    letter_number=number,
                    stub_ref=number,
                    receipt_ref=number,
                    scope=TransferScope.SAME_CITY,
                    to_org_id=receiver,
                )
            )
        except Exception as e:  # collected and checked below
            failures.append(e)

    threads = [threading.Thread(target=issue, args=(r, str(i))) for i, r in enumerate(receivers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return member, results, failures


def check_one_wins(
    ledger: Ledger, member: UUID, results: list[CommandResult], failures: list[Exception]
) -> None:
    assert len(results) == 1, failures
    assert len(failures) == 1 and isinstance(failures[0], errors.Conflict), failures
    assert failures[0].status == 409 and failures[0].rule == "R13.4"
    assert ledger.get_member(member).open_transfer_letter_id == results[0].id
    letters = [
        n
        for n in ledger.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith(TransferLetter.Issued.__qualname__)
    ]
    assert [n.originator_id for n in letters] == [results[0].id]


def test_R13_4_two_letters_issued_at_once_for_one_member_conflict(ledger: Ledger) -> None:
    check_one_wins(ledger, *race(ledger))


def test_R13_4_letters_that_both_passed_the_check_collide_on_the_member(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both commands load the member with no open letter and record on it before either saves: the
    # check passes twice and the event store's optimistic concurrency on the member decides.
    both_checked = threading.Barrier(2, timeout=10)
    original = Member.open_transfer_letter

    def open_then_wait(self: Member, letter_id: UUID, meta: Any) -> None:
        original(self, letter_id, meta)
        both_checked.wait()

    monkeypatch.setattr(Member, "open_transfer_letter", open_then_wait)
    member, results, failures = race(ledger)
    assert [type(e) for e in failures] == [errors.TransferLetterAlreadyOpen]
    check_one_wins(ledger, member, results, failures)

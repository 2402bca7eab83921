"""The command side: one eventsourcing Application, get → call → save.

``Ledger`` composes the command groups of ``domain.commands``, one module per part of the domain;
``domain.commands.base`` has what they share (envelope, saving in one transaction, idempotency).
"""

from __future__ import annotations

from domain.commands.activities import ActivityCommands
from domain.commands.base import CommandResult, ConcurrentChange, business_today
from domain.commands.members import MemberCommands
from domain.commands.mobile import MobileCommands
from domain.commands.pairings import PairingCommands
from domain.commands.pioneer import PioneerCommands
from domain.commands.ratings import RatingCommands
from domain.commands.stars import StarCommands
from domain.commands.transfers import TransferCommands

__all__ = ["CommandResult", "ConcurrentChange", "Ledger", "business_today"]


class Ledger(
    ActivityCommands,
    PairingCommands,
    TransferCommands,
    MobileCommands,
    RatingCommands,
    StarCommands,
    PioneerCommands,
    MemberCommands,
):
    """The dangjian command side."""

    name = "Ledger"

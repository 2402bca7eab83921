"""The command side: one eventsourcing Application, get → call → save.

``Ledger`` composes the command groups of ``domain.commands``, one module per part of the domain;
``domain.commands.base`` has what they share (envelope, saving in one transaction, idempotency).
"""

from __future__ import annotations

from domain.commands.base import CommandResult, ConcurrentChange, business_today
from domain.commands.members import MemberCommands

__all__ = ["CommandResult", "ConcurrentChange", "Ledger", "business_today"]


class Ledger(MemberCommands):
    """The dangjian command side."""

    name = "Ledger"

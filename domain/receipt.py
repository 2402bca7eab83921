"""CommandReceipt: the record that a client-supplied command id has been executed.

Saved in the same transaction as the command's own events, with an id derived from the command id,
so a repeated command finds it and returns the first result without recording anything, and two
concurrent repeats collide in the event store: one records, the other returns the first result.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.envelope import EventMeta, LedgerAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/command-receipt")


@lru_cache(maxsize=4096)
def receipt_id_for(command_id: UUID) -> UUID:
    """The receipt's id for a command id (remembered: a batched command asks for it several times, and
    uuid5 was a tenth of the registry ingester's time, issue #6 P2)."""
    return uuid5(_NAMESPACE, str(command_id))


class CommandReceipt(LedgerAggregate):
    command_id: UUID
    subject_id: UUID

    def __init__(self) -> None:
        """State comes from the created event's ``apply``."""

    class Recorded(LedgerAggregate.Created):
        command_id: UUID
        subject_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.command_id = self.command_id
            aggregate.subject_id = self.subject_id

    @classmethod
    def record(cls, command_id: UUID, subject_id: UUID, meta: EventMeta) -> CommandReceipt:
        return cls._create(
            cls.Recorded,
            id=receipt_id_for(command_id),
            command_id=command_id,
            subject_id=subject_id,
            **meta.fields(),
        )

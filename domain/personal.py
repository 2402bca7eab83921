"""Personal data of members: which event fields hold it, and what is left of it after erasure.

A member's personal data (issue #7) is the name (姓名), the mobile number (手机号码) and the household
registration (户籍所在区) of the registration form (R1.1), wherever an event carries them: the
registration and its corrections, and the member's name as copied onto a transfer letter (R13.4), a
mobile-member round (R6) or a pioneer-index enrolment (R5). Each event class that carries them says
so with ``personal_data = PersonalData(subject=..., paths=(...))``: the attribute holding the member's
id, and the paths of the fields (``changes.name`` is the key ``name`` of the dict ``changes``).

The domain sees plaintext. The persistence boundary (``infra.personal``) encrypts these fields inside
the stored events with a key per member and destroys the key on erasure (crypto-shredding); from then
on every stored value of them reads as ``ERASED``. Not personal data of the member in this sense: the
unit name (the business's name), the organisations, the dates and categories every statistic counts
(R3, R13.6), and the name and phone of the officer who filled the form in (``filled_by_*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper, Transcoder

ERASED = "已删除"
"""What every personal field of an erased member reads as (in events, aggregates and read tables)."""

WITHHELD = "〔个人信息〕"
"""What the audit index and the Kafka envelope show instead of a personal field: they never hold it."""

PERSONAL_FIELDS = ("name", "mobile", "household_district")
"""The member's own fields that are personal data (see the module docstring)."""


@dataclass(frozen=True)
class PersonalData:
    """Declares the personal fields of an event class: whose they are and where they sit."""

    subject: str
    """The event attribute that holds the member's id (``originator_id`` on the member's own events)."""
    paths: tuple[str, ...]
    """Dotted paths of the personal fields; a missing field or key is skipped."""

    def subject_of(self, state: Mapping[str, Any]) -> UUID:
        value = state[self.subject]
        return value if isinstance(value, UUID) else UUID(str(value))

    def locate(self, state: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Each present personal field as (path, the dict holding it, its key in that dict)."""
        for path in self.paths:
            *parents, key = path.split(".")
            holder: Any = state
            for parent in parents:
                holder = holder.get(parent) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and key in holder:
                yield path, holder, key


def personal_data_of(event_class: type) -> PersonalData | None:
    """The declaration of an event class, if it carries personal data."""
    spec = getattr(event_class, "personal_data", None)
    return spec if isinstance(spec, PersonalData) else None


def subjects_of(events: Iterable[Any]) -> set[UUID]:
    """The members whose personal data some of ``events`` carry: whose keys their encryption needs
    (``infra.personal``), so that a bulk path can make or read them all at once (issue #6, P2)."""
    members = set()
    for event in events:
        spec = personal_data_of(type(event))
        if spec is not None:
            members.add(spec.subject_of(vars(event)))
    return members


def withhold(event_class: type, facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` (an event's own fields, already plain) with every personal field replaced by
    ``WITHHELD`` (or left ``ERASED``): what the audit index and the Kafka envelope carry."""
    spec = personal_data_of(event_class)
    if spec is None:
        return facts
    facts = _copy(facts)
    for _path, holder, key in spec.locate(facts):
        if holder[key] is not None and holder[key] != ERASED:
            holder[key] = WITHHELD
    return facts


def erasures(events: Iterable[Any]) -> set[UUID]:
    """The members whose personal data one of ``events`` erases (``Member.PersonalDataErased``)."""
    return {e.originator_id for e in events if getattr(type(e), "erases_personal_data", False)}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


class PersonalDataVault(Protocol):
    """Where members' keys live (``infra.personal``): it makes the mapper that encrypts and decrypts
    the personal fields of stored events, and destroys a member's key on erasure."""

    def mapper(self, transcoder: Transcoder) -> Mapper[UUID]: ...

    def destroy(self, member_id: UUID) -> None: ...

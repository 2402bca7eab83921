"""LiaisonPoint (联系点): a bureau leader's link to one branch (R12; 003 附件1, 004 "每人落实1个联系点").

R12: each leader links to one branch. There is one aggregate per leader, its id derived from the
leader's normalised identifier (``leader_ref``: a staff number or other stable reference the bureau
uses; the leader's name when none is given), so a second link while one is current collides with
it: in the rule check when loaded, in the event store when two officers race. The aggregate records
the leader's links one after another: ``Linked`` (the first), ``Unlinked`` (ended with a reason) and
``Relinked`` (a later link, possibly to another branch, on or after the previous one ended).

Two leaders with the same name must be given distinct ``leader_ref`` values; a leader's title may
change between links (the latest is kept). Any active organisation can be a liaison point: 003 links
leaders to the bureau's own branches, 004 to 小个专 organisations. Guidance officers (党建指导员) are
recorded on ``PartyOrganization`` and are not liaison points.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.organization import PartyOrganization
from domain.values import require_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/liaison-point")


def normalise_leader_ref(ref: str) -> str:
    """NFKC (full-width → half-width), single spaces, case-folded: "Ｌｉ  Ming" and "li ming" match."""
    return " ".join(unicodedata.normalize("NFKC", ref).split()).casefold()


def liaison_point_id_for(leader_ref: str) -> UUID:
    """The aggregate id of the leader with this reference (normalised first)."""
    return uuid5(_NAMESPACE, normalise_leader_ref(leader_ref))


class LiaisonPoint(LedgerAggregate):
    leader_ref: str
    leader_name: str
    leader_title: str
    org_id: UUID | None
    linked_on: date | None
    history: list[dict[str, Any]]

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Linked(LedgerAggregate.Created):
        """The leader's first link, from ``effective_on``."""

        leader_ref: str
        leader_name: str
        leader_title: str
        org_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.leader_ref = self.leader_ref
            aggregate.leader_name = self.leader_name
            aggregate.leader_title = self.leader_title
            aggregate.org_id = self.org_id
            aggregate.linked_on = self.effective_on
            aggregate.history = []

    class Unlinked(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.history.append(
                {
                    "org_id": aggregate.org_id,
                    "linked_on": aggregate.linked_on,
                    "ended_on": self.effective_on,
                    "reason": self.reason,
                }
            )
            aggregate.org_id = None
            aggregate.linked_on = None

    class Relinked(LedgerAggregate.Event):
        """A later link of the same leader, from ``effective_on``."""

        leader_name: str
        leader_title: str
        org_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.leader_name = self.leader_name
            aggregate.leader_title = self.leader_title
            aggregate.org_id = self.org_id
            aggregate.linked_on = self.effective_on

    @classmethod
    def link(
        cls,
        *,
        leader_ref: str,
        leader_name: str,
        leader_title: str,
        org: PartyOrganization,
        meta: EventMeta,
    ) -> LiaisonPoint:
        """A leader's first liaison point (R12). ``leader_ref`` defaults to the name in the application."""
        _check_linkable(org)
        ref = normalise_leader_ref(require_text(leader_ref, "leader_ref"))
        return cls._create(
            cls.Linked,
            id=liaison_point_id_for(ref),
            leader_ref=ref,
            leader_name=require_text(leader_name, "leader_name"),
            leader_title=require_text(leader_title, "leader_title"),
            org_id=org.id,
            **meta.fields(),
        )

    @property
    def is_linked(self) -> bool:
        return self.org_id is not None

    def relink(self, *, leader_name: str, leader_title: str, org: PartyOrganization, meta: EventMeta) -> None:
        """Link again after the previous link ended (R12: one branch at a time)."""
        if self.org_id is not None:
            raise errors.LeaderAlreadyLinked(
                f"{self.leader_name} is linked to organisation {self.org_id} since {self.linked_on}; "
                "end that link first"
            )
        _check_linkable(org)
        last_end: date = self.history[-1]["ended_on"]
        if meta.effective_on < last_end:
            raise errors.LiaisonPeriodInvalid(f"the previous link ended on {last_end}")
        self._record(
            self.Relinked,
            meta,
            leader_name=require_text(leader_name, "leader_name"),
            leader_title=require_text(leader_title, "leader_title"),
            org_id=org.id,
        )

    def end(self, reason: str, meta: EventMeta) -> None:
        """End the current link; the leader may link again later."""
        if self.linked_on is None:
            raise errors.LiaisonPointNotLinked(f"{self.leader_name} has no current liaison point")
        if meta.effective_on < self.linked_on:
            raise errors.LiaisonPeriodInvalid(f"the link began on {self.linked_on}")
        self._record(self.Unlinked, meta, reason=require_text(reason, "reason"))


def _check_linkable(org: PartyOrganization) -> None:
    if org.dissolved:
        raise errors.OrganizationDissolved(f"organisation {org.name} is dissolved", field="org_id")

"""StationStar (星级规范化市场监管所): the stars of one market-supervision station (R9.1).

A station is rated through its station branch (市场所党支部, ``OrgKind.STATION_BRANCH``); the record's id
is derived from that organisation, so a station has one star record for good. Stars are awarded at 3, 4
or 5, raised only upward, and revoked with a reason; lowering a level is a revocation followed by a new
award. The award date is the event's effective date; the awarding body is recorded with each award.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import require_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/station-star")

STAR_LEVELS = (3, 4, 5)  # R9.1: three-, four- and five-star stations


def station_star_id_for(org_id: UUID) -> UUID:
    """The aggregate id of the star record of station branch ``org_id``."""
    return uuid5(_NAMESPACE, str(org_id))


def check_star_level(level: int) -> int:
    if level not in STAR_LEVELS:
        raise errors.InvalidStarLevel(f"a station has 3, 4 or 5 stars, not {level}")
    return level


class StationStar(LedgerAggregate):
    org_id: UUID
    level: int | None
    awarded_on: date | None
    awarding_body: str | None
    revoked_on: date | None
    revocation_reason: str | None

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Opened(LedgerAggregate.Created):
        """The station's star record, opened with its first award (``StarAwarded`` follows)."""

        org_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.org_id = self.org_id
            aggregate.level = None
            aggregate.awarded_on = None
            aggregate.awarding_body = None
            aggregate.revoked_on = None
            aggregate.revocation_reason = None

    class StarAwarded(LedgerAggregate.Event):
        level: int
        awarding_body: str

        def apply(self, aggregate: Any) -> None:
            aggregate.level = self.level
            aggregate.awarded_on = self.effective_on
            aggregate.awarding_body = self.awarding_body
            aggregate.revoked_on = None
            aggregate.revocation_reason = None

    class StarRaised(LedgerAggregate.Event):
        from_level: int
        to_level: int
        awarding_body: str

        def apply(self, aggregate: Any) -> None:
            aggregate.level = self.to_level
            aggregate.awarded_on = self.effective_on
            aggregate.awarding_body = self.awarding_body

    class StarRevoked(LedgerAggregate.Event):
        level: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.level = None
            aggregate.revoked_on = self.effective_on
            aggregate.revocation_reason = self.reason

    @classmethod
    def open(cls, *, org_id: UUID, meta: EventMeta) -> StationStar:
        """Open the star record of a station branch; the application checks the organisation's kind."""
        return cls._create(cls.Opened, id=station_star_id_for(org_id), org_id=org_id, **meta.fields())

    @property
    def starred(self) -> bool:
        return self.level is not None

    def award(self, level: int, awarding_body: str, meta: EventMeta) -> None:
        """Award 3, 4 or 5 stars to a station holding none (R9.1)."""
        check_star_level(level)
        if self.level is not None:
            raise errors.StationAlreadyStarred(
                f"the station holds {self.level} stars: raise them, or revoke before awarding again"
            )
        self._record(
            self.StarAwarded, meta, level=level, awarding_body=require_text(awarding_body, "awarding_body")
        )

    def raise_level(self, level: int, awarding_body: str, meta: EventMeta) -> None:
        """Raise the stars to a higher valid level (R9.1)."""
        check_star_level(level)
        if self.level is None:
            raise errors.StationNotStarred("the station holds no stars to raise")
        if level <= self.level:
            raise errors.StarLevelMayOnlyRise(
                f"the station holds {self.level} stars; raising goes higher (to lower, revoke and award)"
            )
        self._record(
            self.StarRaised,
            meta,
            from_level=self.level,
            to_level=level,
            awarding_body=require_text(awarding_body, "awarding_body"),
        )

    def revoke(self, reason: str, meta: EventMeta) -> None:
        """Revoke the stars with a reason (R9.1)."""
        if self.level is None:
            raise errors.StationNotStarred("the station holds no stars to revoke")
        self._record(self.StarRevoked, meta, level=self.level, reason=require_text(reason, "reason"))

"""MarketStandardisation (市场党建六化): one market's party-building standardisation (R4).

A market (professional, commodity-trading or farmers' market) in one of the R4 scope categories is
enrolled once (the id is derived from the entity). Each of the six criteria (六化) is recorded as met
with an evidence description and date, and may lapse with a reason; the market is standardised while
all six are met, which is derived and never stored. Criterion (5), education, is evidenced by the
training dates, at least two in the evidence year; criterion (6), guarantees, by the number of
party-affairs workers, one or two.

Assumptions: recording a criterion as met again replaces its evidence (e.g. a new year's trainings);
training dates lie on or before the evidence date; criterion (2) is evidenced by description only (the
organisation covering the market may be standalone, joint or regional).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain import errors
from domain.envelope import EventMeta, LedgerAggregate
from domain.values import (
    FARMERS_MARKET_SCOPES,
    MARKET_KINDS,
    EntityKind,
    MarketScope,
    StandardisationCriterion,
    require_text,
)

_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/market-standardisation")

MIN_TRAININGS_PER_YEAR = 2  # R4 (5): 每年不少于2次
PARTY_AFFAIRS_WORKERS = range(1, 3)  # R4 (6): 1-2名专（兼）职党务工作者


def standardisation_id_for(entity_id: UUID) -> UUID:
    """The aggregate id of the standardisation record of market entity ``entity_id``."""
    return uuid5(_NAMESPACE, str(entity_id))


def check_market_in_scope(kind: EntityKind, scope: MarketScope) -> None:
    """R4: a market kind, and a farmers'-market scope only for a farmers' market."""
    kind = EntityKind(kind)
    if kind not in MARKET_KINDS:
        raise errors.MarketKindRequired(f"a {kind.value} is not a market")
    if MarketScope(scope) in FARMERS_MARKET_SCOPES and kind != EntityKind.FARMERS_MARKET:
        raise errors.MarketScopeMismatch(f"{MarketScope(scope).value} is a scope of farmers' markets")


class MarketStandardisation(LedgerAggregate):
    entity_id: UUID
    scope: str
    criteria: dict[str, dict[str, Any]]

    def __init__(self) -> None:
        """State comes from the created event's ``apply``; the annotations above document it."""

    class Enrolled(LedgerAggregate.Created):
        """The market enters standardisation in its R4 scope category."""

        entity_id: UUID
        scope: str

        def apply(self, aggregate: Any) -> None:
            aggregate.entity_id = self.entity_id
            aggregate.scope = self.scope
            aggregate.criteria = {}

    class CriterionMet(LedgerAggregate.Event):
        """One of the six criteria is met, with its evidence (R4)."""

        criterion: str
        evidence: str
        evidence_on: date
        training_dates: list[date]
        party_affairs_workers: int | None

        def apply(self, aggregate: Any) -> None:
            aggregate.criteria[self.criterion] = {
                "met": True,
                "evidence": self.evidence,
                "evidence_on": self.evidence_on,
                "training_dates": list(self.training_dates),
                "party_affairs_workers": self.party_affairs_workers,
                "since": self.effective_on,
                "lapse_reason": None,
            }

    class CriterionLapsed(LedgerAggregate.Event):
        """A criterion is no longer met (R4)."""

        criterion: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            entry = aggregate.criteria[self.criterion]
            entry["met"] = False
            entry["since"] = self.effective_on
            entry["lapse_reason"] = self.reason

    @classmethod
    def enroll(
        cls, *, entity_id: UUID, entity_kind: EntityKind, scope: MarketScope, meta: EventMeta
    ) -> MarketStandardisation:
        """Enrol a market of ``entity_kind`` in its R4 scope category."""
        check_market_in_scope(entity_kind, scope)
        return cls._create(
            cls.Enrolled,
            id=standardisation_id_for(entity_id),
            entity_id=entity_id,
            scope=MarketScope(scope).value,
            **meta.fields(),
        )

    @property
    def met_criteria(self) -> list[str]:
        return [c.value for c in StandardisationCriterion if self.criteria.get(c.value, {}).get("met")]

    @property
    def standardised(self) -> bool:
        """R4: all six criteria are currently met."""
        return len(self.met_criteria) == len(StandardisationCriterion)

    def record_met(
        self,
        criterion: StandardisationCriterion,
        evidence: str,
        evidence_on: date,
        training_dates: list[date],
        party_affairs_workers: int | None,
        meta: EventMeta,
    ) -> None:
        """Record a criterion as met with its evidence (R4); (5) and (6) carry their figures."""
        criterion = StandardisationCriterion(criterion)
        dates = sorted(set(training_dates))
        if criterion == StandardisationCriterion.EDUCATION:
            if any(d > evidence_on for d in dates):
                raise errors.CriterionEvidenceInvalid(
                    f"a training date lies after the evidence date {evidence_on}", field="training_dates"
                )
            in_year = [d for d in dates if d.year == evidence_on.year]
            if len(in_year) < MIN_TRAININGS_PER_YEAR:
                raise errors.TrainingTwiceAYear(
                    f"{len(in_year)} training(s) in {evidence_on.year}; "
                    f"at least {MIN_TRAININGS_PER_YEAR} a year"
                )
        elif dates:
            raise errors.CriterionEvidenceInvalid(
                "training dates are evidence of the education criterion only", field="training_dates"
            )
        if criterion == StandardisationCriterion.GUARANTEES:
            if party_affairs_workers not in PARTY_AFFAIRS_WORKERS:
                raise errors.PartyAffairsWorkersOneOrTwo(
                    f"a market organisation has 1 or 2 party-affairs workers, not {party_affairs_workers}"
                )
        elif party_affairs_workers is not None:
            raise errors.CriterionEvidenceInvalid(
                "the party-affairs worker count is evidence of the guarantees criterion only",
                field="party_affairs_workers",
            )
        self._record(
            self.CriterionMet,
            meta,
            criterion=criterion.value,
            evidence=require_text(evidence, "evidence"),
            evidence_on=evidence_on,
            training_dates=dates,
            party_affairs_workers=party_affairs_workers,
        )

    def record_lapsed(self, criterion: StandardisationCriterion, reason: str, meta: EventMeta) -> None:
        """A criterion currently met is no longer met (R4)."""
        criterion = StandardisationCriterion(criterion)
        if not self.criteria.get(criterion.value, {}).get("met"):
            raise errors.CriterionNotMet(f"criterion {criterion.value} is not currently met")
        self._record(
            self.CriterionLapsed, meta, criterion=criterion.value, reason=require_text(reason, "reason")
        )

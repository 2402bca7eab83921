"""Commands on market entities (市场主体)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain import errors
from domain.commands.base import CommandResult, LedgerBase, command
from domain.envelope import CommandContext
from domain.market_entity import MarketEntity, entity_id_for
from domain.values import EntityKind, EntityStatus, validate_credit_code


class EntityCommands(LedgerBase):
    def get_entity(self, entity_id: UUID) -> MarketEntity:
        return self._get(MarketEntity, entity_id, "market entity")

    @command
    def register_entity(
        self,
        ctx: CommandContext,
        *,
        effective_on: date,
        credit_code: str,
        name: str,
        kind: EntityKind,
        industry: str,
        region_code: str,
        station: str,
    ) -> CommandResult:
        """Register a market entity as captured at business registration (R1.2)."""
        meta = self._meta(ctx, effective_on)
        code = validate_credit_code(credit_code)
        # R1.2: the store's key (aggregate id, version) refuses a second registration of a code when it
        # is saved (``on_conflict`` below), so outside a batch nothing is asked first: a query less per
        # registration (issue #6, P1). A batch answers from its own memory and keeps the check.
        if self.batched() and entity_id_for(code) in self.repository:
            raise errors.EntityAlreadyRegistered(f"credit code {code} is already registered")
        entity = MarketEntity.register(
            credit_code=code,
            name=name,
            kind=kind,
            industry=industry,
            region_code=region_code,
            station=station,
            meta=meta,
        )
        duplicate = errors.EntityAlreadyRegistered(f"credit code {code} is already registered")
        return self._commit(entity.id, entity, on_conflict=duplicate)

    @command
    def change_entity_status(
        self,
        ctx: CommandContext,
        entity_id: UUID,
        *,
        effective_on: date,
        status: EntityStatus,
        reason: str = "",
    ) -> CommandResult:
        """Operating, suspended (停歇业) or deregistered (注销)."""
        entity = self.get_entity(entity_id)
        entity.change_status(status, reason, self._meta(ctx, effective_on))
        return self._commit(entity.id, entity)

    @command
    def correct_entity(
        self,
        ctx: CommandContext,
        entity_id: UUID,
        *,
        effective_on: date,
        changes: dict[str, Any],
        reason: str,
    ) -> CommandResult:
        """Correct registration details (R1.3)."""
        entity = self.get_entity(entity_id)
        entity.correct_details(changes, reason, self._meta(ctx, effective_on))
        return self._commit(entity.id, entity)

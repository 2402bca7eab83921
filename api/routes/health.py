"""Liveness and projection positions."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PartsDep
from api.schemas.coverage import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(parts: PartsDep) -> Health:
    """The store's last position and each projection's position."""
    positions = parts.runner.positions()
    head = parts.runner.head()
    status = "ok" if all(p >= head for p in positions.values()) else "catching-up"
    return Health(status=status, head=head, projections=positions)

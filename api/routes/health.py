"""Liveness and projection positions."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PartsDep
from api.schemas.coverage import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(parts: PartsDep) -> Health:
    """The store's last position, each projection's position, and any projection that failed."""
    positions = parts.runner.positions()
    head = parts.runner.head()
    if parts.runner.failures:
        status = "failed"
    elif all(p >= head for p in positions.values()):
        status = "ok"
    else:
        status = "catching-up"
    return Health(status=status, head=head, projections=positions, failures=parts.runner.failures)

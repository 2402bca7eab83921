"""A member's lifecycle (R13.5, R5.2, R5.3, R13.6): one command per route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import CommandsDep, ContextDep
from api.schemas.common import CommandAccepted
from api.schemas.lifecycle import (
    Absence,
    Departure,
    DisciplinaryPeriod,
    DisciplinaryPeriodEnd,
    PolicyViolation,
    ProbationCompletion,
    ProbationExtension,
    Resumption,
    Return,
    Suspension,
)

router = APIRouter(prefix="/members", tags=["member lifecycle"])


@router.post("/{member_id}/probation-completion", status_code=201)
async def complete_probation(
    member_id: UUID, body: ProbationCompletion, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """转正: probationary → full, no earlier than one year after admission (R13.5)."""
    return await commands.run(lambda ledger: ledger.complete_probation(ctx, member_id, **body.model_dump()))


@router.post("/{member_id}/probation-extensions", status_code=201)
async def extend_probation(
    member_id: UUID, body: ProbationExtension, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """Extend probation once, by 6 to 12 months (R13.5)."""
    return await commands.run(lambda ledger: ledger.extend_probation(ctx, member_id, **body.model_dump()))


@router.post("/{member_id}/suspensions", status_code=201)
async def suspend_business(
    member_id: UUID, body: Suspension, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """停歇业: the member's business is suspended (R5.2)."""
    return await commands.run(
        lambda ledger: ledger.suspend_member_business(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/resumptions", status_code=201)
async def resume_business(
    member_id: UUID, body: Resumption, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The member's suspended business resumes (R5.2)."""
    return await commands.run(
        lambda ledger: ledger.resume_member_business(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/absences", status_code=201)
async def start_absence(
    member_id: UUID, body: Absence, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """外出经营: the member does business elsewhere from the effective date (R5.2)."""
    return await commands.run(lambda ledger: ledger.start_member_absence(ctx, member_id, **body.model_dump()))


@router.post("/{member_id}/returns", status_code=201)
async def end_absence(
    member_id: UUID, body: Return, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The member is back from doing business elsewhere (R5.2)."""
    return await commands.run(lambda ledger: ledger.end_member_absence(ctx, member_id, **body.model_dump()))


@router.post("/{member_id}/disciplinary-periods", status_code=201)
async def start_disciplinary_period(
    member_id: UUID, body: DisciplinaryPeriod, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """处分期 begins (R5.3)."""
    return await commands.run(
        lambda ledger: ledger.start_disciplinary_period(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/disciplinary-period-ends", status_code=201)
async def end_disciplinary_period(
    member_id: UUID, body: DisciplinaryPeriodEnd, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """处分期 ends (R5.3)."""
    return await commands.run(
        lambda ledger: ledger.end_disciplinary_period(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/policy-violations", status_code=201)
async def record_policy_violation(
    member_id: UUID, body: PolicyViolation, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """违反基本国策 (R5.3)."""
    return await commands.run(
        lambda ledger: ledger.record_policy_violation(ctx, member_id, **body.model_dump())
    )


@router.post("/{member_id}/departures", status_code=201)
async def record_departure(
    member_id: UUID, body: Departure, commands: CommandsDep, ctx: ContextDep
) -> CommandAccepted:
    """The member leaves, with a reason; the record stays (R13.6)."""
    return await commands.run(
        lambda ledger: ledger.record_member_departure(ctx, member_id, **body.model_dump())
    )

"""A member's lifecycle: probation (R13.5), suspension and absence (R5.2), discipline and policy
violations (R5.3), leaving (R13.6). Every request carries the date the change takes effect."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Command, OptionalText, Reason
from domain.values import LeavingReason


class ProbationCompletion(Command):
    """转正: probationary → full, no earlier than one year after admission (R13.5)."""


class ProbationExtension(Command):
    months: int = Field(ge=1, le=36, description="R13.5: 6 to 12 months, once")


class Suspension(Command):
    reason: OptionalText = Field(default="", description="停歇业 reason")


class Resumption(Command):
    """The suspended business resumes."""


class Absence(Command):
    place: OptionalText = Field(default="", description="外出经营地: where the member does business")


class Return(Command):
    """The member is back from doing business elsewhere."""


class DisciplinaryPeriod(Command):
    reason: Reason = Field(description="处分: the decision")


class DisciplinaryPeriodEnd(Command):
    """The disciplinary period ends."""


class PolicyViolation(Command):
    description: Reason = Field(description="违反基本国策: what happened")


class Departure(Command):
    reason: LeavingReason = Field(description="R13.6: transferred_out, died, removed or lapsed")
    note: OptionalText = ""

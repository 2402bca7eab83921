"""Named domain errors. Each carries the rule of ``DOMAIN.md`` it enforces and the field at fault.

The API maps these to RFC 9457 problem responses: ``NotFound`` → 404, ``Conflict`` → 409 and every
other ``RuleViolation`` → 422. Nothing is written when one is raised: commands check every rule
before an aggregate records an event, and the application saves all touched aggregates at once.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    rule: str = ""
    field: str | None = None
    status: int = 422

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        if rule is not None:
            self.rule = rule

    @property
    def code(self) -> str:
        return type(self).__name__


class RuleViolation(DomainError):
    """A command breaks a rule of DOMAIN.md."""


class NotFound(DomainError):
    """The aggregate named by a command or query does not exist."""

    status = 404


class Conflict(DomainError):
    """The command collides with the stored state (a duplicate, or a concurrent change)."""

    status = 409


# --- the event envelope ----------------------------------------------------------------------


class EffectiveDateInFuture(RuleViolation):
    """R1.3/R3: a fact may be entered late, never ahead: at most one day after today."""

    rule = "R1.3"
    field = "effective_on"


class MissingField(RuleViolation):
    """R1.1: a required field of the registration form is empty."""

    rule = "R1.1"


# --- market entities --------------------------------------------------------------------------


class InvalidCreditCode(RuleViolation):
    """R1.3: the unified social credit code (GB 32100-2015) is malformed or its check digit fails."""

    rule = "R1.3"
    field = "credit_code"


class InvalidRegionCode(RuleViolation):
    """R1.3: a region code is six digits (GB/T 2260): province, city, county."""

    rule = "R1.3"
    field = "region_code"


class EntityAlreadyRegistered(Conflict):
    """R1.2: one market entity per unified social credit code."""

    rule = "R1.2"
    field = "credit_code"


class EntityDeregistered(RuleViolation):
    """R13.6: a deregistered entity is kept for history but accepts no further change."""

    rule = "R13.6"


class StatusUnchanged(RuleViolation):
    """R1.3: a status change must change the status."""

    rule = "R1.3"
    field = "status"


class NothingToCorrect(RuleViolation):
    """R1.3: a correction must change at least one field."""

    rule = "R1.3"


# --- party organisations ----------------------------------------------------------------------


class StandaloneCoversOneEntity(RuleViolation):
    """R13.2: an organisation set up alone (单独建立) covers exactly one entity."""

    rule = "R13.2"
    field = "entity_ids"


class JointCoversTwoToFive(RuleViolation):
    """R13.2: a joint organisation (联合建立) covers two to five entities."""

    rule = "R13.2"
    field = "entity_ids"


class RegionalCoversNoEntity(RuleViolation):
    """R13.1: a regional or functional organisation reaches entities by work coverage only."""

    rule = "R13.1"
    field = "entity_ids"


class EntityAlreadyCovered(Conflict):
    """R13.1: an entity is covered by at most one organisation at a time."""

    rule = "R13.1"
    field = "entity_ids"


class EntityNotCovered(RuleViolation):
    """R13.1: only an entity the organisation covers can be removed from it."""

    rule = "R13.1"
    field = "entity_id"


class EntityNotOperating(RuleViolation):
    """R13.1: organisation coverage is set up for operating entities only."""

    rule = "R13.1"
    field = "entity_ids"


class OrganizationDissolved(RuleViolation):
    """R2.2: a dissolved organisation accepts nothing: no coverage, no member, no officer."""

    rule = "R2.2"


class GuidanceOfficerNotAssigned(RuleViolation):
    """R13.1: only an assigned guidance officer can be withdrawn."""

    rule = "R13.1"
    field = "officer"


class GuidanceOfficerAlreadyAssigned(RuleViolation):
    """R13.1: the officer is already assigned to that entity by this organisation."""

    rule = "R13.1"
    field = "officer"


class ParentOrganizationInvalid(RuleViolation):
    """R2.2: the parent organisation must exist, be active and not be the organisation itself."""

    rule = "R2.2"
    field = "parent_id"


# --- members ----------------------------------------------------------------------------------


class InvalidMobileNumber(RuleViolation):
    """R1.1: a mainland mobile number has 11 digits and starts 13-19."""

    rule = "R1.1"
    field = "mobile"


class AffiliationRequiresAssociation(RuleViolation):
    """R2.1: a 隶属 member's relationship sits in an association (分会) organisation."""

    rule = "R2.1"
    field = "relationship_org_id"


class RelationshipOrganizationRequired(RuleViolation):
    """R2.2: a member has exactly one relationship organisation, in the system or named outside it."""

    rule = "R2.2"
    field = "relationship_org_id"


class LifeOrganizationRequired(RuleViolation):
    """R1.1/R2.2: the form names the organisation hosting the member's organisational life."""

    rule = "R1.1"
    field = "life_org_ids"


class TransferToSameOrganization(RuleViolation):
    """R2.3: a transfer ends one relationship and starts another: the target must differ."""

    rule = "R2.3"
    field = "to_org_id"


class TransferBeforeCurrentRelationship(RuleViolation):
    """R2.3: a transfer takes effect after the relationship it ends began."""

    rule = "R2.3"
    field = "effective_on"


class MemberHasLeft(RuleViolation):
    """R13.6: a member who left is kept for history but accepts no further change."""

    rule = "R13.6"

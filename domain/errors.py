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


class PersonalDataAlreadyErased(Conflict):
    """R13.6: the member's personal data is already erased (the record itself is never deleted)."""

    rule = "R13.6"
    field = "id"


class PersonalDataErasedMember(RuleViolation):
    """R13.6: an erased member's personal data (R1.1 name, mobile, household) cannot be entered again."""

    rule = "R13.6"


class ErasedMarkerNotAllowed(RuleViolation):
    """R1.1: a personal field cannot hold the erasure marker (已删除) as a real value."""

    rule = "R1.1"


# --- strongest branch (最强党支部, R11) ----------------------------------------------------------


class StrongestBranchRatingAlreadyStarted(Conflict):
    """R11.6: one strongest-branch rating per branch and year (评定每年开展一次)."""

    rule = "R11.6"
    field = "org_id"


class RatingYearInvalid(RuleViolation):
    """R11.6: self-creation (自创) starts in the rating's year, which is not in the future."""

    rule = "R11.6"
    field = "year"


class EvaluationInvalid(RuleViolation):
    """R11.4: an evaluation's figures are inconsistent or missing (more "excellent" than participants)."""

    rule = "R11.4"


class SocialEvaluationExemptionNotAllowed(RuleViolation):
    """R11.4: only a unit without a public-facing function (or a classified one) skips social evaluation."""

    rule = "R11.4"
    field = "result"


class EvaluationsIncomplete(RuleViolation):
    """R11.4: a branch is rated on all four evaluations (四评); one is still missing."""

    rule = "R11.4"
    field = "evaluations"


class DisqualificationOutsideYear(RuleViolation):
    """R11.5: a disqualification counts for the year it happened in (当年度), the rating's year."""

    rule = "R11.5"
    field = "occurred_on"


class StrongestBranchDisqualified(RuleViolation):
    """R11.5: a disqualified branch can be neither passed nor awarded that year."""

    rule = "R11.5"


class MemberRatingNotQualifying(RuleViolation):
    """R11.4/R11.6: a branch applies to the agency committee only with "excellent" from at least 90% of the
    members taking part in the member evaluation (党员评议)."""

    rule = "R11.4"
    field = "level"


class ApplicationOutOfOrder(RuleViolation):
    """R11.6 逐级申报: one application per level, upward only after the agency committee passed the branch."""

    rule = "R11.6"
    field = "level"


class DecisionWithoutApplication(RuleViolation):
    """R11.6: a level decides only on an application made to it, and only once."""

    rule = "R11.6"
    field = "level"


class AwardNotDecided(RuleViolation):
    """R11.6: only the pass of the highest level applied to awards; a lower pass only qualifies the
    application upward (下级党组织的评定结果只作为向上级党组织申报的条件，不作为评定依据)."""

    rule = "R11.6"


class AwardTermInvalid(RuleViolation):
    """R11.7: a term starts in or after the rating's year and ends no earlier than it starts."""

    rule = "R11.7"
    field = "end_year"


class StrongestBranchAlreadyAwarded(Conflict):
    """R11.7: the branch is already awarded for this rating."""

    rule = "R11.7"


class StrongestBranchNotAwarded(RuleViolation):
    """R11.7: only an award in force can be revoked."""

    rule = "R11.7"


class RatingRevoked(RuleViolation):
    """R11.7: a revoked rating is kept for history and accepts nothing more; a new round starts a new year."""

    rule = "R11.7"


class ParentUnchanged(RuleViolation):
    """R11.7: a change of parent (隶属关系调整) names a different parent organisation."""

    rule = "R11.7"
    field = "to_parent_id"


# --- star stations and 薪火 (R9) -------------------------------------------------------------------


class StationBranchRequired(RuleViolation):
    """R9.1: stars are awarded to market-supervision stations, through their station branch."""

    rule = "R9.1"
    field = "org_id"


class InvalidStarLevel(RuleViolation):
    """R9.1: a star-rated station (星级规范化市场监管所) has 3, 4 or 5 stars."""

    rule = "R9.1"
    field = "level"


class StarLevelMayOnlyRise(RuleViolation):
    """R9.1: raising goes up; to lower a level, revoke and award again."""

    rule = "R9.1"
    field = "level"


class StationAlreadyStarred(Conflict):
    """R9.1: the station holds stars; raise them, or revoke before awarding again."""

    rule = "R9.1"
    field = "org_id"


class StationNotStarred(RuleViolation):
    """R9.1: the station holds no stars to raise or revoke."""

    rule = "R9.1"


class XinhuoSubjectInvalid(RuleViolation):
    """R9.2: a 薪火 demonstration is an organisation, or a member household (member and market entity)."""

    rule = "R9.2"
    field = "org_id"


class XinhuoCategoryMismatch(RuleViolation):
    """R9.2: a household counts as micro/internet or market/individual by the kind of its market entity."""

    rule = "R9.2"
    field = "category"


class HouseholdEntityMismatch(RuleViolation):
    """R9.2: a member household's entity is the entity the member is registered with."""

    rule = "R9.2"
    field = "entity_id"


class XinhuoAlreadyActive(Conflict):
    """R9.2: one demonstration in force per subject at a time."""

    rule = "R9.2"


class XinhuoNotActive(RuleViolation):
    """R9.2: only a demonstration in force can be revoked."""

    rule = "R9.2"


# --- market standardisation (六化, R4) ---------------------------------------------------------------


class MarketKindRequired(RuleViolation):
    """R4: standardisation concerns markets: professional, commodity-trading or farmers' markets."""

    rule = "R4"
    field = "entity_id"


class MarketScopeMismatch(RuleViolation):
    """R4: the farmers'-market scope categories apply to farmers' markets only."""

    rule = "R4"
    field = "scope"


class MarketAlreadyEnrolled(Conflict):
    """R4: one standardisation record per market."""

    rule = "R4"
    field = "entity_id"


class TrainingTwiceAYear(RuleViolation):
    """R4 (5) 教育管理制度化: training at least twice a year: two training dates in the evidence year."""

    rule = "R4"
    field = "training_dates"


class PartyAffairsWorkersOneOrTwo(RuleViolation):
    """R4 (6) 党建保障常态化: a market organisation has 1-2 full- or part-time party-affairs workers."""

    rule = "R4"
    field = "party_affairs_workers"


class CriterionEvidenceInvalid(RuleViolation):
    """R4: training dates are evidence of criterion (5) only, the worker count of criterion (6) only."""

    rule = "R4"


class CriterionNotMet(RuleViolation):
    """R4: only a criterion currently met can lapse."""

    rule = "R4"
    field = "criterion"


# --- relationship transfer letters (R13.4, R2.3) ------------------------------------------------


class TransferLetterAlreadyOpen(Conflict):
    """R13.4: a member has at most one open transfer letter; accept, refuse or cancel it first."""

    rule = "R13.4"
    field = "member_id"


class TransferLetterPartMissing(RuleViolation):
    """R13.4: a transfer letter has three parts, stub (存根), letter and receipt (回执), each referenced."""

    rule = "R13.4"


class TransferLetterValidityInvalid(RuleViolation):
    """R13.4: a letter is valid at least one day and at most 3 months."""

    rule = "R13.4"
    field = "valid_days"


class TransferLetterNotOpen(RuleViolation):
    """R13.4: only an open letter (issued; not accepted, refused, cancelled or re-issued) can change so."""

    rule = "R13.4"
    field = "id"


class TransferLetterOverdue(RuleViolation):
    """R13.4: a letter past its validity cannot be accepted; re-issue it as a new letter."""

    rule = "R13.4"
    field = "effective_on"


class TransferLetterNotOverdue(RuleViolation):
    """R13.4: only an overdue letter is re-issued; a valid one is accepted, refused or cancelled."""

    rule = "R13.4"
    field = "id"


class TransferLetterDateTooEarly(RuleViolation):
    """R13.4: what happens to a letter happens on or after its issue (a receipt: after its acceptance)."""

    rule = "R13.4"
    field = "effective_on"


class TransferReceiptNotExpected(RuleViolation):
    """R13.4: the receipt (回执) goes back to the issuer once, after the letter was accepted."""

    rule = "R13.4"
    field = "id"


class TransferLetterStale(Conflict):
    """R2.3: the member's relationship is no longer with the letter's sending organisation."""

    rule = "R2.3"
    field = "member_id"


# --- mobile-member two-way feedback chain (R6) --------------------------------------------------


class MemberNotMobile(RuleViolation):
    """R6.1/R13.3: the feedback chain is for mobile (流动) members only."""

    rule = "R6.1"
    field = "member_id"


class MobileRoundAlreadyRegistered(Conflict):
    """R6.3: one feedback round per member and year."""

    rule = "R6.3"
    field = "member_id"


class MobileRoundYearMismatch(RuleViolation):
    """R6.3: a yearly round is registered within its year."""

    rule = "R6.3"
    field = "year"


class MobileStepOutOfOrder(RuleViolation):
    """R6.2: registration → identity confirmation → activity filing → feedback → receipt, in this order."""

    rule = "R6.2"
    field = "step"


class MobileStepBeforePrevious(RuleViolation):
    """R6.2: a step takes effect on or after the step before it."""

    rule = "R6.2"
    field = "effective_on"


class MobileStepIncomplete(RuleViolation):
    """R6.2: a step records its own facts (certificate, activities, assessment, form, letter, archive)."""

    rule = "R6.2"


class IdentityNotConfirmedByRelationshipOrganization(RuleViolation):
    """R6.2: the member's identity is confirmed by the organisation holding the relationship."""

    rule = "R6.2"
    field = "confirming_org_id"


class MobileActivityOutsideRound(RuleViolation):
    """R6.3: a filed activity took place within the round's year and not after its filing."""

    rule = "R6.3"
    field = "activities"


# --- activities, pairings and liaison points --------------------------------------------------


class ActivityVoided(RuleViolation):
    """R13.6: a voided activity stays on record (never deleted) and accepts nothing more."""

    rule = "R13.6"


class ActivityDetailNotApplicable(RuleViolation):
    """R10: a pairing is named only for a pairing exchange, a visited organisation only for a visit."""

    rule = "R10"


class VisitedOrganizationRequired(RuleViolation):
    """R10: a station visit (走访) names the organisation visited, so visits can be counted per pair."""

    rule = "R10"
    field = "visited_org_id"


class VisitedOrganizationInvalid(RuleViolation):
    """R10: an organisation does not visit itself."""

    rule = "R10"
    field = "visited_org_id"


class PairingDoesNotCoverActivity(RuleViolation):
    """R10: a pairing exchange is held by one of the paired organisations while the pairing runs."""

    rule = "R10"
    field = "pairing_id"


class PairingNeedsTwoOrganizations(RuleViolation):
    """R10: a pairing joins exactly two different organisations."""

    rule = "R10"
    field = "org_ids"


class PairingKindsNotAllowed(RuleViolation):
    """R10 "(1+1)+N": agency branch with station branch, or either of them with a 小个专 organisation."""

    rule = "R10"
    field = "org_ids"


class PairingAlreadyActive(Conflict):
    """R10: two organisations have at most one active pairing at a time."""

    rule = "R10"
    field = "org_ids"


class PairingEnded(RuleViolation):
    """R10: an ended pairing stays on record and accepts nothing more."""

    rule = "R10"


class PairingPeriodInvalid(RuleViolation):
    """R10: a pairing ends on or after it started, and a new one starts on or after the last ended."""

    rule = "R10"
    field = "effective_on"


class PlanItemsRequired(RuleViolation):
    """R12: a yearly co-building plan (年度活动计划) lists at least one non-blank item."""

    rule = "R12"
    field = "plan_items"


class PlanYearInvalid(RuleViolation):
    """R12: a yearly plan is for the year the pairing started or a later one."""

    rule = "R12"
    field = "plan_year"


class PlanYearAlreadyPlanned(Conflict):
    """R12: a pairing has one plan per year."""

    rule = "R12"
    field = "plan_year"


class LeaderAlreadyLinked(Conflict):
    """R12: each leader links to one branch (联系点) at a time; end the link before linking again."""

    rule = "R12"
    field = "leader_name"


class LiaisonPointNotLinked(RuleViolation):
    """R12: only a current link can be ended."""

    rule = "R12"


class LiaisonPeriodInvalid(RuleViolation):
    """R12: a link ends on or after it began, and a new link begins on or after the last ended."""

    rule = "R12"
    field = "effective_on"


# --- member lifecycle (R13.5, R13.6, R5.2, R5.3) -------------------------------------------------


class AdmissionDateRequired(RuleViolation):
    """R13.5: a probationary member's admission date (入党日期) is recorded: probation runs from it."""

    rule = "R13.5"
    field = "admitted_on"


class AdmissionDateInvalid(RuleViolation):
    """R13.5: a member is admitted (入党) on or before the date they are registered."""

    rule = "R13.5"
    field = "admitted_on"


class MemberNotProbationary(RuleViolation):
    """R13.5: only a probationary member completes or extends probation."""

    rule = "R13.5"
    field = "category"


class ProbationNotOver(RuleViolation):
    """R13.5: probation lasts one year from admission (plus any extension) before 转正."""

    rule = "R13.5"
    field = "effective_on"


class ProbationAlreadyExtended(RuleViolation):
    """R13.5: probation may be extended once only."""

    rule = "R13.5"
    field = "months"


class ProbationExtensionOutOfRange(RuleViolation):
    """R13.5: an extension of probation lasts 6 to 12 months."""

    rule = "R13.5"
    field = "months"


class BusinessAlreadySuspended(RuleViolation):
    """R5.2: the member's business is already suspended (停歇业); resume it first."""

    rule = "R5.2"


class BusinessNotSuspended(RuleViolation):
    """R5.2: only a suspended business can resume."""

    rule = "R5.2"


class AlreadyAway(RuleViolation):
    """R5.2: the member is already away on business (外出经营); record the return first."""

    rule = "R5.2"


class NotAway(RuleViolation):
    """R5.2: only a member who is away can return."""

    rule = "R5.2"


class AlreadyInDisciplinaryPeriod(RuleViolation):
    """R5.3: the member is already in a disciplinary period (处分期)."""

    rule = "R5.3"


class NotInDisciplinaryPeriod(RuleViolation):
    """R5.3: only a disciplinary period that is running can end."""

    rule = "R5.3"


class LifecycleOutOfOrder(RuleViolation):
    """R1.3: a lifecycle change takes effect no earlier than the member's registration and the last
    change of the same kind (a resumption after its suspension, a departure after everything else)."""

    rule = "R1.3"
    field = "effective_on"


# --- pioneer index (R5) ---------------------------------------------------------------------------


class PioneerRoundAlreadyOpened(Conflict):
    """R5.4: the evaluation is yearly: one round per organisation and year."""

    rule = "R5.4"
    field = "year"


class PioneerRoundDateInvalid(RuleViolation):
    """R5.6: the round's date lies in its year, no later than 30 November."""

    rule = "R5.6"
    field = "round_date"


class PioneerRoundClosed(RuleViolation):
    """R5.4: a closed round accepts nothing more."""

    rule = "R5.4"


class MemberOutOfScope(RuleViolation):
    """R5.1: the member is not in the organisation's scope on the round's date (the relationship or an
    organisational life in the organisation, and still a member)."""

    rule = "R5.1"
    field = "member_id"


class MemberExcluded(RuleViolation):
    """R5.2: probationary, business suspended or away more than 6 months on the round's date."""

    rule = "R5.2"
    field = "member_id"


class MemberVetoed(RuleViolation):
    """R5.3: one-vote veto: in a disciplinary period, or a basic-policy violation that year."""

    rule = "R5.3"
    field = "member_id"


class MemberAlreadyEnrolled(Conflict):
    """R5.4: a member is enrolled once per round."""

    rule = "R5.4"
    field = "member_id"


class MemberNotEnrolled(RuleViolation):
    """R5.4: steps and results are recorded for enrolled members only."""

    rule = "R5.4"
    field = "member_id"


class PioneerStepOutOfOrder(RuleViolation):
    """R5.4: self-evaluation, peer evaluation, organisation review, public notice, strictly in order,
    each dated no earlier than the one before."""

    rule = "R5.4"
    field = "step"


class PioneerStepsIncomplete(RuleViolation):
    """R5.4: the result follows the public notice."""

    rule = "R5.4"
    field = "member_id"


class PioneerStarsOutOfRange(RuleViolation):
    """R5.5: a result is 1 to 5 stars."""

    rule = "R5.5"
    field = "stars"


class ExcellentRequiresFourStars(RuleViolation):
    """R5.5: an "excellent member" (优秀党员) comes only from the five- and four-star members."""

    rule = "R5.5"
    field = "excellent"


class MemberAlreadyRated(Conflict):
    """R5.5: one result per member and round."""

    rule = "R5.5"
    field = "member_id"


class FollowUpNotRequired(RuleViolation):
    """R5.5: a talk (谈心谈话) and a support pairing (结对帮扶) follow a 1- or 2-star result only."""

    rule = "R5.5"
    field = "member_id"


class FollowUpMissing(RuleViolation):
    """R5.5: every 1- or 2-star member has a talk and a support pairing before the round closes."""

    rule = "R5.5"
    field = "member_id"

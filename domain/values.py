"""Value types and validators shared by the aggregates (enumerations, codes, phone numbers)."""

from __future__ import annotations

import functools
import operator
import re
from enum import StrEnum

from domain import errors


class EntityKind(StrEnum):
    """市场主体 kinds (DOMAIN.md glossary)."""

    MICRO_ENTERPRISE = "micro_enterprise"  # 小微企业
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    PROFESSIONAL_MARKET = "professional_market"  # 专业市场
    COMMODITY_MARKET = "commodity_market"  # 商品交易市场
    FARMERS_MARKET = "farmers_market"  # 农贸市场
    INTERNET_ENTERPRISE = "internet_enterprise"  # 互联网企业


class EntityStatus(StrEnum):
    OPERATING = "operating"  # 在营
    SUSPENDED = "suspended"  # 停歇业
    DEREGISTERED = "deregistered"  # 注销


class OrgKind(StrEnum):
    """党组织 kinds seen in the sources (DOMAIN.md glossary)."""

    AGENCY_BRANCH = "agency_branch"  # 机关党支部
    STATION_BRANCH = "station_branch"  # 市场所党支部
    ASSOCIATION = "association"  # 个私协会党组织
    BRANCH_ASSOCIATION = "branch_association"  # 分会党组织
    MARKET = "market"  # 市场党组织
    ENTERPRISE = "enterprise"  # 小个专企业党组织
    STREET_BLOCK = "street_block"  # 街区党支部


ASSOCIATION_KINDS = frozenset({OrgKind.ASSOCIATION, OrgKind.BRANCH_ASSOCIATION})


class Formation(StrEnum):
    """How an organisation relates to the entities it serves (R13.1, R13.2)."""

    STANDALONE = "standalone"  # 单独建立: exactly one entity
    JOINT = "joint"  # 联合建立: two to five entities
    REGIONAL = "regional"  # 区域性 / 功能性: reaches entities by work coverage only


class MemberCategory(StrEnum):
    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员


class Affiliation(StrEnum):
    """R2.1."""

    SUBORDINATE = "subordinate"  # 隶属: relationship in an association organisation
    LOCAL = "local"  # 属地: relationship in the local township/street/community organisation
    MOBILE = "mobile"  # 流动: relationship, business and household in three places


class Distribution(StrEnum):
    """R1.1 分布: where the member does business."""

    INDIVIDUAL_BUSINESS = "individual_business"  # 个体户
    MARKET_INDIVIDUAL_BUSINESS = "market_individual_business"  # 市场内个体户


# GB 32100-2015: 18 characters from this alphabet, the last a check character.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")
_REGION_RE = re.compile(r"^\d{6}$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


_CREDIT_VALUES = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    if len(first17) != len(_CREDIT_WEIGHTS):
        raise ValueError(f"{first17!r}: 17 characters expected")
    try:
        total = sum(map(operator.mul, map(_CREDIT_VALUES.__getitem__, first17), _CREDIT_WEIGHTS))
    except KeyError as e:
        raise ValueError(f"{e.args[0]!r} is not a credit-code character") from None
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


@functools.lru_cache(maxsize=4096)  # a command and its aggregate check the same code (issue #6, P2)
def validate_credit_code(code: str) -> str:
    code = code.strip().upper()
    if not _CREDIT_RE.match(code) or credit_code_check_char(code[:17]) != code[17]:
        raise errors.InvalidCreditCode(f"{code!r} is not a valid unified social credit code")
    return code


def validate_region_code(code: str, field: str = "region_code") -> str:
    if not _REGION_RE.match(code) or code[:2] == "00":
        raise errors.InvalidRegionCode(f"{code!r} is not a six-digit region code", field=field)
    return code


def region_prefix(code: str) -> str:
    """The prefix that selects a region and everything under it: 330000 → 33, 330400 → 3304."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def validate_mobile(number: str, field: str = "mobile") -> str:
    number = number.strip().replace(" ", "").replace("-", "")
    if not _MOBILE_RE.match(number):
        raise errors.InvalidMobileNumber(f"{number!r} is not a mainland mobile number", field=field)
    return number


def require_text(value: str | None, field: str) -> str:
    """R1.1: a required text field is present and not blank."""
    if value is None or not value.strip():
        raise errors.MissingField(f"{field} is required", field=field)
    return value.strip()


# --- strongest branch (R11), star stations and 薪火 (R9), market standardisation (R4) ----------------


class OrgRating(StrEnum):
    """R11.4 组织评定: the agency party committee's grade of the branch."""

    EXCELLENT = "excellent"  # 优秀
    GOOD = "good"  # 良好
    FAIR = "fair"  # 一般
    POOR = "poor"  # 差


class EvaluationKind(StrEnum):
    """R11.4 四评."""

    ORGANIZATION = "organization"  # 组织评定
    MEMBERS = "members"  # 党员评议
    MASS = "mass"  # 群众评判
    SOCIAL = "social"  # 社会评价


class SocialResult(StrEnum):
    """R11.4 社会评价: what the consulted departments fed back."""

    CLEAN = "clean"  # no adverse feedback
    ADVERSE = "adverse"  # 反馈存在不符合相关要求的
    EXEMPT = "exempt"  # 无直接面向社会职能和涉密单位: not carried out


class DisqualificationKind(StrEnum):
    """R11.5: facts of the year that rule a branch out, recorded as they become known."""

    ACCOUNTABILITY_ACTION = "accountability_action"  # 党支部及所在单位被给予问责处理
    MAJOR_NEGATIVE_OPINION = "major_negative_opinion"  # 出现重大负面舆情
    HEAD_DISCIPLINED = "head_disciplined"  # 党支部负责人被给予党纪政务处分
    HEAD_UNDER_INVESTIGATION = "head_under_investigation"  # 负责人因涉嫌违法犯罪被立案查处
    ANNUAL_REVIEW_BELOW_EXCELLENT = "annual_review_below_excellent"  # 年度述职评议考核达不到优秀
    OTHER = "other"  # 其他不符合建设标准的情形


class EvaluationFailure(StrEnum):
    """R11.4/R11.5: disqualification reasons derived from the four evaluations."""

    ORGANIZATION_BELOW_EXCELLENT = "organization_rating_below_excellent"
    MEMBER_EXCELLENT_BELOW_90 = "member_excellent_share_below_90"
    MASS_DISSATISFACTION_VERIFIED = "mass_dissatisfaction_verified"
    SOCIAL_ADVERSE = "social_evaluation_adverse"


class RatingLevel(StrEnum):
    """R11.6 逐级申报: the levels a strongest-branch application goes to, in order."""

    AGENCY_COMMITTEE = "agency_committee"  # 机关党委: the first level, rates
    UPPER = "upper"  # 市直机关工委 or above


class XinhuoCategory(StrEnum):
    """R9.2 百千万: what a 薪火 demonstration is counted as."""

    ORGANIZATION = "organization"  # 薪火示范党组织
    HOUSEHOLD_MICRO_INTERNET = "household_micro_internet"  # 示范户 in a micro or internet enterprise
    HOUSEHOLD_MARKET_INDIVIDUAL = "household_market_individual"  # 示范户 in a market or individual business


class FocusIndustry(StrEnum):
    """R9.3: the seven focus industries of 薪火 creation."""

    FOOD_PRODUCTION = "food_production"  # 食品生产
    MEDICAL_DEVICES = "medical_devices"  # 医疗器械
    HEALTH_FOODS_COSMETICS = "health_foods_cosmetics"  # 保健品化妆品
    ONLINE_PLATFORMS = "online_platforms"  # 网商平台
    COMMODITY_MARKETS = "commodity_markets"  # 商品市场
    FARMERS_MARKETS = "farmers_markets"  # 农贸市场
    ADVERTISING = "advertising"  # 广告产业


MARKET_KINDS = frozenset(
    {EntityKind.PROFESSIONAL_MARKET, EntityKind.COMMODITY_MARKET, EntityKind.FARMERS_MARKET}
)


class MarketScope(StrEnum):
    """R4: the markets in scope of party-building standardisation (六化)."""

    PROVINCIAL_KEY = "provincial_key"  # 省级重点市场
    REGIONAL_KEY = "regional_key"  # 区域性重点市场
    FIVE_STAR = "five_star"  # 五星级市场
    CITY_DISTRICT_FARMERS_FOUR_STAR = "city_district_farmers_four_star"  # 城区四星级以上农贸市场
    COUNTY_CENTRAL_FARMERS = "county_central_farmers"  # 县城中心农贸市场


FARMERS_MARKET_SCOPES = frozenset(
    {MarketScope.CITY_DISTRICT_FARMERS_FOUR_STAR, MarketScope.COUNTY_CENTRAL_FARMERS}
)


class StandardisationCriterion(StrEnum):
    """R4 六化: the six criteria, in the order of the source."""

    MEMBER_INFORMATION = "member_information"  # 1 党员信息动态化
    ORGANIZATION_COVERAGE = "organization_coverage"  # 2 组织覆盖有效化
    INSTITUTIONS = "institutions"  # 3 制度建设规范化
    ROLE = "role"  # 4 作用发挥实质化 (三亮)
    EDUCATION = "education"  # 5 教育管理制度化: training at least twice a year
    GUARANTEES = "guarantees"  # 6 党建保障常态化: 1-2 party-affairs workers


# --- relationship transfer letters (R13.4) and the mobile-member chain (R6) ---------------------


class TransferScope(StrEnum):
    """R13.4: where the receiving organisation is, which sets the letter's default validity."""

    SAME_CITY = "same_city"  # 市内: about 10 days
    ELSEWHERE = "elsewhere"  # 外地: about 30 days


class TransferLetterStatus(StrEnum):
    """R13.4 组织关系介绍信. Overdue (past validity, not accepted) is derived, never recorded."""

    ISSUED = "issued"  # open: the sending organisation keeps the member until acceptance
    ACCEPTED = "accepted"  # the receiving organisation accepted; the relationship moved
    REFUSED = "refused"  # the receiving organisation refused, with a reason
    CANCELLED = "cancelled"  # withdrawn by the sending organisation, with a reason
    REISSUED = "reissued"  # overdue and replaced by a new letter


class MobileStep(StrEnum):
    """R6.2: the steps of the mobile-member two-way feedback chain, in their order."""

    REGISTERED = "registered"  # 流动党员登记
    IDENTITY_CONFIRMED = "identity_confirmed"  # 党员身份确认 (stamped certificate)
    ACTIVITIES_FILED = "activities_filed"  # 参加组织活动备案
    FEEDBACK_ISSUED = "feedback_issued"  # 党员情况反馈 (评语、反馈表、函)
    RECEIPT_RETURNED = "receipt_returned"  # 回执归档


# --- activities, pairings and liaison points (R4.3, R10, R12) ----------------------------------


class ActivityType(StrEnum):
    """What kind of party activity an organisation held (三会一课 R4.3, training R7, R10 contacts)."""

    BRANCH_GENERAL_MEETING = "branch_general_meeting"  # 支部党员大会 (三会一课)
    BRANCH_COMMITTEE_MEETING = "branch_committee_meeting"  # 支委会 (三会一课)
    PARTY_GROUP_MEETING = "party_group_meeting"  # 党小组会 (三会一课)
    PARTY_LECTURE = "party_lecture"  # 党课 (三会一课)
    THEMED_PARTY_DAY = "themed_party_day"  # 主题党日
    ORGANIZATIONAL_LIFE_MEETING = "organizational_life_meeting"  # 组织生活会
    DEMOCRATIC_APPRAISAL = "democratic_appraisal"  # 民主评议
    TRAINING = "training"  # 培训 (R7)
    VOLUNTEER_SERVICE = "volunteer_service"  # 志愿服务 (R11.3)
    PAIRING_EXCHANGE = "pairing_exchange"  # 结对交流 (R10: paired branches meet quarterly)
    STATION_VISIT = "station_visit"  # 走访 (R10: a station branch visits monthly)
    HEART_TO_HEART_TALK = "heart_to_heart_talk"  # 谈心谈话


THREE_MEETINGS_ONE_LECTURE = frozenset(
    {
        ActivityType.BRANCH_GENERAL_MEETING,
        ActivityType.BRANCH_COMMITTEE_MEETING,
        ActivityType.PARTY_GROUP_MEETING,
        ActivityType.PARTY_LECTURE,
    }
)


class PairingKind(StrEnum):
    """R10 "(1+1)+N" 结对共建."""

    AGENCY_STATION = "agency_station"  # (1+1): an agency branch with a station branch
    BRANCH_SMALL_PRIVATE = "branch_small_private"  # +N: either of them with a 小个专 organisation


PAIRING_BRANCH_KINDS = frozenset({OrgKind.AGENCY_BRANCH, OrgKind.STATION_BRANCH})
"""R10: the branches of the bureau that pair, with each other (1+1) and with 小个专 organisations (N)."""

SMALL_PRIVATE_KINDS = frozenset(
    {
        OrgKind.MARKET,
        OrgKind.ENTERPRISE,
        OrgKind.STREET_BLOCK,
        OrgKind.BRANCH_ASSOCIATION,
        OrgKind.ASSOCIATION,
    }
)
"""R10 "N": organisations of the 小个专 (small and micro enterprises, individual businesses, markets).

Markets, enterprises and street blocks hold the businesses' members directly; association and
branch-association (个私协会 / 分会) organisations hold the 隶属 members of individual businesses
(R2.1), and 001/004 show stations pairing with them too, so they count as 小个专 organisations here.
"""


# --- member lifecycle and the pioneer index (R13.5, R13.6, R5) ----------------------------------


class LeavingReason(StrEnum):
    """R13.6: members are never deleted; every decrease has one of these reasons."""

    TRANSFERRED_OUT = "transferred_out"  # 转出本系统
    DIED = "died"  # 去世
    REMOVED = "removed"  # 除名 / 开除
    LAPSED = "lapsed"  # 自行脱党 (e.g. R13.4: no transfer without reason for over 6 months)


class PioneerStep(StrEnum):
    """R5.4: the steps of the pioneer-index evaluation, in this order."""

    SELF_EVALUATION = "self_evaluation"  # 个人自评
    PEER_EVALUATION = "peer_evaluation"  # 党员互评
    ORGANIZATION_REVIEW = "organization_review"  # 组织审定
    PUBLIC_NOTICE = "public_notice"  # 审核公示


PIONEER_STEPS = tuple(PioneerStep)


class PioneerStanding(StrEnum):
    """How a member stands in a pioneer-index round, judged on the round's date (R5.1-R5.3)."""

    ELIGIBLE = "eligible"
    EXCLUDED = "excluded"  # R5.2 暂不参加考评
    VETOED = "vetoed"  # R5.3 一票否决
    OUT_OF_SCOPE = "out_of_scope"  # R5.1 not a member of this organisation's scope

"""Value types and validators shared by the aggregates (enumerations, codes, phone numbers)."""

from __future__ import annotations

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


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


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

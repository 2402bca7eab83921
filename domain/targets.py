"""Targets and thresholds the sources set as statistics, not as command rules.

The read side (issue #4) compares its figures against these; no command refuses anything because
of them.
"""

from __future__ import annotations

from typing import Final

from domain.values import Affiliation, XinhuoCategory

# R11.2: target share of strongest branches (最强党支部) among branches, by end of year.
STRONGEST_BRANCH_TARGET_SHARE: Final[dict[int, float]] = {2020: 0.20, 2021: 0.30, 2022: 0.40, 2023: 0.50}

# R11.3: party-member volunteers at least 80% of serving members; at least 2 volunteer activities a year.
VOLUNTEER_MIN_SHARE: Final = 0.80
VOLUNTEER_MIN_ACTIVITIES_PER_YEAR: Final = 2

# R9.1: within three years, 25 stations five-star and all 99 stations through three- or four-star creation.
STAR_STATION_YEARS: Final = 3
FIVE_STAR_STATIONS_TARGET: Final = 25
STATIONS_TOTAL: Final = 99

# R9.2 百千万: 薪火 demonstration organisations and member households.
XINHUO_ORGANIZATIONS_TARGET: Final = 100
XINHUO_HOUSEHOLDS_MICRO_INTERNET_TARGET: Final = 1_000
XINHUO_HOUSEHOLDS_MARKET_INDIVIDUAL_TARGET: Final = 10_000
XINHUO_TARGETS: Final[dict[str, int]] = {
    XinhuoCategory.ORGANIZATION.value: XINHUO_ORGANIZATIONS_TARGET,
    XinhuoCategory.HOUSEHOLD_MICRO_INTERNET.value: XINHUO_HOUSEHOLDS_MICRO_INTERNET_TARGET,
    XinhuoCategory.HOUSEHOLD_MARKET_INDIVIDUAL.value: XINHUO_HOUSEHOLDS_MARKET_INDIVIDUAL_TARGET,
}

# R7: yearly training rates by affiliation: 隶属 100%, 流动 at least 80%, 属地 at least once each.
TRAINING_RATE_SUBORDINATE: Final = 1.00
TRAINING_RATE_MOBILE: Final = 0.80
TRAINING_MIN_SESSIONS_LOCAL: Final = 1
TRAINING_TARGETS: Final[dict[str, tuple[float, int | None]]] = {
    Affiliation.SUBORDINATE.value: (TRAINING_RATE_SUBORDINATE, None),
    Affiliation.MOBILE.value: (TRAINING_RATE_MOBILE, None),
    Affiliation.LOCAL.value: (1.0, TRAINING_MIN_SESSIONS_LOCAL),
}
"""R7 by affiliation: the share of members to be trained and, for 属地, the sessions each needs."""

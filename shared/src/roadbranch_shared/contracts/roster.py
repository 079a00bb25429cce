"""Events of the roster service (摸清底数、健全组织体系)."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import ROSTER_DRIVER, ROSTER_MEMBER


class DriverSource:
    """Where a driver list came from (a `str` with known values, so new sources stay readable)."""

    FREIGHT_COMPANY = "freight_company"  # 传统道路货运企业
    FREIGHT_PLATFORM = "freight_platform"  # 互联网货运平台企业
    INDIVIDUAL = "individual"  # 个体货车司机


@event_type("roadbranch.roster.driver.registered.v1", topic=ROSTER_DRIVER)
class DriverRegistered(EventPayload):
    """A driver entered the roster from an imported list or by registering himself."""

    driver_id: str
    county: str
    source: str
    batch_id: str | None = None
    registered_at: datetime


@event_type("roadbranch.roster.member.verified.v1", topic=ROSTER_MEMBER)
class MemberVerified(EventPayload):
    """A driver's Party membership was confirmed (查身份、核信息); the design card's member-verified."""

    member_id: str
    driver_id: str
    method: str
    verified_at: datetime
    branch_id: str | None = None

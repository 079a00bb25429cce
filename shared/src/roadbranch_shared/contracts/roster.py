"""Events of the roster service (摸清底数、健全组织体系)."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER, ROSTER_MEMBER


@event_type("roadbranch.roster.driver.registered.v1", topic=ROSTER_DRIVER)
class DriverRegistered(EventPayload):
    """A driver entered the roster from an imported list or by registering himself."""

    driver_id: str
    county: str
    source: str  # freight_company | freight_platform | individual (read as a string: more may come)
    batch_id: str | None = None
    registered_at: datetime


@event_type("roadbranch.roster.driver.updated.v1", topic=ROSTER_DRIVER)
class DriverUpdated(EventPayload):
    """A driver's record changed: which fields (never their values), and the list that changed it."""

    driver_id: str
    changed: list[str]
    batch_id: str | None = None
    updated_at: datetime


@event_type("roadbranch.roster.contact.changed.v1", topic=ROSTER_CONTACT)
class ContactPointChanged(EventPayload):
    """How to reach a driver. Only on the compacted `roster.contact.v1`, read by notify alone:
    the one topic that carries a phone number. Erasing a driver publishes a tombstone instead."""

    driver_id: str
    phone: str | None = None
    wechat_id: str | None = None
    preferred_channel: str = "sms"
    changed_at: datetime


@event_type("roadbranch.roster.member.verified.v1", topic=ROSTER_MEMBER)
class MemberVerified(EventPayload):
    """A driver's Party membership was confirmed (查身份、核信息); the design card's member-verified."""

    member_id: str
    driver_id: str
    method: str
    verified_at: datetime
    branch_id: str | None = None

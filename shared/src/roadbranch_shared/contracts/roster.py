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


@event_type("roadbranch.roster.member.candidate_found.v1", topic=ROSTER_MEMBER)
class MemberCandidateFound(EventPayload):
    """A driver may be a Party member: his ID number matched a member record in a cross-check
    (信息比对), or he declared it himself (亮身份). A verification case is open."""

    member_id: str
    driver_id: str
    origin: str  # cross_check | self_declared
    check_id: str | None = None
    found_at: datetime


@event_type("roadbranch.roster.member.rejected.v1", topic=ROSTER_MEMBER)
class MemberRejected(EventPayload):
    """The verification found the driver is not a member (or could not confirm it)."""

    member_id: str
    driver_id: str
    reason: str
    rejected_at: datetime


@event_type("roadbranch.roster.member.verified.v1", topic=ROSTER_MEMBER)
class MemberVerified(EventPayload):
    """A driver's Party membership was confirmed (查身份、核信息); the design card's member-verified."""

    member_id: str
    driver_id: str
    method: str
    verified_at: datetime
    branch_id: str | None = None

"""Events of the roster service (摸清底数、健全组织体系)."""

from __future__ import annotations

from datetime import date, datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG


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
    """How to reach a driver. Only on the compacted `roster.contact.v1`, read by notify (and the
    sign-in service): the one topic that carries contact points, and those only sealed with the
    readers' shared key (`roadbranch_shared.pii.seal_contact_point`, bound to the driver and the
    field). Erasing a driver publishes a tombstone instead.

    `phone` and `wechat_id` in clear are what records written before sealing carried; roster no
    longer fills them, and readers take `phone_sealed` / `wechat_id_sealed` first.

    `quiet_hours` is the driver's own choice of when non-urgent messages wait: `own` (from
    `quiet_start` to `quiet_end`, "HH:MM" local time, overnight when the end is earlier), `off`
    (none: he takes messages at any hour) or `county` (the county's quiet hours). Absent (records
    written before drivers chose) means `county`."""

    driver_id: str
    phone: str | None = None
    wechat_id: str | None = None
    phone_sealed: str | None = None
    wechat_id_sealed: str | None = None
    preferred_channel: str = "sms"
    changed_at: datetime
    quiet_hours: str | None = None  # county | own | off (read as a string: more may come)
    quiet_start: str | None = None
    quiet_end: str | None = None


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


@event_type("roadbranch.roster.member.transferred_in.v1", topic=ROSTER_MEMBER)
class MemberTransferredIn(EventPayload):
    """The member's organisation relation was transferred into the mobile branch (动员党员"回家")."""

    member_id: str
    driver_id: str
    branch_id: str
    from_organisation: str
    accepted_on: date


@event_type("roadbranch.roster.member.assigned.v1", topic=ROSTER_MEMBER)
class MemberAssignedToBranch(EventPayload):
    """A verified member was assigned to a branch (and optionally a party group in it)."""

    member_id: str
    driver_id: str
    branch_id: str
    group_id: str | None = None
    assigned_at: datetime


@event_type("roadbranch.roster.member.contact_lost.v1", topic=ROSTER_MEMBER)
class MemberContactLost(EventPayload):
    """No contact recorded with the member for the configured period: a case for the committee.
    Nothing about the member changes by itself; any status change is a person's decision."""

    member_id: str
    driver_id: str
    last_contact_at: datetime | None = None
    raised_at: datetime


@event_type("roadbranch.roster.org.created.v1", topic=ROSTER_ORG)
class OrganisationCreated(EventPayload):
    """An organisation in the tree: industry committee, branch, party group or work group (专班)."""

    organisation_id: str
    kind: str  # industry_committee | branch | party_group | work_group | work_subgroup
    name: str
    parent_id: str | None = None
    created_at: datetime
    county: str | None = None  # the county it serves; a child serves its parent's


@event_type("roadbranch.roster.org.seat_assigned.v1", topic=ROSTER_ORG)
class SeatAssigned(EventPayload):
    """A seat on an organisation's committee (secretary, deputy, member; co-leader in the work group)."""

    organisation_id: str
    seat_id: str
    role: str
    person_id: str  # a driver id or a staff principal's subject, never a name
    term_start: date
    term_end: date | None = None
    assigned_at: datetime


@event_type("roadbranch.roster.org.seat_ended.v1", topic=ROSTER_ORG)
class SeatEnded(EventPayload):
    """A seat's term was ended (任期结束、免职): from `term_end` on the person no longer holds it.
    The seat is the one `SeatAssigned` with the same `seat_id` published."""

    organisation_id: str
    seat_id: str
    role: str
    person_id: str  # a driver id or a staff principal's subject, never a name
    term_start: date
    term_end: date
    ended_at: datetime


@event_type("roadbranch.roster.org.pairing_assigned.v1", topic=ROSTER_ORG)
class PairingAssigned(EventPayload):
    """N+1 pairing (结对帮带): a committee member paired with member drivers."""

    organisation_id: str
    pairing_id: str
    committee_person_id: str
    member_ids: list[str]
    assigned_at: datetime


@event_type("roadbranch.roster.org.pairing_contact_overdue.v1", topic=ROSTER_ORG)
class PairingContactOverdue(EventPayload):
    """A pair has had no contact for the configured period; the committee member is reminded."""

    organisation_id: str
    pairing_id: str
    committee_person_id: str
    member_id: str
    last_contact_at: datetime | None = None
    raised_at: datetime


@event_type("roadbranch.roster.driver.erased.v1", topic=ROSTER_DRIVER)
class DriverErased(EventPayload):
    """A driver's personal data was erased on request (PIPL); only an erased marker remains."""

    driver_id: str
    erased_at: datetime

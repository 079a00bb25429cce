"""Notify's subscriptions: roster events build its view of recipients; every event a rule names
queues its messages. Handlers are thin: the view, the rules and the queue do the work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.contracts import activities, roster, welfare
from roadbranch_shared.events import Envelope, EventPayload
from roadbranch_shared.topics import (
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_CONTENT,
    ACTIVITIES_MEETING,
    ROSTER_CONTACT,
    ROSTER_DRIVER,
    ROSTER_MEMBER,
    ROSTER_ORG,
    WELFARE_NEED,
)

from notify.app.notifier import Notifier
from notify.domain.rules import member_welcome, notices_for

SECRETARY = "secretary"


def secretary_seat(person_id: str, term_start: date, term_end: date | None) -> dict[str, Any]:
    # BSON has no date type: terms are kept as ISO dates, which compare as the days do.
    return {
        "person_id": person_id,
        "term_start": term_start.isoformat(),
        "term_end": term_end.isoformat() if term_end else None,
    }


def subscriptions(group: str, notifier: Notifier) -> list[EventSubscription]:
    """The subscriptions, one consumer group per topic, each handing its events to `notifier`."""
    return [
        *_recipients(group, notifier),
        _members(group, notifier),
        _organisations(group, notifier),
        _meetings(group, notifier),
        *_by_rules(group, notifier),
    ]


def _recipients(group: str, notifier: Notifier) -> list[EventSubscription]:
    """Who can be reached, and how: contact points (sealed) and erasures."""
    contact = EventSubscription(ROSTER_CONTACT, group_id=group)

    @contact.on(roster.ContactPointChanged)
    async def contact_changed(e: roster.ContactPointChanged, envelope: Envelope) -> None:
        view = notifier.view
        await view.contact_changed(
            e.driver_id,
            envelope,
            phone=view.opened(e.driver_id, "phone", e.phone_sealed, e.phone),
            wechat_id=view.opened(e.driver_id, "wechat_id", e.wechat_id_sealed, e.wechat_id),
            preferred=e.preferred_channel,
        )

    @contact.on_tombstone
    async def contact_erased(driver_id: str) -> None:
        await notifier.view.erase(driver_id, notifier.clock.now())

    driver = EventSubscription(ROSTER_DRIVER, group_id=group)

    @driver.on(roster.DriverErased)
    async def driver_erased(e: roster.DriverErased, envelope: Envelope) -> None:
        await notifier.view.erase(e.driver_id, e.erased_at, envelope.seq)

    return [contact, driver]


def _members(group: str, notifier: Notifier) -> EventSubscription:
    """Where each member belongs, his welcome, and his secretary told when contact with him is lost."""
    member = EventSubscription(ROSTER_MEMBER, group_id=group)

    @member.on(roster.MemberVerified)
    async def member_verified(e: roster.MemberVerified, envelope: Envelope) -> None:
        if e.branch_id:
            await notifier.view.place(e.driver_id, [e.branch_id])
        for notice in member_welcome(e, await notifier.view.organisation_name(e.branch_id)):
            await notifier.queue.publish(notice, cause=envelope.id)

    @member.on(roster.MemberAssignedToBranch)
    async def member_assigned(e: roster.MemberAssignedToBranch, envelope: Envelope) -> None:
        await notifier.view.place(e.driver_id, [o for o in (e.branch_id, e.group_id) if o])

    member.on(roster.MemberContactLost)(_publishing_by_rules(notifier))
    return member


def _organisations(group: str, notifier: Notifier) -> EventSubscription:
    """Organisations' names and secretaries (an organisation's secretary hears its notices), and the
    pairing reminders."""
    org = EventSubscription(ROSTER_ORG, group_id=group)

    @org.on(roster.OrganisationCreated)
    async def organisation_created(e: roster.OrganisationCreated, envelope: Envelope) -> None:
        await notifier.view.organisation_created(e.organisation_id, e.name, e.kind)

    # Of the seats, notify needs the secretaries only.
    @org.on(roster.SeatAssigned)
    async def seat_assigned(e: roster.SeatAssigned, envelope: Envelope) -> None:
        if e.role == SECRETARY:
            seat = secretary_seat(e.person_id, e.term_start, e.term_end)
            await notifier.view.secretary_seated(e.organisation_id, e.seat_id, seat, envelope)

    @org.on(roster.SeatEnded)
    async def seat_ended(e: roster.SeatEnded, envelope: Envelope) -> None:
        if e.role == SECRETARY:
            seat = secretary_seat(e.person_id, e.term_start, e.term_end)
            await notifier.view.secretary_seat_ended(e.organisation_id, e.seat_id, seat, envelope)

    org.on(roster.PairingContactOverdue)(_publishing_by_rules(notifier))
    return org


def _meetings(group: str, notifier: Notifier) -> EventSubscription:
    """Meetings announced and reminded, moved and called off."""
    meeting = EventSubscription(ACTIVITIES_MEETING, group_id=group)

    @meeting.on(activities.MeetingScheduled)
    async def meeting_scheduled(e: activities.MeetingScheduled, envelope: Envelope) -> None:
        await notifier.meetings.scheduled(e, envelope)

    @meeting.on(activities.MeetingRescheduled)
    async def meeting_rescheduled(e: activities.MeetingRescheduled, envelope: Envelope) -> None:
        await notifier.meetings.rescheduled(e, envelope)

    @meeting.on(activities.MeetingCancelled)
    async def meeting_cancelled(e: activities.MeetingCancelled, envelope: Envelope) -> None:
        await notifier.meetings.cancelled(e, envelope)

    return meeting


def _publishing_by_rules(notifier: Notifier) -> Callable[[EventPayload, Envelope], Awaitable[None]]:
    """A handler that queues the notices `notices_for` derives from the event."""

    async def by_rules(payload: EventPayload, envelope: Envelope) -> None:
        for notice in notices_for(payload):
            await notifier.queue.publish(notice, cause=envelope.id)

    return by_rules


def _by_rules(group: str, notifier: Notifier) -> list[EventSubscription]:
    """Learning content, compliance alerts and needs: notices by the rules alone."""
    by_rules = _publishing_by_rules(notifier)
    content = EventSubscription(ACTIVITIES_CONTENT, group_id=group)
    content.on(activities.ContentPublished)(by_rules)
    compliance = EventSubscription(ACTIVITIES_COMPLIANCE, group_id=group)
    compliance.on(activities.ComplianceOverdue)(by_rules)
    need = EventSubscription(WELFARE_NEED, group_id=group)
    for model in (welfare.NeedFiled, welfare.NeedAssigned, welfare.NeedEscalated, welfare.NeedResolved):
        need.on(model)(by_rules)
    return [content, compliance, need]

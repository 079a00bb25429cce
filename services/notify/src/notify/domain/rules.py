"""Rules: which event tells whom what (通知规则). Pure: a payload in, notices out; the app resolves the
audiences from its own view and renders the templates.

A notice's context holds only what the message needs (a meeting's topic and time, a category), never
a name or a phone number: the same text goes to every recipient of a notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roadbranch_shared.contracts import activities, roster, welfare
from roadbranch_shared.events import EventPayload

from notify.domain.labels import (
    CONTENT_CATEGORIES,
    MEETING_KINDS,
    MODES,
    NEED_CATEGORIES,
    VENUES,
    label,
)


class AudienceKind:
    DRIVERS = "drivers"  # the listed driver ids
    PEOPLE = "people"  # the listed ids, drivers or staff (a committee member, a handler)
    ORGANISATION_MEMBERS = "organisation_members"  # the drivers in an organisation (branch, group)
    ALL_DRIVERS = "all_drivers"
    ORGANISATION_SECRETARY = "organisation_secretary"
    # The secretaries of the organisations the listed drivers belong to (their branch, their group).
    SECRETARIES_OF_DRIVERS = "secretaries_of_drivers"


@dataclass(frozen=True)
class Audience:
    kind: str
    ids: tuple[str, ...] = ()
    organisation_id: str | None = None


@dataclass(frozen=True)
class Notice:
    """One message to one audience: a template, its context, and whether it may wake a driver at night."""

    template: str
    audience: Audience
    context: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    meeting_id: str | None = None  # a meeting notice is withdrawn if the meeting moves or is cancelled


def drivers(*ids: str | None) -> Audience:
    return Audience(AudienceKind.DRIVERS, tuple(i for i in ids if i))


def people(*ids: str | None) -> Audience:
    return Audience(AudienceKind.PEOPLE, tuple(dict.fromkeys(i for i in ids if i)))


def meeting_context(
    kind: str, title: str, starts_at: datetime, venue_kind: str, venue_name: str | None, mode: str
) -> dict[str, Any]:
    """What a meeting message says; `starts_at` is formatted in local time when rendered."""
    return {
        "kind": label(MEETING_KINDS, kind),
        "title": title,
        "starts_at": starts_at,
        "venue": venue_name or label(VENUES, venue_kind),
        "mode": label(MODES, mode),
    }


def _meeting_scheduled(e: activities.MeetingScheduled) -> list[Notice]:
    context = meeting_context(e.kind, e.title, e.starts_at, e.venue_kind, e.venue_name, e.mode)
    return [Notice("meeting_scheduled", drivers(*e.invitee_driver_ids), context, meeting_id=e.meeting_id)]


def _meeting_rescheduled(e: activities.MeetingRescheduled) -> list[Notice]:
    context = meeting_context(e.kind, e.title, e.starts_at, e.venue_kind, e.venue_name, e.mode)
    context["previous_starts_at"] = e.previous_starts_at
    return [Notice("meeting_rescheduled", drivers(*e.invitee_driver_ids), context, meeting_id=e.meeting_id)]


def _content_published(e: activities.ContentPublished) -> list[Notice]:
    # The audience fixed at publication when the event names it; else notify's own view of who
    # belongs to the organisation (or every driver it knows).
    if e.audience_driver_ids is not None:
        audience = drivers(*e.audience_driver_ids)
    elif e.organisation_id is None:
        audience = Audience(AudienceKind.ALL_DRIVERS)
    else:
        audience = Audience(AudienceKind.ORGANISATION_MEMBERS, organisation_id=e.organisation_id)
    # The item's id: with the driver app's address set, the push links to the item itself.
    context = {
        "title": e.title,
        "category": label(CONTENT_CATEGORIES, e.category),
        "content_id": e.content_id,
    }
    return [Notice("content_published", audience, context)]


def _compliance_overdue(e: activities.ComplianceOverdue) -> list[Notice]:
    context = {
        "requirement": label(MEETING_KINDS, e.requirement),
        "period": e.period,
        "period_end": e.period_end.isoformat(),
        "held": e.held,
        "required": e.required,
    }
    audience = Audience(AudienceKind.ORGANISATION_SECRETARY, organisation_id=e.organisation_id)
    return [Notice("compliance_overdue", audience, context)]


def _need_context(need_id: str, category: str) -> dict[str, Any]:
    # The need's number lets the driver and the handler speak of it; its description stays in welfare.
    return {"need_ref": need_id[-6:], "category": label(NEED_CATEGORIES, category)}


def _need_filed(e: welfare.NeedFiled) -> list[Notice]:
    return [Notice("need_filed", drivers(e.driver_id), _need_context(e.need_id, e.category))]


def _need_assigned(e: welfare.NeedAssigned) -> list[Notice]:
    context = {**_need_context(e.need_id, e.category), "due_at": e.due_at}
    return [
        Notice("need_assigned_driver", drivers(e.driver_id), context),
        Notice("need_assigned_handler", people(e.handler_id), context, urgent=e.urgency == "urgent"),
    ]


def _need_escalated(e: welfare.NeedEscalated) -> list[Notice]:
    # Past its response-time target: the leader (and the handler) are told at once, night or not.
    context = {**_need_context(e.need_id, e.category), "due_at": e.due_at}
    return [Notice("need_escalated", people(e.leader_id, e.handler_id), context, urgent=True)]


def _need_resolved(e: welfare.NeedResolved) -> list[Notice]:
    return [Notice("need_resolved", drivers(e.driver_id), _need_context(e.need_id, e.category))]


def _member_context(member_id: str, last_contact_at: datetime | None) -> dict[str, Any]:
    # Which member, by the tail of his record's number (as the ledger shows it); his name and phone
    # stay in the roster, where the console shows them to those who may see them.
    return {"member_ref": member_id[-6:], "last_contact_at": last_contact_at}


def _pairing_contact_overdue(e: roster.PairingContactOverdue) -> list[Notice]:
    context = _member_context(e.member_id, e.last_contact_at)
    return [Notice("pairing_contact_overdue", people(e.committee_person_id), context)]


def _member_contact_lost(e: roster.MemberContactLost) -> list[Notice]:
    """Lost contact: his branch's secretary (and his group's) is told, to follow it up."""
    audience = Audience(AudienceKind.SECRETARIES_OF_DRIVERS, ids=(e.driver_id,))
    return [Notice("member_contact_lost", audience, _member_context(e.member_id, e.last_contact_at))]


def member_welcome(e: roster.MemberVerified, branch_name: str | None) -> list[Notice]:
    """A welcome to the verified member with his branch (the branch's name comes from notify's view)."""
    return [Notice("member_welcome", drivers(e.driver_id), {"branch": branch_name})]


RULES: dict[type[EventPayload], Callable[[Any], list[Notice]]] = {
    activities.MeetingScheduled: _meeting_scheduled,
    activities.MeetingRescheduled: _meeting_rescheduled,
    activities.ContentPublished: _content_published,
    activities.ComplianceOverdue: _compliance_overdue,
    welfare.NeedFiled: _need_filed,
    welfare.NeedAssigned: _need_assigned,
    welfare.NeedEscalated: _need_escalated,
    welfare.NeedResolved: _need_resolved,
    roster.PairingContactOverdue: _pairing_contact_overdue,
    roster.MemberContactLost: _member_contact_lost,
}


def notices_for(payload: EventPayload) -> list[Notice]:
    """The notices an event calls for (none for events nobody is told about)."""
    rule = RULES.get(type(payload))
    return rule(payload) if rule is not None else []

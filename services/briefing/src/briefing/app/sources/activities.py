"""Activities' events in the view: gather them (聚起来): meetings, lessons, quotes, contents, venues,
and the compliance the calendar found overdue."""

from __future__ import annotations

from roadbranch_shared.contracts import activities as act
from roadbranch_shared.documents import Document

from briefing.app.sources.rules import Rule, quote, upsert


def _meeting(e: act.MeetingScheduled | act.MeetingRescheduled) -> Document:
    return {
        "organisation_id": e.organisation_id,
        "kind": e.kind,
        "starts_at": e.starts_at,
        "venue_kind": e.venue_kind,
        "venue_name": e.venue_name,
        "title": e.title,
        "mode": e.mode,
        "invited": len(e.invitee_driver_ids),
        "status": "scheduled",
    }


def _held(e: act.MeetingHeld) -> Document:
    return {
        "organisation_id": e.organisation_id,
        "kind": e.kind,
        "status": "held",
        "held_at": e.held_at,
        "venue_kind": e.venue_kind,
        "mode": e.mode,
        "host_id": e.host_id,
        "oath_renewal": e.oath_renewal,
        "invited": e.invited,
        "present_on_site": e.present_on_site,
        "present_online": e.present_online,
        "on_leave": e.on_leave,
        "absent": e.absent,
        "quorum_met": e.quorum_met,
    }


def _venue(e: act.VenueRegistered | act.VenueUpdated) -> Document:
    return {
        "name": e.name,
        "venue_kind": e.venue_kind,
        "county": e.county,
        "instructor_ids": e.instructor_ids,
    }


RULES: tuple[Rule, ...] = (
    upsert(
        act.MeetingScheduled,
        "meetings",
        lambda e: e.meeting_id,
        lambda e: {**_meeting(e), "host_id": e.host_id},
    ),
    upsert(act.MeetingRescheduled, "meetings", lambda e: e.meeting_id, _meeting),
    upsert(
        act.MeetingCancelled,
        "meetings",
        lambda e: e.meeting_id,
        lambda e: {"status": "cancelled", "cancelled_at": e.cancelled_at},
    ),
    upsert(act.MeetingHeld, "meetings", lambda e: e.meeting_id, _held),
    upsert(
        act.LessonHeld,
        "meetings",
        lambda e: e.meeting_id,
        lambda e: {
            "status": "held",
            "held_at": e.held_at,
            "lecturer_id": e.lecturer_id,
            "kind": "party_lesson",
        },
    ),
    upsert(
        act.MakeUpCompleted,
        "meetings",
        lambda e: e.meeting_id,
        lambda e: {f"made_up.{e.person_id}": e.completed_at},
    ),
    upsert(
        act.QuizPassed,
        "meetings",
        lambda e: e.meeting_id,
        lambda e: {f"passed.{e.person_id}": e.passed_at},
        when=lambda e: e.purpose == "knowledge_test",
    ),
    # The quote keeps the meeting's seq series: its own document, gated by the same seq.
    quote(
        act.QuoteRecorded,
        lambda e: e.quote_id,
        lambda e: {
            "meeting_id": e.meeting_id,
            "organisation_id": e.organisation_id,
            "kind": e.kind,
            "speaker_id": e.speaker_id,
            "text": e.text,
            "recorded_at": e.recorded_at,
        },
    ),
    # After its quote.recorded in the meeting's series: the words go, the briefing skips it.
    upsert(
        act.QuoteWithdrawn,
        "quotes",
        lambda e: e.quote_id,
        lambda e: {"text": "", "withdrawn_at": e.withdrawn_at},
    ),
    upsert(
        act.ContentPublished,
        "contents",
        lambda e: e.content_id,
        lambda e: {
            "organisation_id": e.organisation_id,
            "category": e.category,
            "published_at": e.published_at,
            "audience": len(e.audience_driver_ids) if e.audience_driver_ids is not None else None,
            "county": e.county,
        },
    ),
    upsert(
        act.ContentRead, "contents", lambda e: e.content_id, lambda e: {f"readers.{e.driver_id}": e.read_at}
    ),
    upsert(
        act.VenueRegistered,
        "venues",
        lambda e: e.venue_id,
        lambda e: {**_venue(e), "registered_at": e.registered_at},
    ),
    upsert(act.VenueUpdated, "venues", lambda e: e.venue_id, _venue),
    upsert(
        act.ComplianceOverdue,
        "compliance",
        lambda e: f"{e.organisation_id}:{e.requirement}:{e.period}",
        lambda e: {
            "organisation_id": e.organisation_id,
            "requirement": e.requirement,
            "period": e.period,
            "period_end": e.period_end.isoformat(),
            "raised_at": e.raised_at,
        },
    ),
)

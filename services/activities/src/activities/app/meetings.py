"""Use cases of meetings (三会一课 and the rest): schedule, move, cancel, hold, and the quotes of
attendees. Each command reads the meeting by `_id`, decides with the domain rules and writes the
change with its events in one single-document update (the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document, create_document
from roadbranch_shared.auth import Principal, Role
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.contracts.activities import (
    AttendanceRecorded,
    LessonHeld,
    MeetingCancelled,
    MeetingHeld,
    MeetingRescheduled,
    MeetingScheduled,
    QuoteRecorded,
    QuoteWithdrawn,
)
from roadbranch_shared.documents import Document, public_fields
from roadbranch_shared.domain import DomainError, check_consented_words
from roadbranch_shared.events import EventPayload, source_of

from activities.app.access import check_manages, venues_of
from activities.app.venues import Venues
from activities.app.views import Membership
from activities.domain.meetings import (
    Attendance,
    Audience,
    Kind,
    Status,
    Way,
    check_open,
    check_person_id,
    check_schedule,
    default_audience,
    figures,
    quorum_met,
)

SOURCE = source_of("activities")
NO_SUCH_MEETING = DomainError("meeting_id", "not_found", "没有这个会议", DomainError.NOT_FOUND)


def record_payload(meeting: Document, person_id: str, record: Document) -> AttendanceRecorded:
    return AttendanceRecorded(
        meeting_id=meeting["_id"],
        organisation_id=meeting["organisation_id"],
        kind=meeting["kind"],
        person_id=person_id,
        status=record["status"],
        way=record["way"],
        recorded_by=record["recorded_by"],
        recorded_at=record["recorded_at"],
    )


class Meetings:
    def __init__(
        self, db: AsyncDatabase[Document], membership: Membership, clock: TimeSource, venues: Venues
    ) -> None:
        self.db = db
        self.membership = membership
        self.clock = clock
        self.venues = venues

    async def meeting(self, meeting_id: str) -> Document:
        meeting = await self.db.meetings.find_one({"_id": meeting_id}, public_fields(shown={"version"}))
        if meeting is None:
            raise NO_SUCH_MEETING
        return meeting

    async def managed(self, meeting_id: str, principal: Principal) -> Document:
        meeting = await self.meeting(meeting_id)
        await check_manages(
            self.membership, principal, meeting["organisation_id"], meeting.get("venue_id"), self.venues
        )
        return meeting

    async def command(
        self, meeting_id: str, principal: Principal | None, decide: Callable[[Document], Awaitable[Decision]]
    ) -> Document:
        """`changed`, answered as the API shows the meeting."""
        return shown(await self.changed(meeting_id, principal, decide))

    async def changed(
        self, meeting_id: str, principal: Principal | None, decide: Callable[[Document], Awaitable[Decision]]
    ) -> Document:
        """Check the caller (if any) on the meeting as read, decide and write at the version read;
        again while another write got there first. The meeting as stored after."""

        async def checked(meeting: Document) -> Decision:
            if principal is not None:
                await check_manages(
                    self.membership,
                    principal,
                    meeting["organisation_id"],
                    meeting.get("venue_id"),
                    self.venues,
                )
            return await decide(meeting)

        changed = await change_document(
            self.db.meetings, meeting_id, checked, source=SOURCE, missing=NO_SUCH_MEETING
        )
        return changed.after

    async def view(self, meeting_id: str) -> Document:
        return shown(await self.meeting(meeting_id))

    # ------------------------------------------------------------------ life cycle

    async def schedule(self, principal: Principal, body: dict[str, Any]) -> Document:
        body = await self._at_venue(body)
        check_schedule(body["kind"], body["venue_kind"], body["mode"], body["starts_at"], body.get("ends_at"))
        org_id = body["organisation_id"]
        if await self.membership.organisation(org_id) is None:
            raise DomainError(
                "organisation_id", "not_found", "没有这个组织（或尚未从花名册同步）", "not_found"
            )
        await check_manages(self.membership, principal, org_id, body.get("venue_id"), self.venues)
        invitees, voters = await self._invitees(body)
        now = self.clock.now()
        meeting_id = f"mtg_{uuid.uuid4().hex[:16]}"
        doc: Document = {
            "_id": meeting_id,
            **{k: body.get(k) for k in ("organisation_id", "kind", "topic", "starts_at", "ends_at")},
            **{
                k: body.get(k)
                for k in ("venue_kind", "venue_name", "venue_id", "mode", "host_id", "material")
            },
            "audience": body.get("audience") or default_audience(body["kind"]),
            "oath_renewal": bool(body.get("oath_renewal")),
            "invitees": invitees,
            "invitee_drivers": await self.membership.drivers_among(invitees),
            "voters": voters,
            "status": Status.SCHEDULED,
            "attendance": {},
            "quizzes": {},
            "quotes": [],
            "scheduled_by": principal.subject,
            "scheduled_at": now,
        }
        event = MeetingScheduled(
            meeting_id=meeting_id,
            organisation_id=org_id,
            kind=doc["kind"],
            title=doc["topic"],
            starts_at=doc["starts_at"],
            ends_at=doc["ends_at"],
            venue_kind=doc["venue_kind"],
            venue_name=doc["venue_name"],
            mode=doc["mode"],
            host_id=doc["host_id"],
            invitee_driver_ids=doc["invitee_drivers"],
            scheduled_at=now,
        )
        await create_document(self.db.meetings, doc, [event], source=SOURCE)
        return await self.view(meeting_id)

    async def _at_venue(self, body: dict[str, Any]) -> dict[str, Any]:
        """A meeting at a venue of the directory takes the venue's name and kind unless it gives its
        own; without either, the request must say what kind of place it is."""
        venue = await self.venues.find(body["venue_id"]) if body.get("venue_id") else None
        if venue is not None:
            body = {
                **body,
                "venue_kind": body.get("venue_kind") or venue["venue_kind"],
                "venue_name": body.get("venue_name") or venue["name"],
            }
        if not body.get("venue_kind"):
            message = "须写明地点类型（venue_kind），或给出目录中的活动阵地（venue_id）"
            raise DomainError("venue_kind", "required", message, DomainError.INVALID)
        return body

    async def _invitees(self, body: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The audience of the organisation, plus anyone named; voters are invitees not marked non-voting."""
        audience = body.get("audience") or default_audience(body["kind"])
        if audience not in Audience.ALL:
            message = f"参会范围应为：{'、'.join(Audience.ALL)}"
            raise DomainError("audience", "unknown_audience", message, DomainError.INVALID)
        people = await self.membership.audience(body["organisation_id"], audience, body["starts_at"].date())
        for i, person in enumerate(body.get("invitee_ids") or []):
            check_person_id(person, f"invitee_ids.{i}")
        for i, person in enumerate(body.get("non_voting_ids") or []):
            check_person_id(person, f"non_voting_ids.{i}")
        invitees = list(dict.fromkeys([*people, *(body.get("invitee_ids") or [])]))
        non_voting = set(body.get("non_voting_ids") or [])
        return invitees, [p for p in invitees if p not in non_voting]

    async def reschedule(self, meeting_id: str, principal: Principal, body: dict[str, Any]) -> Document:
        async def decide(meeting: Document) -> Decision:
            check_open(meeting, "改期")
            moved: dict[str, Any] = {
                k: body[k] for k in ("starts_at", "ends_at", "venue_kind", "venue_name", "mode") if k in body
            }
            merged: Document = {**meeting, **moved}
            check_schedule(
                merged["kind"], merged["venue_kind"], merged["mode"], merged["starts_at"], merged["ends_at"]
            )
            if body.get("refresh_invitees"):
                merged["invitees"], merged["voters"] = await self._invitees(merged)
                merged["invitee_drivers"] = await self.membership.drivers_among(merged["invitees"])
            event = MeetingRescheduled(
                meeting_id=meeting_id,
                organisation_id=merged["organisation_id"],
                kind=merged["kind"],
                title=merged["topic"],
                starts_at=merged["starts_at"],
                ends_at=merged["ends_at"],
                previous_starts_at=meeting["starts_at"],
                venue_kind=merged["venue_kind"],
                venue_name=merged["venue_name"],
                mode=merged["mode"],
                invitee_driver_ids=merged["invitee_drivers"],
                rescheduled_at=self.clock.now(),
            )
            keep = ("invitees", "voters", "invitee_drivers", *moved)
            return {"$set": {k: merged[k] for k in keep}}, [event]

        return await self.command(meeting_id, principal, decide)

    async def cancel(self, meeting_id: str, principal: Principal, reason: str) -> Document:
        async def decide(meeting: Document) -> Decision:
            check_open(meeting, "取消")
            now = self.clock.now()
            event = MeetingCancelled(
                meeting_id=meeting_id,
                organisation_id=meeting["organisation_id"],
                kind=meeting["kind"],
                reason=reason,
                cancelled_at=now,
            )
            update = {"$set": {"status": Status.CANCELLED, "cancel_reason": reason, "cancelled_at": now}}
            return update, [event]

        return await self.command(meeting_id, principal, decide)

    async def hold(self, meeting_id: str, principal: Principal, body: dict[str, Any]) -> Document:
        """The meeting took place: the summary, the date it was held (the meeting's own date unless
        given), every invitee without a record counts as absent, and the figures are published."""

        async def decide(meeting: Document) -> Decision:
            check_open(meeting, "再次召开")
            now = self.clock.now()
            held_at: datetime = body.get("held_at") or meeting["starts_at"]
            attendance = dict(meeting.get("attendance") or {})
            events: list[EventPayload] = []
            for person in meeting["invitees"]:
                if person not in attendance:
                    record = {
                        "status": Attendance.ABSENT,
                        "way": Way.CLOSING,
                        "recorded_by": principal.subject,
                    }
                    attendance[person] = {**record, "recorded_at": now}
                    events.append(record_payload(meeting, person, attendance[person]))
            counts = figures(meeting["invitees"], attendance)
            secretaries = await self.membership.secretaries(meeting["organisation_id"], held_at.date())
            secretary_lecture = meeting["kind"] == Kind.PARTY_LESSON and meeting.get("host_id") in secretaries
            events.append(
                MeetingHeld(
                    meeting_id=meeting_id,
                    organisation_id=meeting["organisation_id"],
                    kind=meeting["kind"],
                    held_at=held_at,
                    venue_kind=meeting["venue_kind"],
                    mode=meeting["mode"],
                    host_id=meeting.get("host_id"),
                    oath_renewal=meeting.get("oath_renewal", False),
                    invited=counts.invited,
                    present_on_site=counts.present_on_site,
                    present_online=counts.present_online,
                    on_leave=counts.on_leave,
                    absent=counts.absent,
                    quorum_met=quorum_met(meeting["kind"], meeting["voters"], attendance),
                )
            )
            if meeting["kind"] == Kind.PARTY_LESSON:
                events.append(
                    LessonHeld(
                        meeting_id=meeting_id,
                        organisation_id=meeting["organisation_id"],
                        held_at=held_at,
                        venue_kind=meeting["venue_kind"],
                        lecturer_id=meeting.get("host_id"),
                        present=counts.present,
                        invited=counts.invited,
                    )
                )
            fields = {
                "status": Status.HELD,
                "held_at": held_at,
                "summary": body["summary"],
                "attendance": attendance,
                "secretary_lecture": secretary_lecture,
                "recorded_held_at": now,
            }
            if body.get("material"):
                fields["material"] = body["material"]
            return {"$set": fields}, events

        return await self.command(meeting_id, principal, decide)

    async def record_quote(self, meeting_id: str, principal: Principal, body: dict[str, Any]) -> Document:
        """An attendee's own words, for the briefing: only with consent, only someone invited, and
        never an ID or phone number in the text."""
        check_consented_words(body["text"], body.get("consent"))
        quote_id = f"quo_{uuid.uuid4().hex[:12]}"

        async def decide(meeting: Document) -> Decision:
            if body["speaker_id"] not in meeting["invitees"]:
                raise DomainError("speaker_id", "not_invited", "发言人不在本次会议的参会范围内", "invalid")
            now = self.clock.now()
            consent_at = body.get("consent_at") or now
            quote = {
                "quote_id": quote_id,
                "speaker_id": body["speaker_id"],
                "text": body["text"],
                "consent_at": consent_at,
                "recorded_by": principal.subject,
                "recorded_at": now,
            }
            event = QuoteRecorded(
                meeting_id=meeting_id,
                organisation_id=meeting["organisation_id"],
                kind=meeting["kind"],
                quote_id=quote_id,
                speaker_id=body["speaker_id"],
                text=body["text"],
                consent_at=consent_at,
                recorded_at=now,
            )
            return {"$push": {"quotes": quote}}, [event]

        return await self.command(meeting_id, principal, decide)

    async def withdraw_quote(self, meeting_id: str, quote_id: str, driver_id: str) -> Document:
        """The speaker takes back his consent: his words leave the meeting (the quote stays, empty and
        marked, so the figures of who spoke do not move) and quote.withdrawn tells the briefing.
        Only the speaker himself; a second withdrawal changes nothing and says so by its answer."""

        async def decide(meeting: Document) -> Decision:
            quotes = meeting.get("quotes", [])
            mine = next((q for q in quotes if q.get("quote_id") == quote_id), None)
            if mine is None:
                raise DomainError("quote_id", "not_found", "没有这条原话", DomainError.NOT_FOUND)
            if mine["speaker_id"] != driver_id:
                raise DomainError("quote_id", "not_yours", "只能撤回您本人的原话", DomainError.FORBIDDEN)
            if mine.get("withdrawn_at") or mine.get("erased"):
                return {}, []
            now = self.clock.now()
            changed = {**mine, "text": "", "withdrawn_at": now}
            event = QuoteWithdrawn(
                meeting_id=meeting_id,
                organisation_id=meeting["organisation_id"],
                kind=meeting["kind"],
                quote_id=quote_id,
                speaker_id=driver_id,
                withdrawn_at=now,
            )
            others = [changed if q.get("quote_id") == quote_id else q for q in quotes]
            return {"$set": {"quotes": others}}, [event]

        meeting = await self.command(meeting_id, None, decide)
        [quote] = [q for q in meeting["quotes"] if q.get("quote_id") == quote_id]
        return {"meeting_id": meeting_id, **own_quote(quote)}

    async def quotes_of(self, driver_id: str, limit: int) -> list[Document]:
        """A driver's own words in every meeting, newest first, with whether he has taken them back
        (an erased speaker has none). A scan by the array field: one driver's app, now and then."""
        found: list[Document] = []
        fields = {"topic": 1, "kind": 1, "starts_at": 1, "quotes": 1}
        async for meeting in self.db.meetings.find({"quotes.speaker_id": driver_id}, fields):
            for quote in meeting.get("quotes", []):
                if quote.get("speaker_id") == driver_id and not quote.get("erased"):
                    found.append(
                        {
                            "meeting_id": meeting["_id"],
                            "topic": meeting.get("topic"),
                            "kind": meeting.get("kind"),
                            "starts_at": meeting.get("starts_at"),
                            **own_quote(quote),
                        }
                    )
        found.sort(key=lambda q: q["recorded_at"], reverse=True)
        return found[:limit]

    async def list(
        self, principal: Principal, *, organisation_id: str | None, status: str | None, limit: int
    ) -> list[Document]:
        """Meetings newest first, within the caller's reach: a secretary's organisation (his own by
        default), an instructor's venues. A scan (FerretDB uses no secondary index): not a hot path."""
        query: dict[str, Any] = {}
        if principal.role == Role.BRANCH_SECRETARY:
            organisation_id = organisation_id or principal.org_scope
        if principal.role == Role.INSTRUCTOR:
            query["venue_id"] = {"$in": await venues_of(principal, self.venues)}
        elif organisation_id:
            await check_manages(self.membership, principal, organisation_id)
        if organisation_id:
            query["organisation_id"] = organisation_id
        if status:
            query["status"] = status
        fields = public_fields(shown={"version"}, also=("check_in", "wrong_codes", "attendance", "quotes"))
        found = [m async for m in self.db.meetings.find(query, fields)]
        found.sort(key=lambda m: m["starts_at"], reverse=True)
        for m in found:
            m["meeting_id"] = m.pop("_id")
        return found[:limit]


def own_quote(quote: Document) -> Document:
    """A quote as its speaker sees it: the words (empty once withdrawn), when he consented and when
    he took it back; not who wrote it down."""
    return {
        k: quote.get(k)
        for k in ("quote_id", "speaker_id", "text", "consent_at", "recorded_at", "withdrawn_at")
    }


def shown(meeting: Document) -> Document:
    """The meeting as the API shows it: no code digest, with its attendance figures."""
    meeting = dict(meeting)
    check_in = meeting.pop("check_in", None)
    meeting.pop("wrong_codes", None)
    meeting["check_in_expires_at"] = (check_in or {}).get("expires_at")
    meeting["figures"] = figures(meeting["invitees"], meeting.get("attendance") or {}).as_dict()
    meeting["quorum_met"] = quorum_met(meeting["kind"], meeting["voters"], meeting.get("attendance") or {})
    meeting["meeting_id"] = meeting.pop("_id")
    return meeting

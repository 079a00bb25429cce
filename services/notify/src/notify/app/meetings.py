"""Meeting reminders (会议提醒), stored with the meeting so they survive restarts.

One document per meeting keeps its time, invitees and reminders; the scheduler fires the reminders
that came due. A reschedule moves them (their messages carry the meeting's time, so a message queued
for the old time is withdrawn when it comes due, as is one queued for an invitee the reschedule
dropped); a cancellation withdraws them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.consumers import apply_in_order
from roadbranch_shared.contracts.activities import MeetingCancelled, MeetingRescheduled, MeetingScheduled
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import Envelope

from notify.app.queue import NoticeQueue
from notify.domain.rules import Notice, drivers, meeting_context, notices_for
from notify.domain.timing import reminder_times


class Meetings:
    def __init__(
        self, db: AsyncDatabase[Document], queue: NoticeQueue, clock: TimeSource, offsets_minutes: list[int]
    ) -> None:
        self.db = db
        self.queue = queue
        self.clock = clock
        self.offsets = offsets_minutes

    async def scheduled(self, e: MeetingScheduled, envelope: Envelope) -> None:
        await self._plan(e, envelope, decided_at=e.scheduled_at)

    async def rescheduled(self, e: MeetingRescheduled, envelope: Envelope) -> None:
        await self._plan(e, envelope, decided_at=e.rescheduled_at)

    async def _plan(
        self, e: MeetingScheduled | MeetingRescheduled, envelope: Envelope, *, decided_at: datetime
    ) -> None:
        # A reminder whose time had passed when the meeting was (re)scheduled is never sent: the
        # invitation itself says as much. One that passed while notify was down still goes.
        reminders = [
            {"offset": offset, "fire_at": at, "done": at < decided_at}
            for offset, at in reminder_times(e.starts_at, self.offsets)
        ]
        fields = {
            "status": "scheduled",
            "organisation_id": e.organisation_id,
            "kind": e.kind,
            "title": e.title,
            "starts_at": e.starts_at,
            "venue_kind": e.venue_kind,
            "venue_name": e.venue_name,
            "mode": e.mode,
            "invitees": list(e.invitee_driver_ids),
            "reminders": reminders,
            "next_fire_at": _next_fire(reminders),
        }
        await apply_in_order(self.db.meetings, e.meeting_id, envelope, {"$set": fields})
        # Queued even if the view had this event already: queueing is idempotent, and a crash
        # between the two writes must not lose the invitation.
        for notice in notices_for(e):
            await self.queue.publish(notice, cause=envelope.id, meeting_starts_at=e.starts_at)

    async def cancelled(self, e: MeetingCancelled, envelope: Envelope) -> None:
        await apply_in_order(
            self.db.meetings, e.meeting_id, envelope, {"$set": {"status": "cancelled", "next_fire_at": None}}
        )
        doc = await self.db.meetings.find_one({"_id": e.meeting_id})
        if doc is None or "starts_at" not in doc:
            return  # never heard of it: nobody was told it was on
        notice = Notice("meeting_cancelled", drivers(*doc["invitees"]), _context(doc))
        await self.queue.publish(notice, cause=envelope.id)

    async def fire_due(self) -> int:
        """Queue the reminders that came due; returns how many reminders fired."""
        now = self.clock.now()
        fired = 0
        async for doc in self.db.meetings.find({"next_fire_at": {"$lte": now}}):
            reminders = doc["reminders"]
            for reminder in reminders:
                if reminder["done"] or reminder["fire_at"] > now:
                    continue
                if doc["starts_at"] > now:
                    context = {**_context(doc), "hours_before": reminder["offset"] / 60}
                    notice = Notice(
                        "meeting_reminder", drivers(*doc["invitees"]), context, meeting_id=doc["_id"]
                    )
                    # The meeting's time is in the cause: a moved meeting's reminder is a new message.
                    cause = f"reminder:{doc['_id']}:{reminder['offset']}:{doc['starts_at'].isoformat()}"
                    await self.queue.publish(notice, cause=cause, meeting_starts_at=doc["starts_at"])
                    fired += 1
                reminder["done"] = True
            # Only if the meeting did not move meanwhile (seq unchanged); else the next pass decides.
            await update_if(
                self.db.meetings,
                doc["_id"],
                {"seq": doc["seq"]},
                {"$set": {"reminders": reminders, "next_fire_at": _next_fire(reminders)}},
            )
        return fired

    async def invitees_if_on(self, meeting_id: str, starts_at: datetime) -> frozenset[str] | None:
        """Who is invited now, if the meeting is still on at `starts_at`; None if it was cancelled or
        moved (a message about it then goes to nobody; a dropped invitee's goes neither)."""
        doc = await self.db.meetings.find_one(
            {"_id": meeting_id}, {"status": 1, "starts_at": 1, "invitees": 1}
        )
        if not (doc and doc.get("status") == "scheduled" and doc.get("starts_at") == starts_at):
            return None
        return frozenset(doc.get("invitees") or ())

    async def pending_reminders(self) -> int:
        count = 0
        async for doc in self.db.meetings.find({"next_fire_at": {"$ne": None}}, {"reminders": 1}):
            count += sum(not r["done"] for r in doc.get("reminders", []))
        return count


def _next_fire(reminders: list[Document]) -> datetime | None:
    pending = [r["fire_at"] for r in reminders if not r["done"]]
    return min(pending) if pending else None


def _context(doc: Document) -> dict[str, Any]:
    return meeting_context(
        doc["kind"], doc["title"], doc["starts_at"], doc["venue_kind"], doc.get("venue_name"), doc["mode"]
    )

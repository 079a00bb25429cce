"""Attendance (考勤): records by the host, secretary or instructor, a driver's own check-in with the
one-time code shown at the venue, his own answer to an invitation (leave, or online), the meetings
he is invited to, and what a make-up (补学) needs to know about a person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roadbranch_shared.aggregates import Decision
from roadbranch_shared.auth import Principal
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import EventPayload

from activities.app.meetings import Meetings, record_payload
from activities.domain.meetings import (
    Attendance,
    Status,
    Way,
    check_answer,
    check_code,
    check_open,
    check_person_id,
    check_record,
    code_digest,
    makeup_deadline,
    meeting_end,
    new_check_in_code,
)

# What a driver sees of a meeting besides its status and his own attendance.
OWN_VIEW = ("organisation_id", "kind", "topic", "starts_at", "ends_at", "venue_kind", "venue_name", "mode")


class Attendances:
    def __init__(self, meetings: Meetings, *, code_minutes: int, makeup_window_days: int) -> None:
        self.meetings = meetings
        self.code_minutes = code_minutes
        self.makeup_window_days = makeup_window_days

    async def record(self, meeting_id: str, principal: Principal, records: list[dict[str, Any]]) -> Document:
        """Record (or correct) the attendance of invitees while the meeting is open. Every record is
        checked before anything is written, so a bad one leaves the meeting as it was."""
        for i, r in enumerate(records):
            check_person_id(r["person_id"], f"records.{i}.person_id")
            way = Way.PROXY if r.get("proxy") else Way.RECORDED
            check_record(r["status"], way=way, reason=r.get("reason"), field=f"records.{i}")

        async def decide(meeting: Document) -> Decision:
            check_open(meeting, "登记考勤")
            now = self.meetings.clock.now()
            fields: dict[str, Any] = {}
            events: list[EventPayload] = []
            for i, r in enumerate(records):
                if r["person_id"] not in meeting["invitees"]:
                    raise DomainError(
                        f"records.{i}.person_id", "not_invited", "此人不在本次会议的参会范围内", "invalid"
                    )
                record = {
                    "status": r["status"],
                    "way": Way.PROXY if r.get("proxy") else Way.RECORDED,
                    "reason": r.get("reason"),
                    "recorded_by": principal.subject,
                    "recorded_at": now,
                }
                fields[f"attendance.{r['person_id']}"] = record
                events.append(record_payload(meeting, r["person_id"], record))
            return {"$set": fields}, events

        return await self.meetings.command(meeting_id, principal, decide)

    async def new_code(self, meeting_id: str, principal: Principal) -> dict[str, Any]:
        """A fresh check-in code for the venue's screen; only its digest is kept, the last one wins."""
        code = new_check_in_code()
        expires_at = self.meetings.clock.now() + timedelta(minutes=self.code_minutes)

        async def decide(meeting: Document) -> Decision:
            check_open(meeting, "签到")
            stored = {"digest": code_digest(meeting_id, code), "expires_at": expires_at}
            return {"$set": {"check_in": stored, "wrong_codes": {}}}, []

        await self.meetings.command(meeting_id, principal, decide)
        return {"meeting_id": meeting_id, "code": code, "expires_at": expires_at}

    async def check_in(self, meeting_id: str, driver_id: str, code: str) -> Document:
        """A driver checks himself in on site with the code shown at the venue."""

        async def decide(meeting: Document) -> Decision:
            if driver_id not in meeting["invitees"]:
                raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", "forbidden")
            done = (meeting.get("attendance") or {}).get(driver_id) or {}
            if (done.get("way"), done.get("status")) == (Way.CHECK_IN, Attendance.ON_SITE):
                return {}, []  # checked in already (a repeat, maybe after the code expired): the same answer
            check_open(meeting, "签到")
            try:
                check_code(meeting, driver_id, code, self.meetings.clock.now())
            except DomainError as e:
                if e.reason == "wrong_code":
                    await update_if(
                        self.meetings.db.meetings, meeting_id, {}, {"$inc": {f"wrong_codes.{driver_id}": 1}}
                    )
                raise
            now = self.meetings.clock.now()
            record = {
                "status": Attendance.ON_SITE,
                "way": Way.CHECK_IN,
                "recorded_by": driver_id,
                "recorded_at": now,
            }
            return {"$set": {f"attendance.{driver_id}": record}}, [record_payload(meeting, driver_id, record)]

        return self._own(await self.meetings.changed(meeting_id, None, decide), driver_id)

    async def answer(self, meeting_id: str, driver_id: str, status: str, reason: str | None) -> Document:
        """An invitee asks for leave (with a reason) or says he joins online, before the meeting is
        over. Recorded like staff's records (the attendance sheet, the figures, AttendanceRecorded);
        the same answer again changes nothing, a new one replaces his earlier answer."""
        reason = reason.strip() if reason and reason.strip() else None

        async def decide(meeting: Document) -> Decision:
            check_answer(meeting, driver_id, status, reason, self.meetings.clock.now())
            earlier = (meeting.get("attendance") or {}).get(driver_id) or {}
            if (earlier.get("status"), earlier.get("reason")) == (status, reason):
                return {}, []
            record = {
                "status": status,
                "way": Way.ANSWER,
                "reason": reason,
                "recorded_by": driver_id,
                "recorded_at": self.meetings.clock.now(),
            }
            return {"$set": {f"attendance.{driver_id}": record}}, [record_payload(meeting, driver_id, record)]

        return self._own(await self.meetings.changed(meeting_id, None, decide), driver_id)

    async def upcoming(self, driver_id: str, limit: int) -> list[Document]:
        """The scheduled meetings a driver is invited to that are not over yet, soonest first, each as
        he sees it (his own attendance only). A scan of the meetings: one driver's app, now and then."""
        now = self.meetings.clock.now()
        fields = {k: 1 for k in (*OWN_VIEW, "status", "held_at", "invitees", f"attendance.{driver_id}")}
        found = [
            m
            async for m in self.meetings.db.meetings.find({"status": Status.SCHEDULED}, fields)
            if driver_id in m.get("invitees", []) and meeting_end(m) > now
        ]
        found.sort(key=lambda m: m["starts_at"])
        return [self._own(m, driver_id) for m in found[:limit]]

    async def make_ups(self, driver_id: str, limit: int) -> list[Document]:
        """The held meetings a driver missed (absent or on leave) and may still make up (补学): not
        made up, within the window; newest first, each as he sees it with its deadline. A scan of
        the held meetings: one driver's app, now and then."""
        fields = {k: 1 for k in (*OWN_VIEW, "status", "held_at", f"attendance.{driver_id}")}
        found = []
        async for m in self.meetings.db.meetings.find({"status": Status.HELD}, fields):
            try:
                self.check_may_make_up(m, driver_id)
            except DomainError:
                continue
            deadline = makeup_deadline(m["held_at"], self.makeup_window_days)
            found.append({**self._own(m, driver_id), "make_up_deadline": deadline})
        found.sort(key=lambda m: m["held_at"], reverse=True)
        return found[:limit]

    async def own_view(self, meeting_id: str, person_id: str) -> Document:
        """What a driver sees of a meeting: its details and his own attendance, nobody else's."""
        meeting = await self.meetings.meeting(meeting_id)
        if person_id not in meeting["invitees"]:
            raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", "forbidden")
        return self._own(meeting, person_id)

    @staticmethod
    def _own(meeting: Document, person_id: str) -> Document:
        view = {k: meeting.get(k) for k in (*OWN_VIEW, "status", "held_at")}
        return {
            "meeting_id": meeting["_id"],
            **view,
            "attendance": (meeting.get("attendance") or {}).get(person_id),
        }

    def check_may_make_up(self, meeting: Document, person_id: str) -> None:
        """补学: for an invitee who was absent or on leave from a held meeting, within the window."""
        if meeting["status"] != Status.HELD:
            raise DomainError("meeting_id", "not_held", "会议尚未召开，无需补学")
        record = (meeting.get("attendance") or {}).get(person_id)
        if record is None:
            raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", "forbidden")
        if record.get("made_up_at"):
            raise DomainError("meeting_id", "already_made_up", "已完成补学")
        if record["status"] not in Attendance.MAY_MAKE_UP:
            raise DomainError("meeting_id", "was_present", "已参加会议，无需补学")
        if self.meetings.clock.now() > makeup_deadline(meeting["held_at"], self.makeup_window_days):
            raise DomainError(
                "meeting_id", "window_closed", f"补学须在会后 {self.makeup_window_days} 天内完成"
            )

"""Attendance (考勤): records by the host, secretary or instructor, a driver's own check-in with the
one-time code shown at the venue, and what a make-up (补学) needs to know about a person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roadbranch_shared.auth import Principal
from roadbranch_shared.documents import update_if
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import EventPayload

from activities.app.meetings import Document, Meetings, check_person_id, record_payload
from activities.domain.meetings import (
    Attendance,
    Status,
    Way,
    check_code,
    check_open,
    check_record,
    code_digest,
    makeup_deadline,
    new_check_in_code,
)


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

        async def decide(meeting: Document) -> None:
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
            await self.meetings.write(meeting, {"$set": fields}, events)

        return await self.meetings.command(meeting_id, principal, decide)

    async def new_code(self, meeting_id: str, principal: Principal) -> dict[str, Any]:
        """A fresh check-in code for the venue's screen; only its digest is kept, the last one wins."""
        code = new_check_in_code()
        expires_at = self.meetings.clock.now() + timedelta(minutes=self.code_minutes)

        async def decide(meeting: Document) -> None:
            check_open(meeting, "签到")
            stored = {"digest": code_digest(meeting_id, code), "expires_at": expires_at}
            await self.meetings.write(meeting, {"$set": {"check_in": stored, "wrong_codes": {}}}, [])

        await self.meetings.command(meeting_id, principal, decide)
        return {"meeting_id": meeting_id, "code": code, "expires_at": expires_at}

    async def check_in(self, meeting_id: str, driver_id: str, code: str) -> Document:
        """A driver checks himself in on site with the code shown at the venue."""

        async def decide(meeting: Document) -> None:
            check_open(meeting, "签到")
            if driver_id not in meeting["invitees"]:
                raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", "forbidden")
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
            await self.meetings.write(
                meeting,
                {"$set": {f"attendance.{driver_id}": record}},
                [record_payload(meeting, driver_id, record)],
            )

        await self.meetings.command(meeting_id, None, decide)
        return await self.own_view(meeting_id, driver_id)

    async def own_view(self, meeting_id: str, person_id: str) -> Document:
        """What a driver sees of a meeting: its details and his own attendance, nobody else's."""
        meeting = await self.meetings.meeting(meeting_id)
        if person_id not in meeting["invitees"]:
            raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", "forbidden")
        keep = (
            "organisation_id",
            "kind",
            "topic",
            "starts_at",
            "ends_at",
            "venue_kind",
            "venue_name",
            "mode",
        )
        view = {k: meeting.get(k) for k in (*keep, "status", "held_at")}
        return {
            "meeting_id": meeting_id,
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

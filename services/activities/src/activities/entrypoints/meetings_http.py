"""HTTP API of meetings and attendance: staff schedule, move, cancel, hold and record; a driver sees
his own meetings, answers an invitation (leave, online), checks himself in, makes a meeting up, and
reads and takes back his own words.
A driver's writes honour `Idempotency-Key` (roadbranch_shared.idempotency)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from roadbranch_shared.domain import DomainError, run_command
from roadbranch_shared.idempotency import Idempotent

from activities.app.access import STAFF, person_of
from activities.app.wiring import Activities
from activities.entrypoints.models import (
    Answer,
    CancelMeeting,
    CheckIn,
    HoldMeeting,
    MakeUp,
    Quote,
    RecordAttendance,
    RescheduleMeeting,
    ScheduleMeeting,
)

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])
mine_router = APIRouter(prefix="/v1/drivers/me", tags=["meetings"])
staff = require_roles(*STAFF)
Staff = Depends(staff)


def activities(request: Request) -> Activities:
    found: Activities = request.app.state.activities
    return found


def driver_id_of(principal: Principal) -> str:
    """The caller's own driver id: what a driver does, he does for himself only (else 403)."""
    if principal.role != Role.DRIVER or not principal.driver_id:
        refusal = DomainError(
            "Authorization", "drivers_only", "只有司机本人可以这样做", DomainError.FORBIDDEN
        )
        raise refusal.as_api_error()
    return principal.driver_id


@router.post("", status_code=201)
async def schedule(body: ScheduleMeeting, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """Schedule a meeting; the invitees are the organisation's members (or committee) as known now."""
    return await run_command(activities(request).meetings.schedule(principal, body.fields()))


@router.get("")
async def list_meetings(
    request: Request,
    principal: Principal = Staff,
    organisation_id: str | None = None,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Meetings newest first: a secretary's own organisation by default, an instructor's venue."""
    found = activities(request).meetings.list(
        principal, organisation_id=organisation_id, status=status, limit=limit
    )
    return {"meetings": await run_command(found)}


@router.get("/{meeting_id}")
async def view(meeting_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Staff see the whole meeting with its figures; a driver sees it with his own attendance only."""
    a = activities(request)
    if principal.role == Role.DRIVER:
        return await run_command(a.attendances.own_view(meeting_id, driver_id_of(principal)))
    staff(principal)
    return await run_command(a.meetings.view(meeting_id))


@router.post("/{meeting_id}/reschedule")
async def reschedule(
    meeting_id: str, body: RescheduleMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    return await run_command(activities(request).meetings.reschedule(meeting_id, principal, body.fields()))


@router.post("/{meeting_id}/cancel")
async def cancel(
    meeting_id: str, body: CancelMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    return await run_command(activities(request).meetings.cancel(meeting_id, principal, body.reason))


@router.post("/{meeting_id}/hold")
async def hold(
    meeting_id: str, body: HoldMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """The meeting took place: summary, figures, and meeting-held (and lesson-held) published."""
    return await run_command(activities(request).meetings.hold(meeting_id, principal, body.fields()))


@router.put("/{meeting_id}/attendance")
async def record_attendance(
    meeting_id: str, body: RecordAttendance, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    records = [line.fields() for line in body.records]
    return await run_command(activities(request).attendances.record(meeting_id, principal, records))


@router.post("/{meeting_id}/check-in-code", status_code=201)
async def check_in_code(meeting_id: str, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """A short code to show at the venue; a new one replaces the last, and it expires."""
    return await run_command(activities(request).attendances.new_code(meeting_id, principal))


@router.post("/{meeting_id}/check-in")
async def check_in(
    meeting_id: str, body: CheckIn, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """A driver checks himself in on site with the venue's code (only for himself). Checked in
    already, he gets the same answer again (even once the code has expired)."""
    driver_id = driver_id_of(principal)
    work = activities(request).attendances.check_in
    return await once.run(lambda: run_command(work(meeting_id, driver_id, body.code)))


@router.post("/{meeting_id}/answer")
async def answer(
    meeting_id: str, body: Answer, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """An invited driver asks for leave (请假, `reason` required) or says he will join online (线上参加,
    online or hybrid meetings), while the meeting is scheduled and not over (its end, or its start
    when it has no end). Staff see it on the attendance sheet (`way`: driver_answer) and it counts
    in the figures like their own records; a check-in or a staff record stands (409)."""
    driver_id = driver_id_of(principal)
    work = activities(request).attendances.answer
    return await once.run(lambda: run_command(work(meeting_id, driver_id, body.status, body.reason)))


@mine_router.get("/meetings")
async def my_meetings(
    request: Request, principal: CurrentPrincipal, limit: int = Query(50, ge=1, le=200)
) -> dict[str, Any]:
    """The calling driver's upcoming meetings (scheduled, not over), soonest first, each with his own
    attendance and nobody else's."""
    driver_id = driver_id_of(principal)
    return {"meetings": await activities(request).attendances.upcoming(driver_id, limit)}


@mine_router.get("/make-ups")
async def my_make_ups(
    request: Request, principal: CurrentPrincipal, limit: int = Query(50, ge=1, le=200)
) -> dict[str, Any]:
    """补学 open to the calling driver: held meetings he missed (absent or on leave), not made up,
    within the window, newest first, each with `make_up_deadline`."""
    driver_id = driver_id_of(principal)
    return {"meetings": await activities(request).attendances.make_ups(driver_id, limit)}


@mine_router.get("/quotes")
async def my_quotes(
    request: Request, principal: CurrentPrincipal, limit: int = Query(100, ge=1, le=500)
) -> dict[str, Any]:
    """The calling driver's own words recorded after meetings (心声), newest first, with the time
    he consented and, once he took them back, `withdrawn_at` (the text is then empty)."""
    driver_id = driver_id_of(principal)
    return {"quotes": await activities(request).meetings.quotes_of(driver_id, limit)}


@router.get("/{meeting_id}/make-up")
async def make_up_material(meeting_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """补学: the material, the deadline and the quiz (without answers) for an absent or on-leave driver."""
    return await run_command(activities(request).quizzes.make_up_material(meeting_id, person_of(principal)))


@router.post("/{meeting_id}/make-up")
async def make_up(
    meeting_id: str, body: MakeUp, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """Answer the make-up quiz; a pass within the window completes the make-up."""
    quizzes, person = activities(request).quizzes, person_of(principal)
    return await once.run(
        lambda: run_command(quizzes.make_up(meeting_id, person, body.answers, request=once.digest))
    )


@router.post("/{meeting_id}/quotes", status_code=201)
async def record_quote(
    meeting_id: str, body: Quote, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """An attendee's own words after the meeting, with his consent, for the briefing."""
    return await run_command(activities(request).meetings.record_quote(meeting_id, principal, body.fields()))


@router.post("/{meeting_id}/quotes/{quote_id}/withdraw")
async def withdraw_quote(
    meeting_id: str, quote_id: str, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """The speaker takes back his consent to his words: they leave the meeting and the briefing
    (quote.withdrawn). Only his own (403 on quote_id); again, it changes nothing."""
    driver_id = driver_id_of(principal)
    work = activities(request).meetings.withdraw_quote
    return await once.run(lambda: run_command(work(meeting_id, quote_id, driver_id)))
